"""What the rest of the product needs from an embedding model: the :class:`Embedder` protocol."""

from __future__ import annotations

import unicodedata
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
    return {
        "name": embedder.name,
        "dim": embedder.dim,
        "query_prompt": embedder.query_prompt,
        "passage_prompt": embedder.passage_prompt,
    }
