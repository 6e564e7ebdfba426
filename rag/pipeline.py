"""The pipeline behind every way in (Python API, CLI, web app, evaluation)."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from datetime import date

import numpy as np

from .answer import (
    NOT_FOUND,
    Answer,
    AnswerParams,
    asks_year,
    compose,
    make_source,
    rank_sentences,
)
from .corpus import scan_corpus
from .embedding import Embedder
from .index import Index, IndexError_, current_version, load_index
from .indexer import IndexReport, chunking_signature, model_signature, update_index
from .language import detect_language
from .retrieval import FusionParams, search
from .settings import Settings

log = logging.getLogger(__name__)

#: Control and invisible format characters, and lone surrogates (not valid text).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


def clean_question(question: object, max_chars: int) -> str:
    """Normalise a question (NFC, no control characters, single spaces) or raise.

    Raises :class:`QuestionError` for a non-string, empty or over-long question.
    """
    if not isinstance(question, str):
        raise QuestionError("The question must be text. / Die Frage muss ein Text sein.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text or not any(ch.isalnum() for ch in text):
        raise QuestionError("Please enter a question. / Bitte geben Sie eine Frage ein.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is too long ({len(text)} characters, at most {max_chars}). "
            f"Please shorten it. / Die Frage ist zu lang ({len(text)} Zeichen, "
            f"höchstens {max_chars}). Bitte kürzen Sie sie."
        )
    return text


def _date_bounds(value: str | None) -> tuple[str, str] | None:
    """A (possibly partial) ISO date as the inclusive range it stands for."""
    if not value:
        return None
    parts = value.split("-")
    lo = "-".join(parts + ["01"] * (3 - len(parts)))
    hi = "-".join(parts + ["12", "31"][len(parts) - 1 :]) if len(parts) < 3 else value
    return lo, hi


def _as_iso(value: object, name: str) -> str | None:
    """A date filter as an ISO string (``None`` when not set); raises QuestionError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value.strip()):
        return value.strip()
    raise QuestionError(f"{name} must be a date like 2022-12-19, 2022-12 or 2022 (got {value!r}).")


def _as_k(value: object, default: int) -> int:
    """The number of sources (1-50); raises QuestionError naming ``k``."""
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise TypeError
        k = int(value)  # type: ignore[call-overload]
        if isinstance(value, float) and k != value:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise QuestionError(f"k must be a whole number from 1 to 50 (got {value!r}).") from None
    if not 1 <= k <= 50:
        raise QuestionError(f"k must be between 1 and 50 (got {k}).")
    return k


def _as_doc_ids(value: object) -> list[str] | None:
    """The article filter as a list of doc ids; raises QuestionError naming ``doc_ids``."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return None
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise QuestionError(f"doc_ids must be a list of article ids (got {value!r}).")


class Pipeline:
    """Question answering over one corpus and its index.

    ``Pipeline()`` uses the product's corpus and index; pass ``corpus_dir``/``index_dir``
    (or a :class:`Settings`) for another corpus. The index is built or updated on first
    use when it is missing or stale (``auto_index``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        corpus_dir: str | None = None,
        index_dir: str | None = None,
        auto_index: bool = True,
        embedder: Embedder | None = None,
        fusion: FusionParams | None = None,
        answering: AnswerParams | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env(corpus_dir=corpus_dir, index_dir=index_dir)
        self.auto_index = auto_index
        self.fusion = fusion or FusionParams()
        self.answering = answering or AnswerParams()
        self._embedder = embedder
        self._index: Index | None = None
        self._lock = threading.RLock()

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder.from_settings(self.settings)
            return self._embedder

    def update_index(self, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Bring the index up to date with the corpus and load it."""
        with self._lock:
            report = update_index(self.settings, self.embedder, rebuild=rebuild, progress=progress)
            self._load()
            return report

    def _load(self) -> None:
        # The replaced index is not closed here: a question in another thread may still
        # be using it; its chunk store closes when the last reference goes.
        self._index = load_index(
            self.settings.index_dir, model_signature(self.embedder),
            chunking_signature(self.settings),
        )

    def is_stale(self) -> bool:
        """True when the corpus has files the index does not reflect."""
        index = self.index
        return scan_corpus(self.settings.corpus_dir) != index.manifest.files

    @property
    def index(self) -> Index:
        """The loaded index; built/updated first when ``auto_index`` and needed."""
        with self._lock:
            if self._index is None:
                if self.auto_index:
                    self._ensure_fresh()
                else:
                    self._load()
            elif current_version(self.settings.index_dir) != self._index.folder:
                self._load()  # another process published a new version
            return self._index  # type: ignore[return-value]

    def _ensure_fresh(self) -> None:
        try:
            self._load()
            if scan_corpus(self.settings.corpus_dir) == self._index.manifest.files:
                return
            log.info("The corpus changed since the index was built; updating it.")
        except IndexError_ as exc:
            log.info("%s", exc)
        report = self.update_index()
        log.info("%s", report.summary())

    def ask(
        self,
        question: str,
        k: int | None = None,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        doc_ids: list[str] | None = None,
    ) -> Answer:
        """Answer ``question`` from the top ``k`` passages, with numbered sources.

        Raises :class:`QuestionError` (a ``ValueError``) for an empty or over-long
        question or a malformed filter.
        """
        text = clean_question(question, self.settings.max_question_chars)
        k = _as_k(k, self.settings.top_k)
        lo, hi = _as_iso(date_from, "date_from"), _as_iso(date_to, "date_to")
        doc_ids = _as_doc_ids(doc_ids)
        lang = detect_language(text)
        index = self.index
        allowed = self._allowed_rows(index, lo, hi, doc_ids)
        qvec = self.embedder.encode_queries([text])[0]
        hits = search(index, qvec, text, lang, k, self.fusion, allowed)
        chunks = index.chunks([h.id for h in hits])
        sources = [
            make_source(n, chunks[h.id], index.docs[h.doc_id], h.score)
            for n, h in enumerate(hits, start=1)
        ]
        threshold = (self.settings.min_relevance_de if lang == "de"
                     else self.settings.min_relevance_en)
        if not hits or hits[0].sentence < threshold:
            return Answer(text, lang, False, NOT_FOUND[lang], sources)
        candidates = rank_sentences(
            qvec, text, lang, [chunks[h.id] for h in hits], [h.score for h in hits],
            self.answering,
        )
        if asks_year(text) and candidates:
            more = self._cross_check(index, text, candidates[0].text, hits, allowed)
            if more:
                hits = hits + more
                chunks.update(index.chunks([h.id for h in more]))
                sources += [
                    make_source(len(sources) + n, chunks[h.id], index.docs[h.doc_id], h.score)
                    for n, h in enumerate(more, start=1)
                ]
                floor = min(h.score for h in hits[: len(hits) - len(more)])
                candidates = rank_sentences(
                    qvec, text, lang, [chunks[h.id] for h in hits],
                    [min(h.score, floor) for h in hits], self.answering,
                )
        answer_text = compose(text, candidates, sources, lang, self.answering)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)}
        sources = [s for s in sources if s.n <= k or s.n in cited]
        return Answer(text, lang, True, answer_text, sources)

    def _cross_check(
        self, index: Index, question: str, statement: str, hits: list,
        allowed: np.ndarray | None,
    ) -> list:
        """Passages of other articles about the question and its best answer sentence
        (numbers removed).

        A "when" question is checked against what other articles say about the same
        thing, so that a disagreement on the date is shown, not hidden.
        """
        probe = question + " " + re.sub(r"\d[\d'’.]*", " ", statement)
        pvec = self.embedder.encode_queries([probe])[0]
        seen_docs = {h.doc_id for h in hits}
        more = search(index, pvec, probe, "de", 8, self.fusion, allowed)
        return [h for h in more if h.doc_id not in seen_docs][:3]

    @staticmethod
    def _allowed_rows(
        index: Index, lo: str | None, hi: str | None, doc_ids: list[str] | None
    ) -> np.ndarray | None:
        if lo is None and hi is None and not doc_ids:
            return None
        wanted = set(doc_ids or index.docs)
        lo_b, hi_b = _date_bounds(lo), _date_bounds(hi)
        ok_docs = set()
        for doc_id in wanted & index.docs.keys():
            bounds = _date_bounds(index.docs[doc_id].date)
            if lo_b or hi_b:
                if bounds is None:
                    continue
                if lo_b and bounds[1] < lo_b[0]:
                    continue
                if hi_b and bounds[0] > hi_b[1]:
                    continue
            ok_docs.add(doc_id)
        return np.fromiter(
            (r for r, d in enumerate(index.row_docs) if d in ok_docs), dtype=np.int64
        )


_default: Pipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """The process-wide pipeline over the product's corpus and index."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Pipeline()
        return _default


def ask(
    question: str,
    k: int = 5,
    *,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    doc_ids: list[str] | None = None,
) -> Answer:
    """Answer a German or English question from the default corpus (see :class:`Pipeline`)."""
    return default_pipeline().ask(question, k, date_from=date_from, date_to=date_to,
                                  doc_ids=doc_ids)
