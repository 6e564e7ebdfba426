"""What the rest of the product needs from an embedding model: the :class:`Embedder` protocol."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Sentence embeddings for questions and passages (float32, L2-normalised rows)."""

    @property
    def name(self) -> str:
        """Model name as configured (recorded with an index)."""

    @property
    def dim(self) -> int:
        """Embedding dimension."""

    @property
    def query_prompt(self) -> str:
        """Prefix put before every question."""

    @property
    def passage_prompt(self) -> str:
        """Prefix put before every passage."""

    @property
    def batch_size(self) -> int:
        """Passages per forward pass."""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prompt and specials included)."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions: float32 ``[n, dim]``, L2-normalised."""

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages: float32 ``[n, dim]``, L2-normalised."""


def prepare_text(text: str) -> str:
    """The text a model sees for ``text``: NFC-normalised and stripped (tokenizers do not
    recompose NFD text)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def model_signature(embedder: Embedder) -> dict:
    """What identifies the embedding model in an index manifest."""
    # The backend (torch, onnx-int8, ...) is not part of it: the same model's vectors agree
    # across backends (cosine >= 0.995, bench/README.md section 6), so an index built with
    # one is searched and updated with another without a rebuild.
    return {
        "name": embedder.name,
        "dim": embedder.dim,
        "query_prompt": embedder.query_prompt,
        "passage_prompt": embedder.passage_prompt,
    }


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An :class:`Embedder` that also pools token states over character spans of a
    passage, so that sentence vectors come from one pass over their passage."""

    def encode_passage_spans(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors ``[n, dim]`` and, per passage, ``[len(spans[i]), dim]`` span
        vectors (all L2-normalised); ``texts`` prepared, spans are offsets into them."""


def pool_spans(
    states: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Mean of the token ``states`` (``[tokens, dim]``) whose character ``offsets`` overlap
    each span, L2-normalised: ``[len(spans), dim]``.

    Special tokens (empty offsets) belong to no span. A span that no token overlaps (cut
    off by truncation) gets the mean of all tokens.
    """
    offs = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    real = offs[:, 1] > offs[:, 0]
    member = (
        (offs[None, :, 0] < bounds[:, None, 1])
        & (offs[None, :, 1] > bounds[:, None, 0])
        & real[None, :]
    ).astype(np.float32)
    counts = member.sum(axis=1, keepdims=True)
    empty = counts[:, 0] == 0
    member[empty] = 1.0
    counts[empty] = float(len(offs))
    pooled = (member @ np.asarray(states, dtype=np.float32)) / np.maximum(counts, 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)
