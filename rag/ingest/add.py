"""Adding articles to the corpus: URLs, files and folders -> ``.md`` files with front matter.

Web pages and PDFs (fetched or local) are read with :mod:`rag.ingest.html` /
:mod:`rag.ingest.pdf` and saved as Markdown with YAML front matter (title, date, url,
publisher, author), so the corpus stays plain text and the metadata can be corrected by
hand. Text/Markdown files are checked and copied; archive exports (``.jsonl``/``.csv``)
are checked and copied whole (one article per record). The saved file's name comes from
the article's date and title (``2022-12-19-stadtwerke-senken-gaspreis.md``), never from
the URL or the uploaded/given path. The type of a file is decided by its content, not by
its name. Updating the index is the caller's step (:mod:`rag.cli`, the web app).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import CorpusError, FetchError, RagError
from ..files import atomic_write_bytes
from ..settings import IngestSettings
from ..types import Article
from .corpus import SUFFIXES, decode_bytes, parse_article, parse_file

log = logging.getLogger(__name__)

_SLUG_MAP = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                           "Ü": "Ue"})
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html"
                         rb"|<head|<body|<meta|<title|<article)", re.IGNORECASE | re.DOTALL)
_BINARY_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"7z\xbc\xaf",
                 b"Rar!", b"\x7fELF", b"MZ", b"BZh", b"\xfd7zXZ", b"%!PS")


@dataclass
class AddReport:
    """What :func:`add_sources` did: files written into the corpus, inputs that failed."""

    #: (input, corpus-relative path of the saved file)
    added: list[tuple[str, str]] = field(default_factory=list)
    #: (input, corpus-relative path) of inputs whose content is already in the corpus.
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    #: (input, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """Several readable lines."""
        lines = [f"added {len(self.added)}, already there {len(self.unchanged)}, "
                 f"failed {len(self.failed)}"]
        lines += [f"  + {path}  <- {src}" for src, path in self.added]
        lines += [f"  = {path}  <- {src}" for src, path in self.unchanged]
        lines += [f"  ! {src}: {why}" for src, why in self.failed]
        return "\n".join(lines)


def slug(text: str, limit: int = 60) -> str:
    """``"Stadtwerke senken Gaspreis!"`` -> ``"stadtwerke-senken-gaspreis"`` (ASCII, safe
    as a file name; ``"artikel"`` when nothing is left)."""
    text = unicodedata.normalize("NFKD", text.translate(_SLUG_MAP))
    text = text.encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(text) > limit:
        text = text[:limit].rsplit("-", 1)[0] or text[:limit]
    return text or "artikel"


def sniff_kind(raw: bytes, name: str = "") -> str:
    """The kind of a file by its content: ``.pdf``, ``.html``, ``.jsonl``, ``.csv``,
    ``.md`` or ``.txt``; raises :class:`CorpusError` for anything else (archives, images,
    programs, binary data). ``name``'s ending only tells JSON Lines/CSV/Markdown from text."""
    head = raw[:4096]
    if head.startswith(b"%PDF-"):
        return ".pdf"
    if any(head.startswith(m) for m in _BINARY_MAGIC) or b"\x00" in head:
        raise CorpusError(f"{name or 'the file'}: not a web page, PDF or text file (binary "
                          "content). Accepted: .html, .pdf, .txt, .md, .jsonl, .csv.")
    if _HTML_START.match(head.lstrip(b"\xef\xbb\xbf")):
        return ".html"
    decode_bytes(raw, name or "the file")  # raises CorpusError for undecodable data
    suffix = Path(name).suffix.lower()
    if suffix == ".jsonl" and head.lstrip(b"\xef\xbb\xbf \n").startswith(b"{"):
        return ".jsonl"
    if suffix == ".csv":
        return ".csv"
    if suffix in (".html", ".htm"):
        raise CorpusError(f"{name}: named like a web page but does not contain HTML.")
    if suffix == ".pdf":
        raise CorpusError(f"{name}: named .pdf but is not a PDF (no %PDF- header).")
    return ".md" if suffix == ".md" else ".txt"


def to_markdown(article: Article) -> str:
    """The article as Markdown with YAML front matter (read back by the corpus reader)."""
    meta = {k: v for k, v in (("title", article.title), ("date", article.date),
                              ("url", article.url), ("publisher", article.publisher),
                              ("author", article.author)) if v}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    body = article.text
    if article.title and not body.startswith(article.title):
        body = f"{article.title}\n\n{body}"
    return f"---\n{front}---\n{body}\n"


def _target(corpus_dir: Path, stem: str, suffix: str, data: bytes) -> tuple[Path, bool]:
    """A free path ``corpus_dir/stem[-n]suffix``; ``True`` when a file with the same bytes
    is already there."""
    for n in range(1, 1000):
        path = corpus_dir / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if not path.exists():
            return path, False
        try:
            if path.read_bytes() == data:
                return path, True
        except OSError:
            continue
    raise CorpusError(f"too many files named {stem}* in {corpus_dir}.")


def article_file(raw: bytes, kind: str, source: str, *, url: str | None = None,
                 opts: IngestSettings | None = None) -> tuple[str, bytes]:
    """(file name, bytes) to store for one input of ``kind`` (see :func:`sniff_kind`):
    web pages and PDFs become Markdown; text and exports are kept as they are after a
    check that they can be read. Raises :class:`CorpusError` when they cannot."""
    opts = opts or IngestSettings()
    if kind in (".html", ".pdf"):
        if kind == ".html":
            from .html import parse_html

            article = parse_html(raw, source, url=url)
        else:
            from .pdf import parse_pdf

            article = parse_pdf(raw, source, max_pages=opts.pdf_max_pages,
                                max_chars=opts.pdf_max_chars)
            if url and not article.url:
                article = _with_url(article, url)
        data = to_markdown(article).encode("utf-8")
        return f"{article.date or 'undatiert'}-{slug(article.title)}.md", data
    if kind in (".jsonl", ".csv"):
        found = parse_file(raw, f"export{kind}", opts)
        stem = slug(Path(source).stem if not url else found[0].title, 40)
        return f"{stem}{kind}", raw
    article = parse_article(raw, source)
    if url and not article.url:
        article = _with_url(article, url)
        return (f"{article.date or 'undatiert'}-{slug(article.title)}.md",
                to_markdown(article).encode("utf-8"))
    return f"{article.date or 'undatiert'}-{slug(article.title)}{kind}", raw


def _with_url(article: Article, url: str) -> Article:
    from dataclasses import replace

    from .corpus import _publisher

    return replace(article, url=url, publisher=article.publisher or _publisher(url))


def save_into(corpus_dir: Path, name: str, data: bytes) -> tuple[str, bool]:
    """Write ``data`` as ``name`` (a file name made by :func:`article_file`) into the
    corpus; returns (corpus-relative path, whether the same file was already there)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(name).stem, Path(name).suffix
    path, same = _target(corpus_dir, stem, suffix, data)
    if not same:
        atomic_write_bytes(path, data)
    return path.relative_to(corpus_dir).as_posix(), same


def is_url(text: str) -> bool:
    """True when ``text`` looks like a URL (``scheme://...``), not a path."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", text.strip()))


def _expand(item: str) -> list[Path]:
    path = Path(item).expanduser()
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(path).parts)
                      and p.suffix.lower() in SUFFIXES)
    return [path]


def add_sources(items: list[str], corpus_dir: Path, opts: IngestSettings | None = None
                ) -> AddReport:
    """Fetch/read each URL, file or folder in ``items`` and save it into ``corpus_dir``.

    One failing input never stops the others: its reason is in ``report.failed``.
    """
    from .fetch import fetch

    opts = opts or IngestSettings()
    corpus_dir = Path(corpus_dir)
    report = AddReport()
    for item in items:
        if is_url(item):
            try:
                got = fetch(item, opts)
                name, data = article_file(got.body, got.suffix, got.final_url,
                                          url=got.final_url, opts=opts)
                rel, same = save_into(corpus_dir, name, data)
                (report.unchanged if same else report.added).append((item, rel))
            except RagError as exc:
                report.failed.append((item, str(exc)))
            continue
        paths = _expand(item)
        if not paths or not paths[0].exists():
            report.failed.append((item, "no such file or folder"))
            continue
        for path in paths:
            src = str(path)
            try:
                raw = path.read_bytes()
                kind = sniff_kind(raw, path.name)
                name, data = article_file(raw, kind, path.name, opts=opts)
                rel, same = save_into(corpus_dir, name, data)
                (report.unchanged if same else report.added).append((src, rel))
            except (RagError, OSError) as exc:
                why = str(exc) if isinstance(exc, RagError) else f"cannot read ({exc.strerror})"
                report.failed.append((src, why))
    log.info("add: %d added, %d unchanged, %d failed", len(report.added),
             len(report.unchanged), len(report.failed))
    return report


def content_id(data: bytes) -> str:
    """A short stable id of some bytes (for logs and upload records)."""
    return hashlib.sha256(data).hexdigest()[:12]


__all__ = ["AddReport", "FetchError", "add_sources", "article_file", "is_url", "save_into",
           "sniff_kind", "slug", "to_markdown"]
