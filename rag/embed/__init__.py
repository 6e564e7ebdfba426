"""Embedding models: the :class:`Embedder` protocol, the sentence-transformers embedder,
the offline builder of the default model (:mod:`rag.embed.e5`) and a fake for unit tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Embedder, model_signature, prepare_text

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["Embedder", "load_embedder", "model_signature", "prepare_text"]


def load_embedder(settings: Settings) -> Embedder:
    """The embedder configured by ``settings.model`` (loads the model: seconds)."""
    from .sbert import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(settings)
