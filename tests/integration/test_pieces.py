"""The ONNX embedder's SentencePiece tokenizer with the real default model: converted
once beside the ONNX export, the same token ids, counts and vectors as the model's
``tokenizer.json`` on everything the product embeds (the seed corpus as the index build
sends it, the shared questions), and loaded without holding the GIL."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embed import load_embedder
from rag.embed.onnx import OnnxEmbedder
from rag.embed.onnx_export import SUBDIR
from rag.embed.pieces import FILE, MARKER, PieceTokenizer, ensure_piece_model
from rag.indexing.build import sentence_texts
from rag.pipeline import Pipeline
from rag.settings import Settings

pytest.importorskip("onnxruntime")
pytest.importorskip("sentencepiece")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    embedder = load_embedder(Settings.from_env(embed_backend="onnx-int8"))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def texts(embedder: OnnxEmbedder, tmp_path_factory) -> list[str]:
    """Passages and sentence texts of the seed corpus as the build embeds them, and the
    shared seed and Wikinews questions."""
    settings = Settings.from_env(corpus_dir=SHARED / "corpus-seed",
                                 index_dir=tmp_path_factory.mktemp("pieces-index"))
    pipeline = Pipeline(settings, embedder=embedder)
    pipeline.update_index(progress=False)
    index = pipeline.index
    out = []
    for chunk in index.chunks([int(i) for i in index.row_ids]).values():
        out += [chunk.text, *sentence_texts(chunk, index.docs[chunk.doc_id].title)]
    for name in ("seed_questions.jsonl", "seed_more_questions.jsonl",
                 "wikinews-de/questions.jsonl"):
        for line in (SHARED / "eval" / name).read_text(encoding="utf-8").splitlines():
            out.append(json.loads(line)["question"])
    return out


def test_converted_once_beside_the_onnx_export(embedder: OnnxEmbedder) -> None:
    model_dir = Settings.from_env().paths.model_cache_dir / "multilingual-e5-small"
    cache = model_dir / SUBDIR
    assert embedder._pieces is not None  # the default model tokenizes with SentencePiece
    record = json.loads((cache / MARKER).read_text(encoding="utf-8"))
    assert record["usable"] and (record["bos_id"], record["eos_id"]) == (0, 2)
    before = (cache / FILE).stat().st_mtime_ns
    assert ensure_piece_model(model_dir, cache) == (cache / FILE, 0, 2)
    assert (cache / FILE).stat().st_mtime_ns == before  # not converted again


def test_same_ids_counts_and_vectors_as_tokenizer_json(embedder, texts) -> None:
    pieces = embedder._pieces
    assert pieces is not None and len(texts) > 200
    with_pieces = embedder.encode_passages(texts), embedder.encode_queries(texts[-60:])
    counts = [embedder.count_tokens(t) for t in texts] + [embedder.count_tokens("")]
    embedder._pieces = None  # the tokenizers path, as for a model without the conversion
    try:
        assert [embedder.count_tokens(t) for t in texts] + [embedder.count_tokens("")] == counts
        reference = embedder.encode_passages(texts), embedder.encode_queries(texts[-60:])
        tokenizer = embedder._hf_tokenizer()
        tokenizer.no_truncation()
        try:
            hf_ids = [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m]
                      for e in tokenizer.encode_batch(["passage: " + t for t in texts])]
        finally:
            tokenizer.enable_truncation(embedder.max_tokens)
    finally:
        embedder._pieces = pieces
    assert np.array_equal(with_pieces[0], reference[0])
    assert np.array_equal(with_pieces[1], reference[1])
    ids, mask = pieces.encode(["passage: " + t for t in texts])
    limit = embedder.max_tokens
    for row, m, expected in zip(ids, mask, hf_ids, strict=True):
        cut = expected if len(expected) <= limit else expected[: limit - 1] + expected[-1:]
        assert row[m.astype(bool)].tolist() == cut


def test_long_text_is_cut_like_tokenizers(embedder) -> None:
    long = "Ein sehr langer Satz über die Dinge des Tages. " * 200
    ids, mask = embedder._pieces.encode(["passage: " + long])
    assert ids.shape == (1, embedder.max_tokens) and mask.all()
    assert ids[0, 0] == 0 and ids[0, -1] == 2
    assert embedder.count_tokens(long) > embedder.max_tokens  # counts are not cut


def test_loading_leaves_the_gil_to_other_threads(embedder) -> None:
    """While the tokenizer loads, a Python thread keeps running (tokenizers' loader holds
    the GIL for its whole second: the web app's start then took turns with gradio)."""
    model_dir = Settings.from_env().paths.model_cache_dir / "multilingual-e5-small"
    file, bos_id, eos_id = ensure_piece_model(model_dir, model_dir / SUBDIR)
    ticks, done = [], threading.Event()

    def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    PieceTokenizer(file, bos_id=bos_id, eos_id=eos_id, pad_id=1, max_tokens=512)
    ended = time.perf_counter()
    done.set()
    thread.join()
    during = [t for t in ticks if started <= t <= ended]
    gaps = np.diff([started, *during, ended])
    assert ended - started > 0.05 and gaps.max() < 0.2, (ended - started, gaps.max())
