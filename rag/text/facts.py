"""Checkable facts of a sentence: numbers, dates and names, normalised across German and
English writing (62'000 = 62.000 = 62,000 in English; "19. Dezember 2022" = "December 19,
2022" = 2022-12-19; "1,2 Millionen" = "1.2 million").

Used by the citation check of generated answers: every fact of a generated sentence must
occur in the passage it cites.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

#: Month names and abbreviations (German and English) and their numbers.
MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2,
    "märz": 3, "maerz": 3, "march": 3, "mär": 3, "mar": 3, "april": 4, "apr": 4, "mai": 5,
    "may": 5, "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10, "october": 10, "okt": 10,
    "oct": 10, "november": 11, "nov": 11, "dezember": 12, "december": 12, "dez": 12, "dec": 12,
}
#: Weekday names (German and English).
WEEKDAYS = {
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "sonnabend", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}
#: Small numbers written as words (not "ein"/"one": they are articles and pronouns too).
_NUMBER_WORDS = {
    "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8,
    "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "dutzend": 12, "dozen": 12,
}
_SCALES = {
    "tausend": 1e3, "thousand": 1e3, "million": 1e6, "millionen": 1e6, "mio": 1e6,
    "milliarde": 1e9, "milliarden": 1e9, "mrd": 1e9, "billion": 1e9, "billions": 1e9,
    "millions": 1e6, "thousands": 1e3,
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# "19. Dezember 2022", "19 December 2022", "19. Dez. 2022", "Dezember 2022", "19. Dezember"
_DATE_DMY = re.compile(
    rf"(?<!\d)(?:(\d{{1,2}})\.?\s+)?({_MONTH_RE})\.?(?:\s+(\d{{4}}))?(?!\w)", re.IGNORECASE
)
# "December 19, 2022", "December 19"
_DATE_MDY = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b",
                       re.IGNORECASE)
# "19.12.2022", "2022-12-19", "12/19/2022"
_DATE_NUMERIC = re.compile(
    r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)|(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"
    r"|(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"
)
_NUMBER_DE = re.compile(r"(?<![\w.,])\d{1,3}(?:(?:['’.\u202f\u2009\u00a0 ])\d{3})+(?:,\d+)?(?!\d)"
                        r"|(?<![\w.,])\d+(?:,\d+)?(?!\d)")
_NUMBER_EN = re.compile(r"(?<![\w.,])\d{1,3}(?:(?:[,'’\u202f\u2009\u00a0 ])\d{3})+(?:\.\d+)?(?!\d)"
                        r"|(?<![\w.,])\d+(?:\.\d+)?(?!\d)")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_SCALE_AFTER = re.compile(r"\s*([^\W\d_]+)\.?", re.UNICODE)
#: A capitalised word is checked as a name when it is rarer than this (Zipf scale, in the
#: sentence's language): "Lukaschenko" 2.4, "Scholz" 4.0 are checked; "Deutschland" 5.8,
#: "Regierung" 5.2 are ordinary words that translations and paraphrases may change.
NAME_MAX_ZIPF = 4.5
#: The first word of a sentence is capitalised anyway: checked only when this rare.
FIRST_WORD_MAX_ZIPF = 3.0


@dataclass(frozen=True)
class Facts:
    """The checkable facts of a text."""

    #: Numbers as canonical strings (``"62000"``, ``"1.2"``), each also times its scale word.
    numbers: frozenset[str]
    #: Date parts: ``"2022"`` (a year, also in ``numbers``), ``"12-19"`` (month-day),
    #: ``"m12"`` (a month).
    dates: frozenset[str]
    #: Names (capitalised, rare words), folded (lower case, no accents, ß = ss).
    names: frozenset[str]


def fold(word: str) -> str:
    """Lower case without accents and with ß = ss: "Zürich" -> "zurich"."""
    text = unicodedata.normalize("NFKD", word.casefold().replace("ß", "ss"))
    return "".join(c for c in text if not unicodedata.combining(c)).replace("’", "'")


def _canon(value: float) -> str:
    return f"{value:.6g}"


def _parse_number(raw: str, lang: str) -> float | None:
    text = re.sub(r"[\s'’\u202f\u2009\u00a0]", "", raw)
    text = text.replace(".", "").replace(",", ".") if lang == "de" else text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def _dates(text: str) -> tuple[set[str], list[tuple[int, int]]]:
    """Date parts of ``text`` and the spans they cover (so their digits are no numbers)."""
    parts: set[str] = set()
    spans: list[tuple[int, int]] = []
    for m in _DATE_NUMERIC.finditer(text):
        g = m.groups()
        if g[0]:
            d, mo, y = int(g[0]), int(g[1]), g[2]
        elif g[3]:
            y, mo, d = g[3], int(g[4]), int(g[5])
        else:
            mo, d, y = int(g[6]), int(g[7]), g[8]
        if 1 <= mo <= 12 and 1 <= d <= 31:
            parts |= {y, f"{mo:02d}-{d:02d}", f"m{mo:02d}"}
            spans.append(m.span())
    for rx, day_group, month_group, year_group in ((_DATE_MDY, 2, 1, 3), (_DATE_DMY, 1, 2, 3)):
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in spans):
                continue
            month = MONTHS[m.group(month_group).lower()]
            word = m.group(month_group)
            # Short forms ("mar", "may", "mai") count only next to a day or year.
            if len(word) <= 4 and not (m.group(day_group) or m.group(year_group)):
                continue
            if word.lower() in ("may", "mai", "mar", "jun", "jul") and word[0].islower():
                continue
            parts.add(f"m{month:02d}")
            if m.group(day_group):
                parts.add(f"{month:02d}-{int(m.group(day_group)):02d}")
            if m.group(year_group):
                parts.add(m.group(year_group))
            spans.append(m.span())
    return parts, spans


def _numbers(text: str, lang: str, skip: list[tuple[int, int]]) -> set[str]:
    out: set[str] = set()
    rx = _NUMBER_DE if lang == "de" else _NUMBER_EN
    for m in rx.finditer(text):
        if any(a <= m.start() < b for a, b in skip):
            continue
        value = _parse_number(m.group(), lang)
        if value is None:
            continue
        out.add(_canon(value))
        after = _SCALE_AFTER.match(text, m.end())
        if after and after.group(1).lower() in _SCALES:
            out.add(_canon(value * _SCALES[after.group(1).lower()]))
    for word in _WORD.findall(text):
        if word.lower() in _NUMBER_WORDS:
            out.add(_canon(_NUMBER_WORDS[word.lower()]))
    return out


@lru_cache(maxsize=4096)
def _zipf(word: str, lang: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, lang)


def _names(text: str, lang: str) -> set[str]:
    out: set[str] = set()
    first = True
    for m in _WORD.finditer(text):
        word = m.group().strip("'’-")
        starts = first or bool(re.search(r"[.!?:]\s*[\"„“»(]*$", text[: m.start()]))
        first = False
        if not word or not word[0].isupper() or len(word) < 2:
            continue
        low = word.lower()
        if low in MONTHS or low in WEEKDAYS or low in _NUMBER_WORDS or low in _SCALES:
            continue
        limit = FIRST_WORD_MAX_ZIPF if starts else NAME_MAX_ZIPF
        if _zipf(word, lang) < limit and _zipf(low, lang) < limit:
            out.add(fold(word))
    return out


def extract_facts(text: str, lang: str) -> Facts:
    """Numbers, dates and names of ``text`` written in ``lang`` (``"de"``/``"en"``)."""
    dates, spans = _dates(text)
    numbers = _numbers(text, lang, spans)
    numbers |= {d for d in dates if d.isdigit()}
    return Facts(frozenset(numbers), frozenset(dates), frozenset(_names(text, lang)))


def words(text: str) -> set[str]:
    """All words of ``text``, folded (to look names up in)."""
    return {fold(w.strip("'’-")) for w in _WORD.findall(text)}


def name_occurs(name: str, vocabulary: set[str]) -> bool:
    """Whether a folded ``name`` occurs in ``vocabulary`` (folded words), allowing for
    inflection ("Lukaschenkos"), transliteration ("Lukashenko" ~ "Lukaschenko") and German
    compounds ("Soldaten" in "Berufssoldaten")."""
    if name in vocabulary:
        return True
    for word in vocabulary:
        short = min(len(word), len(name))
        if short < 4:
            continue
        if word.startswith(name) or name.startswith(word) and len(word) >= 0.7 * len(name):
            return True
        if len(name) >= 6 and name in word:
            return True
        prefix = len(_common_prefix(word, name))
        if prefix >= 6 and prefix >= 0.7 * short:
            return True
        if fuzz.ratio(word, name) >= 80:
            return True
    return False


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]
