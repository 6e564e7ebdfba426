"""The web app's service: the pipeline plus its readiness (the index is loaded or built
in a background thread while the page is already served)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence

from ..errors import NotReady, RagError, ServeError, StoreError
from ..pipeline import Pipeline
from ..text import names, persons
from ..types import Answer, Message
from . import archive
from .relevance import RelevanceScale
from .render import short_title

log = logging.getLogger(__name__)

#: Example questions about the default corpus (the seed articles). The chat shows those
#: that the index answers (asking them at startup also warms up the model and the language
#: detector), then headlines of the newest articles: :meth:`Service.show_index`.
EXAMPLES = (
    "Wann rief Lukaschenko nach der Dolchstoß-Rede in Moskau an?",
    "Wen will Schoigu in Minsk treffen?",
    "Wie viele Reservisten hat Belarus?",
    "Which Russian defence minister flew to Minsk?",
    "How many people attended the mourning rally in Minsk?",
    "How long has Lukashenko known Prigozhin?",
)
#: How many examples the chat shows.
MAX_EXAMPLES = 6


def doc_label(title: str | None, date: str | None, doc_id: str) -> str:
    """An article as a choice in the article filter: title (cut at a word boundary before
    80 characters), date."""
    name = short_title(title, 80) or doc_id
    return f"{name} ({date})" if date else name


#: The status line's texts; ``None``: both languages (before the page picked one).
_STATUS = {
    "de": {"ready": "Bereit · {summary}", "error": "Der Suchindex ist nicht verfügbar: {error}",
           "building": "Suchindex wird aufgebaut … ({elapsed} s{done})",
           "loading": "Modell und Suchindex werden geladen … ({elapsed} s)",
           "summary": "{docs} Artikel, {passages} Passagen"},
    "en": {"ready": "Ready · {summary}", "error": "The index is not available: {error}",
           "building": "Building the search index … ({elapsed} s{done})",
           "loading": "Loading model and index … ({elapsed} s)",
           "summary": "{docs} articles, {passages} passages"},
}


class Service:
    """The pipeline plus its readiness: the index is loaded (or built) in a thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.phase = "starting"  # starting | building | ready | error
        self.error: str | None = None
        self.doc_choices: list[tuple[str, str]] = []
        #: The indexed articles with their passage counts (the archive view).
        self.archive: list[archive.Entry] = []
        #: The chat's example questions (:meth:`show_index`).
        self.examples: list[str] = list(EXAMPLES)
        self._counts = (0, 0)
        self.ready_seconds: float | None = None
        #: Chunks embedded / to embed while the index is built.
        self.progress: tuple[int, int] | None = None
        self._started = time.monotonic()
        self._done = threading.Event()

    def start(self) -> threading.Thread:
        """Load (or build) the index in a background thread."""
        thread = threading.Thread(target=self._prepare, name="rag-index", daemon=True)
        thread.start()
        return thread

    def _on_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)

    def _prepare(self) -> None:
        p = self.pipeline
        try:
            try:
                stale = p.is_stale()
            except StoreError as exc:
                log.info("The index cannot be used as it is (%s)", str(exc).split(". ")[0])
                stale = True
            if stale:
                self.phase = "building"
                log.info("Building the index for %s (progress below) ...",
                         p.settings.paths.corpus_dir)
                report = p.update_index(progress=True, on_progress=self._on_progress)
                log.info("%s", report.summary().replace("\n", "; "))
            names.load()  # read before any question, as the model is
            persons.load()
            self.show_index()  # asks the examples: the first answer is then fast
            self.ready_seconds = time.monotonic() - self._started
            self.phase = "ready"
            log.info("Ready after %.1f s (%s).", self.ready_seconds, self.status("en")[1])
        except Exception as exc:  # noqa: BLE001 - shown on the page and in the chat
            if isinstance(exc, RagError):  # what is wrong and how to fix it: no traceback
                log.error("Could not prepare the index: %s", exc)
            else:
                log.exception("Could not prepare the index")
            self.error = str(exc) or exc.__class__.__name__
            self.phase = "error"
        finally:
            self._done.set()

    def show_index(self) -> None:
        """Article choices, archive, counts and example questions of the pipeline's current
        index version (after startup and after every update, e.g. of uploads)."""
        index = self.pipeline.index
        self.doc_choices = sorted(
            ((doc_label(d.title, d.date, d.doc_id), d.doc_id) for d in index.docs.values()),
            key=lambda c: c[1],
        )
        self.archive = archive.entries(index.docs, index.row_docs)
        self._counts = (len(index.docs), index.size)
        answered = [q for q in EXAMPLES if self._answers(q)]
        headlines = archive.newest_titles(self.archive, MAX_EXAMPLES - len(answered))
        self.examples = answered + headlines
        log.info("Examples: %d of the %d for the default corpus answered, %d headlines",
                 len(answered), len(EXAMPLES), len(headlines))

    def _answers(self, question: str) -> bool:
        """Whether the index answers ``question`` from a highly relevant source (an
        example is only shown then)."""
        try:
            answer = self.pipeline.ask(question, extractive=True)
            scale = RelevanceScale.for_language(self.pipeline.settings, answer.language)
            return answer.found and not scale.weak(answer)
        except RagError as exc:
            log.warning("Example %r not answered: %s", question, exc)
        except Exception:  # noqa: BLE001 - an example must not keep the app from starting
            log.exception("Example %r not answered", question)
        return False

    @property
    def ready(self) -> bool:
        """True once the index is loaded and the model warmed up."""
        return self.phase == "ready"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until startup finished (ready or failed); True when it did."""
        return self._done.wait(timeout)

    def status(self, language: str | None = None) -> tuple[str, str]:
        """``(state, message)`` for the status line; state is busy, ready or error. The
        message is in ``language`` (``"de"``/``"en"``), or in both when ``None``."""
        if language not in _STATUS:
            (state, de), (_, en) = self.status("de"), self.status("en")
            return state, f"{de} / {en}"
        t = _STATUS[language]
        elapsed = int(time.monotonic() - self._started)
        if self.phase == "ready":
            docs, passages = self._counts
            return "ready", t["ready"].format(
                summary=t["summary"].format(docs=docs, passages=passages))
        if self.phase == "error":
            return "error", t["error"].format(error=self.error)
        if self.phase == "building":
            done = f"; Embedding {self.progress[0]}/{self.progress[1]}" if self.progress else ""
            return "busy", t["building"].format(elapsed=elapsed, done=done)
        return "busy", t["loading"].format(elapsed=elapsed)

    def ask(
        self,
        question: str,
        k: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: Sequence[str] | None = None,
        history: Sequence[Message] | None = None,
        on_draft: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer a question (``history``: the conversation so far, as messages;
        ``on_draft``: sees a generated answer's draft as it grows); raises
        :class:`~rag.errors.NotReady` while starting, or the pipeline's
        :class:`~rag.errors.RagError` with a readable message."""
        if self.phase == "error":
            raise StoreError(self.error or "The index could not be loaded.")
        if not self.ready:
            raise NotReady("The search index is still being built.")
        return self.pipeline.ask(question, k, history=history,  # type: ignore[arg-type]
                                 date_from=date_from, date_to=date_to,
                                 doc_ids=doc_ids,  # type: ignore[arg-type] - validated there
                                 on_draft=on_draft)


def port_taken(host: str, port: int) -> str:
    """What to say when ``host``:``port`` is taken."""
    return (f"cannot listen on {host}:{port}: the port is in use (another web chat?). "
            "Stop that one or start with --port N.")


def check_port(host: str, port: int) -> None:
    """Raise :class:`~rag.errors.ServeError` when ``host``:``port`` cannot be listened on
    (checked before the model and index load, not after)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(port_taken(host, port)) from exc
