"""Questions that ask what happened in a period and nothing more ("Was geschah im Juni
2023?", "What happened in December 2022?", "Was gab es Neues im Mai 2006?").

They name no topic, so no passage matches them better than any other and the "not found"
gate refused them. They are answered with the period's articles instead (none: those of
the days after it, where reports of it are; none there either: the newest before it): one
line per article (its date and headline, or lead sentence, cited), in date order, the
first ``k`` of them with the number found. Without a period ("Was gibt es Neues?",
"What's the latest news?") the newest articles are listed, newest first. A question about
a topic ("What happened in Germany in June 2006?") that no sentence answers gets the
articles that name it (:func:`digest_topic`; the pipeline searches them).
"""

from __future__ import annotations

import re

from ..types import Answer, DocMeta, StoredChunk
from .base import PERIOD
from .extractive import make_source
from .metadata import format_date

#: Words that ask for events or news.
_EVENT = frozenset({
    "geschah", "geschehen", "passiert", "passierte", "passierten", "ereignete", "ereigneten",
    "ereignet", "los", "neues", "neuigkeiten", "nachrichten", "schlagzeilen", "meldungen",
    "ereignisse", "berichtet", "berichtete", "berichteten",
    "happened", "happen", "happening", "going", "news", "events", "headlines", "stories",
    "reported",
})
#: Words such a question may hold besides (question words, auxiliaries, articles, ...).
_FILLER = frozenset({
    "was", "ist", "sind", "war", "waren", "hat", "hatte", "sich", "gab", "gibt", "es", "alles",
    "welche", "wichtige", "wichtigen", "eigentlich", "denn", "so", "da", "dort", "in", "im",
    "am", "an", "um", "zu", "der", "die", "das", "den", "dem", "des", "und", "über", "wurde",
    "wurden", "zeig", "zeige", "mir", "uns", "bitte", "artikel", "archiv", "neueste",
    "neuesten", "neuestes", "aktuell", "aktuelle", "aktuellen", "zuletzt", "jüngste",
    "jüngsten", "letzte", "letzten", "latest", "recent", "recently", "newest", "current",
    "what", "which", "were", "is", "are", "did", "do", "there", "any", "the", "on",
    "at", "of", "during", "about", "show", "me", "us", "please", "tell", "important",
    "main", "major", "articles", "s", "new",
})
#: Words that join a topic to the event or news words ("Neues aus Berlin", "news about").
_JOINERS = frozenset({
    "aus", "bei", "mit", "zu", "zum", "zur", "von", "vom", "für", "rund", "from", "about",
    "regarding", "concerning", "for", "with", "to", "around", "by",
})
#: Words for articles when a question asks for a list of them ("Welche Artikel gibt es
#: über ...?", "Show me reports about ...").
_ARTICLES = frozenset({
    "artikel", "artikeln", "berichte", "beiträge", "beiträgen", "meldungen", "nachrichten",
    "texte", "texten", "articles", "reports", "stories", "news", "pieces",
})
#: A question for the number of articles: "wie viele" / "how many" / "Anzahl der" before
#: a word for articles (at most one word between: "wie viele deutsche Artikel").
_ASKS_ARTICLE_COUNT = re.compile(
    r"\b(?:wie\s+viele|how\s+many|anzahl(?:\s+(?:der|an|von))?|number\s+of)\s+(?:\w+\s+)?"
    rf"(?:{'|'.join(sorted(_ARTICLES))})\b", re.IGNORECASE)
#: Words that ask for a list.
_LIST = frozenset({
    "welche", "zeig", "zeige", "zeigen", "liste", "list", "alle", "all", "gibt", "gab",
    "which", "show", "any", "find", "finde", "such", "suche",
})
#: Words that ask for the newest or the oldest articles.
_NEWEST_WORDS = r"neueste[nrs]?|jüngste[nrs]?|aktuellste[nrs]?|latest|newest|most\s+recent"
_OLDEST_WORDS = r"älteste[nrs]?|früheste[nrs]?|erste[nrs]?|oldest|earliest|first"
_ORDER = {"newest": re.compile(rf"\b(?:{_NEWEST_WORDS})\b", re.IGNORECASE),
          "oldest": re.compile(rf"\b(?:{_OLDEST_WORDS})\b", re.IGNORECASE)}
#: A question for the newest (oldest) article about something ("Was ist der neueste
#: Artikel über Fußball?", "Show me the latest report on Berlin", "Was ist der erste
#: Artikel über Obama?"): a list too, newest (oldest) first. Not "Was stand im neuesten
#: Bericht über ...?", which asks for its content.
_ASKS_ORDERED = re.compile(
    r"^\W*(?:(?:was|welche[rsn]?|what|which)\s+(?:ist|sind|war|waren|is|are|was|were)|"
    rf"zeig\w*|show|gib|give|nenn\w*|find\w*|such\w*)\b.*?\b(?:{_NEWEST_WORDS}|{_OLDEST_WORDS})"
    r"\s+(?:artikel|berichte?|beitr[aä]ge?|meldung(?:en)?|nachrichten?|articles?|reports?|"
    r"stor(?:y|ies)|news|pieces?)\b",
    re.IGNORECASE)
_ORDERED = frozenset({
    "neueste", "neuesten", "neuester", "neuestes", "jüngste", "jüngsten", "aktuellste",
    "aktuellsten", "latest", "newest", "recent", "most", "älteste", "ältesten", "ältester",
    "ältestes", "früheste", "frühesten", "erste", "ersten", "erster", "erstes", "oldest",
    "earliest", "first", "bericht", "beitrag", "meldung", "nachricht", "article", "report",
    "story", "piece", "nenne", "nenn", "finde", "suche",
})
#: Words that ask how many articles there are or what time they cover ("Wie viele Artikel
#: gibt es?", "Welchen Zeitraum umfasst das Archiv?", "How far back do the articles go?").
_SIZE = frozenset({
    "wie", "viele", "anzahl", "zeitraum", "zeitspanne", "reicht", "reichen", "zurück",
    "umfasst", "umfassen", "deckt", "decken", "abgedeckt", "ab", "enthält", "enthalten",
    "seit", "wann", "bis", "jahre", "welchen", "welcher", "welches", "how", "which", "many",
    "number", "period", "span", "range", "far", "back", "go", "goes", "cover", "covers",
    "covered", "contain", "contains", "hold", "holds", "since", "when", "until", "years",
    "dates", "does", "have", "has",
})
#: Words that ask what the archive is about ("Worum geht es im Archiv?", "What is the
#: archive about?", "Welche Themen haben die Artikel?").
_ABOUT = frozenset({
    "worum", "geht", "handelt", "handeln", "thema", "themen", "inhalt", "inhalte", "haben",
    "about", "topic", "topics", "subject", "subjects", "content", "contents", "cover",
    "covers", "do", "does",
})
#: Words for the archive itself, and words a question about it may hold besides.
_ARCHIVE_NOUNS = frozenset({
    "archiv", "archive", "sammlung", "collection", "korpus", "corpus", "datenbank",
    "database", "dokumente", "documents",
})
_ARCHIVE = _ARCHIVE_NOUNS | {"du", "you", "insgesamt", "total", "in", "there"}
#: Words that ask how many ("Wie viele Artikel gibt es über ...?").
_COUNT = frozenset({"wie", "viele", "anzahl", "how", "many", "number", "nennen", "nennt",
                    "erwähnen", "erwähnt", "mention", "mentions", "erschienen", "veröffentlicht",
                    "published", "written", "geschrieben"})
#: A topic of a digest has at most this many words ("Berlin", "Angela Merkel").
_TOPIC_WORDS = 3
_WORD = re.compile(r"\w+(?:-\w+)*")
_HEADER = {
    "de": {"period": "{n} Artikel aus diesem Zeitraum",
           "after": "Kein Artikel aus diesem Zeitraum; {n} aus den {days} Tagen danach",
           "before": "Kein Artikel aus diesem Zeitraum; die neuesten davor",
           "newest": "Die neuesten Artikel",
           "oldest": "Die ältesten Artikel",
           "overview": "Das Archiv enthält Artikel vom {first} bis zum {last}; die neuesten",
           "size": "Das Archiv enthält {n} Artikel",
           "span": ", vom {first} [1] bis zum {last} [2]",
           "undated": " ({n} ohne Datum)",
           "topic": "Artikel zu „{topic}“",
           "topic newest": "Die neuesten Artikel zu „{topic}“",
           "topic oldest": "Die ältesten Artikel zu „{topic}“",
           "topic count": "{n} Artikel {name} „{topic}“",
           "newest k": ", die neuesten {k}",
           "topic none": "Kein Artikel nennt „{topic}“.",
           "first": ", die ersten {k}", "of": " ({k} von {n})",
           "of dated": " ({k} von {n} mit Datum, {undated} ohne)"},
    "en": {"period": "{n} {articles} from this period",
           "after": "No article from this period; {n} {articles} from the {days} days after",
           "before": "No article from this period; the newest before it",
           "newest": "The newest articles",
           "oldest": "The oldest articles",
           "overview": "The archive holds articles from {first} to {last}; the newest",
           "size": "The archive holds {n} {articles}",
           "span": ", from {first} [1] to {last} [2]",
           "undated": " ({n} undated)",
           "topic": "Articles about “{topic}”",
           "topic newest": "The newest articles about “{topic}”",
           "topic oldest": "The oldest articles about “{topic}”",
           "topic count": "{n} {articles} {name} “{topic}”",
           "newest k": ", the newest {k}",
           "topic none": "No article mentions “{topic}”.",
           "first": ", the first {k}", "of": " ({k} of {n})",
           "of dated": " ({k} of {n} dated, {undated} undated)"},
}


#: The verb of "N articles name X" (plural, singular).
_NAMES = {"de": ("nennen", "nennt"), "en": ("mention", "mentions")}


def asks_what_happened(topic: str) -> bool:
    """Whether ``topic`` (a question without its period) asks only what happened."""
    words = [w.casefold() for w in _WORD.findall(topic)]
    return (any(w in _EVENT for w in words)
            and all(w in _EVENT or w in _FILLER for w in words))


def _topic(words: list[str], asking: frozenset[str]) -> str | None:
    """The ``words`` that are not ``asking`` words, joined, when one to three are left."""
    rest = [w for w in words if w.casefold() not in asking]
    return " ".join(rest) if 0 < len(rest) <= _TOPIC_WORDS else None


def digest_topic(question: str) -> str | None:
    """The topic of a question (without its period) that asks what happened about
    something ("What happened in Germany?", "Was gibt es Neues aus Berlin?",
    "Neuigkeiten über Angela Merkel"): its one to three words that ask for neither events
    nor anything else; ``None`` for other questions."""
    words = _WORD.findall(question)
    if not any(w.casefold() in _EVENT for w in words):
        return None
    return _topic(words, _EVENT | _FILLER | _JOINERS)


def articles_topic(question: str) -> str | None:
    """The topic of a question (without its period) that asks for the articles about
    something ("Welche Artikel gibt es über Fußball?", "Show me reports about Berlin",
    "Was ist der neueste Artikel über Fußball?", "Wie viele Artikel gibt es über Obama?"):
    its one to three words besides those asking for articles; ``None`` otherwise."""
    words = _WORD.findall(question)
    folded = {w.casefold() for w in words}
    if (not (folded & _ARTICLES and (folded & _LIST or asks_article_count(question)))
            and not _ASKS_ORDERED.search(question)):
        return None
    return _topic(words, _ARTICLES | _LIST | _ORDERED | _COUNT | _EVENT | _FILLER | _JOINERS)


def asks_article_count(question: str) -> bool:
    """Whether ``question`` asks how many articles there are ("Wie viele Artikel gibt es
    über Fußball?", "How many articles mention Obama?", "Anzahl der Berichte über ..."),
    not how many of something an article reports ("Wie viele Menschen starben laut dem
    Artikel?")."""
    return bool(_ASKS_ARTICLE_COUNT.search(question))


def lists_articles(question: str) -> bool:
    """Whether ``question`` (without its period) asks for articles and names nothing else
    ("Was sind die neuesten Artikel?", "Zeig mir die ältesten Berichte", "Show me the
    articles")."""
    words = [w.casefold() for w in _WORD.findall(question)]
    return (any(w in _ARTICLES for w in words)
            and all(w in _ARTICLES | _LIST | _ORDERED | _FILLER | _ARCHIVE for w in words))


def article_order(question: str) -> str | None:
    """``"newest"`` or ``"oldest"`` when ``question`` asks for the newest or the oldest
    articles ("die ältesten Artikel", "the first report about ..."), else ``None``."""
    ordered = _ASKS_ORDERED.search(question) or lists_articles(question)
    if not ordered:
        return None
    found = [(m.start(), order) for order, pattern in _ORDER.items()
             if (m := pattern.search(question))]
    return min(found)[1] if found else None


def asks_archive_size(question: str) -> bool:
    """Whether ``question`` (without its period) asks how many articles there are or what
    time they cover and names nothing else ("Wie viele Artikel gibt es?", "Welchen
    Zeitraum deckt das Archiv ab?", "How far back do the articles go?")."""
    words = [w.casefold() for w in _WORD.findall(question)]
    return (any(w in _ARTICLES | _ARCHIVE_NOUNS for w in words)
            and any(w in _SIZE - _FILLER for w in words)
            and all(w in _SIZE | _ARTICLES | _ARCHIVE | _FILLER | _LIST for w in words))


def asks_archive_overview(question: str) -> bool:
    """Whether ``question`` (without its period) asks what the archive or its articles are
    about and names nothing else ("Worum geht es in den Artikeln?", "What is the archive
    about?", "Welche Themen gibt es im Archiv?")."""
    words = [w.casefold() for w in _WORD.findall(question)]
    return (any(w in _ARTICLES | _ARCHIVE_NOUNS for w in words)
            and any(w in _ABOUT for w in words)
            and all(w in _ABOUT | _ARTICLES | _ARCHIVE | _FILLER | _LIST for w in words))


def archive_answer(question: str, lang: str, ends: list[tuple[DocMeta, StoredChunk]],
                   total: int, undated: int) -> Answer:
    """How many articles the archive holds (``total``, ``undated`` of them without a date)
    and the dates of the first and the last of them (``ends``: both, each with its first
    passage, cited; empty: none is dated)."""
    words = _HEADER[lang if lang in _HEADER else "en"]
    text = words["size"].format(n=total, articles="article" if total == 1 else "articles")
    sources = []
    if ends:
        (first, _), (last, _) = ends
        text += words["span"].format(first=format_date(first.date or "", lang),
                                     last=format_date(last.date or "", lang))
        for n, (doc, chunk) in enumerate(ends, start=1):
            source = make_source(n, chunk, doc, 0.0)
            source.highlights.append(_lead(chunk))
            sources.append(source)
    if undated:
        text += words["undated"].format(n=undated)
    return Answer(question, lang, True, text + ".", sources)


def _sentences(chunk: StoredChunk) -> list[tuple[int, int]]:
    """The spans of the sentences of ``chunk`` that end like one (not a headline line)."""
    spans = chunk.sentences or [(0, len(chunk.text))]
    return [(a, b) for a, b in spans
            if chunk.text[a:b].rstrip("\"'“”»«’) ").endswith((".", "!", "?", "…"))]


def _leads(chunk: StoredChunk, n: int = 1) -> list[tuple[int, int]]:
    """The spans of the first ``n`` sentences of ``chunk`` that end like one, else of its
    first sentence."""
    return _sentences(chunk)[:n] or [tuple((chunk.sentences or [(0, len(chunk.text))])[0])]


def _lead(chunk: StoredChunk) -> tuple[int, int]:
    """The span of the first sentence of ``chunk`` that ends like one."""
    return _leads(chunk)[0]


def lead_answer(question: str, lang: str, doc: DocMeta, chunks: list[StoredChunk],
                sentences: int = 3) -> Answer:
    """An article in brief, for "Erzähl mir mehr über das erste": the first ``sentences``
    sentences of the first of its passages (``chunks``, in text order) that has any (a
    headline may be a passage of its own), highlighted and cited."""
    chunk = next((c for c in chunks if _sentences(c)), chunks[0])
    spans = _leads(chunk, sentences)
    source = make_source(1, chunk, doc, 0.0)
    source.highlights.extend(spans)
    text = " ".join(chunk.text[a:b] for a, b in spans) + " [1]"
    return Answer(question, lang, True, text, [source])


def no_article_answer(question: str, lang: str, topic: str, period: str = "") -> Answer:
    """The answer to how many articles (of the ``period`` searched, a label) name
    ``topic`` when none does (no sources)."""
    words = _HEADER[lang if lang in _HEADER else "en"]
    text = words["topic none"].format(topic=topic)
    if period:
        text = f"{text[:-1]} ({PERIOD.get(lang, PERIOD['en'])}: {period})."
    return Answer(question, lang, False, text, [])


def digest_answer(question: str, lang: str, articles: list[tuple[DocMeta, StoredChunk]],
                  total: int, mode: str = "period", days: int = 0, topic: str = "",
                  spans: list[tuple[int, int] | None] | None = None,
                  span: tuple[str, str] = ("", ""), undated: int = 0) -> Answer:
    """The answer listing ``articles`` (each with its first passage), one line each: date
    and headline (or lead sentence), cited; the lead sentence is highlighted. ``mode``
    says what they are: the first of ``total`` found in the ``period`` asked for, in the
    ``days`` ``after`` it (none in it), the newest ``before`` it (none in it or the
    ``days`` after), the ``newest`` (``oldest``) of ``total`` dated ones (no period
    asked for), the newest as an ``overview`` of an archive whose dated articles ``span``
    two ISO dates, or those found about a ``topic`` (``topic newest``, ``topic oldest``:
    the newest or oldest of them; ``topic count``: the newest of the ``total`` that name
    it). ``spans``: the sentence of each passage to show and highlight instead of its
    lead (``None``: the lead). ``undated``: the articles without a date beside the
    ``total`` dated ones (newest, oldest, overview)."""
    sources, lines = [], []
    for n, (doc, chunk) in enumerate(articles, start=1):
        source = make_source(n, chunk, doc, 0.0)
        a, b = (spans[n - 1] if spans else None) or _lead(chunk)
        source.highlights.append((a, b))
        sources.append(source)
        # a headline says what the article is about; a title that is its first sentence
        # cut short ("...…") is replaced by that sentence whole
        line = doc.title if doc.title and not doc.title.endswith("…") else chunk.text[a:b]
        lines.append(f"- {doc.date or '?'}: {line} [{n}]")
    words = _HEADER[lang if lang in _HEADER else "en"]
    header = words[mode]
    if mode in ("period", "after"):
        header += words["first"] if total > len(articles) else ""
    elif mode == "topic count":
        header += words["newest k"] if total > len(articles) else ""
    elif not mode.startswith("topic"):
        header += words["of dated" if undated and mode != "before" else "of"]
    header = header.format(n=total, k=len(articles), days=days, topic=topic,
                           articles="article" if total == 1 else "articles",
                           name=_NAMES[lang if lang in _NAMES else "en"][total == 1],
                           undated=undated,
                           first=format_date(span[0], lang), last=format_date(span[1], lang))
    header += ":"
    return Answer(question, lang, True, "\n".join([header, *lines]), sources)
