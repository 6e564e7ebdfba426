"""Synthetic index versions for store and retrieval tests: clustered unit vectors written
with the real :class:`rag.store.index.VersionWriter` (no model, no corpus)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from rag.store.folder import current_version, read_manifest
from rag.store.index import Index, VersionWriter
from rag.store.manifest import Manifest

DIM = 64
WORDS = ["Berlin", "Regierung", "Wahl", "Energie", "Bahn", "Klima", "Schule", "Markt"]


def topic_centers(n: int = 300, seed: int = 0) -> np.ndarray:
    """Topic centres shared by corpus and queries."""
    c = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    faiss.normalize_L2(c)
    return c


def clustered(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """Unit vectors scattered around ``centers`` (embeddings are clustered by topic)."""
    rng = np.random.default_rng(seed)
    x = centers[rng.integers(0, len(centers), n)] + 0.06 * rng.standard_normal((n, DIM))
    x = x.astype(np.float32)
    faiss.normalize_L2(x)
    return x


def add_docs(writer: VersionWriter, vectors: np.ndarray, first_id: int, doc_prefix: str,
             per_doc: int = 10) -> None:
    """Add ``vectors`` as chunks of ``per_doc``-chunk articles ``<doc_prefix><n>``; each
    chunk is one sentence whose vector is the chunk's."""
    rows = []
    for k in range(len(vectors)):
        i = first_id + k
        doc = f"{doc_prefix}{k // per_doc}"
        text = f"{WORDS[i % len(WORDS)]} Meldung {i} aus {doc}."
        rows.append((i, f"{doc}#{k % per_doc}", doc, text, 0, len(text), [[0, len(text)]],
                     vectors[k : k + 1]))
    writer.add_chunks(rows, vectors)


def publish(writer: VersionWriter, next_id: int, files: dict[str, str] | None = None) -> Path:
    """Publish with a minimal manifest."""
    manifest = Manifest(model={"name": "synthetic", "dim": DIM}, chunking={},
                        files=files or {}, counts={}, next_id=next_id)
    return writer.publish(manifest)


def load(index_dir: Path) -> Index:
    """The current version."""
    return Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` ids by inner product."""
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1)[:, :k]]
