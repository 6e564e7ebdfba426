"""The chunk store: chunk texts, offsets, sentence spans and sentence vectors, and the
articles' metadata, in one SQLite file per index version."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np

from ..types import DocMeta, StoredChunk

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


class ChunkReader:
    """Read-only access to a chunk store; thread-safe."""

    def __init__(self, path: Path, dim: int) -> None:
        """Open ``path``; raises ``sqlite3.Error`` when it is not a chunk store."""
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._dim = dim
        with self._lock:
            rows = self._db.execute("SELECT id, doc_id FROM chunks ORDER BY id").fetchall()
            docs = self._db.execute(
                "SELECT doc_id, title, date, url, publisher, author FROM docs"
            ).fetchall()
        #: Article metadata by doc id.
        self.docs: dict[str, DocMeta] = {d[0]: DocMeta(*d) for d in docs}
        #: Chunk ids ascending, and the article of each.
        self.ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.doc_ids = [r[1] for r in rows]

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
        out = {}
        for r in rows:
            vecs = np.frombuffer(r[7], dtype=np.float16).astype(np.float32).reshape(-1, self._dim)
            out[r[0]] = StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5],
                                    [tuple(s) for s in json.loads(r[6])], vecs)
        return out

    def texts(self) -> Iterator[str]:
        """Chunk texts in id order."""
        with self._lock:
            yield from (r[0] for r in self._db.execute("SELECT text FROM chunks ORDER BY id"))

    def close(self) -> None:
        """Release the file."""
        self._db.close()


class ChunkWriter:
    """Writes a chunk store (a copy of the previous version's, or a new one)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        """Ids of an article's chunks."""
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))]

    def remove_doc(self, doc_id: str) -> None:
        """Remove an article and its chunks."""
        self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self._db.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))

    def add_doc(self, meta: DocMeta, content_hash: str) -> None:
        """Record an article's metadata."""
        self._db.execute(
            "INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?,?)",
            (meta.doc_id, content_hash, meta.title, meta.date, meta.url, meta.publisher,
             meta.author),
        )

    def add_chunks(self, rows: list[tuple]) -> None:
        """Add rows of (id, chunk_id, doc_id, text, start, end, sentences, sent_vecs)."""
        self._db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
            [
                (r[0], r[1], r[2], r[3], r[4], r[5], json.dumps(r[6]),
                 np.asarray(r[7], dtype=np.float16).tobytes())
                for r in rows
            ],
        )

    def commit(self) -> int:
        """Commit; returns the number of chunks."""
        self._db.commit()
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def keyword_rows(self) -> Iterator[tuple[int, str, str]]:
        """(id, doc id, text) of every chunk in id order (read in pages: little memory)."""
        last = -1
        while True:
            page = self._db.execute(
                "SELECT id, doc_id, text FROM chunks WHERE id > ? ORDER BY id LIMIT 10000",
                (last,),
            ).fetchall()
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
