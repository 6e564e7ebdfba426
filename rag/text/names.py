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

from .terms import anchor_terms, nouns, tokenize

logger = logging.getLogger(__name__)


#: A language official in more countries than this (English in 91, French in 44, German
#: in 6) does not say which country an article is about; Chinese and Russian (5 each),
#: Belarusian or Japanese (1) do.
_LOCAL_LANGUAGE_COUNTRIES = 5


def _official_languages(territory: str, locale) -> list[str]:
    """The names in ``locale`` of the official languages of ``territory`` (CLDR) that are
    official in few countries (:data:`_LOCAL_LANGUAGE_COUNTRIES`)."""
    counts = _language_countries()
    names = (locale.languages.get(code) for code in _languages(territory)
             if counts.get(code, 0) <= _LOCAL_LANGUAGE_COUNTRIES)
    return sorted(name for name in names if name)


def _languages(territory: str) -> set[str]:
    """The codes of the official languages of ``territory`` (CLDR, de facto too; "zh",
    not "zh_Hant")."""
    from babel.languages import get_official_languages

    return {code.split("_")[0] for code in get_official_languages(territory, de_facto=True)}


@lru_cache(maxsize=1)
def _language_countries() -> dict[str, int]:
    """How many countries (CLDR territories with a two-letter code) each language is
    official in."""
    from babel import Locale

    counts: dict[str, int] = {}
    for code in Locale("en").territories:
        if not code.isdigit():
            for language in _languages(code):
                counts[language] = counts.get(language, 0) + 1
    return counts


#: CLDR territories that are no place an article is about: the world ("Women's World
#: Cup", "der größte der Welt"), unions of countries, unknown and test regions.
_NO_PLACE = frozenset({"001", "EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


@lru_cache(maxsize=1)
def _pairs() -> dict[str, list[tuple[str, ...]]]:
    """(English name, German name) pairs from CLDR: ``countries`` (territories with a
    two-letter code; each also with the German names of its official languages),
    ``regions`` (continents and parts of them, "Africa" / "Afrika"), ``other
    territories`` (:data:`_NO_PLACE`: "World" / "Welt"),
    ``languages``, ``cities`` (the exemplar cities of time zones) and ``cities with German
    names`` (those CLDR names in German: "Tokio"). Empty when the locale data cannot be
    read."""
    try:
        from babel import Locale
        from babel.core import get_global

        en, de = Locale("en"), Locale("de")
        territories = [(code, en.territories[code], de.territories[code])
                       for code in en.territories if code in de.territories]
        named, cities = [], []
        for zone in get_global("zone_territories"):
            if "/" not in zone or zone.startswith("Etc/"):  # "EST5EDT", "Etc/UTC": no city
                continue
            # CLDR writes a city only where its name differs from the zone's ("Berlin")
            own = zone.rsplit("/", 1)[-1].replace("_", " ")
            german = (de.time_zones.get(zone) or {}).get("city")
            english = (en.time_zones.get(zone) or {}).get("city") or own
            cities.append((english, german or own))
            if german:
                named.append((english, german))
        return {
            "countries": [(e, d, *_official_languages(code, de))
                          for code, e, d in territories
                          if not code.isdigit() and code not in _NO_PLACE],
            "regions": [(e, d) for code, e, d in territories
                        if code.isdigit() and code not in _NO_PLACE],
            "other territories": [(e, d) for code, e, d in territories if code in _NO_PLACE],
            "languages": [(en.languages[c], de.languages[c]) for c in en.languages
                          if c in de.languages],
            "cities with German names": named,
            "cities": cities,
        }
    except Exception as exc:  # missing or unreadable locale data: no translations
        logger.warning("No CLDR name translations (%s); English names are matched as written",
                       exc)
        return {}


@lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    """English term -> German terms, from CLDR territories, languages and the exemplar
    cities of time zones (a term of a several-word name maps to all the German name's
    terms)."""
    table: dict[str, set[str]] = {}
    pairs = _pairs()
    for english, german, *_ in (pair for kind in ("countries", "regions", "other territories",
                                                  "languages", "cities with German names")
                                for pair in pairs.get(kind, [])):
        source, target = tokenize(english), tokenize(german)
        if source and target and source != target:
            for term in source:
                table.setdefault(term, set()).update(target)
    return {term: frozenset(forms) for term, forms in table.items()}


def german_forms(term: str) -> frozenset[str]:
    """The German terms of the English ``term`` (a :func:`~rag.text.terms.tokenize`
    term: "switzerland" -> {"schweiz"}, "tokyo" -> {"tokio"}); empty when CLDR has none."""
    return _table().get(term, frozenset())


@lru_cache(maxsize=1)
def _places() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Places named in one word, English term and German name (lower case) -> the terms
    an article may write it with: cities and regions in either language ("tokyo" ->
    {"tokyo", "tokio"}), countries also by their official languages' German names, whose
    adjectives articles write as often as the country's name ("Belarus": "belarussisch",
    "russisch" as in "weissrussischen"; "China": "chinesisch")."""
    english: dict[str, set[str]] = {}
    german: dict[str, set[str]] = {}
    pairs = _pairs()
    for kind in ("cities", "regions", "countries"):
        for en_name, de_name, *languages in pairs.get(kind, []):
            source, target = tokenize(en_name), tokenize(de_name)
            forms = {*source, *target, *(t for name in languages for t in tokenize(name))}
            if len(source) == 1:
                english.setdefault(source[0], set()).update(forms)
            if len(target) == 1 and " " not in de_name.strip():
                german.setdefault(de_name.strip().lower(), set()).update(forms)
    return ({t: frozenset(f) for t, f in english.items()},
            {t: frozenset(f) for t, f in german.items()})


def named_places(question: str, lang: str) -> list[frozenset[str]]:
    """The cities, regions and countries (CLDR, one word; not the question's first word)
    that ``question`` names, each as the set of terms an article may write it with
    ("Tokyo" -> {"tokyo", "tokio"}; German also in the genitive or as a city's adjective:
    "Tokios", "Berliner")."""
    english, german = _places()
    if lang != "de":
        return [english[t] for t in anchor_terms(question) if t in english]
    # by the word as written, not its stem: "Römer" is no "Rom", though stemmed alike
    names = (_german_place(word, german) for word in nouns(question).values())
    return [german[name] for name in names if name is not None]


def _german_place(word: str, places: dict[str, frozenset[str]]) -> str | None:
    """The place of ``places`` that the lower-case ``word`` names: as written, in the
    genitive ("tokios") or as a city's adjective ("berliner")."""
    for end in ("", "s", "er"):
        name = word[: len(word) - len(end)]
        if word.endswith(end) and name in places:
            return name
    return None


def load() -> int:
    """Read the CLDR names now rather than on the first English question (the web app
    does at startup, so that answering reads no file); returns the number of terms."""
    return len(_table()) + len(_places()[0]) + len(_places()[1])
