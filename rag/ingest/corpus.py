"""Reading the corpus: ``.txt``/``.md`` articles -> :class:`Article` (text plus metadata).

Decoding: UTF-8 (with or without BOM; a few stray invalid bytes in otherwise UTF-8 text
become U+FFFD), UTF-16/32 with BOM, otherwise Windows-1252 when the text reads as
German/Western European, otherwise charset-normalizer's guess. Files that are
binary (NUL bytes, control characters), whose encoding cannot be determined with confidence,
or that are empty are rejected with a message that names the file and says what to do.

Metadata comes from optional YAML front matter (``---`` ... ``---`` at the top: ``title``,
``date``, ``url``, ``publisher``, ``author``), which overrides what is found in the text
itself: URL lines, ``date 2021-11`` lines, bylines (``Von Silke Bigalke, Moskau``) and
datelines (``… Paul Flückiger, Warschau 19.12.2022``). Those metadata lines are removed from
``Article.text``; headlines and leads are content and stay in it. The title is front matter's
``title``, else a short first line without closing punctuation (``Super Bowl 50``, a Markdown
``# heading``), else the first sentence, shortened to about 100 characters.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as _date
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import charset_normalizer
import yaml

from ..errors import CorpusError
from ..text.sentences import split_sentences
from ..types import Article, Skipped

if TYPE_CHECKING:
    from ..settings import IngestSettings

__all__ = [
    "SUFFIXES",
    "Article",
    "CorpusError",
    "Skipped",
    "decode_bytes",
    "iter_corpus_files",
    "parse_article",
    "parse_date",
    "parse_file",
    "read_article",
    "read_corpus",
    "scan_corpus",
]

log = logging.getLogger(__name__)

#: File name endings read as articles (case-insensitive): text, web pages, PDFs, and
#: archive exports (one article per record).
SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl", ".csv")
ARCHIVE_SUFFIXES = (".jsonl", ".csv")
#: Titles longer than this are shortened at a word boundary (with "…").
TITLE_CHARS = 100
_HEADING_MAX_CHARS = 150


# --------------------------------------------------------------------------- listing


def _is_candidate_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def iter_corpus_files(root: Path, skipped: list[Skipped] | None = None) -> list[tuple[str, Path]]:
    """``(doc_id, path)`` of the article files under ``root``, sorted by ``doc_id``.

    Recursive; ``.txt``/``.md`` only; hidden files and folders (``.name``) are ignored.
    Directories are never articles (a folder named ``x.txt`` is descended into like any
    other). Folders that cannot be listed, and file names that are not valid UTF-8, are
    reported in ``skipped`` when given.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(
            f"The corpus folder {root} does not exist. Create it and put the articles "
            "(.txt, .md, .html, .pdf, .jsonl or .csv files) there, or point RAG_CORPUS_DIR / "
            "--corpus at the right folder."
        )
    if not root.is_dir():
        raise CorpusError(f"The corpus path {root} is not a folder; it must be a folder of "
                          "articles (.txt, .md, .html, .pdf, .jsonl, .csv).")
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise CorpusError(f"The corpus folder {root} cannot be listed ({exc.strerror}). "
                          "Check its permissions.") from exc

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        rel = _relative(where, root)
        reason = (f"{rel}/: folder cannot be listed ({exc.strerror or exc}); its articles "
                  "are not read. Check the folder's permissions (chmod a+rx).")
        if skipped is not None:
            log.warning("Skipping %s", reason)
            skipped.append(Skipped(rel, reason))
        else:
            log.debug("Skipping %s", reason)

    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not _is_candidate_name(name):
                continue
            path = Path(folder, name)
            doc_id = _relative(path, root)
            try:
                doc_id.encode("utf-8")
            except UnicodeEncodeError:
                shown = doc_id.encode("utf-8", "backslashreplace").decode("ascii", "replace")
                reason = f"{shown}: the file name is not valid UTF-8; rename the file."
                if skipped is not None:
                    log.warning("Skipping %s", reason)
                    skipped.append(Skipped(shown, reason))
                continue
            found.append((doc_id, path))
    found.sort(key=lambda item: item[0])
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


def _read_bytes(path: Path, doc_id: str) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise CorpusError(f"{doc_id}: is a folder, not a file. Rename it or move it out of "
                          "the corpus folder.") from exc
    except PermissionError as exc:
        raise CorpusError(f"{doc_id}: permission denied. Make the file readable "
                          "(chmod a+r) or remove it from the corpus folder.") from exc
    except FileNotFoundError as exc:
        raise CorpusError(f"{doc_id}: the file disappeared while the corpus was read "
                          "(deleted or moved), or is a broken symbolic link.") from exc
    except OSError as exc:
        raise CorpusError(f"{doc_id}: cannot be read ({exc.strerror or exc}).") from exc


# --------------------------------------------------------------------------- decoding

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Non-ASCII characters that German/Western European Windows-1252 text plausibly contains.
_WESTERN = set(
    "äöüÄÖÜßéèêëàâáçñíìîïóòôúùûÉÈÊÀÂÁÇÑÍÓÔÚœŒæÆøØåÅ"
    "„“”‚‘’–—…€«»°§×·²³½¼¾±©®™•†\u00a0"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
#: charset-normalizer's "chaos" above which a guess is not trusted.
_MAX_CHAOS = 0.2


def decode_bytes(raw: bytes, name: str = "<bytes>") -> str:
    """Decode a text file's bytes (see the module docstring); ``CorpusError`` if unsure."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise CorpusError(f"{name}: starts with a {encoding.upper()} byte order mark "
                                  f"but is not valid {encoding.upper()} ({exc.reason} at byte "
                                  f"{exc.start}). Re-save it as UTF-8.") from exc
            return _check_text(text.lstrip("\ufeff"), name)
    if b"\x00" in raw:
        raise CorpusError(f"{name}: contains NUL bytes: a binary file, or UTF-16/32 text "
                          "without a byte order mark. Only text files can be read; re-save "
                          "it as UTF-8 or remove it from the corpus folder.")
    try:
        return _check_text(raw.decode("utf-8"), name)
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few stray bytes (a pasted Windows-1252 character): keep it, mark them.
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 127) - bad
    if good >= 5 and bad <= max(1, good // 20):
        log.warning("%s: UTF-8 with %d invalid byte sequence(s), replaced by U+FFFD", name, bad)
        return _check_text(text, name)
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c in _WESTERN for c in text if ord(c) > 127):
        log.info("%s: not UTF-8, read as Windows-1252", name)
        return _check_text(text, name)
    best = charset_normalizer.from_bytes(raw).best()
    if best is None or best.chaos > _MAX_CHAOS:
        raise CorpusError(f"{name}: is not UTF-8 and its encoding cannot be determined "
                          "with confidence (binary data or mixed encodings?). Re-save it "
                          "as UTF-8.")
    log.info("%s: not UTF-8, read as %s (detected)", name, best.encoding)
    return _check_text(str(best), name)


def _check_text(text: str, name: str) -> str:
    controls = len(_CONTROL.findall(text))
    if controls and controls > max(2, len(text) // 200):
        raise CorpusError(f"{name}: contains {controls} control characters: binary data, "
                          "not text. Remove it from the corpus folder or re-save it as "
                          "UTF-8 text.")
    return text


# --------------------------------------------------------------------------- normalising

_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE = re.compile(r"[\ufeff\u200b\u00ad]")  # BOMs, zero-width spaces, soft hyphens
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def _normalize(text: str) -> str:
    """NFC, ``\\n`` line ends, no BOM/zero-width/soft hyphens/control characters, no
    trailing whitespace on lines."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


#: Link markup in article text, read as the words it shows: a Markdown image (dropped), a
#: Markdown link "[Label](https://…)", a MediaWiki external link "[https://… Label]" (a
#: bare "[https://…]" dropped), and the image size a wiki gallery writes before one
#: ("20px [https://…]").
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\s]*(?:\s+\"[^\"\n]*\")?\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[a-z]+://|www\.|/|#)[^)\s]*(?:\s+\"[^\"\n]*\")?\)")
_WIKI_LINK = re.compile(r"(?:\b\d{1,4}px\s+)?\[(?:https?|ftp)://[^\s\]]+(?:[ \t]+([^\]\n]+))?\]")


def _link_text(text: str) -> str:
    """``text`` with link markup replaced by the words it shows (:data:`_MD_LINK`,
    :data:`_WIKI_LINK`; images dropped): a URL is no part of the article's prose, and
    its words ("Category:Ukraine_solidarity_protest_Mannheim") matched questions as if
    the article said them."""
    if "[" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "[" in line:
            shown = _WIKI_LINK.sub(lambda m: m.group(1) or "",
                                   _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", line)))
            if shown != line:
                lines[i] = " ".join(shown.split())
    return "\n".join(lines)


def _tidy_body(text: str) -> str:
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()


#: Lines that are structure, not wrapped prose: list items, headings, quotes, tables, code.
_STRUCTURE = re.compile(r"^(?:[-*+•–]\s|\d{1,3}[.)]\s|#|>|\||```|\s)")
#: A line that ends a sentence (or a clause that may stand at a line end).
_ENDS_SENTENCE = re.compile(r"[.!?…:;][\"'“”»«’)\]]*$")
#: Words after a line-end hyphen that follow a space ("Nord- und Süddeutschland").
_KEEPS_HYPHEN = frozenset({"und", "oder", "bzw", "sowie", "bis", "als", "and", "or", "to"})


def _unwrap(text: str) -> str:
    """Sentences broken over lines joined again, so that a line break inside a sentence
    does not end it (the sentence splitter ends a sentence at every line break).

    A block (the lines between blank lines) hard-wrapped at a fixed width (wire copy,
    e-mail, plain-text archives: the longest line has 50-120 characters, every line but
    the last is at least half as long, one of them ends inside a sentence) becomes one
    line; a short first line (a headline right above the text) stays its own line. In
    other blocks a line that ends inside a sentence is joined with the next line when that
    one goes on in lower case. Lines of lists, headings, quotes, tables and indented lines
    are never joined.
    """
    return "\n\n".join(_unwrap_block(block) for block in text.split("\n\n"))


def _unwrap_block(block: str) -> str:
    lines = block.split("\n")
    if len(lines) < 2:
        return block
    # a short first line above a hard-wrapped paragraph is its headline
    short_first = len(lines) > 2 and len(lines[0]) < 0.5 * max(len(x) for x in lines[1:])
    body = lines[1:] if short_first else lines
    if _hard_wrapped(body):
        return "\n".join([*lines[:len(lines) - len(body)], _joined(body)])
    out = [lines[0]]
    for line in lines[1:]:
        if (_STRUCTURE.match(out[-1]) or _STRUCTURE.match(line)
                or _ENDS_SENTENCE.search(out[-1]) or not line[:1].islower()):
            out.append(line)
        else:  # a sentence goes on in lower case on the next line
            out[-1] = _joined([out[-1], line])
    return "\n".join(out)


def _hard_wrapped(lines: list[str]) -> bool:
    """Whether ``lines`` are one paragraph wrapped at a fixed width (see :func:`_unwrap`)."""
    width = max(len(x) for x in lines)
    structured = _STRUCTURE.match(lines[0]) or 3 * sum(
        bool(_STRUCTURE.match(x)) for x in lines) > len(lines)
    return (50 <= width <= 120 and not structured
            and all(len(x) >= 0.5 * width for x in lines[:-1])
            and not all(_ENDS_SENTENCE.search(x) for x in lines[:-1]))


def _joined(lines: list[str]) -> str:
    """``lines`` as one line: a space between them, none after a compound's hyphen
    ("PCR-" + "Test"; but "Nord-" + " und Süd...")."""
    out = lines[0]
    for line in lines[1:]:
        hyphen = out.endswith("-") and out[-2:-1].isalpha()
        if hyphen and line.split(" ", 1)[0].lower().strip(",.;") not in _KEEPS_HYPHEN:
            out += line
        else:
            out += " " + line
    return out


# --------------------------------------------------------------------------- dates

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "februar": 2, "february": 2, "märz": 3,
    "maerz": 3, "march": 3, "april": 4, "mai": 5, "may": 5, "juni": 6, "june": 6, "juli": 7,
    "july": 7, "august": 8, "september": 9, "oktober": 10, "october": 10, "november": 11,
    "dezember": 12, "december": 12,
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERN = (
    r"(?:\d{4}-\d{1,2}(?:-\d{1,2})?"  # ISO, possibly partial
    r"|\d{1,2}\.\s?\d{1,2}\.\s?\d{4}"  # 19.12.2022
    rf"|\d{{1,2}}\.\s*(?:{_MONTH_NAMES})\s+\d{{4}})"  # 19. Dezember 2022
)
_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DOTTED = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})")
_NAMED = re.compile(rf"(\d{{1,2}})\.\s*({_MONTH_NAMES})\s+(\d{{4}})", re.IGNORECASE)


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """``YYYY[-MM[-DD]]`` if the parts form a real date, else ``None``."""
    if not 1000 <= year <= 2999:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_date(value: str) -> str | None:
    """``"2021-11"``, ``"19.12.2022"``, ``"19. Dezember 2022"`` -> ISO (as precise as given)."""
    value = value.strip()
    if m := _ISO.fullmatch(value):
        y, mo, d = m.groups()
        return _iso(int(y), int(mo) if mo else None, int(d) if d else None)
    if m := _DOTTED.fullmatch(value):
        d, mo, y = m.groups()
        return _iso(int(y), int(mo), int(d))
    if m := _NAMED.fullmatch(value):
        d, name, y = m.groups()
        return _iso(int(y), _MONTHS[name.lower()], int(d))
    return None


_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[-/](0[1-9]|1[0-2])(?:[-/](0[1-9]|[12]\d|3[01]))?(?=[/\-_.]|$)"
)


def _date_from_url(url: str) -> str | None:
    m = _URL_DATE.search(urlsplit(url).path)
    if not m:
        return None
    y, mo, d = m.groups()
    return _iso(int(y), int(mo), int(d) if d else None)


def _publisher(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


# --------------------------------------------------------------------------- metadata in text

_NAME = r"[A-ZÄÖÜÀ-ÖØ-Þ][\w'’.\-]*"
_PARTICLE = r"(?:von|van|der|den|de|di|da|del|du|la|le|zu|vom|zur|ten|ter|al|el|bin)"
_PERSON = rf"{_NAME}(?:\s+(?:{_PARTICLE}\s+)*{_NAME}){{0,3}}"
_PERSON_FULL = rf"{_NAME}(?:\s+(?:{_PARTICLE}\s+)*{_NAME}){{1,3}}"  # first and last name
_PLACE = rf"{_NAME}(?:[ \-/]{_NAME}){{0,2}}"

_URL_LINE = re.compile(
    r"(?:(?:quelle|source|url|link|online)\s*:\s*)?<?(https?://[^\s<>]+?)>?",
    re.IGNORECASE,
)
#: ``date 2021-11``, ``Datum: 19.12.2022`` at the start of a line (the body may follow).
_DATE_PREFIX = re.compile(rf"(?:date|datum)\s*:?\s+(?P<date>{_DATE_PATTERN})(?=\s|$)",
                          re.IGNORECASE)
#: ``Stand: 19.12.2022, 14:35 Uhr`` or a date alone on a line.
_DATE_LINE = re.compile(
    r"(?:(?:stand|veröffentlicht(?:\s+am)?|aktualisiert(?:\s+am)?|published|updated)\s*:?\s*)?"
    rf"(?P<date>{_DATE_PATTERN})(?:,?\s*(?:um\s+)?\d{{1,2}}[:.]\d{{2}}(?:\s*Uhr)?)?",
    re.IGNORECASE,
)
#: ``Von Silke Bigalke, Moskau`` / ``By Jane Doe`` alone on a line.
_BYLINE = re.compile(
    rf"(?i:von|by)\s+(?P<author>{_PERSON}(?:\s+(?:und|and|&)\s+{_PERSON})?)"
    rf"(?:\s*,\s*(?P<place>{_PLACE}))?"
)
#: ``Paul Flückiger, Warschau 19.12.2022`` at the end of a line (after a sentence).
_DATELINE = re.compile(
    rf"(?:^|(?<=[.!?…:\"“”»«]))\s*(?P<author>{_PERSON_FULL}(?:\s+(?:und|and)\s+{_PERSON_FULL})?)"
    rf",\s*(?P<place>{_PLACE}),?\s+(?P<date>{_DATE_PATTERN})\s*$"
)
_HEADING_END = re.compile(r"[.!?…:;,]['\"“”»«’)]*$")


@dataclass
class _Meta:
    title: str | None = None
    date: str | None = None
    url: str | None = None
    publisher: str | None = None
    author: str | None = None


def _clean_author(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip(" ,")


def _extract(body: str) -> tuple[str, _Meta]:
    """Remove metadata lines/fragments from the top (and URL lines from the end) of the body."""
    meta = _Meta()
    dates: dict[str, str] = {}  # source -> ISO date; the most explicit source wins
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if len(line) <= 2000 and (m := _URL_LINE.fullmatch(line)):
            meta.url = meta.url or m.group(1)
            lines[i] = ""
            continue
        if (m := _DATE_PREFIX.match(line)) and (d := parse_date(m.group("date"))):
            dates.setdefault("line", d)
            rest = line[m.end():].strip()
            if not rest:
                lines[i] = ""
                continue
            if b := _BYLINE.fullmatch(rest):
                meta.author = meta.author or _clean_author(b.group("author"))
                lines[i] = ""
                continue
            lines[i] = rest  # the body starts on the same line (" date 2023-06 Gleich …")
            line = rest
        if len(line) <= 120 and (b := _BYLINE.fullmatch(line)):
            meta.author = meta.author or _clean_author(b.group("author"))
            lines[i] = ""
            i += 1
            continue
        if len(line) <= 60 and (m := _DATE_LINE.fullmatch(line)) and (d := parse_date(
                m.group("date"))):
            dates.setdefault("line", d)
            lines[i] = ""
            i += 1
            continue
        break
    # A dateline ("… Paul Flückiger, Warschau 19.12.2022") ends one of the first lines.
    seen = 0
    for j in range(i, len(lines)):
        if not lines[j].strip():
            continue
        tail = max(0, len(lines[j]) - 200)  # a dateline is short: look at the line's end
        if (m := _DATELINE.search(lines[j], tail)) and (d := parse_date(m.group("date"))):
            dates.setdefault("dateline", d)
            meta.author = meta.author or _clean_author(m.group("author"))
            lines[j] = lines[j][: m.start()].rstrip()
            break
        seen += 1
        if seen >= 3:
            break
    # URL lines at the end ("Quelle: https://…").
    j = len(lines) - 1
    while j >= 0:
        line = lines[j].strip()
        if not line:
            j -= 1
            continue
        if len(line) <= 2000 and (m := _URL_LINE.fullmatch(line)):
            meta.url = meta.url or m.group(1)
            lines[j] = ""
            j -= 1
            continue
        break
    if meta.url and (d := _date_from_url(meta.url)):
        dates.setdefault("url", d)
    meta.date = dates.get("line") or dates.get("dateline") or dates.get("url")
    return "\n".join(lines), meta


def _shorten(text: str, limit: int = TITLE_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–—-(„\"'«»") + "…"


def _title_from_body(body: str) -> tuple[str, bool]:
    """The title and whether it is a real headline (not the shortened first sentence)."""
    lines = [ln.strip() for ln in body.split("\n") if ln.strip()]
    first = lines[0]
    heading = first.lstrip("#").strip().strip("*_").strip()
    if (len(lines) > 1 and heading and len(heading) <= _HEADING_MAX_CHARS
            and (first.startswith("#") or not _HEADING_END.search(heading))):
        return _shorten(heading), True
    head = first[: TITLE_CHARS * 20]
    a, b = split_sentences(head)[0]
    return _shorten(head[a:b]), False


# --------------------------------------------------------------------------- front matter

_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)(?:\n|^)(?:---|\.\.\.)[ \t]*(?:\n|$)",
                           re.DOTALL | re.MULTILINE)
_FIELDS = ("title", "date", "url", "publisher", "author")
#: libyaml's safe loader where PyYAML was built with it (its wheels are): the same
#: documents and errors as the pure-Python one, ~10x faster (a 1000-article corpus is
#: read, and checked for changes at every start, in a tenth of a second instead of 1.3 s).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _split_front_matter(text: str, doc_id: str) -> tuple[dict[str, object], str]:
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    m = _FRONT_MATTER.match(text)
    if not m:
        raise CorpusError(f"{doc_id}: starts with '---' (YAML front matter) but has no "
                          "closing '---' line. Close the front matter or remove the first line.")
    try:
        data = yaml.load(m.group(1), Loader=_SAFE_LOADER)  # a safe loader (no objects)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise CorpusError(f"{doc_id}: invalid YAML front matter: {detail}. Fix the YAML "
                          "between the '---' lines (quote values that contain ': ').") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CorpusError(f"{doc_id}: the YAML front matter must be key: value pairs "
                          f"(title, date, url, publisher, author), not a {type(data).__name__}.")
    return {str(k).lower(): v for k, v in data.items()}, text[m.end():]


def _front_matter_meta(data: dict[str, object], doc_id: str) -> _Meta:
    meta = _Meta()
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        log.debug("%s: front matter keys ignored: %s", doc_id, ", ".join(unknown))
    for key in _FIELDS:
        value = data.get(key)
        if value is None or value == "":
            continue
        if key == "date":
            if isinstance(value, datetime):
                text = value.date().isoformat()
            elif isinstance(value, _date):
                text = value.isoformat()
            else:
                text = parse_date(str(value)) or ""
            if not text:
                raise CorpusError(f"{doc_id}: front matter date {value!r} is not a date. "
                                  "Write YYYY-MM-DD, YYYY-MM, YYYY or DD.MM.YYYY.")
            meta.date = text
        elif key == "author" and isinstance(value, list):
            meta.author = ", ".join(str(v).strip() for v in value if str(v).strip()) or None
        elif isinstance(value, dict | list):
            raise CorpusError(f"{doc_id}: front matter {key} must be a single value, "
                              f"not a {type(value).__name__}.")
        else:
            setattr(meta, key, " ".join(str(value).split()))
    return meta


# --------------------------------------------------------------------------- articles


def parse_article(raw: bytes, doc_id: str) -> Article:
    """Build an :class:`Article` from a file's bytes; ``CorpusError`` when it is unusable."""
    content_hash = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        raise CorpusError(f"{doc_id}: the file is empty. Add the article text or remove "
                          "the file.")
    text = _normalize(decode_bytes(raw, doc_id))
    if not text.strip():
        raise CorpusError(f"{doc_id}: the file is empty (only whitespace). Add the article "
                          "text or remove the file.")
    data, body = _split_front_matter(text, doc_id)
    front = _front_matter_meta(data, doc_id)
    body, found = _extract(_unwrap(_tidy_body(body)))
    body = _tidy_body(_link_text(body))
    if not body:
        raise CorpusError(f"{doc_id}: has metadata but no article text. Add the text or "
                          "remove the file.")
    url = front.url or found.url
    title, headline = (front.title, True) if front.title else _title_from_body(body)
    return Article(
        doc_id=doc_id,
        title=title,
        headline=headline,
        date=front.date or found.date,
        url=url,
        publisher=front.publisher or _publisher(url),
        author=front.author or found.author,
        text=body,
        content_hash=content_hash,
    )


def parse_file(
    raw: bytes, doc_id: str, opts: IngestSettings | None = None,
    skipped: list[Skipped] | None = None,
) -> list[Article]:
    """The article(s) in one corpus file, by its name's ending: ``.html``/``.htm`` (web
    page), ``.pdf``, ``.jsonl``/``.csv`` (archive export, one article per record),
    otherwise text/Markdown (``opts``: archive field names, PDF limits). Raises
    :class:`CorpusError` when the file is unusable."""
    suffix = Path(doc_id).suffix.lower()
    if suffix in (".html", ".htm"):
        from .html import parse_html

        return [parse_html(raw, doc_id)]
    if suffix == ".pdf":
        from .pdf import parse_pdf

        return [parse_pdf(raw, doc_id, max_pages=opts and opts.pdf_max_pages,
                          max_chars=opts and opts.pdf_max_chars)]
    if suffix in ARCHIVE_SUFFIXES:
        from .archive import archive_fields, parse_archive

        return parse_archive(raw, doc_id, archive_fields(opts), skipped)
    return [parse_article(raw, doc_id)]


def read_article(path: Path, root: Path) -> Article:
    """Read one article file; ``doc_id`` is its path relative to ``root``.

    Raises :class:`CorpusError` (naming the file and the fix) for files that are missing,
    unreadable, folders, binary, undecodable, empty or have broken front matter.
    """
    path, root = Path(path), Path(root)
    doc_id = _relative(path, root)
    return parse_article(_read_bytes(path, doc_id), doc_id)


#: (content hash, kind) -> the (doc_id, content hash) pairs the bytes make ([] = invalid).
#: For text, web pages and PDFs this depends only on the bytes; archive records depend on
#: the file's name and the field names too.
_VALID: dict[tuple, list[tuple[str, str]]] = {}
_VALID_MAX = 200_000


def _cache_key(digest: str, doc_id: str, opts: IngestSettings | None) -> tuple:
    return (digest, doc_id, opts)


def _remember(key: tuple, found: list[tuple[str, str]]) -> None:
    if len(_VALID) >= _VALID_MAX:
        _VALID.clear()
    _VALID[key] = found


def read_corpus(
    root: Path, opts: IngestSettings | None = None
) -> tuple[list[Article], list[Skipped]]:
    """Read every article under ``root`` (sorted by ``doc_id``) and the files skipped
    (``fields``: the record field names of archive exports).

    Bad files never stop the reading: each is logged as a warning and returned as a
    :class:`Skipped` with the reason. A missing corpus folder raises :class:`CorpusError`.
    """
    root = Path(root)
    skipped: list[Skipped] = []
    articles: list[Article] = []
    for doc_id, path in iter_corpus_files(root, skipped):
        raw: bytes | None = None
        try:
            raw = _read_bytes(path, doc_id)
            found = parse_file(raw, doc_id, opts, skipped)
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop the corpus
            digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
            if digest:
                _remember(_cache_key(digest, doc_id, opts), [])
            reason = str(exc) if isinstance(exc, CorpusError) else (
                f"{doc_id}: unexpected error while reading ({type(exc).__name__}: {exc}).")
            log.warning("Skipping %s", reason)
            skipped.append(Skipped(doc_id, reason, digest))
            continue
        _remember(_cache_key(hashlib.sha256(raw).hexdigest(), doc_id, opts),
                  [(a.doc_id, a.content_hash) for a in found])
        articles.extend(found)
    articles.sort(key=lambda a: a.doc_id)
    skipped.sort(key=lambda s: s.path)
    log.info("Read %d article(s) from %s; %d file(s) skipped", len(articles), root, len(skipped))
    return articles, skipped


#: Files that hold one article whose content hash is the hash of the file's bytes, and
#: whose reading depends on nothing but those bytes.
_ONE_ARTICLE = (".txt", ".md", ".html", ".htm")


def scan_corpus(
    root: Path, opts: IngestSettings | None = None, known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``doc_id -> content hash`` of exactly the files :func:`read_corpus` reads as articles.

    Cheap: files are hashed; a file's content is parsed only the first time its hash is
    seen in this process (to leave out files that would be skipped: empty, binary, broken
    front matter), and not at all when ``known`` (the hashes an index was built from)
    has this text, Markdown or HTML file with the same hash: it was read as an article
    then. Unreadable files are left out. So ``scan_corpus(root)`` equals
    ``{a.doc_id: a.content_hash for a in read_corpus(root)[0]}`` and can be compared with
    the hashes an index was built from.
    """
    root = Path(root)
    known = known or {}
    out: dict[str, str] = {}
    for doc_id, path in iter_corpus_files(root):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            log.debug("scan: cannot read %s: %s", doc_id, exc)
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if known.get(doc_id) == digest and doc_id.lower().endswith(_ONE_ARTICLE):
            out[doc_id] = digest
            continue
        key = _cache_key(digest, doc_id, opts)
        found = _VALID.get(key)
        if found is None:
            try:
                found = [(a.doc_id, a.content_hash) for a in parse_file(raw, doc_id, opts)]
            except Exception:  # noqa: BLE001 - same rule as read_corpus
                found = []
            _remember(key, found)
        out.update(found)
    return dict(sorted(out.items()))
