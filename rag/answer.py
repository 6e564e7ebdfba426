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
_ASKS_YEAR = re.compile(r"\b(when|wann|year|jahr)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:1[5-9]\d\d|20\d\d)(?!\d)")


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
    #: Statements of other articles within this margin are checked for disagreement.
    disagree_margin: float = 0.15


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer the question."""

    source: int  # index into the sources list
    span: tuple[int, int]
    text: str
    score: float
    #: From one of the passages the answer is taken from (not only checked for conflicts).
    primary: bool = True


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
    """Sentences of the retrieved passages, best answer first.

    Score = similarity of the sentence's vector to the question, plus (German) keyword
    overlap with the question, plus the passage's own retrieval score, plus a bonus for
    numbers when the question asks for one. Sentences of the first ``passages_de`` /
    ``passages_en`` passages are ``primary`` (answer candidates); the others are only
    used to find disagreeing statements.
    """
    q_terms = set(tokenize(question)) if lang == "de" else set()
    number_bonus = params.number_bonus if asks_number(question) else 0.0
    depth = params.passages_de if lang == "de" else params.passages_en
    out: list[Candidate] = []
    for i, chunk in enumerate(chunks):
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
            out.append(Candidate(i, (a, b), text, score, i < depth))
    out.sort(key=lambda c: -c.score)
    return out


def asks_number(question: str) -> bool:
    """True for questions that ask for a number or a date (how many, when, wie viele)."""
    return bool(_ASKS_NUMBER.search(question))


def asks_year(question: str) -> bool:
    """True for questions that ask when something happened (wann, when, welches Jahr)."""
    return bool(_ASKS_YEAR.search(question))


def _numbers(text: str) -> set[str]:
    """The years a sentence mentions."""
    return set(_YEAR.findall(text))


def disagreement(
    question: str, lang: str, best: Candidate, candidates: list[Candidate],
    sources: list[Source], params: AnswerParams,
) -> list[Candidate]:
    """Two statements from different articles that date the asked event differently.

    For a question asking when something happened, the best year-bearing sentence of
    each article scoring within ``disagree_margin`` of the best answer (and, for a German
    question, sharing a term with it) is compared; when two articles state disjoint
    years about the same thing (:func:`_same_topic`), both are returned (best first).
    """
    if not asks_year(question):
        return []
    per_doc: dict[str, tuple[Candidate, set[str]]] = {}
    for c in candidates:
        if c.score < best.score - params.disagree_margin:
            break
        doc = sources[c.source].doc_id
        numbers = _numbers(c.text)
        if numbers and doc not in per_doc and (lang != "de" or _same_topic(question, c.text)):
            per_doc[doc] = (c, numbers)
    facts = list(per_doc.values())
    if (len(facts) >= 2 and not facts[0][1] & facts[1][1]
            and _same_topic(facts[0][0].text, facts[1][0].text)):
        return [facts[0][0], facts[1][0]]
    return []


def _shared_terms(a: set[str], b: set[str]) -> set[str]:
    """Terms of ``a`` equal to, or a prefix of, a term of ``b`` (Union ~ Unionsstaat)."""
    return {x for x in a if any(y.startswith(x) or x.startswith(y) for y in b if len(y) > 3)}


def _same_topic(a: str, b: str) -> bool:
    """Whether two texts share a content term (prefix-aware; numbers do not count)."""
    return bool(_shared_terms(
        {t for t in tokenize(a) if not t.isdigit() and len(t) > 3},
        {t for t in tokenize(b) if not t.isdigit()},
    ))


def compose(
    question: str,
    candidates: list[Candidate],
    sources: list[Source],
    lang: str,
    params: AnswerParams,
) -> str:
    """The answer text: the best sentence(s) with their citation, or disagreeing ones.

    The best primary sentence is joined (in text order) by the next best sentences of
    the same passage that score almost as well (up to ``max_sentences``). When articles
    disagree on the number asked for (see :func:`disagreement`), both statements are
    shown with their citations instead.
    """
    primary = [c for c in candidates if c.primary]
    if not primary:
        return ""
    best = primary[0]
    statements = [[best]]
    for c in primary[1:]:
        if c.score < best.score - params.extra_margin:
            break
        if len(statements[0]) >= params.max_sentences:
            break
        if c.source == best.source:
            statements[0].append(c)
    conflict = disagreement(question, lang, best, candidates, sources, params)
    if conflict:
        statements = [[c] for c in conflict]
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
