"""Web chat for German-news question answering: ``python app.py [--host H] [--port P]``.

Starts a Gradio app on the default corpus (or ``--corpus``/``--index``). The index is
loaded in a background thread at startup and built first when it is missing or stale
(tqdm progress in the terminal, a status line on the page). Listens on
``127.0.0.1:7860`` unless ``--host``/``--port`` or ``GRADIO_SERVER_NAME``/
``GRADIO_SERVER_PORT`` say otherwise (flags win).

API (``gradio_client``)::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("Wie nennt Lukaschenko Putin?", api_name="/ask")

``/ask`` takes ``(question, k=5, date_from=None, date_to=None, doc_ids=None)`` and returns
``Answer.to_dict()``; it waits up to :data:`API_WAIT_SECONDS` for the index at startup.

Feedback (thumbs up/down on an answer) is appended to ``<data_dir>/feedback.jsonl``
(``RAG_DATA_DIR``, default ``data/``); see :mod:`rag.feedback`.
"""

import argparse
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr
from tqdm import tqdm

from rag import Answer, Pipeline, QuestionError, Settings, feedback, render
from rag.index import IndexError_
from rag.language import detect_language

log = logging.getLogger("rag.app")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: How long an ``/ask`` API call waits for the index while the app is starting.
API_WAIT_SECONDS = 300.0
#: Answers kept per browser session for feedback (without passage texts).
MAX_RECORDS = 50

EXAMPLES = [
    "Wie nennt Lukaschenko Putin?",
    "Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?",
    "Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?",
    "How many professional soldiers does the Belarusian army have?",
    "Who replaced the deceased Belarusian foreign minister Makei?",
    "What did Putin jokingly ask Lukashenko when greeting him in the Kremlin?",
]

#: System fonts only: nothing is fetched from a font CDN.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
          "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Consolas", "monospace"],
)


class NotReady(RuntimeError):
    """The index is still being loaded or built."""


class Service:
    """The pipeline plus its readiness: the index is loaded (or built) in a thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.phase = "starting"  # starting | building | ready | error
        self.error: str | None = None
        self.summary = ""
        self.doc_choices: list[tuple[str, str]] = []
        self.ready_seconds: float | None = None
        self._started = time.monotonic()
        self._done = threading.Event()

    def start(self) -> threading.Thread:
        """Load (or build) the index in a background thread."""
        thread = threading.Thread(target=self._prepare, name="rag-index", daemon=True)
        thread.start()
        return thread

    def _prepare(self) -> None:
        p = self.pipeline
        try:
            try:
                stale = p.is_stale()
            except IndexError_ as exc:
                log.info("The index cannot be used as it is (%s)", str(exc).split(". ")[0])
                stale = True
            if stale:
                self.phase = "building"
                log.info("Building the index for %s (progress below) ...",
                         p.settings.corpus_dir)
                report = p.update_index(progress=True)
                log.info("%s", report.summary().replace("\n", "; "))
            index = p.index
            self.doc_choices = sorted(
                ((_doc_label(d.title, d.date, d.doc_id), d.doc_id) for d in index.docs.values()),
                key=lambda c: c[1],
            )
            try:  # warm up the model and language detector for a fast first answer
                p.ask(EXAMPLES[0], 1)
            except Exception:  # noqa: BLE001 - warm-up only
                log.debug("warm-up failed", exc_info=True)
            self.summary = f"{len(index.docs)} articles, {index.size} passages"
            self.ready_seconds = time.monotonic() - self._started
            self.phase = "ready"
            log.info("Ready after %.1f s (%s).", self.ready_seconds, self.summary)
        except Exception as exc:  # noqa: BLE001 - shown on the page and in the chat
            log.exception("Could not prepare the index")
            self.error = str(exc) or exc.__class__.__name__
            self.phase = "error"
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        """True once the index is loaded and the model warmed up."""
        return self.phase == "ready"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until startup finished (ready or failed); True when it did."""
        return self._done.wait(timeout)

    def status(self) -> tuple[str, str]:
        """``(state, message)`` for the status line; state is busy, ready or error."""
        elapsed = int(time.monotonic() - self._started)
        if self.phase == "ready":
            return "ready", f"Bereit / Ready · {self.summary}"
        if self.phase == "error":
            return "error", ("Der Suchindex ist nicht verfügbar / The index is not available: "
                             f"{self.error}")
        if self.phase == "building":
            return "busy", (f"Suchindex wird aufgebaut … / Building the search index … "
                            f"({elapsed} s{_bar_progress()})")
        return "busy", ("Modell und Suchindex werden geladen … / Loading model and index … "
                        f"({elapsed} s)")

    def ask(
        self,
        question: str,
        k: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> Answer:
        """Answer a question; raises :class:`NotReady`, :class:`QuestionError` or
        :class:`IndexError_` with a readable message."""
        if self.phase == "error":
            raise IndexError_(self.error or "The index could not be loaded.")
        if not self.ready:
            raise NotReady("The search index is still being built.")
        return self.pipeline.ask(question, k, date_from=date_from, date_to=date_to,
                                 doc_ids=doc_ids)


def _bar_progress() -> str:
    """The running tqdm bars (the index build's progress) as ``"; Embedding 12/30"``."""
    try:
        bars = [b for b in list(tqdm._instances) if getattr(b, "total", None)]  # noqa: SLF001
        return "".join(f"; {b.desc or 'progress'} {b.n}/{b.total}" for b in bars)
    except Exception:  # noqa: BLE001 - progress display only
        return ""


def _doc_label(title: str | None, date: str | None, doc_id: str) -> str:
    name = (title or doc_id).strip() or doc_id
    if len(name) > 80:
        name = name[:79] + "…"
    return f"{name} ({date})" if date else name


def _feedback_view(answer: Answer) -> dict[str, Any]:
    """What feedback needs of an answer (no passage texts: kept per browser session)."""
    data = answer.to_dict()
    data["sources"] = [{k: s[k] for k in ("n", "doc_id", "title", "score")}
                       for s in data["sources"]]
    return data


def _language(question: object) -> str:
    try:
        return detect_language(question) if isinstance(question, str) and question.strip() else "de"
    except Exception:  # noqa: BLE001 - only picks the language of a message
        return "de"


class ChatApp:
    """Event handlers of the web chat (kept apart from the layout for testing)."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def add_user(
        self, message: str, history: list[dict] | None
    ) -> tuple[str, list[dict], str]:
        """Show the user's question at once and clear the textbox."""
        history = list(history or [])
        if message and message.strip():
            history.append({"role": "user", "content": render.user_text(message)})
        return "", history, message or ""

    def respond(
        self,
        question: str,
        history: list[dict] | None,
        records: dict[str, Any] | None,
        k: float | None,
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
    ) -> tuple[list[dict], dict[str, Any], Any]:
        """Answer ``question``: the reply goes to the chat, its sources to the panel.

        Problems (empty question, index still building or broken) become a readable
        chat message; the source panel then keeps the previous answer.
        """
        history = list(history or [])
        records = dict(records or {})
        key = str(len(history))  # index of the reply in the chat, as the like event gives it
        records.pop(key, None)  # no feedback on error messages
        lang = _language(question)
        panel: Any = gr.skip()
        try:
            answer = self.service.ask(question, k, date_from, date_to, doc_ids)
        except QuestionError as exc:
            reply = render.error_text(str(exc), lang)
        except NotReady:
            reply = render.error_text(render.label(lang, "building"), lang)
        except IndexError_ as exc:
            reply = render.error_text(f"{render.label(lang, 'index_error')}: {exc}", lang)
        except Exception:  # noqa: BLE001 - never a traceback in the chat
            log.exception("Answering %r failed", question)
            reply = render.error_text(render.label(lang, "internal_error"), lang)
        else:
            reply, panel = render.chat_text(answer), render.sources_html(answer)
            records[key] = _feedback_view(answer)
            for old in sorted(records, key=int)[:-MAX_RECORDS]:
                del records[old]
        history.append({"role": "assistant", "content": reply})
        return history, records, panel

    def on_like(self, records: dict[str, Any] | None, data: gr.LikeData) -> None:
        """Append a helpful / not-helpful rating of an answer to the feedback file."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = (records or {}).get(str(index))
        if record is None or data.liked not in (True, False):
            log.debug("feedback ignored: index %r, liked %r", data.index, data.liked)
            return
        try:
            feedback.record_feedback(self.settings, record, bool(data.liked))
        except OSError:
            log.exception("Could not write feedback")
            raise gr.Error("Feedback could not be saved. / Feedback konnte nicht "
                           "gespeichert werden.", print_exception=False) from None
        en = record.get("language") == "en"
        gr.Info("Thanks for your feedback!" if en else "Danke für Ihr Feedback!")

    def refresh(self) -> tuple[str, Any, gr.Timer]:
        """Status line, article choices (once ready) and whether to keep polling."""
        state, message = self.service.status()
        docs = gr.Dropdown(choices=self.service.doc_choices) if self.service.ready else gr.skip()
        return render.status_html(state, message), docs, gr.Timer(active=state == "busy")

    def api_ask(
        self,
        question: str,
        k: int = 5,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> dict:
        """Answer a German or English question; returns ``Answer.to_dict()``.

        ``k``: number of sources (1-50); ``date_from``/``date_to``: ISO dates such as
        2021-11-30, 2021-11 or 2021; ``doc_ids``: only these articles.
        """
        if not self.service.ready:
            self.service.wait(API_WAIT_SECONDS)
        try:
            return self.service.ask(question, k, date_from, date_to, doc_ids).to_dict()
        except (QuestionError, NotReady, IndexError_) as exc:
            log.info("/ask: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:  # noqa: BLE001 - a clear error, not a traceback
            log.exception("API answer to %r failed", question)
            raise gr.Error(render.label("en", "internal_error"), print_exception=False) from None


def build_ui(chat: ChatApp) -> gr.Blocks:
    """The Blocks UI: chat, source panel, examples, settings, status line, ``/ask`` API."""
    with gr.Blocks(title="Nachrichten-Fragen · News Q&A", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## Fragen an das Nachrichtenarchiv · Ask the news archive")
        state, message = chat.service.status()
        status = gr.HTML(render.status_html(state, message), js_on_load=None,
                         elem_id="rag-status")
        timer = gr.Timer(1.0, active=True)
        records = gr.State({})
        pending = gr.State("")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", elem_id="rag-chat", height=480, latex_delimiters=[],
                    feedback_options=("Like", "Dislike"), buttons=["copy"],
                    placeholder="Fragen Sie auf Deutsch oder Englisch. / "
                                "Ask in German or English.",
                )
                question = gr.Textbox(
                    show_label=False, elem_id="rag-question", submit_btn=True, lines=1,
                    max_lines=4, max_length=chat.settings.max_question_chars,
                    placeholder="Ihre Frage … / Your question …",
                )
                gr.Examples(EXAMPLES, inputs=question, label="Beispiele / Examples")
                with gr.Accordion("Einstellungen / Settings", open=False):
                    k = gr.Slider(1, 20, value=chat.settings.top_k, step=1,
                                  label="Anzahl Quellen / Number of sources (k)")
                    with gr.Row():
                        date_from = gr.Textbox(label="Von / From",
                                               placeholder="2021-11-01, 2021-11, 2021")
                        date_to = gr.Textbox(label="Bis / To",
                                             placeholder="2022-12-31, 2022-12, 2022")
                    docs = gr.Dropdown(choices=chat.service.doc_choices, value=[],
                                       multiselect=True, elem_id="rag-docs",
                                       label="Nur diese Artikel / Only these articles")
            with gr.Column(scale=2):
                panel = gr.HTML(render.EMPTY_PANEL, js_on_load=None, elem_id="rag-sources",
                                max_height=760, padding=True)

        question.submit(
            chat.add_user, [question, chatbot], [question, chatbot, pending],
            queue=False, api_visibility="private",
        ).then(
            chat.respond, [pending, chatbot, records, k, date_from, date_to, docs],
            [chatbot, records, panel], api_visibility="private", concurrency_id="answer",
            concurrency_limit=2,
        )
        chatbot.clear(lambda: ({}, render.EMPTY_PANEL), None, [records, panel], queue=False,
                      api_visibility="private")
        chatbot.like(chat.on_like, [records], None, api_visibility="private")
        timer.tick(chat.refresh, None, [status, docs, timer], api_visibility="private",
                   show_progress="hidden")
        demo.load(chat.refresh, None, [status, docs, timer], api_visibility="private",
                  show_progress="hidden")
        gr.api(chat.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=2)
    return demo


def launch_options() -> dict[str, Any]:
    """Keyword arguments of ``launch()``: local theme and CSS, no sharing, no SSR, and
    no uploads worth the name (the app takes no files; Gradio's upload route stays)."""
    return {"theme": THEME, "css": render.CSS, "share": False, "ssr_mode": False,
            "show_error": False, "max_file_size": "1kb"}


def resolve_address(
    host: str | None, port: int | None, environ: Mapping[str, str] | None = None
) -> tuple[str, int]:
    """Host and port: the flag, else ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, else
    ``127.0.0.1:7860``."""
    env = os.environ if environ is None else environ
    host = host or env.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if port is None:
        raw = env.get("GRADIO_SERVER_PORT")
        try:
            port = int(raw) if raw else DEFAULT_PORT
        except ValueError:
            raise SystemExit(f"GRADIO_SERVER_PORT must be a number (got {raw!r}).") from None
    return host, port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python app.py``."""
    p = argparse.ArgumentParser(prog="python app.py", description="Web chat for German-news "
                                "question answering (see the module docstring).")
    p.add_argument("--host", help=f"interface to listen on (default: $GRADIO_SERVER_NAME or "
                   f"{DEFAULT_HOST})")
    p.add_argument("--port", type=int, help=f"port (default: $GRADIO_SERVER_PORT or "
                   f"{DEFAULT_PORT})")
    p.add_argument("--corpus", help="corpus folder (default: corpus/, or $RAG_CORPUS_DIR)")
    p.add_argument("--index", help="index folder (default: index/, or $RAG_INDEX_DIR)")
    p.add_argument("--data", help="folder for feedback.jsonl (default: data/, or $RAG_DATA_DIR)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, start loading the index, and serve the web chat."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "sentence_transformers", "transformers", "bm25s", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    host, port = resolve_address(args.host, args.port)
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index,
                                 data_dir=args.data)
    service = Service(Pipeline(settings, auto_index=False))
    service.start()
    demo = build_ui(ChatApp(service, settings))
    print(f"Web chat on http://{host}:{port}/ (corpus {settings.corpus_dir})", flush=True)
    demo.queue(default_concurrency_limit=2).launch(
        server_name=host, server_port=port, quiet=True, **launch_options()
    )


if __name__ == "__main__":
    main()
