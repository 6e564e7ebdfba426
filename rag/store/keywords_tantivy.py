"""The tantivy keyword store: BM25 over the product's German terms, in immutable segments.

Each chunk is one tantivy document: ``id`` (chunk id, fast field), ``doc`` (article id,
for deletes) and ``terms`` (the output of :func:`rag.text.terms.tokenize` joined by
spaces, indexed with tantivy's whitespace tokenizer, so queries and documents share the
product's stemming, stopwords and number normalisation; term frequencies, no positions).

A new version starts from hard links to the previous version's segment files (tantivy
never rewrites a segment file; deletes, merges and ``meta.json`` are new files or atomic
renames), so an update costs the new articles' segment, the deletes and the merges it
triggers, not a rebuild.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import tantivy

from ..errors import IndexCorrupt
from ..text.terms import tokenize
from .keywords import pool_term

log = logging.getLogger(__name__)

#: Filter lists up to this many chunk ids are applied inside tantivy; longer ones (a wide
#: date range) by searching deeper and filtering the result.
_TERM_SET_MAX = 20_000
_LOCKS = (".tantivy-writer.lock", ".tantivy-meta.lock")
_EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
#: Letters a typo correction shares with the unknown term (:meth:`TantivyKeywords.similar_pool`).
POOL_PREFIX = 2


def schema() -> tantivy.Schema:
    """The schema of a keyword index."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("doc", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _document(chunk_id: int, doc_id: str, text: str) -> tantivy.Document:
    return tantivy.Document(id=int(chunk_id), doc=doc_id, terms=" ".join(tokenize(text)))


class TantivyKeywords:
    """A read-only tantivy keyword index (thread-safe for searching)."""

    def __init__(self, index: tantivy.Index) -> None:
        self._index = index
        self._schema = index.schema
        self._searcher = index.searcher()
        self.size = int(self._searcher.num_docs)

    @classmethod
    def open(cls, folder: Path) -> TantivyKeywords:
        """Open the index in ``folder``."""
        if not (folder / "meta.json").is_file():
            raise IndexCorrupt(f"The keyword index {folder} is missing (no meta.json).")
        index = tantivy.Index.open(str(folder))
        index.config_reader(reload_policy="manual")
        return cls(index)

    def known(self, term: str) -> bool:
        """Whether ``term`` occurs in the index."""
        return self.doc_freq(term) > 0

    def doc_freq(self, term: str) -> int:
        """Number of chunks that contain ``term`` (deleted ones until segments merge)."""
        return int(self._searcher.doc_freq("terms", term))

    def similar_pool(self, term: str) -> Sequence[str]:
        """Indexed terms that share the first :data:`POOL_PREFIX` letters with ``term``
        (read from the term dictionary: no vocabulary is held in memory; a typo within
        those letters is not corrected)."""
        found = self._searcher.terms_with_prefix("terms", term[:POOL_PREFIX])
        return [t for t, _ in found if pool_term(t)]

    @property
    def segments(self) -> int:
        """Number of segments."""
        return int(self._searcher.num_segments)

    def _query(self, terms: list[str]) -> tantivy.Query:
        return tantivy.Query.boolean_query([
            (tantivy.Occur.Should,
             tantivy.Query.term_query(self._schema, "terms", t, index_option="freq"))
            for t in terms
        ])

    def _run(self, query: tantivy.Query, limit: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self._searcher.search(query, limit, count=False).hits
        if not hits:
            return _EMPTY
        ids = self._searcher.fast_field_values("id", [a for _, a in hits])
        return (np.asarray(ids, dtype=np.int64),
                np.asarray([s for s, _ in hits], dtype=np.float32))

    def search(
        self, terms: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (chunk ids, scores > 0) for ``terms``, only among ``allowed`` ids."""
        if not terms or self.size == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return _EMPTY
        query = self._query(terms)
        if allowed is None:
            ids, scores = self._run(query, min(k, self.size))
        elif len(allowed) <= _TERM_SET_MAX:
            only = tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(self._schema, "id", [int(i) for i in allowed]), 0.0
            )
            ids, scores = self._run(
                tantivy.Query.boolean_query([(tantivy.Occur.Must, only),
                                             (tantivy.Occur.Should, query)]),
                min(k, len(allowed)),
            )
        else:
            allowed = np.sort(np.asarray(allowed, dtype=np.int64))
            limit = 4 * k
            while True:
                ids, scores = self._run(query, min(limit, self.size))
                pos = np.searchsorted(allowed, ids).clip(0, len(allowed) - 1)
                ok = allowed[pos] == ids
                if ok.sum() >= k or len(ids) < limit or limit >= self.size:
                    ids, scores = ids[ok][:k], scores[ok][:k]
                    break
                limit *= 8
        keep = scores > 0
        return ids[keep], scores[keep]

    def close(self) -> None:
        """Release the searcher (files are memory-mapped by tantivy)."""
        self._searcher = None  # type: ignore[assignment]


def _link_tree(src: Path, dst: Path) -> None:
    """``dst`` with a hard link (or, across file systems, a copy) of every file of ``src``."""
    dst.mkdir(parents=True)
    for path in src.iterdir():
        if path.name in _LOCKS or not path.is_file():
            continue
        try:
            os.link(path, dst / path.name)
        except OSError:
            shutil.copy2(path, dst / path.name)


class TantivyWriter:
    """Writes a version's keyword index: empty, or incrementally on top of a previous one."""

    def __init__(self, folder: Path, base: Path | None, *, heap_bytes: int = 100_000_000) -> None:
        self._folder = folder
        self.incremental = base is not None and (base / "meta.json").is_file()
        if self.incremental:
            _link_tree(base, folder)  # type: ignore[arg-type]
            self._index = tantivy.Index.open(str(folder))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(schema(), path=str(folder), reuse=False)
        self._writer = self._index.writer(heap_size=heap_bytes, num_threads=1)
        self._added = 0

    def remove_doc(self, doc_id: str) -> None:
        """Remove an article's chunks (a tombstone; the segment is rewritten by a merge)."""
        self._writer.delete_documents_by_term("doc", doc_id)

    def add(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Add chunks as (chunk id, doc id, text)."""
        for chunk_id, doc_id, text in rows:
            self._writer.add_document(_document(chunk_id, doc_id, text))
            self._added += 1

    def finish(self, all_chunks: object = None) -> int:
        """Commit, wait for merges, drop unreferenced files; returns the document count.

        ``all_chunks`` is not needed: every change arrived through :meth:`remove_doc`
        and :meth:`add`.
        """
        self._writer.commit()
        self._writer.wait_merging_threads()
        self._writer = None  # type: ignore[assignment]  # releases the writer lock
        index = tantivy.Index.open(str(self._folder))
        writer = index.writer(heap_size=15_000_000, num_threads=1)
        writer.garbage_collect_files()
        writer.wait_merging_threads()
        del writer
        for name in _LOCKS:
            (self._folder / name).unlink(missing_ok=True)
        index.reload()
        return int(index.searcher().num_docs)

    def abort(self) -> None:
        """Roll back what was not committed and release the writer lock."""
        if self._writer is not None:
            try:
                self._writer.rollback()
            except (ValueError, RuntimeError) as exc:  # already closed
                log.debug("tantivy rollback: %s", exc)
            self._writer = None  # type: ignore[assignment]
