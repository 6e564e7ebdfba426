"""German forms of English country, language and city names, from the Unicode CLDR
(the ``babel`` package's locale data, offline).

An English question names "Switzerland", "Tokyo" or "French"; a German article writes
"Schweiz", "Tokio", "französisch". :func:`german_forms` gives the German terms
(:func:`~rag.text.terms.tokenize` form) of an English term, so that a check of the names a
passage shares with a question does not take a translated name for a missing one.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from .terms import tokenize

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    """English term -> German terms, from CLDR territories, languages and the exemplar
    cities of time zones (a term of a several-word name maps to all the German name's
    terms). Empty when the locale data cannot be read."""
    try:
        from babel import Locale

        en, de = Locale("en"), Locale("de")
        pairs = [(en.territories[c], de.territories[c]) for c in en.territories
                 if c in de.territories]
        pairs += [(en.languages[c], de.languages[c]) for c in en.languages if c in de.languages]
        for zone, names in de.time_zones.items():
            city = names.get("city")
            if city:
                english = (en.time_zones.get(zone) or {}).get("city")
                pairs.append((english or zone.rsplit("/", 1)[-1].replace("_", " "), city))
    except Exception as exc:  # missing or unreadable locale data: no translations
        logger.warning("No CLDR name translations (%s); English names are matched as written",
                       exc)
        return {}
    table: dict[str, set[str]] = {}
    for english, german in pairs:
        source, target = tokenize(english), tokenize(german)
        if source and target and source != target:
            for term in source:
                table.setdefault(term, set()).update(target)
    return {term: frozenset(forms) for term, forms in table.items()}


def german_forms(term: str) -> frozenset[str]:
    """The German terms of the English ``term`` (a :func:`~rag.text.terms.tokenize`
    term: "switzerland" -> {"schweiz"}, "tokyo" -> {"tokio"}); empty when CLDR has none."""
    return _table().get(term, frozenset())


def load() -> int:
    """Read the CLDR names now rather than on the first English question (the web app
    does at startup, so that answering reads no file); returns the number of terms."""
    return len(_table())
