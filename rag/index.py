"""The persisted index: FAISS vectors, chunk store (SQLite), BM25 and a manifest.

Layout of ``index/``::

    CURRENT              name of the active version folder (replaced atomically)
    v-<stamp>/           one complete version
        manifest.json    format, model, chunking, per-file hashes, counts (written last)
        vectors.faiss    inner product over normalised vectors, IDs = chunk ids
        chunks.sqlite    chunk text + metadata, sentence spans and sentence vectors
        bm25/            bm25s files; row i = i-th chunk in id order

A build writes a new version beside the old one and switches ``CURRENT`` with an atomic
rename, so a crash at any moment leaves the previous index loadable.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from . import vector_index
from .keywords import KeywordIndex
from .settings import Settings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"
BM25_DIR = "bm25"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, title TEXT, date TEXT,
    url TEXT, publisher TEXT, author TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    text TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    sentences TEXT NOT NULL, sent_vecs BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


class IndexError_(RuntimeError):
    """Base class of index problems; the message says what to do."""


class IndexMissing(IndexError_):
    """No index has been built in the folder yet."""


class IndexCorrupt(IndexError_):
    """The index files are damaged or incomplete."""


class IndexMismatch(IndexError_):
    """The index was built with another model, chunking or format version."""


@dataclass(frozen=True)
class DocMeta:
    """Metadata of one indexed article."""

    doc_id: str
    title: str
    date: str | None
    url: str | None
    publisher: str | None
    author: str | None


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its sentence vectors."""

    id: int
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    sentences: list[tuple[int, int]]
    sentence_vectors: np.ndarray


@dataclass
class Manifest:
    """What built an index version; compared with the settings to detect staleness."""

    model: dict
    chunking: dict
    files: dict[str, str]
    counts: dict[str, int]
    next_id: int
    build_seconds: float = 0.0
    built_at: str = ""
    faiss_type: str = "IDMap2,Flat"
    skipped: list[dict] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Serialize to JSON text."""
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse JSON text; raises ``ValueError``/``TypeError`` when it is malformed."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        manifest = cls(**data)
        for name in ("model", "chunking", "files", "counts"):
            if not isinstance(getattr(manifest, name), dict):
                raise ValueError(f"manifest field {name!r} is not an object")
        if not all(isinstance(v, str) for v in manifest.files.values()):
            raise ValueError("manifest field 'files' must map names to hashes")
        if not all(isinstance(v, int) for v in manifest.counts.values()):
            raise ValueError("manifest field 'counts' must hold numbers")
        if not isinstance(manifest.next_id, int) or not isinstance(manifest.format_version, int):
            raise ValueError("manifest fields 'next_id'/'format_version' must be numbers")
        return manifest


def new_faiss_index(dim: int) -> faiss.Index:
    """An empty exact inner-product index with explicit 64-bit IDs (approximate from
    ``Settings.ann_threshold`` chunks on: see :func:`rag.vector_index.fit`)."""
    return vector_index.new_exact(dim)


class Index:
    """A loaded, read-only index version. Thread-safe for searching."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        try:
            #: The FAISS index, wrapped by ``vector_index.SearchIndex`` (``.raw``: itself).
            self.vectors: faiss.Index = vector_index.open_for_search(folder / VECTORS)
            self.keywords = KeywordIndex.load(folder / BM25_DIR)
            self._db = sqlite3.connect(
                f"file:{folder / CHUNKS}?mode=ro", uri=True, check_same_thread=False
            )
            self._lock = threading.Lock()
            rows = self._db.execute("SELECT id, doc_id FROM chunks ORDER BY id").fetchall()
            docs = self._db.execute(
                "SELECT doc_id, title, date, url, publisher, author FROM docs"
            ).fetchall()
        except Exception as exc:  # faiss raises RuntimeError, sqlite DatabaseError, ...
            raise IndexCorrupt(
                f"The index in {folder.parent} is damaged ({exc}). "
                "Rebuild it with: python -m rag index --rebuild"
            ) from exc
        self.docs: dict[str, DocMeta] = {d[0]: DocMeta(*d) for d in docs}
        #: Row i of BM25 is the chunk with id ``row_ids[i]`` (ids ascending).
        self.row_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.row_docs = [r[1] for r in rows]
        n = len(rows)
        if self.vectors.d != manifest.model.get("dim"):
            raise IndexCorrupt(
                f"The vectors in {folder.parent} have {self.vectors.d} dimensions, the model "
                f"{manifest.model.get('dim')}. Rebuild it with: python -m rag index --rebuild"
            )
        if not (self.vectors.ntotal == n == self.keywords.size == manifest.counts.get("chunks")):
            raise IndexCorrupt(
                f"The index in {folder.parent} is inconsistent (vectors {self.vectors.ntotal}, "
                f"chunks {n}, keyword rows {self.keywords.size}). "
                "Rebuild it with: python -m rag index --rebuild"
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
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT id, chunk_id, doc_id, text, start, end, sentences, sent_vecs "
                f"FROM chunks WHERE id IN ({marks})",
                [int(i) for i in ids],
            ).fetchall()
        dim = self.vectors.d
        out = {}
        for r in rows:
            vecs = np.frombuffer(r[7], dtype=np.float16).astype(np.float32).reshape(-1, dim)
            out[r[0]] = StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5],
                                    [tuple(s) for s in json.loads(r[6])], vecs)
        return out

    def all_texts(self) -> Iterator[str]:
        """Chunk texts in id order (for rebuilding BM25)."""
        with self._lock:
            yield from (r[0] for r in self._db.execute("SELECT text FROM chunks ORDER BY id"))

    def close(self) -> None:
        """Release the chunk store."""
        self._db.close()


# --- reading -----------------------------------------------------------------------


def current_version(index_dir: Path) -> Path | None:
    """The active version folder, or ``None`` if there is no index."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / name if name else None


def read_manifest(index_dir: Path) -> Manifest:
    """The active version's manifest; raises :class:`IndexMissing`/:class:`IndexCorrupt`."""
    folder = current_version(index_dir)
    if folder is None:
        raise IndexMissing(
            f"No index in {index_dir}. Build it with: python -m rag index --index {index_dir}"
        )
    try:
        manifest = Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorrupt(
            f"The index manifest in {index_dir} is unreadable ({exc}). "
            "Rebuild it with: python -m rag index --rebuild"
        ) from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"The index in {index_dir} has format version {manifest.format_version}, this "
            f"program reads version {FORMAT_VERSION}. Rebuild it: python -m rag index --rebuild"
        )
    return manifest


def load_index(index_dir: Path, model: dict, chunking: dict) -> Index:
    """Load the active version, checking that it was built with ``model``/``chunking``."""
    manifest = read_manifest(index_dir)
    check_compatible(manifest, model, chunking, index_dir)
    return Index(current_version(index_dir), manifest)  # type: ignore[arg-type]


def check_compatible(manifest: Manifest, model: dict, chunking: dict, index_dir: Path) -> None:
    """Raise :class:`IndexMismatch` unless the index was built with these settings."""
    problems = []
    if manifest.model != model:
        problems.append(f"model {manifest.model.get('name')!r} (settings: {model.get('name')!r})")
    if manifest.chunking != chunking:
        problems.append(f"chunking {manifest.chunking} (settings: {chunking})")
    if problems:
        raise IndexMismatch(
            f"The index in {index_dir} was built with " + " and ".join(problems)
            + ". Rebuild it with: python -m rag index --rebuild"
        )


# --- writing -----------------------------------------------------------------------


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock so that only one process builds an index at a time."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VersionWriter:
    """Writes one new index version into a temporary folder, then publishes it."""

    def __init__(
        self, index_dir: Path, base: Index | None, dim: int, settings: Settings | None = None
    ) -> None:
        self.index_dir = index_dir
        #: When the vectors become approximate (``settings`` or else ``RAG_*`` variables).
        self.ann = vector_index.AnnConfig.from_settings(settings or Settings.from_env())
        self.tmp = index_dir / f".building-{uuid.uuid4().hex[:12]}"
        self.tmp.mkdir(parents=True)
        if base is not None:
            shutil.copyfile(base.folder / CHUNKS, self.tmp / CHUNKS)
            self.vectors = vector_index.read(base.folder / VECTORS)
        else:
            self.vectors = new_faiss_index(dim)
        self.db = sqlite3.connect(self.tmp / CHUNKS)
        self.db.executescript(_SCHEMA)

    def remove_doc(self, doc_id: str) -> int:
        """Remove an article's chunks; returns how many were removed."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))]
        if ids:
            self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        self.db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))
        return len(ids)

    def add_doc(self, meta: DocMeta, content_hash: str) -> None:
        """Record an article's metadata."""
        self.db.execute(
            "INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?,?)",
            (meta.doc_id, content_hash, meta.title, meta.date, meta.url, meta.publisher,
             meta.author),
        )

    def add_chunks(self, rows: list[tuple], vectors: np.ndarray) -> None:
        """Add chunks: rows of (id, chunk_id, doc_id, text, start, end, sentences, sent_vecs)."""
        if not rows:
            return
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
            [
                (r[0], r[1], r[2], r[3], r[4], r[5], json.dumps(r[6]),
                 np.asarray(r[7], dtype=np.float16).tobytes())
                for r in rows
            ],
        )

    def publish(self, manifest: Manifest) -> Path:
        """Write BM25 and the manifest, then atomically make this version current."""
        self.db.commit()
        texts = [r[0] for r in self.db.execute("SELECT text FROM chunks ORDER BY id")]
        self.db.close()
        manifest.counts["chunks"] = len(texts)
        if self.vectors.ntotal != len(texts):
            raise IndexCorrupt(
                f"internal error: {self.vectors.ntotal} vectors for {len(texts)} chunks"
            )
        KeywordIndex.build(texts).save(self.tmp / BM25_DIR)
        self.vectors = vector_index.fit(self.vectors, self.ann)
        manifest.faiss_type = vector_index.describe(self.vectors)
        faiss.write_index(self.vectors, str(self.tmp / VECTORS))
        (self.tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _fsync_tree(self.tmp)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        final = self.index_dir / f"v-{stamp}-{uuid.uuid4().hex[:6]}"
        os.rename(self.tmp, final)
        pointer_tmp = self.index_dir / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
        pointer_tmp.write_text(final.name, encoding="utf-8")
        with open(pointer_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, self.index_dir / CURRENT)
        fd = os.open(self.index_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final

    def abort(self) -> None:
        """Throw the temporary folder away."""
        with suppress(sqlite3.Error):
            self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def remove_stale_versions(
    index_dir: Path, keep: Path | None, in_use: frozenset[Path] = frozenset()
) -> None:
    """Delete leftover temporary folders and versions other than ``keep``."""
    for path in index_dir.iterdir():
        if path.name.startswith(f".{CURRENT}.") and path.is_file():
            path.unlink(missing_ok=True)
        elif path != keep and path not in in_use and path.is_dir() and path.name.startswith(
            (".building-", "v-")
        ):
            shutil.rmtree(path, ignore_errors=True)
