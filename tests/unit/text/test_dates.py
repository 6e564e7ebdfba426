"""Time periods named in questions."""

from __future__ import annotations

import pytest

from rag.text.dates import in_period, mentioned_periods


@pytest.mark.parametrize("text, periods", [
    ("Wer gewann im Januar 2006 das Finale?", ["2006-01"]),
    ("Who was arrested in July 2008?", ["2008-07"]),
    ("Who won the first medal at the Olympics in 2012?", ["2012"]),
    ("Was geschah im März 2020 und im Mai 2021?", ["2020-03", "2021-05"]),
    ("How many points did they score?", []),
    ("Wie viele der 1500 Soldaten kamen zurück?", []),
])
def test_mentioned_periods(text, periods):
    assert mentioned_periods(text) == periods


def test_in_period():
    assert in_period("2006-01-12", ["2006-01"])
    assert in_period("2006-01", ["2006"])
    assert in_period("2006", ["2006-01"])  # an article dated by year only may match
    assert not in_period("2007-01-01", ["2006-01"])
    assert not in_period(None, ["2006"])
