"""The citation check of generated answers (a pure function: text and passages in, verdict out).

Every sentence of a generated answer must cite at least one known source, and the passages
it cites must support it:

* facts: each number, year, date and (rare, capitalised) name of the sentence occurs in a
  cited passage or its title/date line (German and English number and date formats are
  normalised, see :mod:`rag.text.facts`);
* meaning: the sentence's embedding is at least ``threshold`` similar to the best-matching
  sentence of a cited passage (the model is cross-lingual, so English sentences are checked
  against German passages).

Unsupported sentences are dropped with the reason; the kept sentences keep their ``[n]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..text.facts import Facts, extract_facts, name_occurs, words
from ..text.sentences import split_sentences

#: A citation marker after mapping: ``[2]`` or ``[1, 3]``.
MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MARKERS_AFTER_END = re.compile(r"([.!?…])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")


@dataclass(frozen=True)
class Passage:
    """A numbered source as the check sees it."""

    n: int
    text: str
    #: Sentence spans of ``text`` and their embeddings (rows aligned, L2-normalised).
    sentences: Sequence[tuple[int, int]]
    vectors: np.ndarray
    #: Title, date and publisher shown to the model with the passage (facts may come
    #: from there too).
    meta: str = ""


@dataclass(frozen=True)
class SentenceVerdict:
    """One generated sentence and whether its citations support it."""

    #: The sentence as written, with its ``[n]`` markers.
    text: str
    cited: tuple[int, ...]
    supported: bool
    #: Why it was dropped ("" when supported).
    reason: str = ""
    #: Similarity to the best-matching sentence of the cited passages.
    similarity: float = 0.0
    #: ``(n, (start, end))``: the best-matching sentence of each cited passage.
    evidence: tuple[tuple[int, tuple[int, int]], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CheckResult:
    """The verdicts of all sentences of one answer, in order."""

    verdicts: tuple[SentenceVerdict, ...]

    @property
    def kept(self) -> list[SentenceVerdict]:
        """The supported sentences."""
        return [v for v in self.verdicts if v.supported]

    @property
    def dropped(self) -> list[SentenceVerdict]:
        """The unsupported sentences (with reasons)."""
        return [v for v in self.verdicts if not v.supported]

    @property
    def text(self) -> str:
        """The answer made of the supported sentences only."""
        return " ".join(v.text for v in self.kept)

    @property
    def precision(self) -> float:
        """Share of sentences supported by their citations (1.0 for an empty answer)."""
        return len(self.kept) / len(self.verdicts) if self.verdicts else 1.0


def split_answer(text: str) -> list[str]:
    """The sentences of a generated answer, each with the markers written after it.

    Markers placed after the full stop (``... soldiers. [1]``) are moved before it, so that
    they stay with their sentence.
    """
    text = _MARKERS_AFTER_END.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
    text = re.sub(r"[ \t]+([.!?…])", r"\1", re.sub(r"\]\s*\[", "] [", text))
    out = []
    for a, b in split_sentences(text):
        sentence = text[a:b].strip().lstrip("-*•").strip()
        if sentence and any(ch.isalnum() for ch in MARKER.sub("", sentence)):
            out.append(sentence)
        elif sentence and out and MARKER.fullmatch(sentence.rstrip(".")):
            out[-1] += " " + sentence  # a marker on its own line belongs to the sentence
    return out


def citations(sentence: str) -> tuple[int, ...]:
    """The source numbers a sentence cites, in order, without repeats."""
    found: list[int] = []
    for m in MARKER.finditer(sentence):
        for part in m.group(1).split(","):
            n = int(part)
            if n not in found:
                found.append(n)
    return tuple(found)


def claim(sentence: str) -> str:
    """The sentence without its citation markers."""
    return re.sub(r"\s+([.!?,;:…])", r"\1", " ".join(MARKER.sub(" ", sentence).split()))


def _missing_facts(facts: Facts, cited: list[Passage], passage_facts: list[Facts]) -> str:
    numbers = set().union(*(f.numbers for f in passage_facts))
    dates = set().union(*(f.dates for f in passage_facts))
    for d in sorted(facts.dates):
        if d.isdigit():
            if d not in numbers and d not in dates:
                return f"the year {d} is not in the cited source"
        elif d not in dates:
            what = "month" if d.startswith("m") else "date"
            return f"the {what} {d.lstrip('m')} is not in the cited source"
    for num in sorted(facts.numbers - facts.dates):
        if num not in numbers:
            return f"the number {num} is not in the cited source"
    vocabulary = set().union(*(words(p.text + " " + p.meta) for p in cited))
    for name in sorted(facts.names):
        if not name_occurs(name, vocabulary):
            return f"the name '{name}' is not in the cited source"
    return ""


def check_answer(
    text: str,
    passages: Mapping[int, Passage],
    embed: Callable[[list[str]], np.ndarray],
    *,
    lang: str,
    threshold: float,
) -> CheckResult:
    """Check each sentence of the generated ``text`` against the passages it cites.

    ``passages`` maps citation numbers to passages; ``embed`` turns sentences into
    L2-normalised vectors comparable with the passages' sentence vectors; ``lang`` is the
    answer's language (for number formats and names); ``threshold`` is the least
    similarity to a cited passage's best-matching sentence.
    """
    sentences = split_answer(text)
    claims = [claim(s) for s in sentences]
    vectors = embed(claims) if claims else np.zeros((0, 1), np.float32)
    facts_cache: dict[int, Facts] = {}

    def facts_of(p: Passage) -> Facts:
        if p.n not in facts_cache:
            facts_cache[p.n] = extract_facts(p.text + "\n" + p.meta, "de")
        return facts_cache[p.n]

    verdicts = []
    for sentence, vec in zip(sentences, vectors):
        cited = citations(sentence)
        if not cited:
            verdicts.append(SentenceVerdict(sentence, cited, False, "cites no source"))
            continue
        unknown = [n for n in cited if n not in passages]
        if unknown:
            verdicts.append(SentenceVerdict(
                sentence, cited, False, f"cites a source that does not exist [{unknown[0]}]"
            ))
            continue
        used = [passages[n] for n in cited]
        evidence, best = [], 0.0
        for p in used:
            if len(p.sentences) == 0:
                continue
            sims = p.vectors @ vec
            i = int(np.argmax(sims))
            evidence.append((p.n, tuple(p.sentences[i])))
            best = max(best, float(sims[i]))
        reason = _missing_facts(
            extract_facts(claim(sentence), lang), used, [facts_of(p) for p in used]
        )
        if not reason and best < threshold:
            reason = (f"not close enough in meaning to the cited source "
                      f"({best:.2f} < {threshold:.2f})")
        verdicts.append(SentenceVerdict(
            sentence, cited, not reason, reason, round(best, 4), tuple(evidence)
        ))
    return CheckResult(tuple(verdicts))
