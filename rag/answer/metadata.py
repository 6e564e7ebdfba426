"""Questions about an article rather than its content: who wrote it, who published it,
when it appeared, where it is, what its headline is. They are answered from the article's
metadata (front matter, byline, URL), with the article cited, since bylines and dates are
not in the text that retrieval searches.

A question is a metadata question when it names the article ("Artikel", "Bericht",
"article", "report", ...) together with the asked field ("geschrieben", "Autor",
"erschienen", "published", "link", ...). Which article is meant is left to retrieval:
the rest of the question describes its topic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..text.terms import ARTICLE_WORDS
from ..types import Answer, DocMeta, Source

#: The words of a question that ask for each field (German and English).
_AUTHOR = r"autor\w*|verfass\w*|geschrieben|schrieb|author\w*|wrote|written|writer|byline"
_PUBLISHER = (r"zeitung|verlag\w*|publikation|herausgeber\w*|website|webseite|publication|"
              r"publisher|newspaper|outlet|magazine|welche[rms]? (?:quelle|seite)|which source")
_URL = r"link|url|adresse|address|online lesen|read it online"
_PUBLISHED = (r"erschien\w*|erschienen|veröffentlicht\w*|publiziert\w*|published|appeared|"
              r"came out|released|posted|dated")
#: A question for an article's headline ("die Überschrift des Artikels", "the headline of
#: the report", "the article's title"), not for something written in it ("im Titel des
#: Artikels", "in the title of the article") or a title won ("won the title").
_TITLE_WORDS = r"überschrift|schlagzeile|titel|headline|title"
_TITLE = re.compile(
    rf"\b(?:{_TITLE_WORDS})\s+(?:of|des|der|vom|von|from|for)\s+(?:[\w'’-]+\s+){{0,3}}?"
    rf"(?:{ARTICLE_WORDS.pattern})|(?:{ARTICLE_WORDS.pattern})['’]s\s+(?:{_TITLE_WORDS})\b"
    rf"|\b(?:unter|mit|under|with)\s+(?:welche[rm]|what|which)\s+(?:{_TITLE_WORDS})\b",
    re.IGNORECASE)
#: The same for an article known otherwise ("What's the headline of the second one?").
_ASKS_TITLE = re.compile(
    r"\b(?:wie\s+(?:lautet|lautete|heißt|hieß|heisst|hiess)|what(?:'s|\s+is|\s+was)|welche[nrs]?"
    rf"|which|gib\s+mir|give\s+me|nenn\w*)\b[^?]*?\b(?:{_TITLE_WORDS})\b", re.IGNORECASE)
_IN_TITLE = re.compile(rf"\b(?:im|in\s+der|in\s+(?:the|its))\s+(?:{_TITLE_WORDS})\b"
                       r"|\bin\s+the\s+\w+['’]s\s+(?:title|headline)", re.IGNORECASE)
_FIELDS: dict[str, re.Pattern[str]] = {
    "author": re.compile(rf"\b({_AUTHOR})\b", re.IGNORECASE),
    "publisher": re.compile(rf"\b({_PUBLISHER})\b", re.IGNORECASE),
    "url": re.compile(rf"\b({_URL})\b", re.IGNORECASE),
    "date": re.compile(
        r"\b(wann|an welchem tag|welchem datum|datum|when|what date|which day|on what day"
        r"|(?:in )?welche[mn]? (?:monat|jahr)|(?:in )?(?:which|what) (?:month|year))\b"
        rf".*\b({_PUBLISHED})\b",
        re.IGNORECASE,
    ),
}
#: Any of them (what a metadata question asks, not the topic of its article).
_REQUEST_WORDS = re.compile(
    rf"\b({_AUTHOR}|{_PUBLISHER}|{_URL}|{_PUBLISHED}|datum|date|{_TITLE_WORDS})\b", re.IGNORECASE)
_MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}


@dataclass(frozen=True)
class MetadataAnswer:
    """What a metadata answer says, and the line that cites the article's record."""

    text: str
    record: str


def asked_field(question: str, named: bool = False) -> str | None:
    """``"author"``, ``"publisher"``, ``"date"``, ``"url"`` or ``"title"`` when
    ``question`` asks for that field of an article it names (``named``: the article is
    known otherwise, "the second one" of a list); ``None`` for a question about the
    content."""
    if not named and not ARTICLE_WORDS.search(question):
        return None
    for name in ("author", "date", "url", "publisher"):
        if _FIELDS[name].search(question):
            return name
    if ((_TITLE.search(question) or named and _ASKS_TITLE.search(question))
            and not _IN_TITLE.search(question)):
        return "title"
    return None


def topic_words(question: str) -> str:
    """A metadata question without the words that ask for the field and name an article
    ("Wann erschien der Artikel über Wikiasari?" -> "Wann der über Wikiasari?"): what the
    keyword search should look for, the article's topic."""
    return " ".join(_REQUEST_WORDS.sub(" ", ARTICLE_WORDS.sub(" ", question)).split())


def format_date(value: str, lang: str) -> str:
    """A (possibly partial) ISO date as people write it, with the ISO form in brackets:
    ``19.12.2022 (2022-12-19)``, ``Juni 2023 (2023-06)``, ``19 December 2022 (2022-12-19)``."""
    parts = value.split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return value
    if len(numbers) == 3:
        y, m, d = numbers
        human = f"{d:02d}.{m:02d}.{y}" if lang == "de" else f"{d} {_MONTHS['en'][m - 1]} {y}"
    elif len(numbers) == 2 and 1 <= numbers[1] <= 12:
        human = f"{_MONTHS[lang if lang in _MONTHS else 'en'][numbers[1] - 1]} {numbers[0]}"
    else:
        return value
    return f"{human} ({value})"


def record_line(doc: DocMeta, lang: str) -> str:
    """The article's metadata as one line (the text of the cited metadata source)."""
    labels = {
        "de": ("Titel", "Autor", "Herausgeber", "Datum", "Link"),
        "en": ("Title", "Author", "Publisher", "Date", "Link"),
    }[lang if lang == "de" else "en"]
    values = (doc.title, doc.author, doc.publisher,
              format_date(doc.date, lang) if doc.date else None, doc.url)
    return " · ".join(f"{label}: {value}" for label, value in zip(labels, values) if value)


def metadata_answer(field: str, doc: DocMeta, lang: str, n: int) -> MetadataAnswer | None:
    """The answer to a question for ``field`` of ``doc`` (cited as ``[n]``), or ``None``
    when the article's metadata does not have that field."""
    value = {"author": doc.author, "publisher": doc.publisher or _host(doc.url),
             "date": doc.date, "url": doc.url, "title": doc.title}[field]
    if not value:
        return None
    title = doc.title
    # a day "am / on" it, a month "im / in" it, a year as it is ("ist 2020 erschienen")
    parts = value.count("-") if field == "date" else 0
    if field == "date":
        value = format_date(value, lang)
    if lang == "de":
        text = {
            "author": f"Der Artikel „{title}“ ist von {value} [{n}].",
            "publisher": f"Der Artikel „{title}“ ist bei {value} erschienen [{n}].",
            "date": f"Der Artikel „{title}“ ist { {2: 'am ', 1: 'im '}.get(parts, '')}{value} "
                    f"erschienen [{n}].",
            "url": f"Der Artikel „{title}“ steht unter {value} [{n}].",
            "title": f"Der Artikel hat im Archiv den Titel „{title}“ [{n}].",
        }[field]
    else:
        text = {
            "author": f"The article “{title}” was written by {value} [{n}].",
            "publisher": f"The article “{title}” was published by {value} [{n}].",
            "date": f"The article “{title}” was published {'on' if parts == 2 else 'in'} "
                    f"{value} [{n}].",
            "url": f"The article “{title}” is at {value} [{n}].",
            "title": f"The archive lists the article under the title “{title}” [{n}].",
        }[field]
    return MetadataAnswer(text, record_line(doc, lang))


def missing_answer(field: str, doc: DocMeta, lang: str, n: int) -> MetadataAnswer:
    """The answer for an article whose metadata lacks ``field`` (cited as ``[n]``)."""
    if lang == "de":
        what = {"author": "kein Autor", "publisher": "kein Herausgeber",
                "date": "kein Datum", "url": "kein Link", "title": "kein Titel"}[field]
        text = f"Zum Artikel „{doc.title}“ ist {what} erfasst [{n}]."
    else:
        what = {"author": "author", "publisher": "publisher", "date": "date",
                "url": "link", "title": "title"}[field]
        text = f"The archive records no {what} for the article “{doc.title}” [{n}]."
    return MetadataAnswer(text, record_line(doc, lang) or doc.title)


def field_answer(question: str, lang: str, field: str, doc: DocMeta, score: float = 0.0,
                 others: Sequence[Source] = (), missing: bool = True) -> Answer | None:
    """The answer to a question for ``field`` of ``doc``, citing the article's metadata
    record as source 1 (``score``: its retrieval score) and ``others`` after it; a field
    the record lacks is said to be missing, or gives ``None`` when not ``missing``."""
    meta = metadata_answer(field, doc, lang, 1) or (
        missing_answer(field, doc, lang, 1) if missing else None)
    if meta is None:
        return None
    record = Source(1, doc.doc_id, doc.title, doc.date, doc.url, doc.publisher, meta.record,
                    score)
    renumbered = [replace(s, n=n) for n, s in enumerate(others, start=2)]
    return Answer(question, lang, True, meta.text, [record, *renumbered])


def _host(url: str | None) -> str | None:
    if not url:
        return None
    match = re.match(r"[a-z][a-z0-9+.-]*://(?:www\.)?([^/:?#]+)", url, re.IGNORECASE)
    return match.group(1) if match else None
