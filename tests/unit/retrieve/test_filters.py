"""Filters on what may be retrieved (rag.retrieve.filters): partial ISO dates as ranges,
articles by date range and by id, as index rows of the fake-embedder seed index."""

from __future__ import annotations

import pytest
from shared_data import BRUDERHILFE, KREMLIN, MINSK_VISIT, PRIGOSCHIN, SEWASTOPOL

from rag.retrieve import allowed_rows, date_bounds


@pytest.mark.parametrize(("value", "bounds"), [
    ("2022", ("2022-01-01", "2022-12-31")),
    ("2022-12", ("2022-12-01", "2022-12-31")),
    ("2022-12-19", ("2022-12-19", "2022-12-19")),
    ("", None),
    (None, None),
])
def test_date_bounds(value, bounds) -> None:
    assert date_bounds(value) == bounds


def _docs(index, rows) -> set[str]:
    return {index.row_docs[r] for r in rows}


def test_no_filter_is_none(shared_fake_pipeline) -> None:
    assert allowed_rows(shared_fake_pipeline.index, None, None, None) is None
    assert allowed_rows(shared_fake_pipeline.index, None, None, []) is None


@pytest.mark.parametrize(("lo", "hi", "docs"), [
    ("2022", "2023-12", {MINSK_VISIT, PRIGOSCHIN}),
    ("2021-11", None, {SEWASTOPOL, MINSK_VISIT, PRIGOSCHIN}),  # a month counts whole
    (None, "2021-11-01", {BRUDERHILFE, SEWASTOPOL}),  # 2021-11 overlaps the day
    ("2020-08-31", "2020-08-31", {BRUDERHILFE}),
    ("2024", None, set()),
])
def test_date_range(shared_fake_pipeline, lo, hi, docs) -> None:
    """Articles dated within the range; undated articles fail every date filter."""
    index = shared_fake_pipeline.index
    rows = allowed_rows(index, lo, hi, None)
    assert _docs(index, rows) == docs and KREMLIN not in _docs(index, rows)
    assert sorted(rows.tolist()) == [r for r, d in enumerate(index.row_docs) if d in docs]


def test_article_filter(shared_fake_pipeline) -> None:
    index = shared_fake_pipeline.index
    rows = allowed_rows(index, None, None, [SEWASTOPOL, "unknown.txt"])
    assert _docs(index, rows) == {SEWASTOPOL}
    assert allowed_rows(index, None, None, ["unknown.txt"]).size == 0
    both = allowed_rows(index, "2022", None, [SEWASTOPOL, MINSK_VISIT])
    assert _docs(index, both) == {MINSK_VISIT}
