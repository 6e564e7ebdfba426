"""The vector index switches from exact to approximate (IVF) at the size threshold and
keeps supporting removal, adds, reconstruction, filtered search and persistence.

Small synthetic data (clustered unit vectors, no model): fast.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from rag import vector_index
from rag.index import Index, Manifest, VersionWriter, current_version, read_manifest
from rag.retrieval import FusionParams, search
from rag.settings import Settings

DIM = 64
THRESHOLD = 15_000
WORDS = ["Berlin", "Regierung", "Wahl", "Energie", "Bahn", "Klima", "Schule", "Markt"]


def clustered(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """Unit vectors scattered around ``centers`` (embeddings are clustered by topic)."""
    rng = np.random.default_rng(seed)
    x = centers[rng.integers(0, len(centers), n)] + 0.06 * rng.standard_normal((n, DIM))
    x = x.astype(np.float32)
    faiss.normalize_L2(x)
    return x


@pytest.fixture(scope="module")
def centers() -> np.ndarray:
    """Topic centres shared by corpus and queries."""
    c = np.random.default_rng(0).standard_normal((300, DIM)).astype(np.float32)
    faiss.normalize_L2(c)
    return c


def add_docs(writer: VersionWriter, vectors: np.ndarray, first_id: int, doc_prefix: str) -> None:
    """Add ``vectors`` as chunks of 10-chunk articles ``<doc_prefix><n>``."""
    rows = []
    for k in range(len(vectors)):
        i = first_id + k
        doc = f"{doc_prefix}{k // 10}"
        text = f"{WORDS[i % len(WORDS)]} Meldung {i} aus {doc}."
        rows.append((i, f"{doc}#{k % 10}", doc, text, 0, len(text), [[0, len(text)]],
                     np.zeros((1, DIM), np.float32)))
    writer.add_chunks(rows, vectors)


def publish(writer: VersionWriter, next_id: int) -> Path:
    """Publish with a minimal manifest."""
    manifest = Manifest(model={"name": "synthetic", "dim": DIM}, chunking={}, files={},
                        counts={}, next_id=next_id)
    return writer.publish(manifest)


def load(index_dir: Path) -> Index:
    """The current version."""
    return Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` ids by inner product."""
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1)[:, :k]]


def test_helpers() -> None:
    """nlist grows with the square root of the size; descriptions are factory strings."""
    assert vector_index.nlist_for(20_000) == 256
    assert vector_index.nlist_for(1_000_000) == 2048
    flat = vector_index.new_exact(DIM)
    assert vector_index.describe(flat) == "IDMap2,Flat"
    assert not vector_index.is_approximate(flat)
    config = vector_index.AnnConfig(threshold=100)
    assert vector_index.fit(flat, config) is flat  # empty: stays exact


def test_switch_remove_add_recall_roundtrip(tmp_path: Path, centers: np.ndarray) -> None:
    """Exact below the threshold; IVF above it; removal, adds, recall, reload all work."""
    settings = Settings(index_dir=tmp_path, ann_threshold=THRESHOLD, ann_nprobe=48)
    first = clustered(12_000, 1, centers)

    writer = VersionWriter(tmp_path, None, DIM, settings)
    add_docs(writer, first, 0, "a")
    publish(writer, 12_000)
    index = load(tmp_path)
    assert index.manifest.faiss_type == "IDMap2,Flat"
    assert not vector_index.is_approximate(index.vectors)
    threads = faiss.omp_get_max_threads()
    _, top = index.vectors.search(first[:1], 1)  # single query: one thread, then restored
    assert top[0, 0] == 0 and faiss.omp_get_max_threads() == threads

    # Crossing the threshold at publish time converts to IVF; removal works before it.
    second = clustered(8_000, 2, centers)
    writer = VersionWriter(tmp_path, index, DIM, settings)
    assert writer.remove_doc("a0") == 10
    add_docs(writer, second, 12_000, "b")
    publish(writer, 20_000)
    index.close()
    index = load(tmp_path)
    assert index.manifest.faiss_type == "IVF256,SQ8"
    assert isinstance(index.vectors, vector_index.SearchIndex)
    assert index.vectors.ntotal == index.size == 19_990
    assert faiss.extract_index_ivf(index.vectors.raw).nprobe == 48

    ids = np.arange(10, 20_000, dtype=np.int64)
    vectors = np.concatenate([first[10:], second])
    # Reconstruction by chunk id (retrieval's diversify and keyword-only hits need it).
    rec = index.vectors.reconstruct_batch(ids[:500])
    assert float(np.min(np.sum(rec * vectors[:500], axis=1))) > 0.99
    assert np.allclose(index.vectors.reconstruct(int(ids[7])), rec[7])

    queries = clustered(200, 3, centers)
    _, found = index.vectors.search(queries, 10)
    truth = exact_top(vectors, ids, queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95, recall

    # Removal and adds on the approximate index.
    writer = VersionWriter(tmp_path, index, DIM, settings)
    assert writer.remove_doc("b0") == 10
    third = clustered(500, 4, centers)
    add_docs(writer, third, 20_000, "c")
    publish(writer, 20_500)
    index.close()
    index = load(tmp_path)
    assert index.manifest.faiss_type == "IVF256,SQ8"
    assert index.vectors.ntotal == index.size == 20_480
    _, top = index.vectors.search(third[:50], 1)
    assert np.mean(top[:, 0] == np.arange(20_000, 20_050)) >= 0.95
    _, top = index.vectors.search(second[:10], 20)
    assert not set(top.ravel()) & set(range(12_000, 12_010))  # removed article b0
    with pytest.raises(RuntimeError):
        index.vectors.reconstruct(12_000)

    # The file round-trips: same type, same results.
    path = tmp_path / "copy.faiss"
    faiss.write_index(index.vectors.raw, str(path))
    again = vector_index.open_for_search(path)
    assert vector_index.describe(again) == "IVF256,SQ8"
    assert np.array_equal(again.search(queries, 10)[1], index.vectors.search(queries, 10)[1])
    index.close()


def test_filtered_and_hybrid_search_on_ivf(tmp_path: Path, centers: np.ndarray) -> None:
    """Generic ``SearchParameters`` filters work on IVF, and so does hybrid retrieval."""
    settings = Settings(index_dir=tmp_path, ann_threshold=5_000, ann_nprobe=8)
    vectors = clustered(6_000, 5, centers)
    writer = VersionWriter(tmp_path, None, DIM, settings)
    add_docs(writer, vectors, 0, "d")
    publish(writer, 6_000)
    index = load(tmp_path)
    assert vector_index.is_approximate(index.vectors)

    allowed = np.arange(3_000, 3_030, dtype=np.int64)  # a narrow filter: 3 articles
    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
    _, found = index.vectors.search(vectors[:1], 20, params=params)
    assert len(found[0]) == 20 and set(found[0]) <= set(allowed)

    hits = search(index, vectors[42], "Meldung 42 Berlin", "de", 5, FusionParams())
    assert hits and hits[0].id == 42
    rows = index.rows_of(allowed)
    hits = search(index, vectors[42], "Meldung Berlin", "de", 5, FusionParams(), rows)
    assert hits and {h.id for h in hits} <= set(allowed)
    index.close()
