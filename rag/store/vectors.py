"""The FAISS vector index: exact while small, approximate (IVF) from a size threshold on.

Below ``IndexSettings.ann_threshold`` chunks the index is exact: ``IDMap2,Flat``, inner
product over normalised vectors. When a version is published with at least that many
chunks, :func:`fit` converts it to an inverted-file index with 8-bit scalar quantisation
(``IVF<nlist>,SQ8``, chosen by measurement, see ``bench/README.md``):

* memory: 384 dims x 1 byte per vector (a quarter of Flat) plus ids and an id hash table;
* removal (``remove_ids``) and incremental adds (``add_with_ids``) keep working;
* ``reconstruct``/``reconstruct_batch`` by chunk id work through a hash-table direct map;
* ``nprobe`` (lists searched per query) is stored in the index file.

An approximate index stays approximate (its exact vectors are gone); it is re-trained
when it has grown well past what its number of lists was chosen for. A full rebuild
starts exact again and converts from the exact vectors.

:func:`open_for_search` wraps a loaded index in :class:`SearchIndex`: single questions
are searched on one OpenMP thread, and IVF accepts FAISS's generic ``SearchParameters``
(an ``IDSelector`` filter; IVF itself rejects them, and ``SearchParametersIVF()``'s
defaults would search one list), widening ``nprobe`` until a filtered search has found
enough results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..settings import IndexSettings

__all__ = [
    "EXACT_TYPE",
    "FEW_QUERIES",
    "SearchIndex",
    "all_vectors",
    "build_approximate",
    "describe",
    "fit",
    "is_approximate",
    "memory_bytes",
    "new_exact",
    "nlist_for",
    "open_for_search",
    "read",
]

#: ``Manifest.faiss_type`` of the exact index.
EXACT_TYPE = "IDMap2,Flat"
#: Re-train an IVF index when :func:`nlist_for` its size exceeds its nlist this many times.
_RETRAIN_FACTOR = 4


def new_exact(dim: int) -> faiss.Index:
    """An empty exact inner-product index with explicit 64-bit IDs."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest ``2 * sqrt(n)`` (>= 16)."""
    return max(16, 2 ** round(math.log2(2 * math.sqrt(max(n, 1)))))


def _ivf(index: Any) -> faiss.IndexIVF | None:
    index = getattr(index, "raw", index)
    try:
        return faiss.downcast_index(faiss.extract_index_ivf(index))
    except RuntimeError:
        return None


def is_approximate(index: Any) -> bool:
    """True for an IVF index (raw or wrapped by :class:`SearchIndex`)."""
    return _ivf(index) is not None


def describe(index: Any) -> str:
    """The FAISS factory string of ``index`` (``IDMap2,Flat``, ``IVF2048,SQ8``, ...)."""
    ivf = _ivf(index)
    if ivf is None:
        return EXACT_TYPE
    if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
        names = {
            faiss.ScalarQuantizer.QT_8bit: "SQ8",
            faiss.ScalarQuantizer.QT_fp16: "SQfp16",
            faiss.ScalarQuantizer.QT_bf16: "SQbf16",
            faiss.ScalarQuantizer.QT_4bit: "SQ4",
            faiss.ScalarQuantizer.QT_6bit: "SQ6",
            faiss.ScalarQuantizer.QT_8bit_direct: "SQ8_direct",
        }
        codec = names.get(ivf.sq.qtype, f"SQtype{ivf.sq.qtype}")
    elif isinstance(ivf, faiss.IndexIVFPQ):
        codec = f"PQ{ivf.pq.M}x{ivf.pq.nbits}"
    elif isinstance(ivf, faiss.IndexIVFFlat):
        codec = "Flat"
    else:
        codec = type(ivf).__name__
    return f"IVF{ivf.nlist},{codec}"


def memory_bytes(index: Any) -> int:
    """Bytes of vectors and ids held by ``index``: what serialising it writes (for IVF,
    the id hash table adds about 40 bytes per vector in memory on top)."""
    ivf = _ivf(index)
    if ivf is None:  # IDMap2,Flat: float32 vectors and int64 ids (no serialised copy)
        return int(index.ntotal * (index.d * 4 + 8))
    return int(faiss.serialize_index(getattr(index, "raw", index)).nbytes)


def all_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vectors)`` of every vector in ``index`` (decoded: approximate for IVF)."""
    ivf = _ivf(index)
    if ivf is None:
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        vectors = index.index.reconstruct_n(0, index.ntotal)
        return ids, np.ascontiguousarray(vectors, dtype=np.float32)
    lists = ivf.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(ivf.nlist)
        if lists.list_size(i)
    ]
    ids = np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
    ids.sort()
    vectors = ivf.reconstruct_batch(ids) if len(ids) else np.empty((0, ivf.d), np.float32)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


def build_approximate(
    vectors: np.ndarray, ids: np.ndarray, config: IndexSettings, nlist: int | None = None
) -> faiss.IndexIVF:
    """Train an ``IVF<nlist>,<codec>`` index on a sample of ``vectors`` and add them all."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    nlist = nlist or nlist_for(n)
    index = faiss.index_factory(dim, f"IVF{nlist},{config.ann_codec}", faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    sample = min(n, nlist * config.ann_train_per_list)
    rng = np.random.default_rng(config.ann_seed)
    train = vectors if sample >= n else vectors[np.sort(rng.choice(n, sample, replace=False))]
    ivf.cp.seed = config.ann_seed
    ivf.cp.min_points_per_centroid = min(ivf.cp.min_points_per_centroid, config.ann_train_per_list)
    index.train(train)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    ivf.nprobe = min(config.ann_nprobe, nlist)
    step = 65_536
    for start in range(0, n, step):
        index.add_with_ids(vectors[start : start + step],
                           np.ascontiguousarray(ids[start : start + step], dtype=np.int64))
    return index


def fit(index: faiss.Index, config: IndexSettings) -> faiss.Index:
    """The index to publish for the vectors in ``index``.

    Exact and below the threshold: unchanged. Exact at or above it: converted to IVF.
    IVF that has outgrown its lists (``nlist_for(n) > 4 * nlist``): re-trained. IVF
    otherwise: unchanged, with ``nprobe`` set from ``config``.
    """
    n = index.ntotal
    ivf = _ivf(index)
    if ivf is None:
        if n < max(config.ann_threshold, 1):
            return index
        ids, vectors = all_vectors(index)
        return build_approximate(vectors, ids, config)
    if nlist_for(n) > _RETRAIN_FACTOR * ivf.nlist:
        ids, vectors = all_vectors(ivf)
        return build_approximate(vectors, ids, config)
    ivf.nprobe = min(config.ann_nprobe, ivf.nlist)
    return index


def read(path: Path | str) -> faiss.Index:
    """Read an index file for modification (remove/add), as FAISS stored it."""
    return faiss.read_index(str(path))


#: Searches with at most this many queries run on one OpenMP thread (see SearchIndex).
FEW_QUERIES = 8


class SearchIndex:
    """A loaded index as :mod:`rag.retrieve` uses it: ``search``, ``reconstruct``, ...

    * Single questions are searched on one OpenMP thread (the calling thread's setting,
      restored afterwards): on a 2-core machine the query embedding's torch threads
      still hold the other core right after encoding, and a 2-thread FAISS search then
      waits for it (measured at 100k chunks: 13.5 ms instead of 5.1 ms, see
      ``bench/README.md``). Batches of more than :data:`FEW_QUERIES` use all threads.
    * ``search(x, k, allowed=ids)`` filters by chunk id, also on IVF (which rejects
      FAISS's generic parameters): a filtered search starts at the index's ``nprobe``
      and widens it (x4 per round, up to all lists) until every query has ``k``
      results, so narrow filters are answered from all matching vectors.

    Every other attribute is the index's own (``ntotal``, ``d``, ``reconstruct``,
    ``reconstruct_batch``, ...); :attr:`raw` is the FAISS index itself.
    """

    def __init__(self, index: faiss.Index) -> None:
        self.raw = index
        self._ivf = _ivf(index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def search(
        self, x: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) per row of ``x``; ``allowed`` (chunk ids) filters."""
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        few = len(x) <= FEW_QUERIES
        threads = faiss.omp_get_max_threads()
        if few:
            faiss.omp_set_num_threads(1)
        try:
            if params is None or self._ivf is None:
                return self.raw.search(x, k, params=params)
            nlist = self._ivf.nlist
            nprobe = max(1, min(self._ivf.nprobe, nlist))
            while True:
                ivf_params = faiss.SearchParametersIVF(sel=params.sel, nprobe=nprobe)
                scores, ids = self.raw.search(x, k, params=ivf_params)
                if nprobe >= nlist or (ids >= 0).sum(axis=1).min() >= k:
                    return scores, ids
                nprobe = min(nlist, nprobe * 4)
        finally:
            if few:
                faiss.omp_set_num_threads(threads)


def open_for_search(path: Path | str) -> SearchIndex:
    """Read an index file for searching (wrapped: see :class:`SearchIndex`)."""
    return SearchIndex(read(path))
