"""Relevance labels a reader understands, from the calibration behind "not found".

The pipeline answers "not found" when the best sentence of the best passage is less
similar to the question than ``settings.answer.min_relevance_<lang>`` (calibrated with
``bench/calibrate.py``). Each source carries that same similarity
(:attr:`rag.types.Source.relevance`), so its label uses the same scale:

- at or above ``strong_relevance_<lang>``: *sehr relevant* / *highly relevant* (almost no
  unanswerable question reaches it; calibrated with ``bench/relevance_labels.py``);
- at or above ``min_relevance_<lang>``: *relevant* (answers are given from here on; an
  English question's own threshold moves with its background similarity around this
  level, so an English answer may rest on a *possibly relevant* source - with the
  warning below);
- below: *möglicherweise relevant* / *possibly relevant*.

An answer whose best source is only *relevant* gets a low-relevance warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..settings import Settings
from ..types import Answer, Source

Level = Literal["high", "medium", "low"]

LEVEL_LABELS: dict[str, dict[Level, str]] = {
    "de": {"high": "sehr relevant", "medium": "relevant", "low": "möglicherweise relevant"},
    "en": {"high": "highly relevant", "medium": "relevant", "low": "possibly relevant"},
}


@dataclass(frozen=True)
class RelevanceScale:
    """The calibrated thresholds of one question language."""

    #: Below this, the pipeline says "not found" (``min_relevance_<lang>``).
    answer: float
    #: From this on, a source is "very relevant" (``strong_relevance_<lang>``).
    strong: float

    @classmethod
    def for_language(cls, settings: Settings, language: str | None) -> RelevanceScale:
        """The scale for questions in ``language`` (German unless ``"en"``)."""
        a = settings.answer
        if language == "en":
            return cls(a.min_relevance_en, max(a.strong_relevance_en, a.min_relevance_en))
        return cls(a.min_relevance_de, max(a.strong_relevance_de, a.min_relevance_de))

    def level(self, relevance: float | None) -> Level:
        """``"high"``, ``"medium"`` or ``"low"`` for a sentence similarity."""
        if relevance is None:
            return "low"
        if relevance >= self.strong:
            return "high"
        return "medium" if relevance >= self.answer else "low"

    def weak(self, answer: Answer) -> bool:
        """True when ``answer`` was given but its best source is only "relevant"."""
        best = best_relevance(answer.sources)
        return bool(answer.found and best is not None and best < self.strong)


def best_relevance(sources: list[Source]) -> float | None:
    """The highest relevance among ``sources`` (``None`` when none has one)."""
    values = [s.relevance for s in sources if s.relevance is not None]
    return max(values) if values else None
