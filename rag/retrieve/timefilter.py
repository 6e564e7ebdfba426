"""Questions that name a time: periods, "latest", "how did ... develop", and relative dates.

:func:`parse_time` finds the period a question names - ``2021``, ``im Dezember 2022``,
``in March 2011``, ``am 19.12.2022``, ``seit 2020``, ``vor 2020``, ``zwischen 2019 und
2021``, and relative ones resolved against *today*: ``gestern``, ``letzte Woche``,
``last month``, ``letztes Jahr``, ``vor zwei Jahren``, ``in den letzten 30 Tagen`` - and
whether it asks for the latest state or a development over time. :func:`apply_time` then
prefers passages of articles dated in that period (a boost, not a hard filter: the
period a question names is the event's, and reports often appear days later; chosen by
measurement on wikinews-de, bench/time_questions.py), prefers recent articles for
"neueste/latest", and orders sources by date for a timeline. With the date filter, a
passage of an older article that writes a date in the period (:func:`announces_period`:
a plan, a schedule) counts as in it, and whether a passage answers is judged on the
question without its period (:func:`without_period`).

Relative dates *inside* an article (``gestern``, ``am Samstag``) refer to the article's
own date, never to today: :func:`resolve_in_article` resolves them against it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from ..types import Answer, Hit, Source

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2,
    "märz": 3, "maerz": 3, "march": 3, "april": 4, "apr": 4, "mai": 5, "may": 5, "juni": 6,
    "june": 6, "juli": 7, "july": 7, "august": 8, "aug": 8, "september": 9, "sept": 9,
    "sep": 9, "oktober": 10, "october": 10, "okt": 10, "oct": 10, "november": 11, "nov": 11,
    "dezember": 12, "december": 12, "dez": 12, "dec": 12,
}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"(?<![\d.,'’])((?:19|20)\d{2})(?![\d'’]|[.,]\d)"
_NUMBERS = {"einem": 1, "einer": 1, "ein": 1, "one": 1, "a": 1, "zwei": 2, "two": 2,
            "drei": 3, "three": 3, "vier": 4, "four": 4, "fünf": 5, "five": 5, "sechs": 6,
            "six": 6, "zehn": 10, "ten": 10}
_NUM = r"(\d{1,3}|" + "|".join(_NUMBERS) + ")"

_LATEST = re.compile(
    r"\b(neueste[nmrs]?|aktuellste[nmrs]?|jüngste[nmrs]?|aktuelle[nmrs]?\s+stand|"
    r"derzeit|zuletzt|latest|most\s+recent|newest|current(?:ly)?|recent(?:ly)?)\b",
    re.IGNORECASE)
_TIMELINE = re.compile(
    r"\b(wie\s+hat\s+sich\b.*\bentwickelt|entwicklung\s+(?:de[rsm]|von)|verlauf|"
    r"chronologie|zeitleiste|timeline|chronolog\w*|how\s+(?:did|has)\b.*\b(?:develop|"
    r"evolv|chang)\w*)", re.IGNORECASE)


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time."""

    #: Inclusive ISO bounds of the period named (``None``: open), and how it is shown.
    lo: str | None = None
    hi: str | None = None
    label: str | None = None
    #: "neueste", "aktuell", "latest": prefer the most recent articles.
    latest: bool = False
    #: "Wie hat sich ... entwickelt?", "timeline of": sources in date order.
    timeline: bool = False
    #: A period that ends with "bis" / "until" ("bis April 2008 gesammelt"): it names the
    #: end of what is counted or done, and a report of it may come months after that end.
    until: bool = False

    def slack(self, days: int) -> int:
        """Days after the period's end whose articles still count: ``days`` (reports
        follow events), or half a year after an "until" period (as far as a plan may
        precede the period it names, :func:`announces_period`)."""
        return max(days, _AHEAD_DAYS) if self.until else days

    @property
    def period(self) -> bool:
        """True when the question names a period."""
        return self.lo is not None or self.hi is not None


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _named(month: str | None, year: str) -> tuple[date, date]:
    """First and last day of ``month`` (lower-case name; ``None``: the whole year) of
    ``year``."""
    y = int(year)
    return _month_range(y, _MONTHS[month]) if month else (date(y, 1, 1), date(y, 12, 31))


def _label(lo: date, hi: date) -> str:
    if lo.month == 1 and lo.day == 1 and hi.month == 12 and hi.day == 31:
        return f"{lo.year}" if lo.year == hi.year else f"{lo.year}–{hi.year}"
    if lo.day == 1 and hi == _month_range(hi.year, hi.month)[1] and (lo.year, lo.month) == (
            hi.year, hi.month):
        return f"{lo.year}-{lo.month:02d}"
    if lo == hi:
        return lo.isoformat()
    return f"{lo.isoformat()} – {hi.isoformat()}"


def _num(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBERS[text.lower()]


def _ago(m: re.Match, today: date) -> tuple[date, date]:
    """The year, month or week ``n`` units before ``today`` ("vor 3 Jahren", "2 weeks ago")."""
    n = _num(m.group(1) or m.group(3))
    unit = (m.group(2) or m.group(4))[0]
    if unit in "jy":
        return date(today.year - n, 1, 1), date(today.year - n, 12, 31)
    if unit == "m":
        y, mo = divmod(today.year * 12 + today.month - 1 - n, 12)
        return _month_range(y, mo + 1)
    start = _monday(today) - timedelta(days=7 * n)
    return start, start + timedelta(days=6)


def _last(m: re.Match, today: date) -> tuple[date, date]:
    """The last ``n`` days, weeks, months or years up to ``today``."""
    n, unit = _num(m.group(1)), m.group(2)[0]
    return today - timedelta(days={"t": 1, "d": 1, "w": 7, "m": 30, "j": 365, "y": 365}[unit]
                             * n), today


def _monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def _previous_month(today: date) -> tuple[date, date]:
    prev = today.replace(day=1) - timedelta(days=1)
    return _month_range(prev.year, prev.month)


def _days_before(n: int) -> Callable[[re.Match, date], tuple[date, date]]:
    return lambda m, today: (today - timedelta(days=n),) * 2


#: Periods relative to today (the question lower-cased), in the order they are tried;
#: each with its (first, last) day for a given today. Also removed by :func:`without_period`.
_RELATIVE: tuple[tuple[re.Pattern, Callable[[re.Match, date], tuple[date, date]]], ...] = (
    (re.compile(r"\b(vorgestern|day\s+before\s+yesterday)\b"), _days_before(2)),
    (re.compile(r"\b(gestern|yesterday)\b"), _days_before(1)),
    (re.compile(r"\b(heute|today)\b"), _days_before(0)),
    (re.compile(r"\b(letzte[nr]?|vergangene[nr]?|vorige[nr]?)\s+woche\b|\blast\s+week\b"),
     lambda m, t: (_monday(t) - timedelta(days=7), _monday(t) - timedelta(days=1))),
    (re.compile(r"\b(diese[rn]?|this)\s+(woche|week)\b"), lambda m, t: (_monday(t), t)),
    (re.compile(r"\b(letzte[nr]?|vergangene[nr]?|vorige[nr]?)\s+monat\b|\blast\s+month\b"),
     lambda m, t: _previous_month(t)),
    (re.compile(r"\b(diese[nm]?|this)\s+(monat|month)\b"), lambda m, t: (t.replace(day=1), t)),
    (re.compile(r"\b(letzte[nsm]?|vergangene[nsm]?|vorige[nsm]?)\s+jahr\b|\bvorjahr\b|"
                r"\blast\s+year\b"),
     lambda m, t: (date(t.year - 1, 1, 1), date(t.year - 1, 12, 31))),
    (re.compile(r"\b(dieses|diesem|this)\s+(jahr|year)\b"), lambda m, t: (date(t.year, 1, 1), t)),
    (re.compile(rf"\b(?:in\s+den\s+letzten|in\s+the\s+(?:last|past))\s+{_NUM}\s+"
                r"(tage[n]?|days?|wochen|weeks?|monate[n]?|months?|jahre[n]?|years?)\b"), _last),
    (re.compile(rf"\bvor\s+{_NUM}\s+(jahren|monaten|wochen)\b|\b{_NUM}\s+"
                r"(years?|months?|weeks?)\s+ago\b"), _ago),
)


def _relative(q: str, today: date) -> tuple[date, date] | None:
    """The period relative to ``today`` that ``q`` (lower-cased) names, if any."""
    for pattern, span_of in _RELATIVE:
        if m := pattern.search(q):
            return span_of(m, today)
    return None


#: Written days, months and years, each with the (first, last) day it names; shared by
#: the question parser, the scan of article text and the removal of a period.
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DMY = re.compile(r"\b(\d{1,2})\.\s?(\d{1,2})\.\s?((?:19|20)\d{2})\b")
_D_MONTH_Y = re.compile(rf"\b(\d{{1,2}})\.?\s+({_MON})\.?\s+((?:19|20)\d{{2}})\b",
                        re.IGNORECASE)
_MONTH_D_Y = re.compile(
    rf"\b({_MON})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", re.IGNORECASE)
_MONTH_Y = re.compile(rf"\b({_MON})\.?\s+{_YEAR}", re.IGNORECASE)
_YEAR_RE = re.compile(_YEAR)
#: A day or a month of the article's own year, written so ("am 21. Mai dieses Jahres",
#: "im März diesen Jahres", "in May this year").
_THIS_YEARS = re.compile(
    rf"\b(?:(\d{{1,2}})\.\s?)?({_MON})\.?\s+(?:(?:dieses|diesen)\s+jahres|(?:of\s+)?this\s+year)\b",
    re.IGNORECASE)
#: A day and month without a year after it ("am 9. November"); dated by the article.
_D_MONTH = re.compile(rf"\b(\d{{1,2}})\.\s?({_MON})\b(?!\.?\s+(?:19|20)\d{{2}})",
                      re.IGNORECASE)
#: Words between "bis" / "until" and the year it ends with ("bis Ende 2006", "bis zum
#: Frühjahr 2006", "until the end of 2006").
_UNTIL_WORDS = (r"(?:zum|zur|ins|in|den|die|das|ende|anfang|mitte|frühjahr|frühling|sommer"
                r"|herbst|winter|jahr|jahre|the|end|of|early|late|mid|spring|summer|autumn"
                r"|fall|year)")
#: Half a year: how far ahead of its article a day written without a year is taken to lie,
#: and how long after an "until" period a report of it still counts.
_AHEAD_DAYS = 183
#: A decade ("in den 1990er Jahren", "in the 1990s") and a season or term across two years
#: ("im Winter 2005/2006", "2005/06", "die Saison 2007-08").
_DECADE = re.compile(r"(?<![\d.,'’])((?:19|20)\d)0(?:er|s|'s|’s)(?!\w)", re.IGNORECASE)
_TWO_YEARS = re.compile(_YEAR + r"\s*[/\-–]\s*(?:((?:19|20)\d{2})|(\d{2}))(?![\d\-–])")


def _day(y: str, month: int, d: str) -> tuple[date, date]:
    day = date(int(y), month, int(d))
    return day, day


_DAYS = (
    (_ISO_DAY, lambda m: _day(m[1], int(m[2]), m[3])),
    (_DMY, lambda m: _day(m[3], int(m[2]), m[1])),
    (_D_MONTH_Y, lambda m: _day(m[3], _MONTHS[m[2].lower()], m[1])),
    (_MONTH_D_Y, lambda m: _day(m[3], _MONTHS[m[1].lower()], m[2])),
)
_MONTH = (_MONTH_Y, lambda m: _named(m[1].lower(), m[2]))
#: A season and its year ("im Sommer 2010", "in the autumn of 2008"): its three months
#: (meteorological seasons; a winter spans two years and is left to the year).
_SEASON_STARTS = {"frühjahr": 3, "frühling": 3, "spring": 3, "sommer": 6, "summer": 6,
                  "herbst": 9, "autumn": 9, "fall": 9}
_SEASON_Y = re.compile(r"\b(?:the\s+)?(frühjahr|frühling|sommer|herbst|spring|summer|autumn|"
                       r"(?<=the\s)fall)(?:e?s)?(?:\s+of|\s+des\s+jahres)?\s+" + _YEAR,
                       re.IGNORECASE)
_SEASON = (_SEASON_Y, lambda m: (_month_range(int(m[2]), _SEASON_STARTS[m[1].lower()])[0],
                                 _month_range(int(m[2]), _SEASON_STARTS[m[1].lower()] + 2)[1]))
_YEAR_SPAN = (_YEAR_RE, lambda m: _named(None, m[1]))
#: What the scan of article text looks for: every form but the English "December 19,
#: 2022" (the forms the announcement check was measured with, bench/README.md section 21).
_IN_TEXT = (*_DAYS[:3], _MONTH, _YEAR_SPAN)


#: A month (optional) and a year, and the open or closed periods named with them (the
#: question lower-cased): "zwischen 2019 und 2021", "von März 2020 bis 2021", "seit
#: 2020", "bis Ende 2006", "vor 2020".
_SPAN = rf"(?:({_MON})\.?\s+)?{_YEAR}"
_BETWEEN = re.compile(rf"\b(?:zwischen|between)\s+{_SPAN}\s+(?:und|and)\s+{_SPAN}")
_FROM_TO = re.compile(rf"\b(?:von|from)\s+{_SPAN}\s+(?:bis|to|until)\s+{_SPAN}")
_SINCE = re.compile(rf"\b(?:seit|since)\s+{_SPAN}")
_UNTIL = re.compile(rf"\b(?:bis|until|till)\s+(?:{_UNTIL_WORDS}\s+){{0,3}}{_SPAN}")
_BEFORE = re.compile(rf"\b(?:vor|before)\s+{_SPAN}")


def _absolute(q: str) -> tuple[date, date] | None:
    """Periods named by dates, months and years."""
    try:
        for pattern, span_of in _DAYS:
            if m := pattern.search(q):
                return span_of(m)
    except ValueError:
        return None
    if m := _BETWEEN.search(q) or _FROM_TO.search(q):
        lo, hi = _named(m[1], m[2])[0], _named(m[3], m[4])[1]
        return (lo, hi) if lo <= hi else None
    if m := _SINCE.search(q):
        return _named(m[1], m[2])[0], date.max
    if m := _UNTIL.search(q):
        return date.min, _named(m[1], m[2])[1]
    if m := _BEFORE.search(q):
        return date.min, _named(m[1], m[2])[0] - timedelta(days=1)
    if m := _DECADE.search(q):
        first = int(m.group(1)) * 10
        return date(first, 1, 1), date(first + 9, 12, 31)
    if m := _TWO_YEARS.search(q):
        first = int(m.group(1))
        second = int(m.group(2) or m.group(1)[:2] + m.group(3))
        if second == first + 1:
            return date(first, 1, 1), date(second, 12, 31)
    if m := _SEASON_Y.search(q):
        return _SEASON[1](m)
    for pattern, span_of in (_MONTH, _YEAR_SPAN):
        if m := pattern.search(q):
            return _part(q[: m.start()], *span_of(m))
    return None


#: "Anfang", "Mitte", "Ende" of a month or a year, right before it: its first, middle or
#: last third ("Ende Juni 2006": 21-30 June, "early 2008": January to April).
_PARTS = (
    (re.compile(r"(?:anfang|beginn|early|(?:beginning|start)\s+of)(?:\s+des\s+jahres)?\s*$"), 0),
    (re.compile(r"(?:mitte|mid|middle\s+of)(?:\s+des\s+jahres)?[\s-]*$"), 1),
    (re.compile(r"(?:ende|late|end\s+of)(?:\s+des\s+jahres)?\s*$"), 2),
)


def _part(before: str, lo: date, hi: date) -> tuple[date, date]:
    """The third of the month or year ``lo``-``hi`` that the words ``before`` it name
    (see :data:`_PARTS`), else the whole of it."""
    for pattern, third in _PARTS:
        if pattern.search(before):
            if lo.month == hi.month:  # a month: days 1-10, 11-20, 21-end
                start = lo + timedelta(days=10 * third)
                return start, (hi if third == 2 else start + timedelta(days=9))
            first = 1 + 4 * third  # a year: January-April, May-August, September-December
            return (date(lo.year, first, 1),
                    date(lo.year, first + 3, calendar.monthrange(lo.year, first + 3)[1]))
    return lo, hi


def parse_time(question: str, today: date | None = None) -> TimeIntent:
    """What ``question`` says about time; relative periods are resolved against
    ``today`` (default: the current date)."""
    today = today or date.today()
    q = question.lower()
    span = _absolute(q) or _relative(q, today)
    latest = bool(_LATEST.search(q))
    timeline = bool(_TIMELINE.search(q))
    if span is None:
        return TimeIntent(latest=latest, timeline=timeline)
    lo, hi = span
    if hi == date.max:
        hi = today
        label = f"seit {lo.isoformat()}" if lo.day != 1 or lo.month != 1 else f"seit {lo.year}"
        label = f"{label} (bis {today.isoformat()})"
    elif lo == date.min:
        label = f"bis {hi.isoformat()}"
    else:
        label = _label(lo, hi)
    until = lo == date.min and bool(_UNTIL.search(q))
    return TimeIntent(None if lo == date.min else lo.isoformat(), hi.isoformat(), label,
                      latest, timeline, until)


def _bounds(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    parts = value.split("-")
    if len(parts) == 1:
        return f"{value}-01-01", f"{value}-12-31"
    if len(parts) == 2:
        y, m = int(parts[0]), int(parts[1])
        return f"{value}-01", f"{value}-{calendar.monthrange(y, m)[1]:02d}"
    return value, value


def in_period(doc_date: str | None, intent: TimeIntent, slack_days: int = 0) -> bool:
    """True when an article's (possibly partial) date overlaps the period, the end
    extended by ``slack_days`` (reports follow events; :meth:`TimeIntent.slack`)."""
    b = _bounds(doc_date)
    if b is None:
        return False
    hi, slack_days = intent.hi, intent.slack(slack_days)
    if hi and slack_days:
        hi = (date.fromisoformat(hi) + timedelta(days=slack_days)).isoformat()
    return not ((intent.lo and b[1] < intent.lo) or (hi and b[0] > hi))


def _spans_in(text: str, after: date | None = None) -> Iterator[tuple[date, date]]:
    """(first, last) day of every date, month and year written in ``text``; with
    ``after`` (the article's date) also of each period named relative to it ("im letzten
    Jahr", "vor zwei Jahren", "last month"), of each day or month "of this year" ("am 21.
    Mai dieses Jahres": the article's year) and of each day written without a year ("vom
    5. bis zum 9. November"): its next occurrence, when that is at most half a year later."""
    for pattern, span_of in _IN_TEXT:
        for m in pattern.finditer(text):
            try:
                yield span_of(m)
            except ValueError:
                continue
    if after is None:
        return
    lower = text.lower()
    for pattern, relative_span in _RELATIVE:
        for m in pattern.finditer(lower):
            yield relative_span(m, after)
    for m in _THIS_YEARS.finditer(text):  # "am 21. Mai dieses Jahres": the article's year
        try:
            month = _MONTHS[m[2].lower()]
            yield ((date(after.year, month, int(m[1])),) * 2 if m[1]
                   else _month_range(after.year, month))
        except ValueError:
            continue
    for m in _D_MONTH.finditer(text):
        if _THIS_YEARS.match(text, m.start()):
            continue
        try:
            day = date(after.year, _MONTHS[m[2].lower()], int(m[1]))
            if day < after:
                day = day.replace(year=after.year + 1)
        except ValueError:
            continue
        if (day - after).days <= _AHEAD_DAYS:
            yield day, day


#: A written date, month or year with the preposition before it ("im Dezember 2022",
#: "in 2023", "on December 19, 2022", "am 19.12.2022", "seit 2020").
_PERIOD_WORDS = re.compile(
    r"(?:\b(?:(?:(?:zu|am)\s+)?(?:anfang|mitte|ende|beginn)(?:\s+des\s+jahres)?|"
    r"(?:in\s+)?(?:early|mid|late)|(?:(?:at|in)\s+)?the\s+(?:end|beginning|middle|start)"
    r"\s+of(?:\s+the\s+year)?|"
    r"(?:aus|in|seit|von)\s+dem\s+jahre?|vom\s+jahre?|dem\s+jahre?|des\s+jahres|"
    r"im\s+jahre?|im\s+monat|des\s+monats|(?:from|of|since|for|in)\s+the\s+year|"
    r"the\s+year|in\s+the\s+month\s+of|in|im|am|an|on|of|from|for|during|seit|since|vor|"
    r"before|ab|bis|until|zwischen|between|von|und|and|to)(?:\s+|-))?(?:"
    r"(?:(?:den|der|the)\s+)?" + _DECADE.pattern + r"(?:\s+jahren?e?)?|" + _TWO_YEARS.pattern
    + "|" + "|".join(p.pattern for p in (_MONTH_D_Y, _D_MONTH_Y, _DMY, _ISO_DAY, _SEASON_Y,
                                           _MONTH_Y, _YEAR_RE))
    + ")",
    re.IGNORECASE)


def without_period(question: str) -> str:
    """``question`` without the dates, seasons, months, years and relative periods
    ("gestern", "last week") it names (and the prepositions of the written ones): "What
    was the inflation in 2023?" -> "What was the inflation?". The
    period has chosen the articles; whether a passage answers is judged on the rest."""
    rest = _PERIOD_WORDS.sub(" ", question)
    for pattern, _ in _RELATIVE:  # matched lower-cased ("Gestern", "Last week")
        lower = rest.lower()
        if (m := pattern.search(lower)) and len(lower) == len(rest):
            rest = f"{rest[:m.start()]} {rest[m.end():]}"
    rest = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s{2,}", " ", rest)).strip()
    return rest if any(c.isalpha() for c in rest) else question


def announces_period(text: str, doc_date: str | None, intent: TimeIntent) -> bool:
    """True when a passage of an article dated *before* the period writes a date, month or
    year within it: a plan, a schedule or an announcement ("für das Jahr 2007
    vorgesehen" in an article of 2005 answers "... in 2007"). Reports during and after
    the period are the date filter's; undated articles never count. A year does not lie
    within a month, so a month asked for needs that month (or a day of it) written out."""
    doc = _bounds(doc_date)
    if not intent.period or intent.lo is None or doc is None or doc[1] >= intent.lo:
        return False
    return _writes_within(text, intent, date.fromisoformat(doc[0]))


def recalls_period(text: str, doc_date: str | None, intent: TimeIntent) -> bool:
    """True when a passage of an article dated *after* the period writes a date, month or
    year within it: a look back ("im Geschäftsjahr 2004" in an article of March 2005
    answers "... für 2004"; "im letzten Jahr" in an article of 2006 answers "... in
    2005"). Undated articles never count."""
    doc = _bounds(doc_date)
    if not intent.period or intent.hi is None or doc is None or doc[0] <= intent.hi:
        return False
    return _writes_within(text, intent, date.fromisoformat(doc[0]))


def _writes_within(text: str, intent: TimeIntent, written: date | None = None) -> bool:
    """Whether ``text`` (of an article ``written`` then, for days without a year) writes a
    date, month or year that lies within ``intent``'s period."""
    lo = date.fromisoformat(intent.lo) if intent.lo else date.min
    hi = date.fromisoformat(intent.hi) if intent.hi else date.max
    return any(lo <= first and last <= hi for first, last in _spans_in(text, written))


def apply_time(hits: list[Hit], dates: dict[str, str | None], intent: TimeIntent, *,
               boost: float, recency: float, slack_days: int) -> list[Hit]:
    """Re-score ``hits``: ``+boost`` for articles in the period, up to ``+recency`` for
    the most recent articles when the latest state is asked for; sorted by score."""
    if not hits or not (intent.period or intent.latest):
        return hits
    newest = oldest = None
    if intent.latest:
        known = sorted(d for d in (dates.get(h.doc_id) for h in hits) if d)
        oldest, newest = (known[0], known[-1]) if known else (None, None)

    def extra(h: Hit) -> float:
        add = 0.0
        d = dates.get(h.doc_id)
        if intent.period and in_period(d, intent, slack_days):
            add += boost
        if intent.latest and d and newest and oldest and newest > oldest:
            span = _days(oldest, newest)
            add += recency * (1 - _days(d, newest) / span)
        return add

    return sorted((replace(h, score=h.score + extra(h)) for h in hits), key=lambda h: -h.score)


def _days(a: str, b: str) -> int:
    return abs((date.fromisoformat(_bounds(b)[0]) - date.fromisoformat(_bounds(a)[0])).days)


def by_date(items: list, date_of) -> list:
    """``items`` in date order (undated last), for timeline questions."""
    return sorted(items, key=lambda s: (date_of(s) is None, date_of(s) or ""))


_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "sonnabend": 5, "sonntag": 6, "monday": 0, "tuesday": 1,
             "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
#: A date written out right after a day expression ("am Freitag, den 16. September",
#: "gestern, am 3. März", "on Friday, the 16th", "on Friday, September 16"): the text
#: dates it itself, so it is not resolved against the article's date.
_DATED = (r",?\s*(?:(?:am|den|dem|the)\s+)?(?:\d{1,2}\.|\d{1,2}(?:st|nd|rd|th)\b"
          r"|(?:january|february|march|april|may|june|july|august|september|october"
          r"|november|december)\s+\d{1,2}\b)")
_IN_ARTICLE = re.compile(
    r"\b(vorgestern|gestern|heute|morgen|übermorgen|yesterday|today|tomorrow|"
    r"(?:am\s+(?:vergangenen\s+|letzten\s+|kommenden\s+)?|on\s+(?:last\s+)?)"
    r"(?:" + "|".join(_WEEKDAYS) + r"))\b(?!\s*\(|" + _DATED + ")", re.IGNORECASE)
#: Where a sentence starts: the text's or a line's start, or after a full stop, a colon
#: or a quote.
_SENTENCE_START = re.compile(r"(?:\A|\n|[.!?:;]\s*[\"„“‚‘»«(]?|[\"„“»«(])\s*\Z")


#: Number words of an anniversary: the questions' ones (:data:`_NUMBERS`) and larger ones.
_AGO_COUNTS = {**_NUMBERS, "sieben": 7, "acht": 8, "neun": 9, "elf": 11, "zwölf": 12,
               "zwanzig": 20, "dreißig": 30, "fünfzig": 50, "hundert": 100}
#: "gestern vor 75 Jahren", "heute vor einem Jahr": the day is an anniversary, its date
#: that many years (months, weeks, days) earlier.
_AGO = re.compile(r"\s+vor\s+(\d{1,4}|" + "|".join(_AGO_COUNTS) + r")\s+"
                  r"(jahr|monat|woche|tag)(?:e|en|n)?\b", re.IGNORECASE)


def _earlier(day: date, count: int, unit: str) -> date:
    """``day`` ``count`` years, months, weeks or days earlier (the 29th of February
    becomes the 28th in a year without it)."""
    if unit in ("woche", "tag"):
        return day - timedelta(days=count * (7 if unit == "woche" else 1))
    months = day.year * 12 + day.month - 1 - (count * 12 if unit == "jahr" else count)
    year, month = divmod(months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _the_morning(text: str, start: int) -> bool:
    """Whether the "Morgen" at ``start`` is the noun (the morning: "am Morgen", "heute
    Morgen"), not the adverb "morgen" (tomorrow): German capitalises the noun; a
    capital at the start of a sentence says nothing."""
    return text[start] == "M" and not _SENTENCE_START.search(text[:start])


_DAY_OFFSETS = {"vorgestern": -2, "gestern": -1, "yesterday": -1, "heute": 0, "today": 0,
                "morgen": 1, "tomorrow": 1, "übermorgen": 2, "vorgestrig": -2, "gestrig": -1,
                "heutig": 0, "morgig": 1, "übermorgig": 2}
#: "am gestrigen Freitag", "am heutigen Abend": the adjective dates the day named after it
#: (not "der heutigen Ukraine", "in der heutigen Zeit": today's, not a day).
_DAY_ADJECTIVE = re.compile(
    r"\b(vorgestrig|gestrig|heutig|morgig|übermorgig)(?:e[mnrs]?)?\s+(?:"
    + "|".join(w for w in _WEEKDAYS if not w.endswith("day"))  # the German ones
    + r"|Tag|Morgen|Vormittag|Mittag|Nachmittag|Abend|Nacht)\b(?!\s*\(|" + _DATED + ")",
    re.IGNORECASE)


def resolve_in_article(text: str, article_date: str | None) -> list[tuple[int, int, str]]:
    """Relative day expressions in an article's ``text`` resolved against the article's
    own date (``YYYY-MM-DD``): ``[(start, end, "2022-12-18"), ...]``. A weekday means the
    last such day on or before the article's date ("kommenden": the next one); "am
    gestrigen Freitag" the day before it; "gestern vor 75 Jahren" that day 75 years
    earlier; "am Morgen" is the morning, not tomorrow. Nothing is resolved without a full
    article date."""
    if not article_date or len(article_date) != 10:
        return []
    ref = date.fromisoformat(article_date)
    out = []
    for m in _IN_ARTICLE.finditer(text):
        word = m.group(1).lower()
        if word == "morgen" and _the_morning(text, m.start()):
            continue
        if word in _DAY_OFFSETS:
            d = ref + timedelta(days=_DAY_OFFSETS[word])
        else:
            day = _WEEKDAYS[word.split()[-1]]
            if "kommenden" in word:
                d = ref + timedelta(days=(day - ref.weekday()) % 7 or 7)
            else:
                d = ref - timedelta(days=(ref.weekday() - day) % 7)
        end = m.end()
        ago = _AGO.match(text, end)
        if ago:
            count = ago.group(1).lower()
            n = int(count) if count.isdigit() else _AGO_COUNTS[count]
            d, end = _earlier(d, n, ago.group(2).lower()), ago.end()
        out.append((m.start(), end, d.isoformat()))
    for m in _DAY_ADJECTIVE.finditer(text):
        d = ref + timedelta(days=_DAY_OFFSETS[m.group(1).lower()])
        out.append((m.start(), m.end(), d.isoformat()))
    return sorted(out)


#: The date :func:`annotate_in_article` puts after a relative day expression.
_ANNOTATION = re.compile(r" \(\d{1,2}\.\d{1,2}\.\d{4}\)")


def annotate_in_article(text: str, article_date: str | None) -> str:
    """``text`` with each relative day expression followed by its date in parentheses,
    resolved against the article's date (``"gestern (18.12.2022)"``)."""
    parts, pos = [], 0
    for _start, end, iso in resolve_in_article(text, article_date):
        y, m, d = iso.split("-")
        parts += [text[pos:end], f" ({int(d)}.{int(m)}.{y})"]
        pos = end
    return "".join(parts) + text[pos:]


def without_annotations(text: str) -> str:
    """``text`` without the dates :func:`annotate_in_article` added ("gestern
    (18.12.2022)" -> "gestern"), so that an answer can be compared with its sources."""
    return _ANNOTATION.sub("", text)


_CITATION = re.compile(r"\[(\d+)\]")


def annotate_answer(text: str, dates: dict[int, str | None]) -> str:
    """An answer's lines with relative day expressions dated by the articles each line
    cites (``dates``: citation number -> article date); lines citing articles of
    different dates, or none, stay as they are."""
    out = []
    for line in text.split("\n"):
        dated = {dates.get(int(n)) for n in _CITATION.findall(line)}
        if len(dated) == 1:
            line = annotate_in_article(line, dated.pop())
        out.append(line)
    return "\n".join(out)


def renumbered(answer: Answer, ordered: list[Source]) -> Answer:
    """``answer`` with its sources in the order ``ordered`` (e.g. :func:`by_date`),
    numbered 1, 2, ... again, and the citations in its text (and in its extractive text,
    when an LLM wrote the answer) changed to match."""
    new = {s.n: i for i, s in enumerate(ordered, start=1)}
    if all(old == n for old, n in new.items()):
        return answer

    def cite_anew(text: str) -> str:
        return _CITATION.sub(lambda m: f"[{new.get(int(m.group(1)), int(m.group(1)))}]", text)

    return replace(answer, text=cite_anew(answer.text),
                   extractive=answer.extractive and cite_anew(answer.extractive),
                   sources=[replace(s, n=new[s.n]) for s in ordered])
