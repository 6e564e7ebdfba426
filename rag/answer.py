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
_ASKS_NUMBER = re.compile(
    r"\b(how (many|much|old|far|long|often)|when|what year|which year|wie (viele?|alt|weit|"
    r"lange|oft|hoch)|wann|welchem jahr|seit wann|bis wann)\b",
    re.IGNORECASE,
)


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
    """How answer sentences are chosen (tuned with bench/calibrate.py)."""

    #: Weight of the share of question terms found in a sentence (German questions only:
    #: English questions share few words with German text).
    lexical_weight_de: float = 0.1
    passage_weight: float = 0.5
    #: Passages considered for the answer sentence (German questions rank passages well
    #: with keywords, so their top passage is trusted; English ones look further).
    passages_de: int = 1
    passages_en: int = 3
    #: Further sentences of the same passage are added when they score within this margin.
    extra_margin: float = 0.1
    max_sentences: int = 3
    #: Bonus for sentences with a number when the question asks for one (how many, when).
    number_bonus: float = 0.03
    #: A statement from another source is shown when it scores within this margin.
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
    lang: str,
    chunks: list[StoredChunk],
    passage_scores: list[float],
    params: AnswerParams,
) -> list[Candidate]:
    """Sentences of the top passages, best answer first.

    Score = similarity of the sentence's vector to the question, plus (German) keyword
    overlap with the question, plus the passage's own retrieval score.
    """
    q_terms = set(tokenize(question)) if lang == "de" else set()
    number_bonus = params.number_bonus if _ASKS_NUMBER.search(question) else 0.0
    out: list[Candidate] = []
    depth = params.passages_de if lang == "de" else params.passages_en
    for i, chunk in enumerate(chunks[:depth]):
        if not chunk.sentences:
            continue
        sims = chunk.sentence_vectors @ qvec
        for (a, b), sim in zip(chunk.sentences, sims):
            text = chunk.text[a:b]
            overlap = len(q_terms & set(tokenize(text))) / len(q_terms) if q_terms else 0.0
            score = (float(sim) + params.lexical_weight_de * overlap
                     + params.passage_weight * passage_scores[i])
            if number_bonus and _NUMBER.search(text):
                score += number_bonus
            out.append(Candidate(i, (a, b), text, score))
    out.sort(key=lambda c: -c.score)
    return out


def _numbers(text: str) -> set[str]:
    return {re.sub(r"['’.]", "", m) for m in _NUMBER.findall(text)}


def compose(
    candidates: list[Candidate], sources: list[Source], lang: str, params: AnswerParams
) -> str:
    """The answer text: the best sentence(s) with their citation, or disagreeing ones.

    The best sentence is joined (in text order) by the next best sentences of the same
    passage that score almost as well (up to ``max_sentences``). When another source's
    best sentence scores almost as well and states different numbers (a year, a count),
    both statements are shown with their citations.
    """
    if not candidates:
        return ""
    best = candidates[0]
    statements = [[best]]
    for c in candidates[1:]:
        if c.score < best.score - params.extra_margin:
            break
        if len(statements[0]) >= params.max_sentences:
            break
        if c.source == best.source:
            statements[0].append(c)
    for c in candidates[1:]:
        if c.score < best.score - params.second_margin:
            break
        if sources[c.source].doc_id != sources[best.source].doc_id:
            a, b = _numbers(best.text), _numbers(c.text)
            if a and b and a != b:
                statements.append([c])
            break
    parts = []
    for group in statements:
        group.sort(key=lambda c: c.span)
        source = sources[group[0].source]
        source.highlights.extend(c.span for c in group)
        source.highlights.sort()
        parts.append(" ".join(c.text for c in group) + f" [{source.n}]")
    if len(parts) > 1:
        return DISAGREE[lang] + "\n" + "\n".join(f"- {p}" for p in parts)
    return parts[0]
