"""German terms for keyword search: Snowball-stemmed tokens without stopwords.

English questions over German text share few words with it; what survives translation
are names and numbers (:func:`anchor_terms`), so the retrieval layer searches those.
"""

from __future__ import annotations

import re

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

_STEMMER = Stemmer.Stemmer("german")
_DE_STOP = frozenset(STOPWORDS_GERMAN) | {
    "wurde", "wurden", "worden", "würde", "würden", "hatte", "hatten", "habe", "haben",
    "hat", "ist", "sind", "war", "waren", "wird", "werden", "sei", "seien", "sagte",
}
_EN_STOP = frozenset(STOPWORDS_EN) | {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did", "does",
    "do", "many", "much", "according", "name", "called", "year", "years",
}
# Digit-group separators inside numbers: 62'000 = 62’000 = 62.000 = 62 000 -> 62000.
_NUMBER_GROUP = re.compile(r"(?<=\d)['’.\u202f\u2009\u00a0 ](?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def normalize_numbers(text: str) -> str:
    """Remove digit-group separators so that 62'000, 62.000 and 62 000 compare equal."""
    return _NUMBER_GROUP.sub("", text)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed German terms of ``text`` without stopwords."""
    words = [w for w in _TOKEN.findall(normalize_numbers(text).lower()) if w not in _DE_STOP]
    return [s for s in _STEMMER.stemWords(words) if len(s) > 1 or s.isdigit()]


#: Words that ask rather than name what the answer is about (stemmed like the terms).
_DE_QUESTION_WORDS = frozenset(_STEMMER.stemWords([
    "warum", "wieso", "weshalb", "weswegen", "wozu", "womit", "wodurch", "woher", "wohin",
    "wann", "wer", "wen", "wem", "wessen", "wieviel", "wieviele", "viele", "inwiefern",
]))


def question_terms(question: str) -> list[str]:
    """The terms of a German question that a passage answering it should share:
    :func:`tokenize` without question words (warum, wann, wie viele, ...)."""
    return [t for t in tokenize(question) if t not in _DE_QUESTION_WORDS]


def anchor_terms(question: str) -> list[str]:
    """Terms of an English question that survive translation: numbers and names.

    A name is a capitalised word that is not the question's first word and not an
    English function word; numbers are kept whole (separators normalised).
    """
    words = _TOKEN.findall(normalize_numbers(question))
    keep = [
        w for i, w in enumerate(words)
        if any(c.isdigit() for c in w)
        or (i > 0 and w[:1].isupper() and w.lower() not in _EN_STOP)
    ]
    return tokenize(" ".join(keep))
