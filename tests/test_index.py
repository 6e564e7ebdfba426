"""The persisted index: incremental updates, rebuild detection, atomicity, damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.index import (
    CURRENT,
    MANIFEST,
    VECTORS,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    current_version,
    load_index,
)
from rag.indexer import chunking_signature, model_signature, update_index
from rag.pipeline import Pipeline
from rag.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small(tmp_path, embedder):
    """Settings for a private two-article corpus and an empty index folder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("003_13b114440d0760a9.txt", "004_ab217624b5cd6cf3.txt"):
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    return Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")


def _load(settings, embedder):
    return load_index(settings.index_dir, model_signature(embedder), chunking_signature(settings))


def test_build_then_incremental_update(small, embedder):
    first = update_index(small, embedder, progress=False)
    assert first.rebuilt and first.articles == 2 and first.chunks > 2
    assert sorted(first.added) == ["003_13b114440d0760a9.txt", "004_ab217624b5cd6cf3.txt"]

    again = update_index(small, embedder, progress=False)
    assert again.up_to_date and again.chunks == first.chunks

    # add one, change one, delete one
    shutil.copy(ROOT / "corpus" / "002_b32e619577f15ed7.txt", small.corpus_dir)
    changed = small.corpus_dir / "004_ab217624b5cd6cf3.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nEin neuer Absatz über Minsk.",
                       encoding="utf-8")
    (small.corpus_dir / "003_13b114440d0760a9.txt").unlink()
    report = update_index(small, embedder, progress=False)
    assert not report.rebuilt
    assert report.added == ["002_b32e619577f15ed7.txt"]
    assert report.changed == ["004_ab217624b5cd6cf3.txt"]
    assert report.removed == ["003_13b114440d0760a9.txt"]

    index = _load(small, embedder)
    assert set(index.docs) == {"002_b32e619577f15ed7.txt", "004_ab217624b5cd6cf3.txt"}
    assert set(index.row_docs) == set(index.docs)
    assert index.vectors.ntotal == index.size == index.keywords.size
    texts = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values())
    assert "Ein neuer Absatz über Minsk." in texts and "Sewastopol" not in texts
    # only one version folder is left behind
    assert [p.name for p in small.index_dir.iterdir() if p.name.startswith("v-")] == [
        current_version(small.index_dir).name
    ]


def test_chunking_change_rebuilds(small, embedder):
    update_index(small, embedder, progress=False)
    other = Settings.from_env(corpus_dir=small.corpus_dir, index_dir=small.index_dir,
                              chunk_tokens=small.chunk_tokens + 50)
    with pytest.raises(IndexMismatch, match="chunking"):
        _load(other, embedder)
    report = update_index(other, embedder, progress=False)
    assert report.rebuilt and "chunking" in report.reason


def test_missing_and_corrupt_index_detected(small, embedder):
    with pytest.raises(IndexMissing, match="python -m rag index"):
        _load(small, embedder)
    update_index(small, embedder, progress=False)
    folder = current_version(small.index_dir)

    (folder / VECTORS).write_bytes((folder / VECTORS).read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        _load(small, embedder)
    # the indexer notices and rebuilds, saying why
    report = update_index(small, embedder, progress=False)
    assert report.rebuilt and "damaged" in report.reason
    _load(small, embedder)

    folder = current_version(small.index_dir)
    (folder / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="manifest"):
        _load(small, embedder)


def test_other_model_or_format_is_refused(small, embedder):
    update_index(small, embedder, progress=False)
    folder = current_version(small.index_dir)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["model"]["name"] = "some-other-model"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="some-other-model"):
        _load(small, embedder)
    manifest["format_version"] = 0
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="format version"):
        _load(small, embedder)


def test_failed_build_leaves_previous_index(small, embedder, monkeypatch):
    update_index(small, embedder, progress=False)
    before = (small.index_dir / CURRENT).read_text()
    new = small.corpus_dir / "new.txt"
    new.write_text("Ein ganz neuer Artikel über Minsk.", encoding="utf-8")

    import rag.indexer

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash while embedding")

    monkeypatch.setattr(rag.indexer, "embed_chunks", boom)
    with pytest.raises(RuntimeError):
        update_index(small, embedder, progress=False)
    assert (small.index_dir / CURRENT).read_text() == before
    assert not [p for p in small.index_dir.iterdir() if p.name.startswith(".building-")]
    index = _load(small, embedder)
    assert "new.txt" not in index.docs


def test_pipeline_builds_on_first_use_and_notices_changes(small, embedder):
    pipeline = Pipeline(small, embedder=embedder)
    answer = pipeline.ask("Wie nennt Lukaschenko Putin?")
    assert answer.found and "Bruder" in answer.text
    assert not pipeline.is_stale()
    (small.corpus_dir / "extra.txt").write_text("Minsk liegt an der Swislatsch.", encoding="utf-8")
    assert pipeline.is_stale()
