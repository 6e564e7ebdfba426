"""Judging answers and computing metrics of the batch evaluation.

* A passage *answers* a question when its ``doc_id`` is one of the question's
  ``expected_sources`` and its text contains at least one ``answer_keyword``; a question
  without keywords is judged at the article level (any passage of an expected source
  answers it, and its ``answer_hit`` is not counted)
  (:func:`answers_question`: case-insensitive, whitespace runs collapsed, digit-group
  separators removed with :func:`rag.text.terms.normalize_numbers`, so 62'000 = 62.000 =
  62 000; plain substring containment).
* ``rank`` is the 1-based position of the first answering passage in the returned source
  list (ties in score keep the list order), ``None`` when none answers. It is computed
  from the returned sources even when the answer was refused (those sources are shown
  to the user as "possibly related").
* ``hit@k``, ``mrr`` and ``answer_hit`` are shares of the *answerable* questions (``mrr``
  counts 0 for no answering passage in the top 10; ``answer_hit`` needs ``found`` and a
  keyword in ``Answer.text``; article-level questions are left out of it). They are
  ``None`` when a group has no answerable question.
* A question counts as *refused* when ``Answer.found`` is false (or when ``ask()``
  rejected it with a :class:`~rag.pipeline.QuestionError`). ``no_answer_precision`` =
  correct refusals / refusals (``None`` when nothing was refused), ``no_answer_recall``
  = correct refusals / unanswerable questions (``None`` when there are none),
  ``false_refusals`` = number of answerable questions refused.
* ``latency_p50_ms``/``latency_p95_ms``: percentiles (linear interpolation) of the
  wall time of ``ask()`` over all questions of the group, after one warm-up question.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from ..text.terms import normalize_numbers
from .questions import LANGUAGES, Question

if TYPE_CHECKING:
    from ..types import Answer

METRIC_KEYS = (
    "hit@1", "hit@3", "hit@5", "hit@10", "mrr", "answer_hit",
    "no_answer_precision", "no_answer_recall", "false_refusals",
    "latency_p50_ms", "latency_p95_ms", "n",
)
HIT_KS = (1, 3, 5, 10)
#: Ranks beyond this count 0 in ``mrr``.
MRR_CUTOFF = 10
#: Language groups always present in ``by_language`` (others appear when used).


@dataclass(frozen=True)
class SourceHit:
    """A returned source as the report keeps it (``text`` is not written to JSON)."""

    doc_id: str
    n: int
    score: float
    text: str = ""


@dataclass
class QuestionResult:
    """The outcome of one question; the unit :func:`compute_metrics` works on."""

    id: str
    lang: str
    question: str
    no_answer: bool
    found: bool
    rank: int | None
    answer: str | None
    answer_hit: bool | None
    latency_ms: float
    sources: list[SourceHit] = field(default_factory=list)
    expected_sources: list[str] = field(default_factory=list)
    answer_keywords: list[str] = field(default_factory=list)
    detected_lang: str | None = None
    error: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (sources as ``doc_id``, ``n``, ``score`` only)."""
        data = asdict(self)
        data["sources"] = [{"doc_id": s.doc_id, "n": s.n, "score": s.score} for s in self.sources]
        return data

    @property
    def failed(self) -> bool:
        """True when the product got this question wrong in any measured way."""
        if self.no_answer:
            return self.found
        return not self.found or self.rank is None or self.answer_hit is False


@dataclass
class Report:
    """An evaluation run: metrics, configuration and per-question results."""

    metrics: dict[str, Any]
    config: dict[str, Any]
    questions: list[QuestionResult]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``--out``."""
        return {
            "metrics": self.metrics,
            "config": self.config,
            "questions": [q.to_dict() for q in self.questions],
        }


# --- judging -----------------------------------------------------------------------


def _normalize(text: str) -> str:
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return normalize_numbers(text).casefold()


def answers_question(text: str, keywords: Iterable[str]) -> bool:
    """True when ``text`` contains at least one keyword.

    Case-insensitive (``casefold``), whitespace runs count as one space, and digit-group
    separators are ignored (62'000 = 62’000 = 62.000 = 62 000, see
    :func:`rag.text.terms.normalize_numbers`).
    """
    haystack = _normalize(text)
    return any((kw := _normalize(k)) and kw in haystack for k in keywords)


def _source_key(name: str) -> str:
    return PurePosixPath(unicodedata.normalize("NFC", name).replace("\\", "/")).as_posix()


def first_answering_rank(question: Question, sources: Sequence[Any]) -> int | None:
    """1-based position of the first source that answers ``question`` (``None``: none).

    ``sources`` are objects with ``doc_id`` and ``text`` (e.g. :class:`rag.types.Source`);
    the position in the list is the rank, whatever the scores (ties keep list order).
    """
    expected = {_source_key(s) for s in question.expected_sources}
    for position, source in enumerate(sources, start=1):
        if _source_key(source.doc_id) in expected and (
            not question.answer_keywords
            or answers_question(source.text, question.answer_keywords)
        ):
            return position
    return None


def judge(
    question: Question, answer: Answer | None, latency_ms: float, error: str | None = None
) -> QuestionResult:
    """Score one answer (``answer=None``: ``ask()`` rejected the question with ``error``)."""
    sources = list(answer.sources) if answer is not None else []
    found = bool(answer is not None and answer.found)
    answer_hit = None if question.no_answer or question.article_level else bool(
        found and answer is not None and answers_question(answer.body, question.answer_keywords)
    )
    return QuestionResult(
        id=question.id,
        lang=question.lang,
        question=question.question,
        no_answer=question.no_answer,
        found=found,
        rank=None if question.no_answer else first_answering_rank(question, sources),
        answer=answer.text if answer is not None else None,
        answer_hit=answer_hit,
        latency_ms=round(float(latency_ms), 3),
        sources=[SourceHit(s.doc_id, int(s.n), float(s.score), s.text) for s in sources],
        expected_sources=list(question.expected_sources),
        answer_keywords=list(question.answer_keywords),
        detected_lang=answer.language if answer is not None else None,
        error=error,
        kind=question.kind,
    )


# --- metrics -----------------------------------------------------------------------


def _get(row: QuestionResult | Mapping[str, Any], name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _share(count: float, total: int) -> float | None:
    return count / total if total else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def group_metrics(rows: Sequence[QuestionResult | Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics (keys :data:`METRIC_KEYS`) of one group of question results."""
    answerable = [r for r in rows if not _get(r, "no_answer")]
    unanswerable = [r for r in rows if _get(r, "no_answer")]
    refused = [r for r in rows if not _get(r, "found")]
    ranks = [_get(r, "rank") for r in answerable]
    metrics: dict[str, Any] = {}
    for k in HIT_KS:
        metrics[f"hit@{k}"] = _share(sum(r is not None and r <= k for r in ranks), len(ranks))
    metrics["mrr"] = _share(
        sum(1.0 / r for r in ranks if r is not None and r <= MRR_CUTOFF), len(ranks))
    judged = [r for r in answerable if _get(r, "answer_hit") is not None]
    metrics["answer_hit"] = _share(sum(bool(_get(r, "answer_hit")) for r in judged),
                                   len(judged))
    correct = sum(bool(_get(r, "no_answer")) for r in refused)
    metrics["no_answer_precision"] = _share(correct, len(refused))
    metrics["no_answer_recall"] = _share(correct, len(unanswerable))
    metrics["false_refusals"] = len(refused) - correct
    latencies = [float(_get(r, "latency_ms")) for r in rows]
    metrics["latency_p50_ms"] = _percentile(latencies, 50)
    metrics["latency_p95_ms"] = _percentile(latencies, 95)
    metrics["n"] = len(rows)
    return metrics


def compute_metrics(rows: Sequence[QuestionResult | Mapping[str, Any]]) -> dict[str, Any]:
    """``{"overall": {...}, "by_language": {"de": {...}, "en": {...}, ...}}``, plus
    ``"by_kind"`` when any question carries a ``kind`` (others count as ``"other"``).

    ``rows`` are :class:`QuestionResult` objects or their dicts (e.g. the ``questions``
    of a saved report); each needs ``lang``, ``no_answer``, ``found``, ``rank``,
    ``answer_hit`` and ``latency_ms``. Pure: no model, no index.
    """
    langs = sorted(set(LANGUAGES) | {_get(r, "lang") for r in rows})
    out: dict[str, Any] = {
        "overall": group_metrics(rows),
        "by_language": {
            lang: group_metrics([r for r in rows if _get(r, "lang") == lang]) for lang in langs
        },
    }
    kinds = [_kind_of(r) for r in rows]
    if any(k is not None for k in kinds):
        labels = sorted({k or OTHER_KIND for k in kinds})
        out["by_kind"] = {
            label: group_metrics([r for r, k in zip(rows, kinds) if (k or OTHER_KIND) == label])
            for label in labels
        }
    return out


#: The group of questions without a ``kind`` when others have one.
OTHER_KIND = "other"


def _kind_of(row: QuestionResult | Mapping[str, Any]) -> str | None:
    if isinstance(row, Mapping):
        return row.get("kind")
    return row.kind


