"""A loaded index version (:class:`Index`) and the writer of a new one (:class:`VersionWriter`).

A version folder holds three stores, written together and published atomically
(:mod:`rag.store.folder`)::

    manifest.json    format, model, chunking, per-file hashes, counts (written last)
    vectors.faiss    the vector store (:mod:`rag.store.vectors`), ids = chunk ids
    chunks.sqlite    the chunk store (:mod:`rag.store.chunks`); for a large store after
                     an update a hard link to the previous version's file, with
    chunks-delta.sqlite  the chunks and articles added and removed since
    keywords/        the keyword store (:mod:`rag.store.keywords`: tantivy segments;
                     ``bm25/`` for the bm25s backend), keyed by chunk id
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexCorrupt
from ..settings import IndexSettings
from ..types import DocMeta, StoredChunk
from . import chunks as chunk_store
from . import keywords as keyword_store
from . import vectors as vector_store
from .chunks import ChunkReader
from .folder import current_version, new_version_folder, publish_version, read_manifest
from .manifest import Manifest, check_compatible

log = logging.getLogger(__name__)

VECTORS = "vectors.faiss"
CHUNKS = chunk_store.BASE
BM25_DIR = keyword_store.FOLDERS["bm25s"]
KEYWORDS_DIR = keyword_store.FOLDERS["tantivy"]
_REBUILD = "Rebuild it with: rag index --rebuild"


class Index:
    """A loaded, read-only index version. Thread-safe for searching."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        dim = manifest.model.get("dim")
        try:
            #: The vector store (``.raw``: the FAISS index itself).
            self.vectors: vector_store.SearchIndex = vector_store.open_for_search(
                folder / VECTORS
            )
            self._chunks = ChunkReader(folder / CHUNKS, int(dim or self.vectors.d))
            #: The keyword store of the backend that wrote this version.
            self.keywords: keyword_store.KeywordStore = keyword_store.open_store(
                folder, manifest.keyword_backend, self._chunks.ids
            )
        except Exception as exc:  # faiss raises RuntimeError, sqlite DatabaseError, ...
            raise IndexCorrupt(f"The index in {folder.parent} is damaged ({exc}). {_REBUILD}") \
                from exc
        self.docs: dict[str, DocMeta] = self._chunks.docs
        #: Chunk ids ascending (row i of the chunk table is ``row_ids[i]``).
        self.row_ids = self._chunks.ids
        self.row_docs = self._chunks.doc_ids
        n = len(self.row_ids)
        if self.vectors.d != dim:
            raise IndexCorrupt(
                f"The vectors in {folder.parent} have {self.vectors.d} dimensions, the model "
                f"{dim}. {_REBUILD}"
            )
        if not (self.vectors.ntotal == n == self.keywords.size == manifest.counts.get("chunks")):
            raise IndexCorrupt(
                f"The index in {folder.parent} is inconsistent (vectors {self.vectors.ntotal}, "
                f"chunks {n}, keyword rows {self.keywords.size}). {_REBUILD}"
            )

    @property
    def size(self) -> int:
        """Number of chunks."""
        return len(self.row_ids)

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of chunk ids."""
        return np.searchsorted(self.row_ids, ids)

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        """Fetch chunks by id."""
        return self._chunks.chunks(ids)

    def all_texts(self) -> Iterator[str]:
        """Chunk texts in id order."""
        return self._chunks.texts()

    def close(self) -> None:
        """Release the chunk and keyword stores."""
        self._chunks.close()
        self.keywords.close()


def load_index(index_dir: Path, model: dict, chunking: dict) -> Index:
    """Load the active version, checking that it was built with ``model``/``chunking``."""
    manifest = read_manifest(index_dir)
    check_compatible(manifest, model, chunking, index_dir)
    return Index(current_version(index_dir), manifest)  # type: ignore[arg-type]


class VersionWriter:
    """Writes one new index version into a temporary folder, then publishes it."""

    def __init__(
        self, index_dir: Path, base: Index | None, dim: int, ann: IndexSettings | None = None
    ) -> None:
        self.index_dir = index_dir
        #: When the vectors become approximate, and which keyword store is written.
        self.ann = ann or IndexSettings()
        # ``auto`` writes into the previous version's backend (bm25s for a first build)
        # and converts at publish time when the new size calls for the other one.
        configured = keyword_store.check_backend(self.ann.keyword_backend)
        self.keyword_backend = (configured if configured != "auto"
                                else base.manifest.keyword_backend if base is not None
                                else "bm25s")
        self.tmp = new_version_folder(index_dir)
        same_keywords = base is not None and base.manifest.keyword_backend == self.keyword_backend
        #: Every chunk goes to the keyword store at publish time: the previous version's
        #: keyword store is of another backend (a one-time conversion).
        self._refill = base is not None and not same_keywords
        try:
            if base is not None:
                self.vectors: faiss.Index = vector_store.read(base.folder / VECTORS)
            else:
                self.vectors = vector_store.new_exact(dim)
            self._chunks = chunk_store.open_writer(
                self.tmp, base.folder if base is not None else None,
                delta_min_bytes=self.ann.chunk_delta_min_mb * 1_000_000,
                delta_share=self.ann.chunk_delta_share)
            self._keywords = keyword_store.open_writer(
                self.tmp, self.keyword_backend, base.folder if same_keywords else None,
                heap_bytes=self.ann.keyword_writer_mb * 1_000_000,
            )
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def remove_doc(self, doc_id: str) -> int:
        """Remove an article's chunks; returns how many were removed."""
        ids = self._chunks.doc_chunk_ids(doc_id)
        if ids:
            self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        self._chunks.remove_doc(doc_id)
        self._keywords.remove_doc(doc_id)
        return len(ids)

    def add_doc(self, meta: DocMeta, content_hash: str) -> None:
        """Record an article's metadata."""
        self._chunks.add_doc(meta, content_hash)

    def add_chunks(self, rows: list[tuple], vectors: np.ndarray) -> None:
        """Add chunks: rows of (id, chunk_id, doc_id, text, start, end, sentences, sent_vecs)."""
        if not rows:
            return
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._chunks.add_chunks(rows)
        if not self._refill:
            self._keywords.add([(r[0], r[2], r[3]) for r in rows])

    def publish(self, manifest: Manifest) -> Path:
        """Write the keyword store and the manifest, then atomically make this version
        current."""
        n = self._chunks.commit()
        manifest.counts["chunks"] = n
        if self.vectors.ntotal != n:
            raise IndexCorrupt(f"internal error: {self.vectors.ntotal} vectors for {n} chunks")
        wanted = keyword_store.resolve_backend(self.ann.keyword_backend, n,
                                               self.ann.keyword_auto_chunks)
        if wanted != self.keyword_backend:  # ``auto`` crossed its threshold: convert
            log.info("Keyword store: %s -> %s (%d chunks)", self.keyword_backend, wanted, n)
            self._keywords.abort()
            shutil.rmtree(self.tmp / keyword_store.FOLDERS[self.keyword_backend],
                          ignore_errors=True)
            self.keyword_backend = wanted
            self._keywords = keyword_store.open_writer(
                self.tmp, wanted, None, heap_bytes=self.ann.keyword_writer_mb * 1_000_000)
            self._refill = True
        manifest.keyword_backend = self.keyword_backend
        if self._refill:
            self._keywords.add(self._chunks.keyword_rows())
        indexed = self._keywords.finish(self._chunks.keyword_rows)
        self._chunks.close()
        if indexed != n:
            raise IndexCorrupt(f"internal error: {indexed} keyword rows for {n} chunks")
        self.vectors = vector_store.fit(self.vectors, self.ann)
        manifest.faiss_type = vector_store.describe(self.vectors)
        faiss.write_index(self.vectors, str(self.tmp / VECTORS))
        return publish_version(self.index_dir, self.tmp, manifest)

    def abort(self) -> None:
        """Throw the temporary folder away."""
        self._keywords.abort()
        self._chunks.abort()
        shutil.rmtree(self.tmp, ignore_errors=True)


__all__ = ["BM25_DIR", "CHUNKS", "KEYWORDS_DIR", "VECTORS", "Index", "VersionWriter", "load_index"]
