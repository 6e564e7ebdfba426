"""The pipeline behind every way in (Python API, CLI, web app, evaluation)."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from .answer import NOT_FOUND, PERIOD, Answerer, Evidence, ExtractiveAnswerer, GenerativeAnswerer
from .answer.digest import (
    archive_answer,
    article_order,
    articles_topic,
    asks_archive_overview,
    asks_archive_size,
    asks_article_count,
    asks_what_happened,
    digest_answer,
    digest_topic,
    lead_answer,
    lists_articles,
    no_article_answer,
)
from .answer.metadata import asked_field, field_answer, topic_words
from .chat import (
    IMPLICIT,
    FollowUp,
    VectorCache,
    asks_for_more,
    best_similarity,
    listed_articles,
    merge_hits,
    names_new_topic,
    names_nothing_specific,
    ordinal_reference,
    parse_history,
    quoted_articles,
    resolve,
    understood_line,
    with_understanding,
    without_announcement,
)
from .chat.condense_llm import Condensed, condense_with_llm
from .chat.history import UNDERSTOOD, Turn
from .embed import Embedder, load_embedder, model_signature
from .errors import LLMError, QuestionError, StoreError
from .indexing import IndexReport, Progress, chunking_signature, update_index
from .ingest import dedup
from .ingest.corpus import scan_corpus
from .retrieve import Retriever, allowed_rows, article_chunks, articles_naming, named_articles
from .retrieve.search import sentence_relevance
from .retrieve.spelling import term_forms
from .retrieve.timefilter import (
    TimeIntent,
    annotate_answer,
    announces_period,
    apply_time,
    by_date,
    parse_time,
    recalls_period,
    renumbered,
    without_period,
)
from .settings import Settings
from .store.folder import current_version
from .store.index import Index, load_index
from .text.language import detect_language
from .text.terms import names_term, occurs, tokenize
from .types import Answer, Hit, Message, StoredChunk

log = logging.getLogger(__name__)

#: Control and invisible format characters, and lone surrogates (not valid text).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


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


def _as_iso(value: object, name: str) -> str | None:
    """A date filter as an ISO string (``None`` when not set); raises QuestionError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value.strip()):
        return value.strip()
    raise QuestionError(f"{name} must be a date like 2022-12-19, 2022-12 or 2022 (got {value!r}).")


def _as_k(value: object, default: int, most: int) -> int:
    """The number of sources (1 to ``most``); raises QuestionError naming ``k``."""
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise TypeError
        k = int(value)  # type: ignore[call-overload]
        if isinstance(value, float) and k != value:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise QuestionError(
            f"k must be a whole number from 1 to {most} (got {value!r})."
        ) from None
    if not 1 <= k <= most:
        raise QuestionError(f"k must be between 1 and {most} (got {k}).")
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
        answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env(corpus_dir=corpus_dir, index_dir=index_dir)
        self.auto_index = auto_index
        if answerer is None:
            answerer = (GenerativeAnswerer(self.settings) if self.settings.llm.enabled
                        else ExtractiveAnswerer(self.settings.answer))
        self.answerer: Answerer = answerer
        self._embedder = embedder
        self._index: Index | None = None
        self._lock = threading.RLock()
        self._questions = VectorCache()

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    def update_index(
        self, *, rebuild: bool = False, progress: bool = True, on_progress: Progress | None = None
    ) -> IndexReport:
        """Bring the index up to date with the corpus and load it (``progress``: a bar in
        the terminal; ``on_progress(done, total)``: called as chunks are embedded)."""
        with self._lock:
            report = update_index(self.settings, self.embedder, rebuild=rebuild,
                                  progress=progress, on_progress=on_progress)
            self._load()
            return report

    def _load(self) -> None:
        # The replaced index is not closed here: a question in another thread may still
        # be using it; its chunk store closes when the last reference goes.
        self._index = load_index(
            self.settings.paths.index_dir, model_signature(self.embedder),
            chunking_signature(self.settings),
        )

    def _scan(self) -> dict[str, str]:
        known = self._index.manifest.files if self._index is not None else None
        return scan_corpus(self.settings.paths.corpus_dir, self.settings.ingest, known)

    def is_stale(self) -> bool:
        """True when the corpus has files the index does not reflect."""
        index = self.index
        return self._scan() != index.manifest.files

    @property
    def index(self) -> Index:
        """The loaded index; built/updated first when ``auto_index`` and needed."""
        with self._lock:
            if self._index is None:
                if self.auto_index:
                    self._ensure_fresh()
                else:
                    self._load()
            elif current_version(self.settings.paths.index_dir) != self._index.folder:
                self._load()  # another process published a new version
            return self._index  # type: ignore[return-value]

    def _ensure_fresh(self) -> None:
        try:
            self._load()
            if self._scan() == self._index.manifest.files:
                return
            log.info("The corpus changed since the index was built; updating it.")
        except StoreError as exc:
            log.info("%s", exc)
        report = self.update_index()
        log.info("%s", report.summary())

    def ask(
        self,
        question: str,
        k: int | None = None,
        *,
        history: list[Message] | None = None,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        doc_ids: list[str] | None = None,
        today: date | None = None,
        on_draft: Callable[[str], None] | None = None,
        extractive: bool = False,
    ) -> Answer:
        """Answer ``question`` from the top ``k`` passages, with numbered sources.

        ``history``: the conversation so far as ``{"role": "user"|"assistant",
        "content": ...}`` messages (oldest first). A follow-up that refers back to it
        ("Und wann war das?") is retrieved together with the earlier turns and its answer
        says how it was understood (:attr:`Answer.understood_as`); a question that stands
        alone is answered exactly as without history (see :mod:`rag.chat`).

        A period named in the question ("im Dezember 2022", "letztes Jahr": relative to
        ``today``, default the current date) makes articles dated in it preferred (or
        the only ones, ``time_mode=filter``); copies of an article are shown once, with
        their publishers in ``Source.also``.

        With an LLM configured (``settings.llm``) the answer is generated and checked
        (:class:`~rag.answer.GenerativeAnswerer`; ``on_draft(text)`` sees the draft as it
        streams in) and a follow-up is made standalone by the LLM first (the extractive
        resolution when that fails); ``extractive`` leaves the LLM out of this question
        (the web chat checks its examples so at startup).

        Raises :class:`~rag.errors.QuestionError` (a ``ValueError``) for an empty or
        over-long question, a malformed history or filter.
        """
        text = clean_question(question, self.settings.answer.max_question_chars)
        k = _as_k(k, self.settings.retrieval.top_k, self.settings.retrieval.max_top_k)
        lo, hi = _as_iso(date_from, "date_from"), _as_iso(date_to, "date_to")
        doc_ids = _as_doc_ids(doc_ids)
        turns = parse_history(history, self.settings.chat.max_history_messages)
        lang = detect_language(text)
        listed = self._listed(text, lang, turns, k, today, on_draft, extractive)
        if listed is not None:  # "Erzähl mir mehr über das zweite" after a list
            return listed
        condensed = self._condense(text, turns, lang, today) if turns and not extractive else None
        followup = implicit = None
        asked = text
        if condensed is not None:
            text = condensed.question
        else:
            followup = resolve(text, lang, turns, self.settings.chat, detect_language,
                               possible=self.settings.chat.implicit_followup_margin >= 0)
            if followup is not None and followup.reason == IMPLICIT:
                followup, implicit = None, followup  # decided by what each reading finds
                if names_new_topic(text, lang, turns, self.index, self.settings.chat):
                    implicit = None
            if turns and followup is None:  # a new topic: asked without its announcement
                text = without_announcement(text)
        # an English question's German words (from the LLM) for the keyword side
        search_text, search_lang = ((condensed.search_query, "de")
                                    if condensed and condensed.search_query else (text, lang))
        if asked_field(search_text):  # the keywords of the article's topic, not "Artikel"
            search_text = topic_words(search_text)
        retriever = Retriever(self.index, self.embedder, self.settings.retrieval)
        index = retriever.index
        named = (named_articles(text, index)
                 if doc_ids is None and self.settings.retrieval.byline_filter else None)
        doc_ids = named or doc_ids
        when = self.settings.time
        intent = parse_time(text, today) if when.time_mode != "off" else TimeIntent()
        by_time = (intent.period and when.time_mode == "filter" and lo is None
                   and hi is None)
        undated = without_period(text)
        size = asks_archive_size(undated)  # "Wie viele Artikel gibt es (aus 2006)?"
        if size and not intent.period:
            return self._archive(asked, lang, index, allowed_rows(index, lo, hi, doc_ids))
        overview = asks_archive_overview(undated)  # "Worum geht es in den Artikeln?"
        if ((followup is None or size or overview)
                and (by_time or not (intent.period or lo or hi))
                and (size or overview or asks_what_happened(undated)
                     or lists_articles(undated))):
            digest = self._digest(asked, lang, index, intent, doc_ids, k,
                                  "overview" if overview else article_order(undated))
            if digest is not None:
                return _time_and_copies(digest, intent, index, index.manifest.duplicates)
        listed = followup is None and articles_topic(undated)
        if listed:  # "Welche Artikel gibt es über Fußball?"
            about = self._about(listed, text, lang, retriever, allowed_rows(
                index, intent.lo if by_time else lo, intent.hi if by_time else hi, doc_ids),
                intent, k, article_order(undated))
            if about is not None:
                return _time_and_copies(about, intent, index, index.manifest.duplicates)
        qvec = self._questions.encode([text], self.embedder.encode_queries)[0]
        if by_time:
            allowed = allowed_rows(index, intent.lo,
                                   _plus_days(intent.hi, intent.slack(when.time_slack_days)),
                                   doc_ids)
            older = (allowed_rows(index, None, _plus_days(intent.lo, -1), doc_ids)
                     if intent.lo else None)
            if older is not None and len(older):
                announced = self._writing_period(retriever, search_text, search_lang, qvec, older,
                                             intent, k * when.time_depth_factor)
                allowed = np.union1d(allowed, announced).astype(np.int64)
            context = followup or implicit
            if context is not None and context.previous_answer:  # "bei der Wahl 2018"
                told = _telling_rows(index, quoted_articles(index, context.previous_answer),
                                     intent)
                allowed = np.union1d(allowed, told).astype(np.int64)
            if not len(allowed):  # nothing from that period: search everything, say so
                by_time = False
                intent = replace(intent, label=f"{intent.label} – {_NONE_IN_PERIOD[lang]}")
                allowed = allowed_rows(index, lo, hi, doc_ids)
        else:
            allowed = allowed_rows(index, lo, hi, doc_ids)
        duplicates = index.manifest.duplicates
        if followup is not None:
            answer = self._ask_followup(followup, k, retriever, allowed, on_draft,
                                        extractive=extractive)
            return _time_and_copies(answer, intent, index, duplicates)
        rescore = intent.latest or (when.time_mode == "boost" and intent.period)
        depth = k * when.time_depth_factor if rescore or duplicates else k
        hits = retriever.search(search_text, search_lang, depth, allowed, qvec)
        if rescore:
            dates = {h.doc_id: index.docs[h.doc_id].date for h in hits}
            hits = apply_time(hits, dates, intent, boost=when.time_boost,
                              recency=when.time_recency, slack_days=when.time_slack_days)
        hits = dedup.collapse(hits, duplicates, k)
        if implicit is not None and hits:
            found = self._followup_hits(implicit, k, retriever, allowed)
            if found[0] and (names_nothing_specific(text, lang, index, self.settings.chat)
                             or self._refers_back(found[0], hits, qvec, retriever)):
                answer = self._ask_followup(implicit, k, retriever, allowed, on_draft, found,
                                            extractive=extractive)
                if answer.found:  # else asked alone: the follow-up reading was a guess
                    return _time_and_copies(answer, intent, index, duplicates)
        evidence = Evidence(text, lang, qvec, hits, k, allowed,
                            topic=self._topic(text) if by_time else None,
                            named=named is not None)
        answer = self._answer(evidence, retriever, on_draft, extractive)
        if by_time and intent.hi:  # "... für 2004" told in 2005
            answer = self._looking_back(evidence, answer, retriever, search_text,
                                        search_lang, intent, doc_ids, on_draft, extractive)
        if (not answer.found and condensed is None and named is None
                and (topic := digest_topic(undated))):
            answer = self._about(topic, text, lang, retriever, allowed, intent, k) or answer
        if condensed is not None and text != asked:
            understood = f"{UNDERSTOOD.get(lang, UNDERSTOOD['en'])} {text}"
            answer = replace(answer, understood_as=understood,
                             text=f"{understood}\n\n{answer.text}")
        return _time_and_copies(answer, intent, index, duplicates)

    def _listed(self, question: str, lang: str, turns: list[Turn], k: int,
                today: date | None, on_draft: Callable[[str], None] | None,
                extractive: bool) -> Answer | None:
        """The answer to a question about an article an earlier answer listed, by its
        position ("Erzähl mir mehr über das zweite", "Was steht im letzten Artikel?",
        "How many died according to number 3?", :func:`~rag.chat.ordinal_reference`):
        its record's field when the question asks for one ("Gib mir den Link zum zweiten
        Artikel"), that article in brief when the question asks only for more
        (:func:`~rag.answer.digest.lead_answer`), else the question asked of that article
        alone; ``None`` when the question names no position or the newest list among the
        last ``context_turns`` answers has no article there."""
        ref = ordinal_reference(question) if turns else None
        if ref is None:
            return None
        position, rest = ref
        # the newest list among the last turns ("Und das zweite?" after the first's lead)
        recent = turns[-self.settings.chat.context_turns:][::-1]
        listed = next((found for t in recent if (found := listed_articles(self.index, t.answer))),
                      [])
        i = position - 1 if position > 0 else position  # -1: the last
        doc_id = listed[i] if -len(listed) <= i < len(listed) else None
        if doc_id is None:
            return None
        doc = self.index.docs[doc_id]
        field = asked_field(question, named=True)  # "What's the link to the second one?"
        if field:
            answer = field_answer(question, lang, field, doc)
        elif asks_for_more(rest):
            rows = allowed_rows(self.index, None, None, [doc_id])
            chunks = self.index.chunks([int(self.index.row_ids[r]) for r in rows.tolist()])
            if not chunks:
                return None
            ordered = sorted(chunks.values(), key=lambda c: c.start)
            answer = _time_and_copies(lead_answer(question, lang, doc, ordered), TimeIntent(),
                                      self.index, self.index.manifest.duplicates)
        else:
            answer = self.ask(rest, k, doc_ids=[doc_id], today=today, on_draft=on_draft,
                              extractive=extractive)
        title = doc.title or doc_id
        understood = understood_line(question, lang, f"„{title}“" if lang == "de" else f"“{title}”")
        return replace(answer, question=question, understood_as=understood,
                       text=f"{understood}\n\n{answer.text}")

    def _archive(self, question: str, lang: str, index: Index,
                 rows: np.ndarray | None) -> Answer:
        """How many articles there are (those of ``rows``; ``None``: all) and the dates of
        the first and the last (:func:`~rag.answer.digest.archive_answer`)."""
        docs = list(index.docs) if rows is None else _row_docs(index, rows)
        dated = sorted((index.docs[d].date or "", d) for d in docs if index.docs[d].date)
        ends = [dated[0][1], dated[-1][1]] if dated else []
        first = _first_chunks(index, ends)
        return archive_answer(question, lang, [(index.docs[d], first[d]) for d in ends],
                              len(docs), len(docs) - len(dated))

    def _digest(self, question: str, lang: str, index: Index, intent: TimeIntent,
                doc_ids: list[str] | None, k: int, order: str | None = None) -> Answer | None:
        """The articles dated in ``intent``'s period, first ``k`` by date (none: those of
        the ``time_slack_days`` after it, where reports of it are; none there either: the
        ``k`` newest before it), or without a period the ``k`` newest (the ``k`` oldest
        when ``order`` is ``"oldest"``; with the time all span when it is
        ``"overview"``), each with its first passage
        (:func:`~rag.answer.digest.digest_answer`); ``None``: none at all."""
        mode, days = ("period" if intent.period else order or "newest"), 0
        rows = allowed_rows(index, intent.lo, intent.hi, doc_ids) if intent.period else None
        if rows is not None and not len(rows) and intent.hi:
            days = intent.slack(self.settings.time.time_slack_days)
            mode, rows = "after", allowed_rows(index, _plus_days(intent.hi, 1),
                                               _plus_days(intent.hi, days), doc_ids)
            if not len(rows) and intent.lo:
                mode, rows = "before", allowed_rows(index, None, _plus_days(intent.lo, -1),
                                                    doc_ids)
        undated = 0
        if rows is None:
            known = [d for d in doc_ids or index.docs if d in index.docs]
            docs = [d for d in known if index.docs[d].date]
            undated = len(known) - len(docs)
        else:
            docs = _row_docs(index, rows)
        newest_first = mode in ("newest", "before", "overview")
        docs.sort(key=_date_order(index), reverse=newest_first)
        if not docs:
            return None
        first = _first_chunks(index, docs[:k])
        span = (index.docs[docs[-1]].date or "", index.docs[docs[0]].date or "")
        return digest_answer(question, lang, [(index.docs[d], first[d]) for d in docs[:k]],
                             len(docs), mode, days, span=span, undated=undated)

    def _about(self, topic: str, question: str, lang: str, retriever: Retriever,
               allowed: np.ndarray | None, intent: TimeIntent, k: int,
               order: str | None = None) -> Answer | None:
        """The articles about ``topic`` for a question that asks for them ("Welche Artikel
        gibt es über Fußball?", :func:`~rag.answer.digest.articles_topic`) or asks what
        happened about it and found no answer ("What happened in Germany in June 2006?",
        :func:`~rag.answer.digest.digest_topic`): those among ``allowed`` (its period)
        whose best passage for the topic names every word of it (an English name also in
        its German form), the ``k`` best in date order, newest first without a period (the
        ``k`` newest of them when the question asks for the newest, the ``k`` oldest
        when ``order`` is ``"oldest"``); ``None``: no article names the topic."""
        terms = tokenize(topic)
        if not terms:
            return None
        index = retriever.index
        # "Lukashenko" is "Lukaschenko", "Germany" "Deutschland"
        forms = [term_forms(t, index.keywords, lang) for t in terms]
        if asks_article_count(question):  # "Wie viele Artikel gibt es über Fußball?"
            by_time = intent.period and self.settings.time.time_mode == "filter"
            return self._counted(topic, question, lang, index, forms, allowed, k,
                                 intent.label if by_time else "")
        depth = k * self.settings.time.time_depth_factor
        order = order or ("newest" if intent.latest else None)
        # the newest (oldest): among many more of the passages that name it
        hits = retriever.search(topic, lang, max(depth, _ORDERED_DEPTH) if order else depth,
                                allowed)
        chunks = index.chunks([h.id for h in hits])
        found: dict[str, StoredChunk] = {}
        for h in hits:
            if h.doc_id in found or h.id not in chunks:
                continue
            present = set(tokenize(f"{index.docs[h.doc_id].title or ''} {chunks[h.id].text}"))
            if all(any(names_term(f, present) for f in alike) for alike in forms):
                found[h.doc_id] = chunks[h.id]
        if not found:
            return None
        by_date = _date_order(index)
        docs = (sorted(found, key=by_date, reverse=order == "newest")[:k] if order
                else sorted(list(found)[:k], key=by_date, reverse=not intent.period))

        return digest_answer(question, lang, [(index.docs[d], found[d]) for d in docs],
                             len(found), f"topic {order}" if order else "topic", topic=topic,
                             spans=[_naming(found[d], forms) for d in docs])

    @staticmethod
    def _counted(topic: str, question: str, lang: str, index: Index, forms: list[list[str]],
                 allowed: np.ndarray | None, k: int, period: str = "") -> Answer | None:
        """How many articles among ``allowed`` name every word of ``topic`` (any of its
        ``forms``), counted in the keyword index, with the ``k`` newest of them listed
        (none: said so, with the ``period`` searched, not found; ``None`` when none names a
        topic written in lower case: an English word the German articles may translate)."""
        naming = articles_naming(index, forms, allowed)
        if not naming:
            named = all(w[:1].isupper() for w in topic.split())
            return no_article_answer(question, lang, topic, period) if named else None
        docs = sorted(naming, key=_date_order(index), reverse=True)[:k]
        chunks = index.chunks([naming[d] for d in docs])
        return digest_answer(question, lang, [(index.docs[d], chunks[naming[d]]) for d in docs],
                             len(naming), "topic count", topic=topic,
                             spans=[_naming(chunks[naming[d]], forms) for d in docs])

    def _topic(self, question: str) -> tuple[str, np.ndarray] | None:
        """The question without its period, and its vector (``None``: nothing left)."""
        rest = without_period(question)
        if rest == question:
            return None
        return rest, self._questions.encode([rest], self.embedder.encode_queries)[0]

    def _writing_period(self, retriever: Retriever, text: str, lang: str, qvec: np.ndarray,
                        allowed: np.ndarray | None, intent: TimeIntent, depth: int,
                        writes: Callable[[str, str | None, TimeIntent], bool] = announces_period,
                        ) -> np.ndarray:
        """Rows of the top ``depth`` passages among ``allowed`` (articles dated outside the
        period) that write a date within it: older articles announcing it
        (:func:`~rag.retrieve.timefilter.announces_period`), or later ones looking back on
        it (``writes=recalls_period``). They join the articles dated in the period."""
        hits = retriever.search(text, lang, depth, allowed, qvec)
        chunks = retriever.index.chunks([h.id for h in hits])
        docs = retriever.index.docs
        return np.array([h.row for h in hits if h.id in chunks and writes(
            chunks[h.id].text, docs[h.doc_id].date, intent)], np.int64)

    def _looking_back(self, evidence: Evidence, answer: Answer, retriever: Retriever,
                      text: str, lang: str, intent: TimeIntent, doc_ids: list[str] | None,
                      on_draft: Callable[[str], None] | None, extractive: bool) -> Answer:
        """The answer with the later articles that write a date within the period in a
        passage (a company's results for 2004, reported in March 2005; "the 2005 report
        of the Verfassungsschutz", presented in May 2006) added to the period's, when the
        period's passages alone answer nothing (``answer`` not found) or a passage of
        those articles matches the question better than the period's best."""
        when = self.settings.time
        after = _plus_days(intent.hi, intent.slack(when.time_slack_days) + 1)
        later = allowed_rows(retriever.index, after, None, doc_ids)
        if evidence.allowed_rows is None or later is None or not len(later):
            return answer
        rows = self._writing_period(retriever, text, lang, evidence.qvec, later, intent,
                                evidence.k * when.time_depth_factor, recalls_period)
        if not len(rows):
            return answer
        # the whole article that looks back: its other passages tell of the event too
        looking_back = _row_docs(retriever.index, rows)
        rows = allowed_rows(retriever.index, None, None, looking_back)
        allowed = np.union1d(evidence.allowed_rows, rows).astype(np.int64)
        hits = retriever.search(text, lang, evidence.k * when.time_depth_factor, allowed,
                                evidence.qvec)
        hits = dedup.collapse(hits, retriever.index.manifest.duplicates, evidence.k)
        if answer.found and not (hits and evidence.hits and hits[0].doc_id in looking_back
                                 and hits[0].sentence > evidence.hits[0].sentence):
            return answer  # the period's own report answers, and nothing later does better
        # weaker evidence than a report of the time: its passage must also share the
        # question's rarer terms, however well it matches (as after "not found")
        again = self._answer(replace(evidence, hits=hits, allowed_rows=allowed,
                                     unanswered=evidence.question), retriever,
                             on_draft, extractive)
        return again if again.found else answer

    def _answer(self, evidence: Evidence, retriever: Retriever,
                on_draft: Callable[[str], None] | None, extractive: bool = False) -> Answer:
        if extractive and isinstance(self.answerer, GenerativeAnswerer):
            return self.answerer.extractive.answer(evidence, retriever)
        if on_draft is not None and isinstance(self.answerer, GenerativeAnswerer):
            return self.answerer.answer(evidence, retriever, on_draft=on_draft)
        return self.answerer.answer(evidence, retriever)

    def _condense(self, question: str, turns: Sequence[Turn], lang: str,
                  today: date | None) -> Condensed | None:
        """A follow-up made standalone by the LLM (``None``: no LLM, or it failed, so the
        extractive resolution of :mod:`rag.chat` is used)."""
        if not (isinstance(self.answerer, GenerativeAnswerer) and self.settings.llm.llm_condense):
            return None
        messages: list[Message] = []
        for t in turns:
            messages += [{"role": "user", "content": t.question},
                         {"role": "assistant", "content": t.answer}]
        try:
            c = condense_with_llm(self.answerer.client, question, messages, lang,
                                  today or date.today())
            return replace(c, question=clean_question(
                c.question, self.settings.answer.max_question_chars))
        except (LLMError, QuestionError) as exc:
            log.info("LLM condensation failed (%s); extractive resolution used.", exc)
            return None

    def _followup_hits(
        self, followup: FollowUp, k: int, retriever: Retriever, allowed: np.ndarray | None,
    ) -> tuple[list[Hit], np.ndarray]:
        """The passages found for a follow-up (its question mixed with its context,
        passages of the articles the previous answer quoted preferred), and the query
        vectors of its texts."""
        vectors = self._questions.encode(list(followup.texts), self.embedder.encode_queries)
        qvec = followup.query_vector(vectors)
        lang = followup.language
        hits = retriever.search(followup.search_text, lang, k, allowed, qvec)
        bonus = self.settings.chat.previous_article_bonus
        if bonus > 0 and followup.previous_answer:
            docs = quoted_articles(retriever.index, followup.previous_answer)
            rows = allowed_rows(retriever.index, None, None, docs) if docs else None
            if rows is not None and allowed is not None:
                rows = np.intersect1d(rows, allowed)
            if rows is not None and len(rows):
                preferred = retriever.search(followup.search_text, lang, k, rows, qvec)
                hits = merge_hits(hits, preferred, bonus, k)
        return hits, vectors

    def _refers_back(self, context_hits: list[Hit], hits: list[Hit], qvec: np.ndarray,
                     retriever: Retriever) -> bool:
        """Whether a question whose words stand alone is read as a follow-up: what the
        conversation finds for it (``context_hits``) is another article than what the
        question alone finds (``hits``), and its best sentence matches the question
        itself within ``implicit_followup_margin`` as well ("Wer saß in der Maschine?"
        after the crash of a fighter jet: the jet's crew, not a damaged harvester)."""
        if not context_hits or context_hits[0].doc_id == hits[0].doc_id:
            return False
        chunks = retriever.index.chunks([context_hits[0].id, hits[0].id])
        with_context = sentence_relevance(chunks[context_hits[0].id], qvec)
        alone = sentence_relevance(chunks[hits[0].id], qvec)
        return with_context >= alone - self.settings.chat.implicit_followup_margin

    def _ask_followup(
        self, followup: FollowUp, k: int, retriever: Retriever, allowed: np.ndarray | None,
        on_draft: Callable[[str], None] | None = None,
        found: tuple[list[Hit], np.ndarray] | None = None,
        extractive: bool = False,
    ) -> Answer:
        """Retrieve with the question mixed with its context (or take ``found``, what
        :meth:`_followup_hits` found), answer, say how it was understood; "not found"
        when no passage fits the question itself closely enough
        (``followup_min_relevance``)."""
        hits, vectors = found or self._followup_hits(followup, k, retriever, allowed)
        lang = followup.language
        svec = followup.query_vector(vectors, for_sentences=True)
        evidence = Evidence(followup.question, lang, svec, hits, k, allowed,
                            said=followup.previous_answer, with_context=True,
                            unanswered=followup.unanswered)
        answer = self._answer(evidence, retriever, on_draft, extractive)
        floor = self.settings.chat.followup_min_relevance
        if answer.found and floor > 0:
            chunks = retriever.index.chunks([h.id for h in hits[:3]])
            if best_similarity(list(chunks.values()), vectors[0]) < floor:
                answer = Answer(answer.question, lang, False, NOT_FOUND[lang],
                                answer.sources[:k])
        return with_understanding(answer, followup)


def _date_order(index: Index) -> Callable[[str], tuple[str, str]]:
    """The sort key of article ids by date (undated first), then id."""
    return lambda doc_id: (index.docs[doc_id].date or "", doc_id)


def _naming(chunk: StoredChunk, forms: list[list[str]]) -> tuple[int, int] | None:
    """The first sentence of ``chunk`` that names a topic (a word in any of its
    ``forms``)."""
    for a, b in chunk.sentences:
        words = set(tokenize(chunk.text[a:b]))
        if any(occurs(f, words) for alike in forms for f in alike):
            return a, b
    return None


def _row_docs(index: Index, rows: np.ndarray) -> list[str]:
    """The articles of index ``rows``, each once, in the order of their first row."""
    return list(dict.fromkeys(index.row_docs[r] for r in rows.tolist()))


def _first_chunks(index: Index, docs: list[str]) -> dict[str, StoredChunk]:
    """The first passage of each of ``docs``, by article id."""
    first: dict[str, StoredChunk] = {}
    for chunk in article_chunks(index, docs):
        if chunk.doc_id not in first or chunk.start < first[chunk.doc_id].start:
            first[chunk.doc_id] = chunk
    return first


def _telling_rows(index: Index, docs: list[str], intent: TimeIntent) -> np.ndarray:
    """The rows of the passages of the articles ``docs`` (those a conversation's previous
    answer quoted) that write a date within ``intent``'s period, before or after it: a
    follow-up naming a time its article tells of ("Und wie hatten die Parteien bei der
    Wahl 2018 abgeschnitten?" about an article of 2019) is answered from that article."""
    rows = allowed_rows(index, None, None, docs) if docs else None
    if rows is None or not len(rows):
        return np.zeros(0, np.int64)
    ids = [int(i) for i in index.row_ids[rows]]
    chunks = index.chunks(ids)
    dates = {d: index.docs[d].date for d in docs}
    return np.array([row for row, i in zip(rows, ids) if i in chunks and any(
        writes(chunks[i].text, dates[chunks[i].doc_id], intent)
        for writes in (announces_period, recalls_period))], np.int64)


def _plus_days(iso: str | None, days: int) -> str | None:
    if iso is None or not days:
        return iso
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


#: Passages searched for the newest (oldest) articles about a topic ("der neueste Artikel
#: über ...").
_ORDERED_DEPTH = 50
_NONE_IN_PERIOD = {"de": "keine Artikel aus diesem Zeitraum, alle durchsucht",
                   "en": "no articles from this period, searched all"}


def _time_and_copies(answer: Answer, intent: TimeIntent, index: Index,
                     duplicates: dict[str, str]) -> Answer:
    """Say which period was used, order a timeline by date, and list each source's copies
    ("also published by")."""
    for s in answer.sources:
        for d in dedup.copies_of(s.doc_id, duplicates) if duplicates else []:
            meta = index.docs.get(d)
            if meta:
                s.also.append({"doc_id": d, "title": meta.title, "publisher": meta.publisher,
                               "date": meta.date, "url": meta.url})
    # The extractive text (kept beside an LLM's answer, shown when it falls back) is
    # finished the same way as the text.
    if answer.found:  # "gestern" in a quoted sentence: the day before the article's date
        dates = {s.n: s.date for s in answer.sources}
        answer.text = annotate_answer(answer.text, dates)
        answer.extractive = answer.extractive and annotate_answer(answer.extractive, dates)
    if intent.timeline:
        answer = renumbered(answer, by_date(answer.sources, lambda s: s.date))
    if intent.label:
        answer.period = intent.label
        if answer.found:
            line = f"\n\n({PERIOD.get(answer.language, PERIOD['en'])}: {intent.label})"
            answer.text += line
            answer.extractive = answer.extractive and answer.extractive + line
    return answer


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
    k: int | None = None,
    *,
    history: list[Message] | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    doc_ids: list[str] | None = None,
) -> Answer:
    """Answer a German or English question from the default corpus (see :class:`Pipeline`)."""
    return default_pipeline().ask(question, k, history=history, date_from=date_from,
                                  date_to=date_to, doc_ids=doc_ids)
