"""Web pages (``.html``/``.htm``) -> :class:`~rag.types.Article` with trafilatura.

trafilatura finds the article's main text (menus, cookie banners, comments, related links
and footers are left out) and its metadata: title, publication date (htmldate: the
original date, not the last update), author, site name and canonical URL. A lead that
the page keeps in the article header (and trafilatura drops with it) is taken from the
page's description when that is a complete sentence missing from the text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

import trafilatura

from ..errors import CorpusError
from ..types import Article

#: Pages larger than this are not parsed (a real article page is well below 5 MB).
MAX_HTML_BYTES = 20_000_000
#: Less text than this is not an article (a login wall, a link list).
MIN_WORDS = 20
_SENTENCE_END = re.compile(r"[.!?…“\"»]$")
#: An author part that is one word (``ARD-Hauptstadtstudio``, ``dpa``) is a desk or an
#: agency, not a person: dropped when a person's name is given beside it.
_ONE_WORD = re.compile(r"\S+")


def _date_params() -> dict:
    return {
        "original_date": True,
        "extensive_search": False,  # only structured dates (meta, JSON-LD, <time>, URL)
        "max_date": datetime.now().astimezone().strftime("%Y-%m-%d"),
    }


def _clean_author(value: str | None) -> str | None:
    if not value:
        return None
    parts = [p.strip() for p in re.split(r";|\|", value) if p.strip()]
    people = [p for p in parts if not _ONE_WORD.fullmatch(p)]
    parts = people or parts
    return ", ".join(dict.fromkeys(parts)) or None


def _publisher(sitename: str | None, hostname: str | None, url: str | None) -> str | None:
    if sitename and sitename.strip():
        return " ".join(sitename.split())
    host = hostname or (urlsplit(url).hostname if url else None)
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [x for x in (" ".join(line.split()) for line in text.split("\n")) if x]
    # Short headings ending in ":" after the last real paragraph ("Mehr zu diesem Thema:")
    # announced links that were removed as boilerplate.
    last_long = max((i for i, x in enumerate(lines) if len(x) >= 120), default=-1)
    lines = [x for i, x in enumerate(lines)
             if i <= last_long or not (x.endswith(":") and len(x.split()) <= 6)]
    return "\n\n".join(lines)


def parse_html(raw: bytes, doc_id: str, url: str | None = None) -> Article:
    """Parse a saved or fetched web page; ``url``: where it came from (a fallback for the
    canonical URL). Raises :class:`CorpusError` when no article text is found."""
    if len(raw) > MAX_HTML_BYTES:
        raise CorpusError(f"{doc_id}: the page is larger than {MAX_HTML_BYTES // 1_000_000} MB; "
                          "save only the article page.")
    if not raw.strip():
        raise CorpusError(f"{doc_id}: the file is empty. Add the page or remove the file.")
    doc = trafilatura.bare_extraction(
        raw, url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, favor_precision=True,
        date_extraction_params=_date_params(),
    )
    text = _tidy(doc.text) if doc is not None and doc.text else ""
    if len(text.split()) < MIN_WORDS:
        raise CorpusError(f"{doc_id}: no article text found in this web page (an index "
                          "page, a login wall or a page that needs JavaScript?). Save the "
                          "article itself, or its text as .txt.")
    title = " ".join((doc.title or "").split())
    lead = " ".join((doc.description or "").split())
    if (len(lead) >= 40 and _SENTENCE_END.search(lead) and lead[:40] not in text
            and lead != title):
        text = lead + "\n\n" + text
    if not title:
        title = text.split("\n", 1)[0][:100]
    page_url = doc.url or url
    return Article(
        doc_id=doc_id,
        title=title,
        headline=bool(doc.title),
        date=doc.date or None,
        url=page_url,
        publisher=_publisher(doc.sitename, doc.hostname, page_url),
        author=_clean_author(doc.author),
        text=text,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
