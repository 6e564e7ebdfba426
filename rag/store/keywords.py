"""Keyword search (BM25 over Snowball-stemmed German terms, :mod:`rag.text.terms`).

Two stores, chosen by ``IndexSettings.keyword_backend`` and recorded in the manifest
(``auto``, the default: bm25s up to ``keyword_auto_chunks`` chunks, tantivy from there;
see :func:`resolve_backend`):

``tantivy``
    A tantivy index (Rust search engine, :mod:`rag.store.keywords_tantivy`): immutable
    segments, deletes as tombstones, background merges. An update that adds or removes
    an article writes one small segment on top of hard links to the previous version's
    segments; search visits only the postings of the query terms (block-max WAND).
``bm25s``
    A bm25s sparse score matrix (:class:`Bm25sKeywords`), rebuilt from every chunk text
    on each update; scores every document per query.

Both index the same terms (:func:`rag.text.terms.tokenize`) with BM25 (k1 1.2, b 0.75)
and are keyed by chunk id. Measured in ``bench/keywords.py`` (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np

from ..errors import SettingsError
from ..text.terms import tokenize

BACKENDS = ("tantivy", "bm25s")
#: Sub-folder of a version folder per backend.
FOLDERS = {"tantivy": "keywords", "bm25s": "bm25"}
_EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))

#: (chunk id, doc id, text) of every chunk, in id order.
AllChunks = Callable[[], Iterable[tuple[int, str, str]]]


def check_backend(name: str) -> str:
    """``name`` if it is a known keyword backend or ``auto``, else a
    :class:`SettingsError`."""
    if name != "auto" and name not in BACKENDS:
        raise SettingsError(
            f"Unknown keyword backend {name!r} (RAG_KEYWORD_BACKEND): use auto or one of "
            f"{', '.join(BACKENDS)}."
        )
    return name


def resolve_backend(name: str, chunks: int, auto_chunks: int) -> str:
    """The backend for a version of ``chunks`` chunks: ``name``, or for ``auto`` bm25s
    below ``auto_chunks`` chunks and tantivy from there (bm25s scores every chunk per
    query and is rebuilt on every update: at 1M chunks ~170 ms per query and a 5 GB
    rebuild; tantivy ~1 ms and an update of the changed articles only)."""
    if check_backend(name) != "auto":
        return name
    return "tantivy" if chunks >= auto_chunks else "bm25s"


class KeywordStore(Protocol):
    """A loaded, read-only keyword index keyed by chunk id."""

    size: int

    def search(
        self, terms: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (chunk ids, scores > 0) for ``terms``, only among ``allowed`` ids."""

    def known(self, term: str) -> bool:
        """Whether ``term`` occurs in the index."""

    def doc_freq(self, term: str) -> int:
        """Number of chunks that contain ``term``."""

    def similar_pool(self, term: str) -> Sequence[str]:
        """Indexed terms to look for corrections of the unknown ``term`` among (the
        typo correction of :mod:`rag.retrieve.spelling` ranks them by edit distance)."""

    def close(self) -> None:
        """Release files."""


#: Terms offered for typo correction have at least this many letters and no digits.
POOL_MIN_LENGTH = 4


def pool_term(term: str) -> bool:
    """Whether an indexed term may be offered as a typo correction."""
    return len(term) >= POOL_MIN_LENGTH and not any(c.isdigit() for c in term)


class KeywordWriter(Protocol):
    """Writes the keyword index of a new version (see :func:`open_writer`)."""

    def remove_doc(self, doc_id: str) -> None:
        """Remove an article's chunks."""

    def add(self, rows: list[tuple[int, str, str]]) -> None:
        """Add chunks as (chunk id, doc id, text)."""

    def finish(self, all_chunks: AllChunks) -> int:
        """Write everything to disk; returns the number of indexed chunks."""

    def abort(self) -> None:
        """Stop without finishing (the caller removes the folder)."""


def open_store(folder: Path, backend: str, ids: np.ndarray) -> KeywordStore:
    """Open the keyword index of a version folder (``ids``: its chunk ids ascending)."""
    check_backend(backend)
    if backend == "tantivy":
        from .keywords_tantivy import TantivyKeywords

        return TantivyKeywords.open(folder / FOLDERS[backend])
    return Bm25sKeywords.load(folder / FOLDERS[backend], ids)


def open_writer(
    folder: Path, backend: str, base_folder: Path | None, *, heap_bytes: int = 100_000_000
) -> KeywordWriter:
    """A writer into version folder ``folder``.

    ``base_folder``: the previous version's folder when it holds a keyword index of the
    same backend (an incremental update starts from it); ``None`` starts empty.
    """
    check_backend(backend)
    if backend == "tantivy":
        from .keywords_tantivy import TantivyWriter

        base = base_folder / FOLDERS[backend] if base_folder is not None else None
        return TantivyWriter(folder / FOLDERS[backend], base, heap_bytes=heap_bytes)
    return Bm25sWriter(folder / FOLDERS[backend])


class Bm25sKeywords:
    """bm25s index whose row i is the i-th chunk by id (rebuilt on every update)."""

    def __init__(self, bm25: bm25s.BM25, ids: np.ndarray) -> None:
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict or {}
        self.size = int(bm25.scores.get("num_docs", 0)) if bm25.scores else 0
        self._ids = np.asarray(ids, dtype=np.int64)

    @property
    def vocabulary(self) -> dict[str, int]:
        """The indexed terms (term -> term id); do not modify."""
        return self._vocab

    def known(self, term: str) -> bool:
        """Whether ``term`` occurs in the index."""
        return term in self._vocab

    def doc_freq(self, term: str) -> int:
        """Number of chunks that contain ``term`` (its column of the score matrix)."""
        column = self._vocab.get(term)
        if column is None or not self._bm25.scores:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    @cached_property
    def _pool(self) -> list[str]:
        return [t for t in self._vocab if pool_term(t)]

    def similar_pool(self, term: str) -> Sequence[str]:
        """The whole vocabulary (fit for correction), built once."""
        return self._pool

    @classmethod
    def build(cls, texts: list[str], ids: np.ndarray) -> Bm25sKeywords:
        """Index ``texts`` (``texts[i]`` is the chunk with id ``ids[i]``, ids ascending)."""
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus_tokens = [tokenize(t) or ["\x00"] for t in texts]
        bm25.index(corpus_tokens, show_progress=False)
        return cls(bm25, ids)

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, ids: np.ndarray) -> Bm25sKeywords:
        """Load an index written by :meth:`save`."""
        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0), ids)

    def search(
        self, terms: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (chunk ids, scores > 0) for ``terms``, only among ``allowed`` ids."""
        terms = [t for t in terms if t in self._vocab]
        if not terms or self.size == 0 or (allowed is not None and len(allowed) == 0):
            return _EMPTY
        k = min(k, self.size)
        weight_mask = None
        if allowed is not None:
            weight_mask = np.isin(self._ids, allowed).astype(np.float32)
        rows, scores = self._bm25.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, weight_mask=weight_mask
        )
        rows, scores = rows[0].astype(np.int64), scores[0].astype(np.float32)
        keep = scores > 0
        return self._ids[rows[keep]], scores[keep]

    def close(self) -> None:
        """Nothing to release (the index lives in memory)."""


class Bm25sWriter:
    """Builds a bm25s index from every chunk of the new version when it is finished."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def remove_doc(self, doc_id: str) -> None:
        """Nothing to do: :meth:`finish` indexes what the chunk store holds."""

    def add(self, rows: list[tuple[int, str, str]]) -> None:
        """Nothing to do: :meth:`finish` indexes what the chunk store holds."""

    def finish(self, all_chunks: AllChunks) -> int:
        """Index every chunk text (in id order) and save."""
        ids, texts = [], []
        for chunk_id, _doc, text in all_chunks():
            ids.append(chunk_id)
            texts.append(text)
        Bm25sKeywords.build(texts, np.asarray(ids, dtype=np.int64)).save(self._folder)
        return len(texts)

    def abort(self) -> None:
        """Nothing to release."""
