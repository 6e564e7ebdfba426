"""The manifest of an index version (rag.store.manifest): JSON round trip, validation of
what is read back, and the comparison with the settings that detects a stale index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import IndexMismatch
from rag.store.manifest import FORMAT_VERSION, Manifest, check_compatible

MODEL = {"name": "m", "dim": 4, "query_prompt": "query: ", "passage_prompt": "passage: "}
CHUNKING = {"chunk_tokens": 300, "overlap_tokens": 50}


def manifest() -> Manifest:
    return Manifest(model=dict(MODEL), chunking=dict(CHUNKING), files={"ä.txt": "ab"},
                    counts={"chunks": 3, "articles": 1}, next_id=3,
                    skipped=[{"path": "x.txt", "reason": "empty"}])


def test_json_round_trip() -> None:
    m = manifest()
    text = m.to_json()
    assert "ä.txt" in text  # readable, not escaped
    again = Manifest.from_json(text)
    assert again == m and again.format_version == FORMAT_VERSION
    assert again.faiss_type == "IDMap2,Flat"


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d.update(model=None), "model"),
    (lambda d: d.update(files=[]), "files"),
    (lambda d: d.update(files={"a.txt": 1}), "files"),
    (lambda d: d.update(counts={"chunks": "3"}), "counts"),
    (lambda d: d.update(next_id="3"), "next_id"),
    (lambda d: d.update(format_version=None), "format_version"),
    (lambda d: d.pop("next_id"), "next_id"),
    (lambda d: d.update(unknown=1), "unknown"),
])
def test_malformed_manifest_is_rejected(change, problem: str) -> None:
    data = json.loads(manifest().to_json())
    change(data)
    with pytest.raises((ValueError, TypeError), match=problem):
        Manifest.from_json(json.dumps(data))
    with pytest.raises(ValueError, match="not a JSON object"):
        Manifest.from_json("[1]")


def test_check_compatible() -> None:
    m = manifest()
    check_compatible(m, dict(MODEL), dict(CHUNKING), Path("idx"))
    with pytest.raises(IndexMismatch, match="model 'm' \\(settings: 'other'\\)") as info:
        check_compatible(m, {**MODEL, "name": "other"}, dict(CHUNKING), Path("idx"))
    assert "rag index --rebuild" in str(info.value) and "idx" in str(info.value)
    with pytest.raises(IndexMismatch, match="chunking"):
        check_compatible(m, dict(MODEL), {**CHUNKING, "chunk_tokens": 200}, Path("idx"))
    with pytest.raises(IndexMismatch, match="model .* and chunking"):
        check_compatible(m, {**MODEL, "dim": 8}, {}, Path("idx"))
