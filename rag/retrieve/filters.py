"""Filters on what may be retrieved: a date range and a set of articles, as index rows.

Per loaded index the articles' date ranges and the article of every row are kept as
arrays (built on first use), so that a filter costs a few vector operations, not a pass
over every article in Python (at 1M chunks / 374k articles ~1 ms instead of ~1 s per
question that names a time; bench/README.md, section 14).
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np

from ..store.index import Index
from ..types import StoredChunk


def date_bounds(value: str | None) -> tuple[str, str] | None:
    """A (possibly partial) ISO date as the inclusive range it stands for."""
    if not value:
        return None
    parts = value.split("-")
    lo = "-".join(parts + ["01"] * (3 - len(parts)))
    hi = "-".join(parts + ["12", "31"][len(parts) - 1 :]) if len(parts) < 3 else value
    return lo, hi


@dataclass(frozen=True)
class _Articles:
    """The articles of one index as arrays: code by doc id (and doc id by code), date
    range per code ("" when undated) and the code of every row."""

    codes: dict[str, int]
    doc_ids: list[str]
    lo: np.ndarray
    hi: np.ndarray
    dated: np.ndarray
    row_codes: np.ndarray


_TABLES: WeakKeyDictionary[Index, _Articles] = WeakKeyDictionary()


def _articles(index: Index) -> _Articles:
    table = _TABLES.get(index)
    if table is None:
        doc_ids = list(index.docs)
        codes = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        bounds = [date_bounds(meta.date) for meta in index.docs.values()]
        table = _Articles(
            codes,
            doc_ids,
            np.array([b[0] if b else "" for b in bounds], dtype=str),
            np.array([b[1] if b else "" for b in bounds], dtype=str),
            np.array([b is not None for b in bounds], dtype=bool),
            np.fromiter((codes[d] for d in index.row_docs), dtype=np.int64,
                        count=len(index.row_docs)),
        )
        _TABLES[index] = table
    return table


def allowed_rows(
    index: Index, lo: str | None, hi: str | None, doc_ids: list[str] | None
) -> np.ndarray | None:
    """Index rows of articles dated within [lo, hi] (partial ISO dates) and among
    ``doc_ids``; ``None`` when nothing is filtered. Undated articles fail a date filter."""
    if lo is None and hi is None and not doc_ids:
        return None
    table = _articles(index)
    if doc_ids:
        ok = np.zeros(len(table.codes), dtype=bool)
        ok[[table.codes[d] for d in doc_ids if d in table.codes]] = True
    else:
        ok = np.ones(len(table.codes), dtype=bool)
    lo_b, hi_b = date_bounds(lo), date_bounds(hi)
    if lo_b or hi_b:
        ok &= table.dated
        if lo_b:
            ok &= table.hi >= lo_b[0]
        if hi_b:
            ok &= table.lo <= hi_b[1]
    return np.flatnonzero(ok[table.row_codes]).astype(np.int64)


def article_chunks(index: Index, doc_ids: list[str]) -> list[StoredChunk]:
    """Every passage of the articles ``doc_ids``."""
    rows = allowed_rows(index, None, None, doc_ids)
    if rows is None:
        return []
    return list(index.chunks([int(i) for i in index.row_ids[rows]]).values())


def articles_naming(index: Index, forms: list[list[str]],
                    allowed: np.ndarray | None = None) -> dict[str, int]:
    """The articles (among the rows ``allowed``; ``None``: all) that name every term of a
    topic, each term in any of its ``forms`` (stemmed index terms), as {doc id: the id of
    its chunk with the highest keyword score for them}: all of them, found in the keyword
    index, not only those a search returns."""
    keywords = index.keywords
    table = _articles(index)
    keep = None
    if allowed is not None:
        keep = np.zeros(len(table.row_codes), dtype=bool)
        keep[allowed] = True
    scores: dict[int, float] = {}  # chunk id -> keyword score for the topic
    docs: dict[int, int] = {}  # chunk id -> article code
    codes: set[int] | None = None
    for alike in forms:
        naming: set[int] = set()
        for form in alike:
            chunks = keywords.doc_freq(form)  # every chunk that has it
            if not chunks:
                continue
            ids, found = keywords.search([form], chunks)
            rows = index.rows_of(ids)
            for chunk_id, row, score in zip(ids.tolist(), rows.tolist(), found.tolist()):
                if keep is None or keep[row]:
                    docs[chunk_id] = code = int(table.row_codes[row])
                    scores[chunk_id] = scores.get(chunk_id, 0.0) + score
                    naming.add(code)
        codes = naming if codes is None else codes & naming
    best: dict[int, int] = {}
    for chunk_id, code in docs.items():
        if code in (codes or ()) and (code not in best
                                      or scores[chunk_id] > scores[best[code]]):
            best[code] = chunk_id
    return {table.doc_ids[code]: chunk_id for code, chunk_id in best.items()}
