"""A source carries the relevance measure of the "not found" decision: the similarity of
its passage's best sentence to the question."""

from __future__ import annotations

import numpy as np

from rag.answer.extractive import make_source, sentence_relevance
from rag.types import DocMeta, StoredChunk


def chunk(vectors: list[list[float]]) -> StoredChunk:
    vecs = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), 2)
    return StoredChunk(7, "a.txt#0", "a.txt", "Satz eins. Satz zwei.", 0, 21,
                       [(0, 10), (11, 21)][: len(vectors)], vecs)


def test_relevance_is_the_best_sentence_similarity() -> None:
    q = np.asarray([1.0, 0.0], dtype=np.float32)
    c = chunk([[0.6, 0.8], [0.9, 0.1]])
    assert abs(sentence_relevance(c, q) - 0.9) < 1e-6
    doc = DocMeta("a.txt", "Titel", "2021-11", None, None, None)
    src = make_source(1, c, doc, 2.23456, q)
    assert src.relevance == 0.9 and src.score == 2.2346
    assert make_source(1, c, doc, 2.2, None).relevance is None
    assert sentence_relevance(chunk([]), q) == 0.0
