"""German forms of English country, language and city names (rag.text.names, CLDR)."""

from __future__ import annotations

import pytest

from rag.text.names import german_forms, load
from rag.text.terms import tokenize


@pytest.mark.parametrize(("english", "german"), [
    ("Switzerland", "Schweiz"), ("Germany", "Deutschland"), ("Tokyo", "Tokio"),
    ("Moscow", "Moskau"), ("Vienna", "Wien"), ("French", "Französisch"), ("Russia", "Russland"),
])
def test_german_forms(english: str, german: str) -> None:
    (term,), (form,) = tokenize(english), tokenize(german)
    assert form in german_forms(term)


def test_words_without_a_translation_have_none() -> None:
    assert german_forms(tokenize("Lukashenko")[0]) == frozenset()
    assert german_forms("") == frozenset()


def test_load_reads_the_names_once() -> None:
    """The web app reads the table at startup, so that no question reads a file."""
    assert load() > 500 and load() == load()
