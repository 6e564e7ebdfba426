"""Storage of an index version: the vector store (FAISS), the keyword store (BM25), the
chunk store (SQLite), the manifest, and the versioned folder they are published in.

The protocols below are what retrieval needs from the vector and keyword stores; a new
backend implements them and is opened by :class:`rag.store.index.Index`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorSearch(Protocol):
    """Inner-product search over normalised vectors keyed by chunk id."""

    d: int
    ntotal: int

    def search(
        self, x: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) per row of ``x``, only among ``allowed`` ids if given."""

    def reconstruct(self, key: int) -> np.ndarray:
        """The stored vector of a chunk id."""

    def reconstruct_batch(self, keys: np.ndarray) -> np.ndarray:
        """The stored vectors of chunk ids."""


class KeywordSearch(Protocol):
    """Keyword (BM25) search keyed by chunk id (:mod:`rag.store.keywords`)."""

    size: int

    def search(
        self, terms: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (chunk ids, scores > 0) for ``terms``, only among ``allowed`` ids."""
