"""A deterministic stand-in for the embedding model, for unit tests of the logic around it.

Texts are embedded as normalised sums of hashed word and character-trigram features, so
texts that share words are similar, the same text always gets the same vector, and no
model has to load. It is not a language model: integration tests use the real one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from .base import prepare_text

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Hash-based embeddings with the :class:`rag.embed.base.Embedder` interface."""

    def __init__(self, dim: int = 256, name: str = "fake-hash", batch_size: int = 32) -> None:
        self._dim = dim
        self._name = name
        self._batch_size = batch_size
        #: Texts embedded so far (tests use this to check what was embedded, and how often).
        self.calls: list[str] = []

    name = property(lambda self: self._name, doc="Model name (recorded with an index).")
    dim = property(lambda self: self._dim, doc="Embedding dimension.")
    batch_size = property(lambda self: self._batch_size, doc="Passages per batch.")
    query_prompt = property(lambda self: "query: ", doc="Prefix of questions.")
    passage_prompt = property(lambda self: "passage: ", doc="Prefix of passages.")

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks, plus 2 for the special tokens."""
        return len(re.findall(r"\w+|[^\w\s]", prepare_text(text))) + 2

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, np.float32)
        words = _WORD.findall(prepare_text(text).lower())
        feats = words + [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for feat in feats:
            digest = hashlib.blake2b(feat.encode(), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            vec[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        return np.stack([self._vector(t) for t in texts])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions."""
        return self._encode(list(texts))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages."""
        return self._encode(list(texts))

    def encode_passage_spans(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and each span's text embedded on its own (no context)."""
        if len(texts) != len(spans):
            raise ValueError("texts and spans differ in length")
        passages = self._encode(list(texts))
        pieces = [self._encode([t[a:b] for a, b in s]) for t, s in zip(texts, spans, strict=True)]
        return passages, pieces

