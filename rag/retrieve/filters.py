"""Filters on what may be retrieved: a date range and a set of articles, as index rows."""

from __future__ import annotations

import numpy as np

from ..store.index import Index


def date_bounds(value: str | None) -> tuple[str, str] | None:
    """A (possibly partial) ISO date as the inclusive range it stands for."""
    if not value:
        return None
    parts = value.split("-")
    lo = "-".join(parts + ["01"] * (3 - len(parts)))
    hi = "-".join(parts + ["12", "31"][len(parts) - 1 :]) if len(parts) < 3 else value
    return lo, hi


def allowed_rows(
    index: Index, lo: str | None, hi: str | None, doc_ids: list[str] | None
) -> np.ndarray | None:
    """Index rows of articles dated within [lo, hi] (partial ISO dates) and among
    ``doc_ids``; ``None`` when nothing is filtered. Undated articles fail a date filter."""
    if lo is None and hi is None and not doc_ids:
        return None
    wanted = set(doc_ids or index.docs)
    lo_b, hi_b = date_bounds(lo), date_bounds(hi)
    ok_docs = set()
    for doc_id in wanted & index.docs.keys():
        bounds = date_bounds(index.docs[doc_id].date)
        if lo_b or hi_b:
            if bounds is None:
                continue
            if lo_b and bounds[1] < lo_b[0]:
                continue
            if hi_b and bounds[0] > hi_b[1]:
                continue
        ok_docs.add(doc_id)
    return np.fromiter(
        (r for r, d in enumerate(index.row_docs) if d in ok_docs), dtype=np.int64
    )
