"""German-aware sentence splitting with compiled regular expressions (no model, no downloads).

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (optionally followed by closing quotes or
brackets) when whitespace and the start of a new sentence (an upper-case letter or a digit,
optionally after opening quotes) follow, and always at a line break. It does not end after

* abbreviations: ``Dr.``, ``St.``, ``Mio.``, ``Mrd.``, ``bzw.``, ``ca.``, ``vgl.``, ``Nr.``,
  ``Mr.`` … (see :data:`ABBREVIATIONS`), and ``Art.``, ``Nov.``, ``S.`` … before a number;
* single letters: initials (``Wladimir W. Putin``), ``z. B.``, ``u. a.``, ``d. h.``,
  ``e.g.``, ``U.S.``;
* ordinals of up to three digits: ``am 19. Dezember``, ``3. Liga`` (years such as
  ``im Jahr 2020.`` do end a sentence).

Dates (``19.12.2022``), decimals, ``62'000`` and URLs contain no whitespace after the dot and
are never cut; a lower-case word glued to a capitalised one by a missing space
(``gekommen.Bereits``, frequent in real news text) is. ``usw.``/``etc.`` end a sentence
only when an upper-case word follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ABBREVIATIONS",
    "POINTS_BACK",
    "POINTS_BACK_IN_ANSWER",
    "SENTENCE_BOUNDARY_REGEX",
    "SENTENCE_BOUNDARY_RE",
    "split_sentences",
    "sentences",
]

#: Abbreviations (case-sensitive) after which a sentence never ends.
ABBREVIATIONS: tuple[str, ...] = (
    # titles and names (German and English)
    "Dr", "Prof", "St", "Hr", "Hrn", "Fr", "Mr", "Mrs", "Ms", "Jr", "Sr", "Mt", "Sgt", "Capt",
    "Lt", "Col", "Gov", "Rep", "Dipl", "Ing", "Mag", "Co", "Bros", "Corp",
    # numbers and references
    "Mio", "Mrd", "Tsd", "Nr", "Abs", "Bd", "Kap", "Jh", "Jhd", "Hrsg", "Ziff", "Abschn", "Abb",
    "Anm", "Aufl", "Bsp",
)
#: Abbreviations matched case-insensitively (lower case, capitalised at a sentence start).
ABBREVIATIONS_ANY_CASE: tuple[str, ...] = (
    "bzw", "ca", "vgl", "ggf", "evtl", "inkl", "exkl", "zzgl", "bspw", "sog", "usf", "geb",
    "gest", "verh", "dt", "engl", "franz", "ital", "lat", "griech", "russ", "ehem", "allg",
    "vs", "ebd", "insb", "insbes", "gem",
)
#: Abbreviations after which a sentence does not end when a number follows
#: (``Art. 5``, ``Nov. 2020``); before a word they may end one (``eine neue Art. Die …``).
ABBREVIATIONS_BEFORE_NUMBER: tuple[str, ...] = (
    "Art", "No", "Nos", "Vol", "Tab", "Fig", "Min", "Std", "Sek", "Tel", "pp",
    "Jan", "Feb", "Mär", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Okt", "Oct", "Nov", "Dez",
    "Dec",
)

_CLOSE = "\"'“”»«’)\\]"
_OPEN = "\"'„“»«‚‘(\\["
_END = ".!?…"


def _upper_letters() -> str:
    """A character class body with every upper-case/title-case letter of the common scripts."""
    ranges = [(0x00, 0x0530), (0x10A0, 0x1100), (0x1E00, 0x2000), (0x2C00, 0x2D30)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi) if chr(c).isupper()
             or chr(c).istitle()]
    out: list[str] = []
    i = 0
    while i < len(chars):  # compress runs into ranges
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        lo, hi = re.escape(chars[i]), re.escape(chars[j])
        out.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(out)


def _not_after(words: Iterable[str], *, ignore_case: bool = False, before: str = "") -> str:
    """Negative look-behinds for ``word.`` (grouped by length: look-behinds are fixed-width)."""
    by_len: dict[int, list[str]] = {}
    for w in words:
        by_len.setdefault(len(w), []).append(re.escape(w))
    parts = []
    for _, group in sorted(by_len.items()):
        alt = "|".join(sorted(group))
        alt = f"(?i:{alt})" if ignore_case else f"(?:{alt})"
        if before:
            parts.append(f"(?!(?<=\\b{alt}\\.){before})")
        else:
            parts.append(f"(?<!\\b{alt}\\.)")
    return "".join(parts)


#: The end of a sentence glued to the next one without a space: three lower-case letters and
#: terminal punctuation ("gekommen.Bereits"; "z.B.Die", "U.S.A." and "19.12." do not match).
_GLUED_WORD_END = "[a-zäöüß]{3}[.!?]"
#: An ordinal number starts after whitespace, an opening bracket/quote or the text start.
_ORDINAL_PREV = "[^\\s(\\[„\"«»‚]"
SENTENCE_BOUNDARY_REGEX: str = (
    # a sentence end (a cheap one-character test first, for speed): terminal punctuation,
    # optionally followed by up to two closers …
    f"(?<=[{_END}{_CLOSE}])"
    f"(?:(?<=[{_END}])|(?<=[{_END}][{_CLOSE}])|(?<=[{_END}][{_CLOSE}][{_CLOSE}]))"
    # … that is not an abbreviation, a single letter (initials, z. B., U.S.) or an ordinal
    + _not_after(ABBREVIATIONS)
    + _not_after(ABBREVIATIONS_ANY_CASE, ignore_case=True)
    + _not_after(ABBREVIATIONS_BEFORE_NUMBER, before=r"\s+\d")
    + r"(?<!(?<!\w)[^\W\d_]\.)"
    + "".join(f"(?<!(?<!{_ORDINAL_PREV})\\d{{{n}}}\\.)" for n in (1, 2, 3))
    # the whitespace between the sentences, then the start of the next sentence; or, with
    # no whitespace, a lower-case word's end glued to a capitalised word ("gekommen.Bereits")
    + f"(?:\\s+(?=[{_OPEN}]{{0,2}}[0-9{_upper_letters()}])"
    + f"|(?<={_GLUED_WORD_END})(?=[A-ZÄÖÜ][a-zäöüß]))"
)
"""Matches the whitespace between two sentences inside a line, or the empty string between
two sentences glued together without a space (no capturing groups, so it can be used as a
separator with ``re.split``/langchain's ``is_separator_regex``)."""

SENTENCE_BOUNDARY_RE: re.Pattern[str] = re.compile(SENTENCE_BOUNDARY_REGEX)
_LINE_RE = re.compile(r"[^\n]+")


#: A sentence that starts by pointing back at the one before it (a pronoun, a
#: demonstrative, "daher", "dabei"): read alone it does not say what it is about. Not
#: "Es", "There" or an article: mostly they point at nothing ("Es gibt", "Die Polizei").
POINTS_BACK: re.Pattern[str] = re.compile(
    r"^(?:Er|Sie|Ihr\w*|Sein\w*|Dies\w*|Jene[mnrs]?|Dort|Damals|Damit|Dabei|Dadurch|Dafür"
    r"|Dagegen|Daher|Darauf|Daraufhin|Darin|Darum|Davor|Danach|Deshalb|Deswegen|Trotzdem"
    r"|He|She|They|His|Her|Its|Their|This|These|Those|Then)\b")
#: :data:`POINTS_BACK`, or "Das" as a demonstrative before its verb ("Das berichtet die
#: Agentur ..."): an answer quoting such a sentence brings the one before it. Not used
#: for the sentence vectors (with this, xquad-de answer_hit fell 0.877 -> 0.867 on the
#: tune half: "Das ist ..." in encyclopaedic text; bench/README.md 35).
POINTS_BACK_IN_ANSWER: re.Pattern[str] = re.compile(
    POINTS_BACK.pattern + r"|^Das\s+(?:ist|war|sei|wäre|hat|hatte|habe|heißt|hieß|gilt|galt"
    r"|geht|ging|(?:bericht|sag|teil|erklär|meld|bestätig|bedeut|zeig|betont|schreib)\w*)\b")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, in order.

    Spans exclude surrounding whitespace; every line break ends a sentence (headings and
    paragraphs are their own sentences). ``text[start:end]`` is the sentence.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE_RE.finditer(text):
        pos, line_end = line.span()
        for m in SENTENCE_BOUNDARY_RE.finditer(text, pos, line_end):
            span = _trimmed(text, pos, m.start())
            if span:
                spans.append(span)
            pos = m.end()
        span = _trimmed(text, pos, line_end)
        if span:
            spans.append(span)
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings (see :func:`split_sentences`)."""
    return [text[a:b] for a, b in split_sentences(text)]
