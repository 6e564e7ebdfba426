"""Archive exports (``.jsonl``/``.csv``, one article per record) -> articles.

Each record becomes one :class:`~rag.types.Article` with the doc id ``<file>#<record id>``
(the record's id field, else its 1-based line/row number), so that it stays the same when
other records are added. Its ``content_hash`` is the hash of the record alone: changing
one record re-indexes only that one. Field names are configurable
(:class:`ArchiveFields`, settings ``RAG_ARCHIVE_*_FIELD``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

from ..errors import CorpusError
from ..settings import IngestSettings
from ..types import Article, Skipped
from .corpus import _publisher, decode_bytes, parse_date

log = logging.getLogger(__name__)

_ID_SAFE = re.compile(r"[^\w.\-]+")
csv.field_size_limit(10_000_000)


@dataclass(frozen=True)
class ArchiveFields:
    """Names of the record fields (a missing optional field leaves the value empty);
    defaults in :class:`~rag.settings.IngestSettings`."""

    id: str
    title: str
    date: str
    url: str
    author: str
    publisher: str
    text: str


def archive_fields(opts: IngestSettings | None) -> ArchiveFields:
    """The record field names set in ``opts`` (defaults when ``None``)."""
    opts = opts or IngestSettings()
    return ArchiveFields(
        id=opts.archive_id_field, title=opts.archive_title_field,
        date=opts.archive_date_field, url=opts.archive_url_field,
        author=opts.archive_author_field, publisher=opts.archive_publisher_field,
        text=opts.archive_text_field,
    )


def _records(raw: bytes, name: str, kind: str) -> list[tuple[int, dict]]:
    text = decode_bytes(raw, name)
    out: list[tuple[int, dict]] = []
    if kind == ".jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{name}: line {n} is not valid JSON ({exc.msg}); each line "
                                  "must be one JSON object (JSON Lines).") from exc
            if not isinstance(rec, dict):
                raise CorpusError(f"{name}: line {n} is not a JSON object.")
            out.append((n, rec))
        return out
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        for n, row in enumerate(reader, start=1):
            out.append((n, {k.strip().lower() if k else "": v for k, v in row.items()}))
    except csv.Error as exc:
        raise CorpusError(f"{name}: malformed CSV ({exc}).") from exc
    return out


def _value(rec: dict, key: str) -> str | None:
    value = rec.get(key)
    if value is None:
        value = rec.get(key.lower())
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        value = value.isoformat()[:10]
    text = str(value).strip()
    return text or None


def parse_archive(
    raw: bytes, file_id: str, fields: ArchiveFields | None = None,
    skipped: list[Skipped] | None = None,
) -> list[Article]:
    """The articles of one export file; bad records are reported in ``skipped`` (a file
    without any usable record raises :class:`CorpusError`)."""
    fields = fields or archive_fields(None)
    kind = ".jsonl" if file_id.lower().endswith(".jsonl") else ".csv"
    records = _records(raw, file_id, kind)
    if not records:
        raise CorpusError(f"{file_id}: the export has no records.")
    keys = set().union(*(r.keys() for _, r in records))
    if fields.text not in keys and fields.text.lower() not in keys:
        raise CorpusError(
            f"{file_id}: no text field {fields.text!r} in the records (fields: "
            f"{', '.join(sorted(map(str, keys))[:12])}). Set RAG_ARCHIVE_TEXT_FIELD to the "
            "name of the field that holds the article text.")
    articles: list[Article] = []
    seen: set[str] = set()
    for n, rec in records:
        rid = _value(rec, fields.id)
        rid = _ID_SAFE.sub("_", rid)[:80] if rid else str(n)
        doc_id = f"{file_id}#{rid}"
        text = _value(rec, fields.text)
        problem = None
        if doc_id in seen:
            problem = f"record id {rid!r} occurs twice; the later record is ignored."
        elif not text:
            problem = "the record has no text."
        raw_date = _value(rec, fields.date)
        iso = parse_date(raw_date[:10]) if raw_date else None
        if raw_date and not iso:
            iso = parse_date(raw_date)
        if problem:
            reason = f"{doc_id}: {problem}"
            log.warning("Skipping %s", reason)
            if skipped is not None:
                skipped.append(Skipped(doc_id, reason))
            continue
        seen.add(doc_id)
        url = _value(rec, fields.url)
        title = _value(rec, fields.title)
        digest = hashlib.sha256(json.dumps(rec, sort_keys=True, ensure_ascii=False,
                                           default=str).encode()).hexdigest()
        body = "\n\n".join(p.strip() for p in re.split(r"\n\s*\n|\r?\n", text) if p.strip())
        articles.append(Article(
            doc_id=doc_id, title=" ".join((title or body[:100]).split()), headline=bool(title),
            date=iso, url=url, publisher=_value(rec, fields.publisher) or _publisher(url),
            author=_value(rec, fields.author), text=body, content_hash=digest,
        ))
    return articles
