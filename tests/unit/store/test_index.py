"""A stored index version (rag.store.index) built with the fake embedder: write, publish,
load, remove an article, and every kind of damage or mismatch detected at load with a
message that says how to fix it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest
from shared_data import MINSK_VISIT, SEED_ARTICLES, SEWASTOPOL, small_settings

from rag.embed import model_signature
from rag.embed.fake import FakeEmbedder
from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing, StoreError
from rag.indexing import chunking_signature, update_index
from rag.ingest.corpus import read_corpus
from rag.settings import Settings
from rag.store.folder import CURRENT, MANIFEST, current_version, read_manifest
from rag.store.index import BM25_DIR, CHUNKS, VECTORS, Index, VersionWriter, load_index
from rag.store.manifest import Manifest

REBUILD = "rag index --rebuild"


def _load(settings: Settings, embedder: FakeEmbedder) -> Index:
    return load_index(settings.paths.index_dir, model_signature(embedder),
                      chunking_signature(settings))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed corpus and its index built with the fake embedder (copied before damage)."""
    settings = small_settings(tmp_path_factory.mktemp("pristine"))
    update_index(settings, FakeEmbedder(), progress=False)
    return settings


@pytest.fixture()
def built(tmp_path: Path, pristine: Settings) -> Settings:
    """A private copy of the pristine corpus and index."""
    shutil.copytree(pristine.paths.corpus_dir, tmp_path / "corpus")
    shutil.copytree(pristine.paths.index_dir, tmp_path / "index")
    return pristine.replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")


def test_published_version_loads_with_everything_written(built: Settings) -> None:
    embedder = FakeEmbedder()
    index = _load(built, embedder)
    articles = {a.doc_id: a for a in read_corpus(built.paths.corpus_dir)[0]}
    assert sorted(index.docs) == sorted(SEED_ARTICLES) == sorted(set(index.row_docs))
    assert index.size == index.vectors.ntotal == index.keywords.size == \
        index.manifest.counts["chunks"] > len(articles)
    assert index.manifest.counts["articles"] == 5
    assert index.manifest.files == {d: a.content_hash for d, a in articles.items()}
    assert index.manifest.model == model_signature(embedder)
    assert list(index.row_ids) == sorted(index.row_ids)
    assert index.rows_of(index.row_ids[[3, 1]]).tolist() == [3, 1]
    chunks = index.chunks(index.row_ids.tolist())
    for chunk in chunks.values():  # exact text, offsets and one vector per sentence
        assert articles[chunk.doc_id].text[chunk.start:chunk.end] == chunk.text
        assert chunk.sentence_vectors.shape == (len(chunk.sentences), embedder.dim)
        assert chunk.sentence_vectors.dtype == np.float32
    assert list(index.all_texts()) == [chunks[i].text for i in index.row_ids.tolist()]
    meta = index.docs[MINSK_VISIT]
    assert (meta.date, meta.author) == ("2022-12-19", "Paul Flückiger")
    # the stored vectors are the passage vectors: the mean of the sentence vectors
    chunk = chunks[int(index.row_ids[0])]
    mean = chunk.sentence_vectors.mean(axis=0)
    stored = index.vectors.reconstruct(int(index.row_ids[0]))
    assert float(stored @ (mean / np.linalg.norm(mean))) > 0.999
    assert index.chunks([]) == {}
    index.close()


def test_remove_article_and_publish_a_new_version(built: Settings) -> None:
    embedder = FakeEmbedder()
    base = _load(built, embedder)
    old_folder = base.folder
    n_sewastopol = base.row_docs.count(SEWASTOPOL)
    writer = VersionWriter(built.paths.index_dir, base, embedder.dim, built.index)
    assert writer.remove_doc(SEWASTOPOL) == n_sewastopol > 0
    assert writer.remove_doc("not-there.txt") == 0
    manifest = Manifest(model=base.manifest.model, chunking=base.manifest.chunking,
                        files={d: h for d, h in base.manifest.files.items() if d != SEWASTOPOL},
                        counts={"articles": 4}, next_id=base.manifest.next_id)
    folder = writer.publish(manifest)
    base.close()
    assert current_version(built.paths.index_dir) == folder != old_folder
    assert old_folder.is_dir()  # the old version stays until the indexer cleans up
    index = _load(built, embedder)
    assert SEWASTOPOL not in index.docs and SEWASTOPOL not in index.row_docs
    assert index.size == base.size - n_sewastopol == index.vectors.ntotal == index.keywords.size
    assert index.manifest.counts["chunks"] == index.size
    assert not any(c.doc_id == SEWASTOPOL for c in index.chunks(index.row_ids.tolist()).values())
    index.close()


def test_aborted_writer_leaves_nothing(built: Settings) -> None:
    before = sorted(p.name for p in built.paths.index_dir.iterdir())
    writer = VersionWriter(built.paths.index_dir, None, 64)
    assert writer.tmp.name.startswith(".building-") and writer.tmp.is_dir()
    writer.abort()
    assert sorted(p.name for p in built.paths.index_dir.iterdir()) == before


def test_missing_index(tmp_path: Path) -> None:
    settings = small_settings(tmp_path)
    with pytest.raises(IndexMissing, match="rag index") as info:
        _load(settings, FakeEmbedder())
    assert str(settings.paths.index_dir) in str(info.value)
    assert isinstance(info.value, StoreError)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        change(data)
        (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    return edit


def _other_dimension(folder: Path) -> None:
    """A ``vectors.faiss`` from another model (other dimension), same number of vectors."""
    n = json.loads((folder / MANIFEST).read_text())["counts"]["chunks"]
    other = faiss.IndexIDMap2(faiss.IndexFlatIP(128))
    other.add_with_ids(np.random.default_rng(0).random((n, 128), dtype=np.float32),
                       np.arange(n, dtype=np.int64))
    faiss.write_index(other, str(folder / VECTORS))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "chunk store missing": (lambda v: (v / CHUNKS).unlink(), "unable to open database"),
    "chunk store truncated": (lambda v: _truncate(v / CHUNKS), "malformed"),
    "chunk store garbage": (lambda v: (v / CHUNKS).write_bytes(b"\x00garbage" * 512),
                            "not a database"),
    "bm25 folder missing": (lambda v: shutil.rmtree(v / BM25_DIR), "No such file"),
    "bm25 file damaged": (lambda v: next((v / BM25_DIR).glob("*.npy")).write_bytes(b"xx"),
                          "damaged"),
    "vectors empty": (lambda v: (v / VECTORS).write_bytes(b""), "read error"),
    "vectors truncated": (lambda v: _truncate(v / VECTORS), "damaged"),
    "vectors of another dimension": (_other_dimension, "dimensions"),
    "CURRENT points to a missing folder": (lambda v: shutil.rmtree(v), "unreadable"),
    "manifest not JSON": (lambda v: (v / MANIFEST).write_text("{not json"), "manifest"),
    "manifest not an object": (lambda v: (v / MANIFEST).write_text("[]"), "unreadable"),
    "manifest missing fields": (lambda v: (v / MANIFEST).write_text("{}"), "unreadable"),
    "manifest count wrong": (_edit_manifest(lambda m: m["counts"].update(chunks=3)),
                             "inconsistent"),
    # valid JSON with a field of the wrong type (it once escaped as AttributeError, or was
    # used: files=[] made every article look new)
    "manifest counts a string": (_edit_manifest(lambda m: m.update(counts="26")), "counts"),
    "manifest model null": (_edit_manifest(lambda m: m.update(model=None)), "model"),
    "manifest files a list": (_edit_manifest(lambda m: m.update(files=[])), "files"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_detected_at_load(built: Settings, damage: str) -> None:
    """Each damage is an IndexCorrupt whose message names the problem and the fix."""
    change, detail = DAMAGE[damage]
    change(current_version(built.paths.index_dir))
    with pytest.raises(IndexCorrupt) as info:
        _load(built, FakeEmbedder())
    assert detail in str(info.value) and REBUILD in str(info.value)


MISMATCH: dict[str, tuple[Callable[[dict], None], str]] = {
    "another model": (lambda m: m["model"].update(name="another-model", dim=768),
                      "another-model"),
    "another chunking": (lambda m: m["chunking"].update(chunk_tokens=123), "chunking"),
    "older chunker": (lambda m: m["chunking"].update(chunker_version=1), "chunking"),
    "older format": (lambda m: m.update(format_version=0), "format version"),
}


@pytest.mark.parametrize("kind", list(MISMATCH))
def test_mismatch_is_refused_at_load(built: Settings, kind: str) -> None:
    change, detail = MISMATCH[kind]
    _edit_manifest(change)(current_version(built.paths.index_dir))
    with pytest.raises(IndexMismatch) as info:
        _load(built, FakeEmbedder())
    assert detail in str(info.value) and REBUILD in str(info.value)


def test_other_settings_are_a_mismatch(built: Settings) -> None:
    with pytest.raises(IndexMismatch, match="chunking"):
        _load(built.replace(chunk_tokens=built.chunking.chunk_tokens + 50), FakeEmbedder())
    with pytest.raises(IndexMismatch, match="fake-other"):
        _load(built, FakeEmbedder(name="fake-other"))
    assert read_manifest(built.paths.index_dir).model["name"] == "fake-hash"


def test_publish_refuses_inconsistent_counts(tmp_path: Path) -> None:
    """A writer whose vectors and chunks disagree never publishes (internal check)."""
    writer = VersionWriter(tmp_path, None, 4)
    writer.vectors.add_with_ids(np.eye(4, dtype=np.float32)[:1], np.asarray([0]))
    manifest = Manifest(model={"dim": 4}, chunking={}, files={}, counts={}, next_id=1)
    with pytest.raises(IndexCorrupt, match="internal error"):
        writer.publish(manifest)
    writer.abort()
    assert not (tmp_path / CURRENT).exists()
