"""The chunk store (rag.store.chunks): texts, offsets, sentence spans and float16 sentence
vectors in SQLite; the reader is read-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rag.store.chunks import ChunkReader, ChunkWriter
from rag.types import DocMeta

DIM = 8


def _rows(doc: str, first: int, n: int) -> list[tuple]:
    rng = np.random.default_rng(first)
    return [(first + i, f"{doc}#{i}", doc, f"Satz {i}. Noch einer.", 10 * i, 10 * i + 20,
             [[0, 7], [8, 20]], rng.standard_normal((2, DIM)).astype(np.float32))
            for i in range(n)]


def test_write_read_remove(tmp_path: Path) -> None:
    path = tmp_path / "chunks.sqlite"
    writer = ChunkWriter(path)
    writer.add_doc(DocMeta("a.txt", "A", "2022", None, None, "X"), "h1")
    writer.add_doc(DocMeta("b.txt", "B", None, "https://b.example", "b.example", None), "h2")
    rows_a, rows_b = _rows("a.txt", 0, 3), _rows("b.txt", 3, 2)
    writer.add_chunks(rows_a + rows_b)
    assert writer.doc_chunk_ids("a.txt") == [0, 1, 2]
    writer.remove_doc("a.txt")
    assert writer.doc_chunk_ids("a.txt") == []
    assert writer.commit() == len(rows_b)
    assert list(writer.keyword_rows()) == [(r[0], r[2], r[3]) for r in rows_b]
    writer.close()

    reader = ChunkReader(path, DIM)
    assert list(reader.docs) == ["b.txt"] and reader.docs["b.txt"].publisher == "b.example"
    assert reader.ids.tolist() == [3, 4] and reader.doc_ids == ["b.txt", "b.txt"]
    chunk = reader.chunks([4])[4]
    assert (chunk.chunk_id, chunk.start, chunk.end) == ("b.txt#1", 10, 30)
    assert chunk.sentences == [(0, 7), (8, 20)]
    np.testing.assert_allclose(chunk.sentence_vectors, rows_b[1][7], atol=1e-2)  # float16
    assert reader.chunks([]) == {} and reader.chunks([99]) == {}
    assert list(reader.texts()) == [r[3] for r in rows_b]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("DELETE FROM chunks")
    reader.close()


def test_abort_discards(tmp_path: Path) -> None:
    path = tmp_path / "chunks.sqlite"
    writer = ChunkWriter(path)
    writer.add_chunks(_rows("a.txt", 0, 2))
    writer.abort()
    assert ChunkReader(path, DIM).ids.tolist() == []
