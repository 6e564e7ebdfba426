"""Time periods named in a question ("im Januar 2006", "in July 2008", "2012")."""

from __future__ import annotations

import re

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "februar": 2, "february": 2, "märz": 3,
    "maerz": 3, "march": 3, "april": 4, "mai": 5, "may": 5, "juni": 6, "june": 6, "juli": 7,
    "july": 7, "august": 8, "september": 9, "oktober": 10, "october": 10, "november": 11,
    "dezember": 12, "december": 12,
}
_PERIOD = re.compile(
    r"\b(?:(" + "|".join(_MONTHS) + r")\s+)?((?:19|20)\d\d)\b", re.IGNORECASE)


def mentioned_periods(text: str) -> list[str]:
    """The periods ``text`` names, as ISO prefixes: ``"2006-01"`` for "Januar 2006",
    ``"2012"`` for a bare year (years 1900-2099)."""
    out = []
    for month, year in _PERIOD.findall(text):
        out.append(f"{year}-{_MONTHS[month.lower()]:02d}" if month else year)
    return out


def in_period(date: str | None, periods: list[str]) -> bool:
    """True when the (possibly partial) ISO ``date`` lies in one of ``periods``."""
    return bool(date) and any(date.startswith(p) or p.startswith(date) and len(date) >= 4
                              for p in periods)
