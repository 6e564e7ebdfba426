"""The vector store (rag.store.vectors) switches from exact to approximate (IVF) at the size
threshold and keeps supporting removal, adds, reconstruction, filtered search and
persistence.

Small synthetic data (clustered unit vectors, no model) written through the real
:class:`~rag.store.index.VersionWriter`.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest
from synthetic import DIM, add_docs, clustered, exact_top, load, publish, topic_centers

from rag.settings import IndexSettings
from rag.store import vectors as vector_store
from rag.store.index import VersionWriter

#: Sizes: a first version below the threshold, a second that crosses it (IVF128).
THRESHOLD = 3_000
FIRST, SECOND, THIRD = 2_400, 1_600, 300
IVF = "IVF128,SQ8"


@pytest.fixture(scope="module")
def centers() -> np.ndarray:
    return topic_centers()


def test_helpers() -> None:
    """nlist grows with the square root of the size; descriptions are factory strings."""
    assert vector_store.nlist_for(20_000) == 256
    assert vector_store.nlist_for(1_000_000) == 2048
    assert vector_store.nlist_for(0) == 16
    flat = vector_store.new_exact(DIM)
    assert vector_store.describe(flat) == vector_store.EXACT_TYPE == "IDMap2,Flat"
    assert not vector_store.is_approximate(flat)
    assert vector_store.fit(flat, IndexSettings(ann_threshold=100)) is flat  # empty: exact
    assert vector_store.memory_bytes(flat) == 0


def test_switch_remove_add_recall_roundtrip(tmp_path: Path, centers: np.ndarray) -> None:
    """Exact below the threshold; IVF above it; removal, adds, recall, reload all work."""
    ann = IndexSettings(ann_threshold=THRESHOLD, ann_nprobe=48)
    first = clustered(FIRST, 1, centers)

    writer = VersionWriter(tmp_path, None, DIM, ann)
    add_docs(writer, first, 0, "a")
    publish(writer, FIRST)
    index = load(tmp_path)
    assert index.manifest.faiss_type == "IDMap2,Flat"
    assert not vector_store.is_approximate(index.vectors)
    threads = faiss.omp_get_max_threads()
    _, top = index.vectors.search(first[:1], 1)  # single query: one thread, then restored
    assert top[0, 0] == 0 and faiss.omp_get_max_threads() == threads

    # Crossing the threshold at publish time converts to IVF; removal works before it.
    second = clustered(SECOND, 2, centers)
    writer = VersionWriter(tmp_path, index, DIM, ann)
    assert writer.remove_doc("a0") == 10
    add_docs(writer, second, FIRST, "b")
    publish(writer, FIRST + SECOND)
    index.close()
    index = load(tmp_path)
    assert index.manifest.faiss_type == IVF == f"IVF{vector_store.nlist_for(3_990)},SQ8"
    assert isinstance(index.vectors, vector_store.SearchIndex)
    assert index.vectors.ntotal == index.size == FIRST + SECOND - 10
    assert faiss.extract_index_ivf(index.vectors.raw).nprobe == 48

    ids = np.arange(10, FIRST + SECOND, dtype=np.int64)
    vectors = np.concatenate([first[10:], second])
    # Reconstruction by chunk id (retrieval's diversify and keyword-only hits need it).
    rec = index.vectors.reconstruct_batch(ids[:500])
    assert float(np.min(np.sum(rec * vectors[:500], axis=1))) > 0.99
    assert np.allclose(index.vectors.reconstruct(int(ids[7])), rec[7])
    all_ids, all_vecs = vector_store.all_vectors(index.vectors.raw)
    assert np.array_equal(all_ids, ids) and all_vecs.shape == (len(ids), DIM)

    queries = clustered(200, 3, centers)
    _, found = index.vectors.search(queries, 10)
    truth = exact_top(vectors, ids, queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95, recall

    # Removal and adds on the approximate index.
    writer = VersionWriter(tmp_path, index, DIM, ann)
    assert writer.remove_doc("b0") == 10
    third = clustered(THIRD, 4, centers)
    add_docs(writer, third, FIRST + SECOND, "c")
    publish(writer, FIRST + SECOND + THIRD)
    index.close()
    index = load(tmp_path)
    assert index.manifest.faiss_type == IVF
    assert index.vectors.ntotal == index.size == FIRST + SECOND + THIRD - 20
    _, top = index.vectors.search(third[:50], 1)
    assert np.mean(top[:, 0] == np.arange(FIRST + SECOND, FIRST + SECOND + 50)) >= 0.95
    _, top = index.vectors.search(second[:10], 20)
    assert not set(top.ravel()) & set(range(FIRST, FIRST + 10))  # removed article b0
    with pytest.raises(RuntimeError):
        index.vectors.reconstruct(FIRST)

    # The file round-trips: same type, same results.
    path = tmp_path / "copy.faiss"
    faiss.write_index(index.vectors.raw, str(path))
    again = vector_store.open_for_search(path)
    assert vector_store.describe(again) == IVF
    assert np.array_equal(again.search(queries, 10)[1], index.vectors.search(queries, 10)[1])
    index.close()


@pytest.mark.parametrize("approximate", [False, True])
def test_search_filtered_by_allowed_ids(tmp_path: Path, centers: np.ndarray,
                                        approximate: bool) -> None:
    """``search(x, k, allowed=ids)`` returns only allowed chunk ids, also on IVF (which
    rejects FAISS's generic parameters) with a narrow filter and a small ``nprobe``."""
    ann = IndexSettings(ann_threshold=2_500 if approximate else 100_000, ann_nprobe=2)
    vectors = clustered(3_000, 5, centers)
    writer = VersionWriter(tmp_path, None, DIM, ann)
    add_docs(writer, vectors, 0, "d")
    publish(writer, 3_000)
    index = load(tmp_path)
    assert vector_store.is_approximate(index.vectors) is approximate

    allowed = np.arange(1_500, 1_530, dtype=np.int64)  # a narrow filter: 3 articles
    scores, found = index.vectors.search(vectors[:3], 20, allowed=allowed)
    assert found.shape == (3, 20) and set(found.ravel()) <= set(allowed)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    _, found = index.vectors.search(vectors[1_505:1_506], 1, allowed=allowed)
    assert found[0, 0] == 1_505
    _, unfiltered = index.vectors.search(vectors[:1], 5)
    assert unfiltered[0, 0] == 0
    index.close()
