"""People's names in German news text, without a model: a first name followed by a
capitalised word ("Marcelo Ebrard", "Adriano De Souza", "Wladimir Makei"), or a surname
that the surrounding passage gives with a first name ("... Felix Magath ... Magath sagte").

First names come from the per-locale first-name lists of the ``faker`` package (about
24,000 names of 80-odd locales, offline). A first name after an article is a noun, not a
name ("die Lage", "das Tor").
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from functools import lru_cache

logger = logging.getLogger(__name__)

_CAPITALISED = r"[A-ZÄÖÜ][\w'’-]*[^\W\d_]"
#: Name particles between a first name and a surname ("Ursula von der Leyen").
_PARTICLES = r"(?:(?:von|van|der|den|de|da|del|di|du|al|bin|ibn|el|la|le|ten|zu)\s+)*"
#: A capitalised word and the capitalised word after it (overlapping matches).
_PAIR = re.compile(rf"(?<![\w-])(?=({_CAPITALISED})\s+{_PARTICLES}({_CAPITALISED}))")
_ARTICLE = re.compile(
    r"(?:der|die|das|den|dem|des|ein|eine|einen|einem|eines|einer|im|am|zum|zur|vom|beim)",
    re.IGNORECASE)
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Every first name of ``faker``'s person providers (capitalised, letters only)."""
    import faker.providers.person as people

    names: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        if not module.ispkg:
            continue
        provider = importlib.import_module(f"{people.__name__}.{module.name}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female",
                          "first_names_nonbinary"):
            value = vars(provider).get(attribute)
            if isinstance(value, (list, tuple, set, frozenset, dict)):
                names.update(n for n in value
                             if isinstance(n, str) and n[:1].isupper() and n.isalpha())
    logger.debug("%d first names", len(names))
    return frozenset(names)


def full_names(text: str) -> list[tuple[str, str]]:
    """The (first name, surname) pairs ``text`` names, in order: a first name not after an
    article, then (name particles and) a capitalised word."""
    names = first_names()
    pairs = []
    for match in _PAIR.finditer(text):
        first, last = match.group(1), match.group(2)
        before = text[: match.start()].split()[-1:]
        if first in names and not (before and _ARTICLE.fullmatch(before[0])):
            pairs.append((first, last))
    return pairs


def names_person(text: str, known: str = "", context: str = "") -> bool:
    """Whether ``text`` names a person that ``known`` (the question) does not: a full name
    whose surname ``known`` lacks (also in the genitive, "Putins"), or a surname that
    ``context`` (the passage around ``text``) gives with a first name ("Trainer Magath"
    after "Felix Magath")."""
    asked = {w.casefold() for w in _WORD.findall(known)}
    asked |= {w[:-1] for w in asked if w.endswith("s")}  # "Putins" names Putin
    if any(last.casefold() not in asked for _, last in full_names(text)):
        return True
    surnames = {last for _, last in full_names(context) if last.casefold() not in asked}
    return any(re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text) for s in surnames)


def load() -> int:
    """Read the first names now rather than on the first question for a name (the web
    app does at startup); returns their number."""
    return len(first_names())
