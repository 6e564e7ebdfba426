"""A follow-up question resolved against the conversation: the query it is retrieved
with (its own vector mixed with the earlier turns' at weights chosen by measurement, its
keywords joined by theirs) and the sentence that tells the user how it was understood."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from weakref import WeakKeyDictionary

import numpy as np

from ..retrieve.spelling import correct_terms
from ..settings import ChatSettings
from ..store.index import Index
from ..text.terms import EN_TIME_WORDS, anchor_terms, question_terms, tokenize
from ..types import Answer, Hit, StoredChunk
from .followup import STANDS_ALONE, decide
from .history import UNDERSTOOD, Turn

#: Two or more capitalised words in a row on one line: a name ("Herta Müller",
#: "Wladimir Makei"; not a headline's last word and the next line's first).
_NAME = re.compile(
    r"\b[A-ZÄÖÜ][\w'’-]+(?:[^\S\n]+(?:(?:von|van|de)[^\S\n]+)?[A-ZÄÖÜ][\w'’-]+)+")
#: Capitalised words that start a sentence rather than a name.
_NOT_NAME_START = frozenset({
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "er", "sie",
    "es", "in", "im", "am", "auf", "an", "bei", "mit", "nach", "von", "vor", "für", "laut",
    "the", "a", "on", "at", "he", "she", "it", "they", "this", "that", "wie",
    "was", "wer", "als", "auch", "doch", "dass", "nun", "dann", "so", "seit", "zum", "zur",
    "aus", "unter", "über", "um", "durch", "gegen", "ohne", "bis", "während", "trotz",
    "wegen", "of", "for", "with", "by", "from", "after", "before",
    # determiners, quantifiers, pronouns and adverbs that start German sentences
    "alle", "allen", "aller", "alles", "weitere", "weiteren", "einige", "einigen", "viele",
    "vielen", "beide", "beiden", "mehrere", "manche", "jede", "jeder", "jedes", "diese",
    "dieser", "dieses", "diesen", "jene", "kein", "keine", "solche", "sein", "seine",
    "ihr", "ihre", "man", "wir", "ich", "nur", "noch", "bereits", "schon", "erst", "heute",
    "gestern", "damals", "dort", "hier", "jetzt", "zudem", "außerdem", "dabei", "daher",
    "deshalb", "trotzdem", "jedoch", "aber", "und", "oder", "sowie", "denn", "weil", "wenn",
    "insgesamt", "zuvor", "danach", "später", "zunächst", "zwei", "drei", "vier", "fünf",
    # amounts and parts before a name ("Millionen Peruaner", "eine Reihe Minister")
    "millionen", "milliarden", "tausende", "hunderte", "dutzende", "reihe", "namen",
    "rahmen", "teil", "hälfte", "mehrheit", "zahl",
    "these", "those", "some", "many", "all", "both", "several", "his", "her", "their",
    "its", "our", "we", "but", "and", "or", "also", "then", "there", "here", "when", "while",
})
_REFERRING = {"de": "Bezug", "en": "referring to"}
#: :attr:`FollowUp.reason` of a question read as a follow-up although its words stand
#: alone (``resolve(..., possible=True)``).
IMPLICIT = "may refer back by a definite description"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class FollowUp:
    """A question that depends on the conversation, and how to retrieve for it."""

    question: str
    language: str
    #: Why the question was taken as a follow-up (:func:`rag.chat.followup.decide`).
    reason: str
    #: Texts whose query vectors are mixed: the question first, then the earlier
    #: questions (newest first), then the previous answer when it has a weight.
    texts: tuple[str, ...]
    weights: tuple[float, ...]
    #: Weights of the same texts for choosing the answer sentence.
    sentence_weights: tuple[float, ...]
    #: The keyword (BM25) query: the question with the earlier questions and the names
    #: of the previous answer.
    search_text: str
    #: "Verstanden als: ..." / "Understood as: ...".
    understood_as: str
    #: The previous answer (context text, "" when there was none).
    previous_answer: str = ""

    @property
    def unanswered(self) -> str:
        """The earlier question it refers to when that got no answer ("" when it got one)."""
        return "" if self.previous_answer else self.texts[1]

    def query_vector(self, vectors: np.ndarray, for_sentences: bool = False) -> np.ndarray:
        """The normalised mix of the texts' query vectors (rows in ``texts`` order), with
        :attr:`weights` (retrieval) or :attr:`sentence_weights`."""
        weights = self.sentence_weights if for_sentences else self.weights
        mixed = np.asarray(weights, dtype=np.float32) @ np.asarray(vectors, np.float32)
        norm = float(np.linalg.norm(mixed))
        return mixed / norm if norm > 0 else np.asarray(vectors[0], np.float32)


def names(text: str) -> list[str]:
    """Names in ``text`` (two capitalised words in a row, the last two of a longer run:
    "Präsident Wladimir Putin" -> "Wladimir Putin"), in order, without repeats."""
    out: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0].lower() in _NOT_NAME_START:
            words = words[1:]
        tail = 3 if len(words) >= 3 and words[-2] in ("von", "van", "de") else 2
        name = " ".join(words[-tail:])
        if len(words) >= 2 and name not in out:
            out.append(name)
    return out


def names_nothing_specific(question: str, language: str, index: Index,
                           params: ChatSettings) -> bool:
    """Whether ``question`` names nothing that picks out a story. German: it has nouns
    or numbers (:func:`_naming_terms`) the keyword index knows and each is in at least
    ``generic_term_chunks`` chunks and ``generic_term_share`` of them ("Wie alt war der
    Täter?"). English (the German index does not know its words): written with a capital
    first letter, it has no name or number (:func:`~rag.text.terms.anchor_terms`: "How
    many of the injured were taken to hospital?"); a question typed all in lower case may
    leave its names in lower case. In a conversation such a question asks about the topic
    so far."""
    if params.generic_term_chunks <= 0:
        return False
    if language != "de":  # written with capitals, and none after the first word
        return question.lstrip()[:1].isupper() and not anchor_terms(question)
    keywords = index.keywords
    frequencies = [f for f in (keywords.doc_freq(t) for t in _naming_terms(question)) if f]
    least = max(params.generic_term_chunks, params.generic_term_share * keywords.size)
    return bool(frequencies) and min(frequencies) >= least


def _naming_terms(question: str) -> set[str]:
    """The terms of a German question that may name a story: its nouns and numbers when
    it is written with capitals (a verb such as "saß" is rare in a small archive but
    names nothing), every term of a question typed in lower case (a search box's)."""
    terms = set(question_terms(question))
    if question == question.lower():
        return terms
    capitalised = {t for w in _WORD.findall(question)[1:] if w[:1].isupper()
                   for t in tokenize(w)}
    return {t for t in terms if t in capitalised or any(c.isdigit() for c in t)}


def names_new_topic(question: str, language: str, turns: Sequence[Turn], index: Index,
                    params: ChatSettings) -> bool:
    """Whether a German ``question`` names something specific the conversation has not:
    a noun or number (any word of a question typed in lower case, as in a search box,
    :func:`_naming_terms`) that the keyword index knows in fewer chunks than
    :func:`names_nothing_specific` calls generic (or in none, unless it is a typo of a
    word it knows: "Kilimandscharo") and that no question or answer of the last
    ``context_turns`` turns contains
    ("lukaschenko wagner aufstand" after a question about Putin's visit to Minsk; not the
    verb of "Wer saß in der Maschine?", rare in a small archive). Such a question starts
    a topic of its own, like an English one naming a new name (:func:`resolve`)."""
    if language != "de" or params.generic_term_chunks <= 0 or not turns:
        return False
    keywords = index.keywords
    least = max(params.generic_term_chunks, params.generic_term_share * keywords.size)
    recent = turns[-params.context_turns:]
    said = set(tokenize(" ".join(f"{t.question} {t.answer}" for t in recent)))
    for term in _naming_terms(question):
        forms = correct_terms([term], keywords)  # a typo stands for its corrections
        if (max(keywords.doc_freq(f) for f in forms) < least
                and not said & {term, *forms}):
            return True
    return False


def resolve(
    question: str,
    language: str,
    turns: Sequence[Turn],
    params: ChatSettings,
    detect: Callable[[str], str] | None = None,
    *,
    possible: bool = False,
) -> FollowUp | None:
    """The follow-up reading of ``question``, or ``None`` when it stands alone (no
    history, a new topic, or no sign of referring back: then it is asked as it is).

    ``possible``: also the reading of a question that shows no sign of referring back
    but does not announce a new topic either - it may still refer back by a definite
    description ("Wer saß in der Maschine?", "What leaked from the truck?"); the caller
    decides by what each reading finds (:data:`IMPLICIT`).

    ``detect`` (a language detector) decides the language of a question too short to
    show its own (``"Why?"``) from the previous question; without it ``language`` stays.
    """
    if not turns or params.context_turns < 1:
        return None
    decision = decide(question)
    if not decision.dependent:
        if (not possible or decision.reason != STANDS_ALONE
                or _names_something_new(question, language, turns)):
            return None
        decision = replace(decision, reason=IMPLICIT)
    recent = list(turns[-params.context_turns:])[::-1]  # newest first
    if detect is not None and len(question.split()) < 3:
        language = detect(recent[0].question)
    previous_answer = recent[0].answer
    asked = {w.lower() for t in recent for w in _WORD.findall(t.question)}
    answer_names = [n for n in names(previous_answer)
                    if not {w.lower() for w in _WORD.findall(n)} <= asked][:3]
    texts = [question] + [t.question for t in recent]
    decay = [params.context_decay ** i for i in range(len(recent))]
    weights = [1.0] + [params.context_weight * d for d in decay]
    sentence_weights = [1.0] + [params.sentence_context_weight * d for d in decay]
    if params.answer_weight > 0 and previous_answer:
        texts.append(previous_answer)
        weights.append(params.answer_weight)
        sentence_weights.append(params.answer_weight)
    search_text = " ".join([question, *(t.question for t in recent), *answer_names])
    about = recent[0].question + "".join(f" · {n}" for n in answer_names[:2])
    understood = understood_line(question, language, about)
    return FollowUp(question, language, decision.reason, tuple(texts), tuple(weights),
                    tuple(sentence_weights), search_text, understood, previous_answer)


def understood_line(question: str, language: str, about: str) -> str:
    """How a follow-up was understood: "Verstanden als: <question> (Bezug: <about>)"."""
    lang = language if language in UNDERSTOOD else "en"
    return f"{UNDERSTOOD[lang]} {question} ({_REFERRING[lang]}: {about})"


def _names_something_new(question: str, language: str, turns: Sequence[Turn]) -> bool:
    """Whether an English question names something (a capitalised word after the first,
    a number: :func:`~rag.text.terms.anchor_terms`) that no earlier turn mentions: then
    it starts a topic of its own ("Who became president of the German football
    association in 2006?" after a space flight), however weakly it matches the archive.
    A day or a month ("on Friday") names a time, not a topic. German capitalises every
    noun, so German questions are not judged by this."""
    if language != "en":
        return False
    said = set(tokenize(" ".join(f"{t.question} {t.answer}" for t in turns)))
    return any(term not in said and term not in EN_TIME_WORDS
               for term in anchor_terms(question))


#: An item of a list of articles ("- 2008-03-17: Headline"; :mod:`rag.answer.digest`).
_LIST_ITEM = re.compile(r"(?:^|\s)-\s+(?:\d{4}(?:-\d\d){0,2}|\?):\s+")
_TITLES: WeakKeyDictionary[Index, dict[str, str]] = WeakKeyDictionary()


def _by_title(index: Index) -> dict[str, str]:
    """Article ids by their headline (casefolded, whitespace squashed), made once per
    loaded index."""
    table = _TITLES.get(index)
    if table is None:
        table = {" ".join(d.title.split()).casefold(): d.doc_id
                 for d in index.docs.values() if d.title and len(d.title) >= 12}
        _TITLES[index] = table
    return table


def listed_articles(index: Index, answer: str) -> list[str | None]:
    """The articles an earlier answer listed, in its order ("- 2008-03-17: Headline",
    :mod:`rag.answer.digest`): each found by its headline, or by the sentence its line
    shows (``None``: not found); ``[]`` for an answer that lists none."""
    items = [" ".join(p.split()) for p in _LIST_ITEM.split(answer)[1:]]
    titles = _by_title(index)
    return [titles.get(item.casefold()) or next(iter(quoted_articles(index, item, 3)), None)
            for item in items]


def quoted_articles(index: Index, answer: str, depth: int = 5) -> list[str]:
    """The articles an earlier answer quoted: those whose headline is an item of the
    articles it listed ("- 2008-03-17: Finanzkrise – weltweit schwarzer Tag ..."), and
    those of the passages (found by keyword search) that contain one of its sentences
    verbatim."""
    parts = [" ".join(p.split()) for s in re.split(r"(?<=[.!?])\s+|\n+", answer)
             for p in _LIST_ITEM.split(s)]
    titles = _by_title(index)
    docs = list(dict.fromkeys(titles[p.casefold()] for p in parts if p.casefold() in titles))
    snippets = [p[:80] for p in parts if len(p) >= 30]
    if not snippets:
        return docs
    ids, _ = index.keywords.search(tokenize(" ".join(snippets))[:64], depth)
    chunks = index.chunks([int(i) for i in ids])
    for chunk in chunks.values():
        text = " ".join(chunk.text.split())
        if chunk.doc_id not in docs and any(s in text for s in snippets):
            docs.append(chunk.doc_id)
    return docs


def merge_hits(hits: list[Hit], preferred: list[Hit], bonus: float, k: int) -> list[Hit]:
    """``hits`` and ``preferred`` (passages of the quoted articles, whose score gets
    ``bonus``), best first, each passage once, the top ``k``."""
    by_id = {h.id: h for h in hits}
    for h in preferred:
        boosted = replace(h, score=h.score + bonus)
        if h.id not in by_id or by_id[h.id].score < boosted.score:
            by_id[h.id] = boosted
    return sorted(by_id.values(), key=lambda h: -h.score)[:k]


def best_similarity(chunks: Sequence[StoredChunk], vector: np.ndarray) -> float:
    """The highest similarity of any sentence of ``chunks`` to ``vector`` (-1: none)."""
    sims = [float((c.sentence_vectors @ vector).max()) for c in chunks
            if len(c.sentence_vectors)]
    return max(sims, default=-1.0)


def with_understanding(answer: Answer, followup: FollowUp) -> Answer:
    """``answer`` saying how its question was understood (first line and field)."""
    return replace(answer, understood_as=followup.understood_as,
                   text=f"{followup.understood_as}\n\n{answer.text}")


class VectorCache:
    """Recently embedded questions (the earlier turns of a conversation come back with
    every follow-up); thread-safe, least recently used out first."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]
               ) -> np.ndarray:
        """Vectors of ``texts``, calling ``encode`` only for those not cached."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._data]
        fresh = encode(missing) if missing else []
        with self._lock:
            for text, vec in zip(missing, fresh):
                self._data[text] = np.asarray(vec, np.float32)
            out = []
            for text in texts:
                vec = self._data.get(text)
                if vec is None:  # evicted meanwhile by another thread
                    vec = np.asarray(encode([text])[0], np.float32)
                self._data[text] = vec
                self._data.move_to_end(text)
                out.append(vec)
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return np.stack(out)
