"""Keyword search: BM25 (bm25s) over Snowball-stemmed German terms (:mod:`rag.text.terms`)."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from ..text.terms import tokenize


class KeywordIndex:
    """A BM25 index whose rows are aligned with the caller's chunk rows."""

    def __init__(self, bm25: bm25s.BM25) -> None:
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict or {}
        self.size = int(bm25.scores.get("num_docs", 0)) if bm25.scores else 0

    @property
    def vocabulary(self) -> dict[str, int]:
        """The indexed terms (term -> term id); do not modify."""
        return self._vocab

    @classmethod
    def build(cls, texts: list[str]) -> KeywordIndex:
        """Index ``texts`` (row i of the index is ``texts[i]``)."""
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus_tokens = [tokenize(t) or ["\x00"] for t in texts]
        bm25.index(corpus_tokens, show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Load an index written by :meth:`save`."""
        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0))

    def search(
        self, terms: list[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for ``terms`` as (rows, scores); rows with score 0 are dropped.

        ``mask`` (bool per row) restricts the search to allowed rows.
        """
        terms = [t for t in terms if t in self._vocab]
        if not terms or self.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        k = min(k, self.size)
        weight_mask = None if mask is None else mask.astype(np.float32)
        rows, scores = self._bm25.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, weight_mask=weight_mask
        )
        rows, scores = rows[0].astype(np.int64), scores[0].astype(np.float32)
        keep = scores > 0
        return rows[keep], scores[keep]
