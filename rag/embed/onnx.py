"""The embedder on ONNX Runtime: the same model, int8 or fp32, without importing torch.

:class:`OnnxEmbedder` reads a sentence-transformers model folder (tokenizer, prompts,
mean pooling + normalisation) and runs the ONNX export made by
:mod:`rag.embed.onnx_export` with ``onnxruntime``; tokenization is SentencePiece's where
the model's ``tokenizer.json`` has a SentencePiece form with the same ids
(:mod:`rag.embed.pieces`: it loads without holding the GIL), else the ``tokenizers``
library's; pooling is numpy. Loading it imports neither torch nor transformers, so the
app's cold start and each question pay only for ONNX Runtime (see bench/README.md).

It also pools token states over character spans of a passage
(:meth:`encode_passage_spans`): the index build gets every sentence's vector from one
pass over its passage.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError
from .base import pool_spans, prepare_text
from .pieces import PieceTokenizer

if TYPE_CHECKING:
    import onnxruntime as ort
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
_FALLBACK_MAX_TOKENS = 512


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}); rebuild the model") from exc


def check_mean_pooling(model_dir: Path) -> None:
    """Raise :class:`ModelError` unless ``model_dir`` is transformer + mean pooling
    (+ normalize): the only head this embedder reproduces."""
    modules = _read_json(model_dir / "modules.json")
    if not isinstance(modules, list):
        raise ModelError(f"{model_dir}/modules.json is not a sentence-transformers module list")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ModelError(f"{model_dir}: modules {kinds} are not transformer + mean pooling")
    pooling = _read_json(model_dir / modules[1].get("path", "") / "config.json")
    mode = pooling.get("pooling_mode") or (
        "mean" if pooling.get("pooling_mode_mean_tokens") else None
    )
    if mode != "mean" or pooling.get("include_prompt", True) is False:
        raise ModelError(f"{model_dir}: pooling {pooling} is not mean pooling over all tokens")


class OnnxEmbedder:
    """Sentence embeddings from an ONNX export (float32 rows, L2-normalised).

    ``variant`` ``int8`` (dynamic int8, the default backend where measured faster) or
    ``fp32``. ``threads`` 0 = ONNX Runtime's default (one per core). ``spin`` lets
    idle worker threads spin (faster alone, slower when processes share the cores).
    ``workers``: passage batches run this many at a time, each on one thread of a second
    session made on first use (0 = one per core; 1 = one batch at a time on all cores).
    Short batches gain more from running side by side than from splitting each matrix
    product over the cores (bench/README.md section 16); a batch's vectors do not depend
    on it. Questions always use the first session.
    """

    backend_prefix = "onnx"

    def __init__(
        self,
        model_dir: Path | str,
        onnx_file: Path | str,
        *,
        name: str,
        variant: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 32,
        threads: int = 0,
        spin: bool = False,
        workers: int = 0,
        pieces: tuple[Path, int, int] | None = None,
    ) -> None:
        """Load the tokenizer and configuration of ``model_dir`` and the ONNX model
        (``pieces``: the SentencePiece form of its tokenizer, file and start/end ids, from
        :func:`~rag.embed.pieces.ensure_piece_model`)."""
        started = time.perf_counter()
        model_dir = Path(model_dir)
        check_mean_pooling(model_dir)
        st_config = _read_json(model_dir / "config_sentence_transformers.json")
        prompts = dict(st_config.get("prompts") or {})
        self._query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        self._passage_prompt = passage_prompt if passage_prompt is not None else next(
            (prompts[k] for k in _DOCUMENT_PROMPT_NAMES if prompts.get(k)), ""
        )
        bert_config = _read_json(model_dir / "sentence_bert_config.json")
        config = _read_json(model_dir / "config.json")
        max_tokens = int(bert_config.get("max_seq_length") or _FALLBACK_MAX_TOKENS)
        if config.get("max_position_embeddings"):
            max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self._max_tokens = max_tokens
        self._model_dir = model_dir
        self._pad_id = int(config.get("pad_token_id") or 0)
        self._tokenizer: Tokenizer | None = None
        self._tokenizer_lock = threading.Lock()
        self._pieces: PieceTokenizer | None = None
        if pieces is not None:
            file, bos_id, eos_id = pieces
            try:
                self._pieces = PieceTokenizer(file, bos_id=bos_id, eos_id=eos_id,
                                              pad_id=self._pad_id, max_tokens=max_tokens)
            except (OSError, RuntimeError) as exc:
                logger.warning("%s cannot be loaded (%s); tokenizing with tokenizers", file, exc)
        if self._pieces is None:
            self._tokenizer = self._load_tokenizer()

        self._onnx_file = str(onnx_file)
        self._spin = spin
        self._session = self._new_session(threads)
        self._workers = int(workers) if workers > 0 else _usable_cores()
        self._batch_session: ort.InferenceSession | None = None
        self._batch_session_lock = threading.Lock()
        inputs = {i.name for i in self._session.get_inputs()}
        self._wants_types = "token_type_ids" in inputs
        self._dim = int(self._session.get_outputs()[0].shape[-1])
        self._name = name
        self._variant = variant
        self._batch_size = max(1, int(batch_size))
        logger.info("Loaded ONNX embedding model %s (%s, dim %d) in %.2f s", name, variant,
                    self._dim, time.perf_counter() - started)

    def _load_tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
        except Exception as exc:
            raise ModelError(
                f"{self._model_dir}/tokenizer.json cannot be loaded ({exc})") from exc
        tokenizer.enable_truncation(self._max_tokens)
        pad_token = tokenizer.id_to_token(self._pad_id) or "<pad>"
        tokenizer.enable_padding(pad_id=self._pad_id, pad_token=pad_token)
        return tokenizer

    def _hf_tokenizer(self) -> Tokenizer:
        """The ``tokenizers`` tokenizer (loaded on first use where SentencePiece
        tokenizes: only character offsets need it). Call with the tokenizer lock held."""
        if self._tokenizer is None:
            self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    def _new_session(self, threads: int) -> ort.InferenceSession:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self._spin else "0")
        try:
            return ort.InferenceSession(self._onnx_file, options,
                                        providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"ONNX model {self._onnx_file} cannot be loaded ({exc})") from exc

    def _batches_session(self) -> ort.InferenceSession:
        """The one-thread session that passage batches share (made on first use)."""
        with self._batch_session_lock:
            if self._batch_session is None:
                self._batch_session = self._new_session(1)
            return self._batch_session

    # ------------------------------------------------------------------ properties

    name = property(lambda self: self._name, doc="Model name as configured.")
    dim = property(lambda self: self._dim, doc="Embedding dimension.")
    query_prompt = property(lambda self: self._query_prompt, doc="Prefix of questions.")
    passage_prompt = property(lambda self: self._passage_prompt, doc="Prefix of passages.")
    batch_size = property(lambda self: self._batch_size, doc="Passages per forward pass.")
    workers = property(lambda self: self._workers, doc="Passage batches run side by side.")
    max_tokens = property(lambda self: self._max_tokens, doc="Longest input in tokens.")

    @property
    def backend(self) -> str:
        """``onnx-int8`` or ``onnx-fp32`` (recorded with an index)."""
        return f"onnx-{self._variant}"

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prompt and specials included),
        not truncated."""
        full = self._passage_prompt + prepare_text(text)
        if self._pieces is not None:
            return self._pieces.count(full)
        # The one tokenizer with its truncation lifted for the count (under the lock that
        # every use of it holds): a second tokenizer for counting would cost ~0.9 s CPU
        # to load its 250k-piece vocabulary (a tenth of a small build).
        with self._tokenizer_lock:
            tokenizer = self._hf_tokenizer()
            tokenizer.no_truncation()
            try:
                encoding = tokenizer.encode(full)
            finally:
                tokenizer.enable_truncation(self._max_tokens)
        return len(encoding.ids)

    # ------------------------------------------------------------------ encoding

    def _run(
        self, texts: list[str], session: ort.InferenceSession | None = None,
        offsets: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, list]:
        """Token states ``[n, tokens, dim]``, attention mask and encodings of ``texts``
        (on ``session``, by default the questions' session; the encodings, with their
        character offsets, only from ``tokenizers``: empty unless ``offsets``)."""
        encodings: list = []
        if self._pieces is not None and not offsets:
            ids, mask = self._pieces.encode(texts)
        else:
            with self._tokenizer_lock:
                encodings = self._hf_tokenizer().encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._wants_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = (session or self._session).run(None, feed)[0]
        return states, mask, encodings

    def _batched(self, texts: list[str], run: Callable[[list[str], Any], Any],
                 parallel: bool) -> list:
        """``run(batch, session)`` over ``texts`` in length-sorted batches: the batch
        indexes and results, in batch order; side by side on :attr:`workers` one-thread
        sessions when ``parallel`` and there is more than one batch."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[i : i + self._batch_size]
                   for i in range(0, len(order), self._batch_size)]
        if not parallel or self._workers < 2 or len(batches) < 2:
            return [(idx, run([texts[i] for i in idx], None)) for idx in batches]
        session = self._batches_session()
        with ThreadPoolExecutor(self._workers, thread_name_prefix="rag-embed") as pool:
            results = pool.map(lambda idx: run([texts[i] for i in idx], session), batches)
            return list(zip(batches, results, strict=True))

    def _encode(self, texts: Sequence[str], prompt: str, parallel: bool) -> np.ndarray:
        full = [prompt + prepare_text(t) for t in texts]
        out = np.zeros((len(full), self._dim), np.float32)

        def mean_pooled(batch: list[str], session: ort.InferenceSession | None) -> np.ndarray:
            states, mask, _ = self._run(batch, session)
            weights = mask[..., None].astype(np.float32)
            return (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)

        for idx, pooled in self._batched(full, mean_pooled, parallel):
            out[idx] = pooled
        return _l2_normalize(out)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions (query prompt added): float32 ``[n, dim]``, L2-normalised."""
        return self._encode(texts, self._query_prompt, parallel=False)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (passage prompt added): float32 ``[n, dim]``, L2-normalised."""
        return self._encode(texts, self._passage_prompt, parallel=True)

    def encode_passage_spans(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One pass per passage: its vector, and one vector per character span of it.

        ``texts`` must be prepared (:func:`~rag.embed.base.prepare_text`) so that the
        spans (``(start, end)`` into each text) stay valid. A span's vector is the mean of
        the token states of the tokens that overlap it, L2-normalised.
        """
        if len(texts) != len(spans):
            raise ValueError("texts and spans differ in length")
        offset = len(self._passage_prompt)
        full = [self._passage_prompt + t for t in texts]
        vectors = np.zeros((len(full), self._dim), np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((0, self._dim), np.float32)] * len(full)
        def with_offsets(batch: list[str], session: Any) -> tuple[np.ndarray, np.ndarray, list]:
            return self._run(batch, session, offsets=True)

        for idx, (states, mask, encodings) in self._batched(full, with_offsets, parallel=True):
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                token_states = states[row, :n]
                vectors[i] = token_states.mean(axis=0)
                shifted = [(a + offset, b + offset) for a, b in spans[i]]
                span_vectors[i] = pool_spans(token_states, encodings[row].offsets[:n], shifted)
        return _l2_normalize(vectors), span_vectors


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; not macOS or Windows
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)

