"""The retrieval step as one object: embed the question, search, fuse, diversify."""

from __future__ import annotations

import numpy as np

from ..embed import Embedder
from ..settings import RetrievalSettings
from ..store.index import Index
from ..types import Hit
from .search import background_similarity, search


class Retriever:
    """Hybrid search over one loaded index with one embedder."""

    def __init__(self, index: Index, embedder: Embedder, params: RetrievalSettings) -> None:
        self.index = index
        self.embedder = embedder
        self.params = params

    def embed(self, question: str) -> np.ndarray:
        """The question's normalised vector."""
        return self.embedder.encode_queries([question])[0]

    def search(
        self,
        question: str,
        lang: str,
        k: int,
        allowed_rows: np.ndarray | None = None,
        qvec: np.ndarray | None = None,
    ) -> list[Hit]:
        """The top ``k`` diverse passages for ``question`` (``qvec``: its vector, if known)."""
        if qvec is None:
            qvec = self.embed(question)
        return search(self.index, qvec, question, lang, k, self.params, allowed_rows)

    def background(self, qvec: np.ndarray, rank: int, depth: int,
                   allowed_rows: np.ndarray | None = None) -> float:
        """The question's background similarity (:func:`.search.background_similarity`)."""
        return background_similarity(self.index, qvec, rank, depth, allowed_rows)
