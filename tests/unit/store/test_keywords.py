"""The keyword store (rag.store.keywords): BM25 over stemmed German terms, rows aligned
with the chunk rows, masks, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.store.keywords import KeywordIndex
from rag.text.terms import tokenize

TEXTS = [
    "Lukaschenko brachte Putin rote Tulpen zum Flughafen.",
    "Die belarussische Armee hat 62'000 Berufssoldaten.",
    "Putin war aus Sewastopol zugeschaltet.",
    "",  # a chunk without terms keeps its row
    "Die Soldaten der Armee übten in Belarus.",
]


def test_search_ranks_matching_rows() -> None:
    index = KeywordIndex.build(TEXTS)
    assert index.size == len(TEXTS)
    rows, scores = index.search(tokenize("Wie viele Soldaten hat die Armee?"), 10)
    assert set(rows.tolist()) == {1, 4} and np.all(scores > 0)
    assert list(scores) == sorted(scores, reverse=True)
    rows, _ = index.search(tokenize("62.000 Berufssoldaten"), 10)  # number separators
    assert rows.tolist() == [1]
    rows, _ = index.search(tokenize("Tulpe"), 1)  # stemmed: Tulpe ~ Tulpen
    assert rows.tolist() == [0]


def test_unknown_terms_and_masks() -> None:
    index = KeywordIndex.build(TEXTS)
    rows, scores = index.search(["gibtsnicht"], 5)
    assert rows.size == scores.size == 0
    mask = np.zeros(len(TEXTS), dtype=bool)
    mask[4] = True
    rows, _ = index.search(tokenize("Soldaten Armee"), 5, mask)
    assert rows.tolist() == [4]
    empty = KeywordIndex.build(["", ""])
    assert empty.search(tokenize("Armee"), 3)[0].size == 0


def test_save_and_load(tmp_path: Path) -> None:
    index = KeywordIndex.build(TEXTS)
    index.save(tmp_path / "bm25")
    again = KeywordIndex.load(tmp_path / "bm25")
    query = tokenize("Putin Sewastopol Tulpen")
    assert again.size == index.size
    a, b = index.search(query, 5), again.search(query, 5)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
