"""The chunk store: chunk texts, offsets, sentence spans and sentence vectors, and the
articles' metadata, in SQLite.

A version folder holds ``chunks.sqlite`` and, after incremental updates of a large
store, ``chunks-delta.sqlite``: the base file is never written after it was published,
so the next version takes it as a hard link (no copy of gigabytes for one article); the
delta holds the chunks and articles added since, and the base rows removed since
(``removed``, ``removed_docs``). The delta is copied per version (it is small) and is
merged into a new base once it passes a share of the base (:func:`open_writer`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..types import DocMeta, StoredChunk

BASE = "chunks.sqlite"
DELTA = "chunks-delta.sqlite"

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
_DELTA_SCHEMA = _SCHEMA + """
CREATE TABLE IF NOT EXISTS removed (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS removed_docs (doc_id TEXT PRIMARY KEY);
"""
_CHUNK_COLS = "id, chunk_id, doc_id, text, start, end, sentences, sent_vecs"
_DOC_COLS = "doc_id, title, date, url, publisher, author"


def _live(cols: str, base: str, delta: str | None, cond: str = "") -> str:
    """SELECT ``cols`` of the live chunks: the base's not removed, plus the delta's.
    ``cond`` (with ``?`` parameters) applies to both parts: pass its parameters twice
    when there is a delta."""
    where = f" AND ({cond})" if cond else ""
    if delta is None:
        return f"SELECT {cols} FROM {base}.chunks WHERE 1{where}"
    return (f"SELECT {cols} FROM {base}.chunks WHERE id NOT IN "
            f"(SELECT id FROM {delta}.removed){where} "
            f"UNION ALL SELECT {cols} FROM {delta}.chunks WHERE 1{where}")


def _live_docs(base: str, delta: str | None) -> str:
    if delta is None:
        return f"SELECT {_DOC_COLS} FROM {base}.docs"
    return (f"SELECT {_DOC_COLS} FROM {base}.docs WHERE doc_id NOT IN "
            f"(SELECT doc_id FROM {delta}.removed_docs) "
            f"UNION ALL SELECT {_DOC_COLS} FROM {delta}.docs")


def _uri(path: Path, mode: str = "rwc") -> str:
    """An SQLite URI for ``path`` (``?``, ``#`` and ``%`` in it escaped)."""
    return f"file:{quote(str(path))}?mode={mode}"


def _ro(path: Path) -> str:
    return _uri(path, "ro")


class ChunkReader:
    """Read-only access to a chunk store (``path``: its base file; a delta beside it is
    read too); thread-safe."""

    def __init__(self, path: Path, dim: int) -> None:
        """Open ``path``; raises ``sqlite3.Error`` when it is not a chunk store."""
        self._db = sqlite3.connect(_ro(path), uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._dim = dim
        delta = path.with_name(DELTA)
        self._delta: str | None = None
        if delta.is_file():
            self._db.execute("ATTACH DATABASE ? AS delta", (_ro(delta),))
            self._delta = "delta"
        with self._lock:
            # base, then delta, each in its row (= id) order: added chunks have higher ids
            # than the base's, so the union needs no sort as a rule (checked below)
            rows = self._db.execute(_live("id, doc_id", "main", self._delta)).fetchall()
            docs = self._db.execute(_live_docs("main", self._delta)).fetchall()
        #: Article metadata by doc id.
        self.docs: dict[str, DocMeta] = {d[0]: DocMeta(*d) for d in docs}
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        order = (np.argsort(ids, kind="stable") if len(ids) > 1 and np.any(np.diff(ids) < 0)
                 else None)
        #: Chunk ids ascending, and the article of each.
        self.ids = ids if order is None else ids[order]
        self.doc_ids = ([r[1] for r in rows] if order is None
                        else [rows[i][1] for i in order])

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        """Fetch chunks by id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        params = [int(i) for i in ids]
        with self._lock:
            rows = self._db.execute(
                _live(_CHUNK_COLS, "main", self._delta, f"id IN ({marks})"),
                params * (2 if self._delta else 1),
            ).fetchall()
        out = {}
        for r in rows:
            vecs = np.frombuffer(r[7], dtype=np.float16).astype(np.float32).reshape(-1, self._dim)
            out[r[0]] = StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5],
                                    [tuple(s) for s in json.loads(r[6])], vecs)
        return out

    def texts(self) -> Iterator[str]:
        """Chunk texts in id order."""
        with self._lock:
            sql = _live("id, text", "main", self._delta) + " ORDER BY id"
            yield from (r[1] for r in self._db.execute(sql))

    def close(self) -> None:
        """Release the file."""
        self._db.close()


class ChunkWriter:
    """Writes the chunk store of a new version: a whole store at ``path``, or with
    ``base`` (the linked base file beside ``path``) a delta at ``path`` over it."""

    def __init__(self, path: Path, base: Path | None = None) -> None:
        if base is None:
            self._db = sqlite3.connect(path)
            self._db.executescript(_SCHEMA)
            self._base, self._delta = "main", None
        else:
            self._db = sqlite3.connect(_uri(path), uri=True)
            self._db.executescript(_DELTA_SCHEMA)
            self._db.execute("ATTACH DATABASE ? AS base", (_ro(base),))
            self._base, self._delta = "base", "main"

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        """Ids of an article's chunks."""
        sql = _live("id", self._base, self._delta, "doc_id = ?") + " ORDER BY id"
        return [r[0] for r in self._db.execute(sql, (doc_id,) * (2 if self._delta else 1))]

    def remove_doc(self, doc_id: str) -> None:
        """Remove an article and its chunks."""
        if self._delta:
            self._db.execute("INSERT OR IGNORE INTO main.removed "
                             "SELECT id FROM base.chunks WHERE doc_id=?", (doc_id,))
            self._db.execute("INSERT OR IGNORE INTO main.removed_docs "
                             "SELECT doc_id FROM base.docs WHERE doc_id=?", (doc_id,))
        self._db.execute("DELETE FROM main.chunks WHERE doc_id=?", (doc_id,))
        self._db.execute("DELETE FROM main.docs WHERE doc_id=?", (doc_id,))

    def add_doc(self, meta: DocMeta, content_hash: str) -> None:
        """Record an article's metadata."""
        if self._delta:  # a newer record of a base article hides the base's
            self._db.execute("INSERT OR IGNORE INTO main.removed_docs "
                             "SELECT doc_id FROM base.docs WHERE doc_id=?", (meta.doc_id,))
        self._db.execute(
            "INSERT OR REPLACE INTO main.docs VALUES (?,?,?,?,?,?,?)",
            (meta.doc_id, content_hash, meta.title, meta.date, meta.url, meta.publisher,
             meta.author),
        )

    def add_chunks(self, rows: list[tuple]) -> None:
        """Add rows of (id, chunk_id, doc_id, text, start, end, sentences, sent_vecs)."""
        self._db.executemany(
            "INSERT INTO main.chunks VALUES (?,?,?,?,?,?,?,?)",
            [
                (r[0], r[1], r[2], r[3], r[4], r[5], json.dumps(r[6]),
                 np.asarray(r[7], dtype=np.float16).tobytes())
                for r in rows
            ],
        )

    def commit(self) -> int:
        """Commit; returns the number of chunks."""
        self._db.commit()
        if self._delta:
            sql = ("SELECT (SELECT COUNT(*) FROM base.chunks) - (SELECT COUNT(*) FROM "
                   "main.removed) + (SELECT COUNT(*) FROM main.chunks)")
        else:
            sql = "SELECT COUNT(*) FROM main.chunks"
        return int(self._db.execute(sql).fetchone()[0])

    def keyword_rows(self) -> Iterator[tuple[int, str, str]]:
        """(id, doc id, text) of every chunk in id order (read in pages: little memory)."""
        last = -1
        sql = (_live("id, doc_id, text", self._base, self._delta, "id > ?")
               + " ORDER BY id LIMIT 10000")
        while True:
            page = self._db.execute(sql, (last,) * (2 if self._delta else 1)).fetchall()
            if not page:
                return
            yield from page
            last = page[-1][0]

    def close(self) -> None:
        """Close (after :meth:`commit`)."""
        self._db.close()

    def abort(self) -> None:
        """Close without committing."""
        with suppress(sqlite3.Error):
            self._db.close()


def _counts(folder: Path) -> tuple[int, int, int]:
    """(base chunks, delta chunks, removed base chunks) of a version folder's store."""
    db = sqlite3.connect(_ro(folder / BASE), uri=True)
    try:
        base = int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        if not (folder / DELTA).is_file():
            return base, 0, 0
        db.execute("ATTACH DATABASE ? AS delta", (_ro(folder / DELTA),))
        delta, removed = db.execute(
            "SELECT (SELECT COUNT(*) FROM delta.chunks), (SELECT COUNT(*) FROM delta.removed)"
        ).fetchone()
        return base, int(delta), int(removed)
    finally:
        db.close()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links: a copy
        shutil.copyfile(src, dst)


def open_writer(folder: Path, base_folder: Path | None, *, delta_min_bytes: int,
                delta_share: float) -> ChunkWriter:
    """The chunk store writer of a new version in ``folder``.

    No previous version: a new store. A previous base file smaller than
    ``delta_min_bytes``: copied whole (as cheap as it gets). Else the base file is hard
    linked and the new version writes a delta (a copy of the previous delta), unless the
    previous delta holds more than ``delta_share`` of the base's chunks (added or
    removed): then base and delta are merged into a new base.
    """
    if base_folder is None:
        return ChunkWriter(folder / BASE)
    if (base_folder / BASE).stat().st_size < delta_min_bytes:
        _merge_copy(base_folder, folder)
        return ChunkWriter(folder / BASE)
    base, delta, removed = _counts(base_folder)
    if delta + removed > delta_share * max(base, 1):
        _merge_copy(base_folder, folder)
        return ChunkWriter(folder / BASE)
    _link_or_copy(base_folder / BASE, folder / BASE)
    if (base_folder / DELTA).is_file():
        shutil.copyfile(base_folder / DELTA, folder / DELTA)
    return ChunkWriter(folder / DELTA, base=folder / BASE)


def _merge_copy(base_folder: Path, folder: Path) -> None:
    """A whole store in ``folder``: the previous base with its delta applied."""
    shutil.copyfile(base_folder / BASE, folder / BASE)
    if not (base_folder / DELTA).is_file():
        return
    db = sqlite3.connect(_uri(folder / BASE), uri=True)
    try:
        db.execute("ATTACH DATABASE ? AS delta", (_ro(base_folder / DELTA),))
        db.execute("DELETE FROM main.chunks WHERE id IN (SELECT id FROM delta.removed)")
        db.execute("DELETE FROM main.docs WHERE doc_id IN (SELECT doc_id FROM delta.removed_docs)")
        db.execute("INSERT INTO main.chunks SELECT * FROM delta.chunks")
        db.execute("INSERT OR REPLACE INTO main.docs SELECT * FROM delta.docs")
        db.commit()
    finally:
        db.close()
