"""The logic around the Ray build that needs no cluster: the batch function's output
equals a local chunk + embed, pool sizing, the CLI flag and the settings."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from shared_data import XQUAD

from rag.cli import build_parser, settings_from
from rag.embed.fake import FakeEmbedder
from rag.errors import SettingsError
from rag.indexing.build import embed_chunks
from rag.indexing.ray_build import ChunkEmbedWorker, _chunk_from_json, _pool, chunk_and_embed
from rag.ingest.chunking import chunk_corpus
from rag.ingest.corpus import read_corpus
from rag.settings import Settings


def _worker(settings: Settings, embedder: FakeEmbedder) -> ChunkEmbedWorker:
    worker = ChunkEmbedWorker.__new__(ChunkEmbedWorker)  # the model is the fake: no Ray
    worker._settings, worker._embedder, worker._node = settings, embedder, "node-1"
    return worker


def test_batch_output_equals_local_chunk_and_embed() -> None:
    from dataclasses import asdict

    articles, _ = read_corpus(XQUAD / "corpus")
    articles = articles[:3]
    settings = Settings.from_env()
    embedder = FakeEmbedder()
    c = settings.chunking
    chunks = chunk_corpus(articles, chunk_tokens=c.chunk_tokens,
                          overlap_tokens=c.chunk_overlap_tokens,
                          count_tokens=embedder.count_tokens, paragraph_tokens=c.paragraph_tokens)
    heads = {a.doc_id: a.title for a in articles if a.headline}
    vectors, sentence_vectors = embed_chunks(embedder, chunks, heads, progress=False)

    batch = {"article": np.array([json.dumps(asdict(a)) for a in articles], dtype=object)}
    out = _worker(settings, embedder)(batch)
    got = [_chunk_from_json(t) for t in out["chunk"]]
    assert got == chunks
    assert np.allclose(out["vector"], vectors, atol=1e-6)
    for b, sv in zip(out["sent_vecs"], sentence_vectors):
        back = np.frombuffer(b, dtype=np.float16).reshape(-1, embedder.dim)
        assert back.shape == sv.shape and np.allclose(back, sv, atol=2e-3)
    assert set(out["node"]) == {"node-1"}


def test_pool_uses_gpus_when_the_cluster_has_them() -> None:
    settings = Settings.from_env()
    cpu_only = SimpleNamespace(cluster_resources=lambda: {"CPU": 6.0})
    gpus = SimpleNamespace(cluster_resources=lambda: {"CPU": 32.0, "GPU": 4.0})
    assert _pool(cpu_only, settings) == (6, 1.0, 0.0)
    assert _pool(cpu_only, settings.replace(ray_worker_cpus=2.0)) == (3, 2.0, 0.0)
    assert _pool(gpus, settings) == (4, 1.0, 1.0)
    assert _pool(gpus, settings.replace(ray_workers=2)) == (2, 1.0, 1.0)


def test_cli_ray_flag_sets_the_address() -> None:
    parser = build_parser()
    assert settings_from(parser.parse_args(["index", "--ray"])).index.ray_address == "local"
    args = parser.parse_args(["index", "--ray", "10.0.0.5:6379"])
    assert settings_from(args).index.ray_address == "10.0.0.5:6379"
    assert settings_from(parser.parse_args(["index"])).index.ray_address == ""


def test_empty_address_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="Ray address"):
        list(chunk_and_embed(Settings.from_env(), [], ""))
