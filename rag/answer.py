"""Answers: the result types and extractive answer selection with numbered citations."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .index import DocMeta, StoredChunk
from .keywords import tokenize

NOT_FOUND = {
    "de": "Dazu habe ich im Korpus nichts gefunden.",
    "en": "I could not find this in the corpus.",
}
DISAGREE = {
    "de": "Die Quellen machen dazu unterschiedliche Angaben:",
    "en": "The sources disagree on this:",
}
_NUMBER = re.compile(r"\d[\d'’.]*\d|\d")


@dataclass
class Source:
    """A passage that the answer cites (``n`` is its citation number)."""

    n: int
    doc_id: str
    title: str
    date: str | None
    url: str | None
    publisher: str | None
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Answer:
    """The answer to one question."""

    question: str
    language: str
    found: bool
    text: str
    sources: list[Source]

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (highlights as [start, end] lists)."""
        data = asdict(self)
        for s in data["sources"]:
            s["highlights"] = [list(h) for h in s["highlights"]]
        return data


@dataclass(frozen=True)
class AnswerParams:
    """How answer sentences are chosen (tuned on the shared eval sets)."""

    lexical_weight: float = 0.15
    passage_weight: float = 0.5
    #: Passages considered for the answer sentence.
    passages: int = 3
    #: A second statement from another source is shown when it scores within this margin.
    second_margin: float = 0.02


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer the question."""

    source: int  # index into the sources list
    span: tuple[int, int]
    text: str
    score: float


def make_source(n: int, chunk: StoredChunk, doc: DocMeta, score: float) -> Source:
    """A :class:`Source` for a retrieved chunk."""
    return Source(n, chunk.doc_id, doc.title, doc.date, doc.url, doc.publisher, chunk.text,
                  round(float(score), 4))


def rank_sentences(
    qvec: np.ndarray,
    question: str,
    chunks: list[StoredChunk],
    passage_scores: list[float],
    params: AnswerParams,
) -> list[Candidate]:
    """Sentences of the top passages, best answer first.

    Score = similarity of the sentence's contextual vector to the question, plus keyword
    overlap with the question, plus the passage's own retrieval score.
    """
    q_terms = set(tokenize(question))
    out: list[Candidate] = []
    for i, chunk in enumerate(chunks[: params.passages]):
        if not chunk.sentences:
            continue
        sims = chunk.sentence_vectors @ qvec
        for (a, b), sim in zip(chunk.sentences, sims):
            text = chunk.text[a:b]
            terms = set(tokenize(text))
            overlap = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
            score = (float(sim) + params.lexical_weight * overlap
                     + params.passage_weight * passage_scores[i])
            out.append(Candidate(i, (a, b), text, score))
    out.sort(key=lambda c: -c.score)
    return out


def _numbers(text: str) -> set[str]:
    return {re.sub(r"['’.]", "", m) for m in _NUMBER.findall(text)}


def compose(
    candidates: list[Candidate], sources: list[Source], lang: str, params: AnswerParams
) -> str:
    """The answer text: the best sentence with its citation, or two disagreeing ones.

    When another source's best sentence scores almost as well and states different
    numbers (a year, a count), both statements are shown with their citations.
    """
    if not candidates:
        return ""
    best = candidates[0]
    chosen = [best]
    for c in candidates[1:]:
        if c.score < best.score - params.second_margin:
            break
        if sources[c.source].doc_id != sources[best.source].doc_id:
            a, b = _numbers(best.text), _numbers(c.text)
            if a and b and a != b:
                chosen.append(c)
            break
    for c in chosen:
        sources[c.source].highlights.append(c.span)
    parts = [f"{c.text} [{sources[c.source].n}]" for c in chosen]
    if len(chosen) > 1:
        return DISAGREE[lang] + "\n" + "\n".join(f"- {p}" for p in parts)
    return parts[0]
