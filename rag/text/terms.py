"""German terms for keyword search: Snowball-stemmed tokens without stopwords.

English questions over German text share few words with it; what survives translation
are names and numbers (:func:`anchor_terms`), so the retrieval layer searches those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


#: Words that name a piece of writing ("der Bericht über ...", "the article on ..."; not the
#: verb "berichtete").
ARTICLE_WORDS = re.compile(
    r"\b(artikel\w*|bericht(?!et)\w*|kommentar\w*|beitr(?:a|ä)g\w*|analyse\w*|reportage\w*|"
    r"text\w*|meldung\w*|interview\w*|stück|article|report|commentary|comment|analysis|"
    r"piece|story|op-ed|column|news item)\b",
    re.IGNORECASE,
)

#: A capitalised word of four letters or more: in German text mostly a noun.
_NOUN = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]{3,}\w*")


def nouns(text: str) -> dict[str, str]:
    """The capitalised words of ``text`` after its first word (German: its nouns), as
    ``{stem: lower-case word}``: the stems as :func:`tokenize` makes them."""
    return _by_stem(m.group(0) for m in _NOUN.finditer(text) if m.start() > 0)


#: A word of capitals only, two letters or more: an abbreviation ("GEW", "EU", "VW").
_ACRONYM = re.compile(r"\b[A-ZÄÖÜ]{2,}\b")


def acronyms(text: str) -> dict[str, str]:
    """The abbreviations of ``text`` written in capitals ("GEW", "DSW"), as :func:`nouns`
    gives its nouns: ``{stem: lower-case word}``."""
    return _by_stem(m.group(0) for m in _ACRONYM.finditer(text))


def _by_stem(words: Iterable[str]) -> dict[str, str]:
    """``{stem: lower-case word}`` of ``words``, the first word of each stem."""
    out: dict[str, str] = {}
    for word in words:
        stems = tokenize(word)
        if stems:
            out.setdefault(stems[0], word.lower())
    return out


def compound_terms(question_nouns: dict[str, str], text: str) -> set[str]:
    """The stems of ``question_nouns`` (:func:`nouns`) that ``text`` has as part of a
    compound, or whose compound it has the head of: "Böen" in "Orkanböen", "Soldaten" for
    "Berufssoldaten" (German compounds end with their head noun; the stems differ)."""
    words = {w.lower() for w in _NOUN.findall(text)}
    return {stem for stem, noun in question_nouns.items()
            if any(w != noun and (w.endswith(noun) or noun.endswith(w)) for w in words)}


#: Words that ask rather than name what the answer is about (stemmed like the terms).
_DE_QUESTION_WORDS = frozenset(_STEMMER.stemWords([
    "warum", "wieso", "weshalb", "weswegen", "wozu", "womit", "wodurch", "woher", "wohin",
    "wann", "wer", "wen", "wem", "wessen", "wieviel", "wieviele", "viele", "inwiefern",
]))
#: Words that say where the answer is written, not what it is about ("laut dem Kommentar",
#: "dem Bericht zufolge"): an article rarely names its own genre. The German nouns of
#: :data:`ARTICLE_WORDS`, not its wider patterns ("Text...", "Stück", "Analyse" are often
#: what a question is about).
_DE_SOURCE_WORDS = frozenset(_STEMMER.stemWords([
    "laut", "zufolge", "gemäß", "artikel", "bericht", "kommentar", "beitrag", "meldung",
    "reportage",
]))
_NOT_TERMS = _DE_QUESTION_WORDS | _DE_SOURCE_WORDS


def occurs(term: str, terms: set[str]) -> bool:
    """Whether ``term`` is in ``terms``, or (from four letters on) is a prefix of one of
    them or has one as its prefix: German compounds and inflected forms."""
    return term in terms or (len(term) > 3 and any(
        len(t) > 3 and (t.startswith(term) or term.startswith(t)) for t in terms))


def names_term(term: str, terms: set[str]) -> bool:
    """Whether ``terms`` (a passage's) name ``term``: the term itself, or (from four
    letters on) a longer word that starts with it ("Fußball-Bundesliga" for "Fußball"),
    not a shorter one as :func:`occurs` allows ("Herten" is no "Herta")."""
    return term in terms or (len(term) > 3 and any(
        len(t) > len(term) and t.startswith(term) for t in terms))


def question_terms(question: str) -> list[str]:
    """The terms of a German question that a passage answering it should share:
    :func:`tokenize` without question words (warum, wann, wie viele, ...) and words for
    the source ("laut dem Artikel")."""
    return [t for t in tokenize(question) if t not in _NOT_TERMS]


#: English words for days and months: capitalised, but they name a time, not a topic.
EN_TIME_WORDS = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
})


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
