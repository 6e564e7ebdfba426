"""Backend choice, span pooling and the index signature (rag.embed): logic only, no model."""

from __future__ import annotations

import importlib.util
import json
import logging

import numpy as np
import pytest

import rag.embed as embed
from rag.embed import model_signature, pool_spans, resolve_backend
from rag.embed.fake import FakeEmbedder
from rag.embed.onnx import check_mean_pooling
from rag.embed.onnx_export import is_exported, onnx_path
from rag.errors import ModelError, SettingsError
from rag.settings import Settings


def test_resolve_backend() -> None:
    has_ort = importlib.util.find_spec("onnxruntime") is not None
    assert resolve_backend("auto") == ("onnx-int8" if has_ort else "torch")
    assert resolve_backend(" ONNX-FP32 ") == "onnx-fp32"
    assert resolve_backend("torch") == "torch"
    with pytest.raises(SettingsError, match="embed_backend .* must be one of"):
        resolve_backend("tensorrt")


def test_backend_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBED_BACKEND", "torch")
    monkeypatch.setenv("RAG_SENTENCE_VECTORS", "pooled")
    s = Settings.from_env()
    assert s.model.embed_backend == "torch" and s.chunking.sentence_vectors == "pooled"
    assert Settings().model.embed_backend == "auto"


def test_signature_does_not_depend_on_the_backend() -> None:
    class Int8(FakeEmbedder):
        backend = "onnx-int8"

    # an index built with torch stays usable with the ONNX backend and back
    assert model_signature(Int8()) == model_signature(FakeEmbedder())


def test_pool_spans_means_overlapping_tokens() -> None:
    states = np.array([[9, 9], [1, 0], [3, 0], [0, 2], [0, 4], [9, 9]], np.float32)
    # <s> at (0, 0), tokens "ab" (0,2) "cd" (2,4) " ef" (4,7) "gh" (7,9), </s> (0, 0)
    offsets = [(0, 0), (0, 2), (2, 4), (4, 7), (7, 9), (0, 0)]
    out = pool_spans(states, offsets, [(0, 4), (5, 9), (3, 6)])
    np.testing.assert_allclose(out[0], [1, 0])  # mean (2, 0), normalised
    np.testing.assert_allclose(out[1], [0, 1])
    expected = np.array([3, 2], np.float32) / np.linalg.norm([3, 2])  # "cd" and " ef"
    np.testing.assert_allclose(out[2], expected, rtol=1e-6)


def test_pool_spans_uncovered_span_gets_whole_text() -> None:
    states = np.array([[0, 0], [2, 0], [0, 2], [0, 0]], np.float32)
    offsets = [(0, 0), (0, 3), (3, 6), (0, 0)]
    out = pool_spans(states, offsets, [(50, 60)])  # truncated away
    np.testing.assert_allclose(out[0], np.array([1, 1]) / np.sqrt(2), rtol=1e-6)


def test_check_mean_pooling(tmp_path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "x.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "x.Normalize"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    pooling = tmp_path / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({"pooling_mode": "mean", "include_prompt": True}))
    check_mean_pooling(tmp_path)
    pooling.write_text(json.dumps({"pooling_mode": "cls"}))
    with pytest.raises(ModelError, match="not mean pooling"):
        check_mean_pooling(tmp_path)
    (tmp_path / "modules.json").write_text(json.dumps(modules[:1] + [
        {"path": "", "type": "x.Dense"}, *modules[1:]]))
    with pytest.raises(ModelError, match="not transformer"):
        check_mean_pooling(tmp_path)


def test_export_marker_follows_the_model(tmp_path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "config.json").write_text("{}")
    assert not is_exported(tmp_path, "int8")
    path = onnx_path(tmp_path, "int8")
    path.parent.mkdir()
    path.write_bytes(b"onnx")
    from rag.embed.onnx_export import _marker

    path.with_suffix(".json").write_text(json.dumps(_marker(tmp_path, "int8")))
    assert is_exported(tmp_path, "int8")
    (tmp_path / "config.json").write_text('{"changed": 1}')  # model rebuilt differently
    assert not is_exported(tmp_path, "int8")


def test_auto_falls_back_to_torch_with_a_warning(monkeypatch, caplog) -> None:
    def broken(settings, backend):
        raise ModelError("export failed: disk full")

    sentinel = FakeEmbedder(name="torch-stand-in")
    monkeypatch.setattr(embed, "_load_onnx", broken)
    monkeypatch.setattr(embed, "resolve_backend",
                        lambda b: "torch" if b == "torch" else "onnx-int8")
    import rag.embed.sbert as sbert

    monkeypatch.setattr(sbert.SentenceTransformerEmbedder, "from_settings",
                        classmethod(lambda cls, s: sentinel))
    with caplog.at_level(logging.WARNING, logger="rag.embed"):
        assert embed.load_embedder(Settings()) is sentinel
    assert "using torch instead: export failed: disk full" in caplog.text
    with pytest.raises(ModelError, match="disk full"):  # asked for explicitly: no fallback
        embed.load_embedder(Settings().replace(embed_backend="onnx-int8"))


def test_auto_keeps_a_user_model_on_torch(monkeypatch, tmp_path) -> None:
    def must_not_run(settings, backend):
        raise AssertionError("a user's model is not exported unless asked")

    sentinel = FakeEmbedder(name="torch-stand-in")
    monkeypatch.setattr(embed, "_load_onnx", must_not_run)
    import rag.embed.sbert as sbert

    monkeypatch.setattr(sbert.SentenceTransformerEmbedder, "from_settings",
                        classmethod(lambda cls, s: sentinel))
    assert embed.load_embedder(Settings().replace(model=str(tmp_path))) is sentinel
