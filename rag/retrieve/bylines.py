"""Articles a question names by their author or publisher: "Paul Flückigers Bericht über
...", "Was schreibt Silke Bigalke über ...?", "im Zeit-Artikel", "the Reuters report on ...".

Bylines and publishers are metadata, not text that retrieval searches, so without this
such a question finds its article by the topic alone, and another article on the same
topic wins. A question names an article's source when it contains

- an author's full name and a word that makes the name a source (a word for an article,
  "schreibt", "laut", "wrote", "according to", ...), or
- an author's family name or a publisher joined to a word for an article: "Flückigers
  Bericht", "Bericht von Flückiger", "Zeit-Artikel", "Artikel der Zeit", "Reuters report".

Names are looked up by the question's words (a dictionary per index, built on first use),
so the cost does not grow with the number of authors.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from ..store.index import Index
from ..text.terms import ARTICLE_WORDS

_ARTICLE = ARTICLE_WORDS.pattern
#: Words that make a full name in a question the source it asks about.
_SOURCE_CUE = re.compile(
    rf"{_ARTICLE}|\b(schreib\w*|schrieb\w*|geschrieben|berichte\w*|laut|zufolge|"
    r"according|write|writes|writing|wrote|written|reports|reported)\b",
    re.IGNORECASE,
)
_JOIN = r"(?:s|'s|’s|'|’)?(?:\.[a-z]{2,})?(?:-|\s+)"
#: After a name: "s Bericht", "-Artikel", "'s report", ".de-Artikel".
_ARTICLE_AFTER = re.compile(_JOIN + _ARTICLE, re.IGNORECASE)
#: Before a name: "Bericht von ", "Artikel der ", "article in the ".
_ARTICLE_BEFORE = re.compile(
    _ARTICLE + r"\s+(?:(?:von|vom|aus|in|im|bei|from|by|of|on)\s+(?:(?:der|dem|des|die|the)\s+)?"
    r"|(?:der|des|the)\s+)$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_PERSONS = re.compile(r"\s*(?:,|;|&|/|\bund\b|\band\b)\s*", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?:www\.)?([\w-]+)\.[a-z]{2,}$", re.IGNORECASE)


@dataclass(frozen=True)
class _Name:
    words: tuple[str, ...]  # casefolded
    docs: frozenset[str]
    person: bool


_TABLES: WeakKeyDictionary[Index, dict[str, list[_Name]]] = WeakKeyDictionary()


def _table(index: Index) -> dict[str, list[_Name]]:
    """Authors (each person of a byline) and publishers by their last word, casefolded."""
    table = _TABLES.get(index)
    if table is None:
        docs: dict[tuple[tuple[str, ...], bool], set[str]] = defaultdict(set)
        for doc_id, meta in index.docs.items():
            for person in _PERSONS.split(meta.author or ""):
                words = tuple(w.casefold() for w in _WORD.findall(person))
                if words:
                    docs[words, True].add(doc_id)
            publisher = (meta.publisher or "").strip()
            domain = _DOMAIN.match(publisher)
            words = tuple(w.casefold() for w in _WORD.findall(
                domain.group(1) if domain else publisher))
            if words and len("".join(words)) > 1:
                docs[words, False].add(doc_id)
        table = defaultdict(list)
        for (words, person), ids in docs.items():
            table[words[-1]].append(_Name(words, frozenset(ids), person))
        _TABLES[index] = table = dict(table)
    return table


def named_articles(question: str, index: Index) -> list[str] | None:
    """The articles whose author or publisher ``question`` names as its source (see the
    module); ``None`` when it names none, or only a source that every article has."""
    table = _table(index)
    if not table:
        return None
    words = list(_WORD.finditer(question))
    folded = [m.group().casefold() for m in words]
    cue = _SOURCE_CUE.search(question) is not None
    found: set[str] = set()
    for i, m in enumerate(words):
        word = folded[i]
        keys = (word, word[:-1]) if word.endswith("s") and len(word) > 3 else (word,)
        for key in keys:
            for name in table.get(key, ()):
                n = len(name.words)
                full = i + 1 >= n and tuple(folded[i - n + 1: i]) == name.words[:-1]
                start = words[i - n + 1].start() if full else m.start()
                end = m.start() + len(key)
                joined = (_ARTICLE_AFTER.match(question, end) is not None
                          or _ARTICLE_BEFORE.search(question[:start]) is not None)
                family = name.person and n > 1 and len(key) >= 4 and m.group()[0].isupper()
                if (full and name.person and cue) or (joined and (full or family)):
                    found |= name.docs
    if not found or len(found) == len(index.docs):
        return None
    return sorted(found)
