"""Embedding models: the :class:`Embedder` protocol, the sentence-transformers embedder,
the offline builder of the default model (:mod:`rag.embed.e5`) and a fake for unit tests."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError, SettingsError
from .base import Embedder, SpanEmbedder, model_signature, pool_spans, prepare_text

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "BACKENDS", "Embedder", "SpanEmbedder", "load_embedder", "model_signature", "pool_spans",
    "prepare_text", "resolve_backend",
]

logger = logging.getLogger(__name__)

# ONNX Runtime 1.29+ uploads usage telemetry on Linux too (to events.data.microsoft.com)
# unless this is set before it starts; the product contacts nothing but its own endpoints.
# Every import of onnxruntime in rag goes through this package.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

#: Values of ``settings.model.embed_backend``.
BACKENDS = ("auto", "onnx-int8", "onnx-fp32", "torch")


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``onnx-int8`` when onnxruntime is installed, else ``torch`` (for the
    default model; :func:`load_embedder` keeps a user-named model on torch unless asked);
    other values are checked and returned (raises :class:`~rag.errors.SettingsError`)."""
    value = (backend or "auto").strip().lower()
    if value not in BACKENDS:
        raise SettingsError(
            f"embed_backend (RAG_EMBED_BACKEND) must be one of {', '.join(BACKENDS)}, "
            f"not {backend!r}."
        )
    if value == "auto":
        return "onnx-int8" if importlib.util.find_spec("onnxruntime") else "torch"
    return value


def _model_dir(settings: Settings) -> Path:
    """The local folder of the configured model (the default is built first)."""
    from ..settings import DEFAULT_MODEL

    name = settings.model.model
    if name == DEFAULT_MODEL:
        from .e5 import ensure_default_model

        return ensure_default_model(settings.paths.model_cache_dir)
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"The ONNX backend needs a local model folder; {name!r} is not one. Use "
            "RAG_EMBED_BACKEND=torch for a model from a hub."
        )
    return path


def _load_onnx(settings: Settings, backend: str) -> Embedder:
    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelError(
            f"embed_backend {backend} needs onnxruntime: pip install -r requirements.txt "
            "(or set RAG_EMBED_BACKEND=torch)."
        )
    from .onnx import OnnxEmbedder
    from .onnx_export import SUBDIR, ensure_onnx_model
    from .pieces import ensure_piece_model

    variant = backend.removeprefix("onnx-")
    model_dir = _model_dir(settings)
    m = settings.model
    return OnnxEmbedder(
        model_dir, ensure_onnx_model(model_dir, variant), name=m.model, variant=variant,
        query_prompt=m.query_prompt, passage_prompt=m.passage_prompt, batch_size=m.batch_size,
        spin=m.omp_wait_policy.strip().upper() == "ACTIVE", workers=m.embed_workers,
        pieces=ensure_piece_model(model_dir, model_dir / SUBDIR) if m.piece_tokenizer else None,
    )


def load_embedder(settings: Settings) -> Embedder:
    """The embedder configured by ``settings.model`` (loads the model: seconds; the first
    ONNX use exports the model once, a minute or two).

    With ``embed_backend`` ``auto`` an ONNX model that cannot be loaded or exported falls
    back to torch with a warning that says why; an explicit ``onnx-*`` raises
    :class:`~rag.errors.ModelError`.
    """
    from ..settings import DEFAULT_MODEL

    requested = (settings.model.embed_backend or "auto").strip().lower()
    backend = resolve_backend(requested)
    if requested == "auto" and settings.model.model != DEFAULT_MODEL:
        backend = "torch"  # a user's model: exported only when asked for (RAG_EMBED_BACKEND)
    if backend != "torch":
        try:
            return _load_onnx(settings, backend)
        except ModelError as exc:
            if requested != "auto":
                raise
            logger.warning("ONNX backend unavailable, using torch instead: %s", exc)
    from .sbert import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(settings)
