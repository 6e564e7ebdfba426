"""PDF files (press releases, e-paper pages) -> :class:`~rag.types.Article` with pypdf.

Text comes from every page (lines re-flowed into paragraphs, hyphenation at line ends
undone). Metadata comes from the PDF's document info (``/Title``, ``/Author``,
``/CreationDate``) and from the first page: its first line is the title when the info has
none (or only a file name), a date line there (``Berlin, 12. März 2024``) is the
publication date, before the info's creation date. Bombs are bounded: pages beyond
``max_pages`` are not read, text beyond ``max_chars`` is cut, and pypdf itself refuses
streams that decompress beyond its limits.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from ..errors import CorpusError
from ..settings import IngestSettings
from ..types import Article
from .corpus import parse_date

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[.!?:…“\"»)]$")
_DATE_LINE = re.compile(
    r"^(?:[A-ZÄÖÜ][\wäöüß.\- ]{1,40},\s*(?:den\s+)?)?"
    r"(?P<date>\d{1,2}\.\s*(?:\d{1,2}\.|[A-Za-zäöüÄÖÜ]+)\s*\d{4}|\d{4}-\d{2}-\d{2})$"
)
#: Titles PDF tools put into the info that are not the document's title.
_NOT_A_TITLE = re.compile(r"(?i)^(untitled|unbenannt|microsoft word|dokument\d*|document\d*|"
                          r".*\.(docx?|pdf|indd|odt|rtf|txt))\b")


def _reflow(page_text: str) -> list[str]:
    """Lines of one page -> paragraphs: a line ends a paragraph when it ends a sentence
    and is clearly shorter than the page's full lines."""
    lines = [" ".join(x.split()) for x in page_text.split("\n")]
    lines = [x for x in lines if x]
    if not lines:
        return []
    widths = sorted(len(x) for x in lines)
    full = widths[int(0.9 * (len(widths) - 1))] if len(widths) > 5 else widths[-1]
    paras: list[str] = []
    current = ""
    for line in lines:
        if current.endswith("-") and line[:1].islower():
            current = current[:-1] + line  # "Infrastruktur-" + "vorständin"
        else:
            current = f"{current} {line}".strip()
        if _SENTENCE_END.search(line) and len(line) < 0.85 * full or len(line) < 0.6 * full:
            paras.append(current)
            current = ""
    if current:
        paras.append(current)
    return paras


def _info_date(value: object) -> str | None:
    m = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not m:
        return None
    return parse_date("-".join(p for p in m.groups() if p))


def parse_pdf(raw: bytes, doc_id: str, *, max_pages: int | None = None,
              max_chars: int | None = None) -> Article:
    """Parse a PDF's bytes; raises :class:`CorpusError` when it is damaged, encrypted or
    has no text layer (a scan)."""
    defaults = IngestSettings()
    max_pages = max_pages or defaults.pdf_max_pages
    max_chars = max_chars or defaults.pdf_max_chars
    if not raw.startswith(b"%PDF-"):
        raise CorpusError(f"{doc_id}: is not a PDF file (no %PDF- header).")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise CorpusError(f"{doc_id}: the PDF is encrypted; save an unprotected copy.")
        info = reader.metadata or {}
        pages = reader.pages
        n_pages = len(pages)
        if n_pages > max_pages:
            log.warning("%s: %d pages, only the first %d are read", doc_id, n_pages, max_pages)
        paras: list[str] = []
        chars = 0
        for i in range(min(n_pages, max_pages)):
            text = pages[i].extract_text() or ""
            chars += len(text)
            paras += _reflow(text)
            if chars > max_chars:
                log.warning("%s: text cut after %d characters (page %d)", doc_id, chars, i + 1)
                break
    except CorpusError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CorpusError(f"{doc_id}: the PDF cannot be read ({type(exc).__name__}: {exc}). "
                          "Re-save it as PDF or save its text as .txt.") from exc
    paras = [unicodedata.normalize("NFC", p) for p in paras]
    if not "".join(paras).strip():
        raise CorpusError(f"{doc_id}: the PDF has no text layer (a scanned image?). Run OCR "
                          "on it first or save its text as .txt.")
    title = " ".join(str(info.get("/Title") or "").split())
    if not title or _NOT_A_TITLE.match(title):
        title = paras[0][:150]
    date = None
    for j, p in enumerate(paras[:4]):  # a date line near the top of the first page
        if (m := _DATE_LINE.match(p)) and (d := parse_date(m.group("date"))):
            date = d
            del paras[j]
            break
    date = date or _info_date(info.get("/CreationDate"))
    author = " ".join(str(info.get("/Author") or "").split()) or None
    return Article(
        doc_id=doc_id, title=title, headline=True, date=date, url=None,
        publisher=None, author=author, text="\n\n".join(paras),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
