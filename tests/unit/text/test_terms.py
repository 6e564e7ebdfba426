"""German terms for keyword search (rag.text.terms) and the question language
(rag.text.language)."""

from __future__ import annotations

import pytest

from rag.text.language import detect_language
from rag.text.terms import anchor_terms, normalize_numbers, tokenize


@pytest.mark.parametrize("text", ["62'000", "62’000", "62.000", "62 000", "62\u202f000",
                                  "62\u2009000", "62\u00a0000", "62000"])
def test_number_groups(text: str) -> None:
    assert normalize_numbers(f"Er hat {text} Soldaten") == "Er hat 62000 Soldaten"


def test_number_groups_keep_dates_and_decimals() -> None:
    assert normalize_numbers("am 19.12.2022, 3.5 Prozent, 1.234.567") == \
        "am 19.12.2022, 3.5 Prozent, 1234567"


def test_tokenize_stems_and_drops_stopwords() -> None:
    assert tokenize("Wie viele Soldaten hat die Armee?") == ["viel", "soldat", "arme"]
    assert tokenize("Die SOLDATEN wurden gezählt") == tokenize("der Soldat zählte")[:1] + [
        "gezahlt"]
    assert tokenize("a b 7 ß") == ["7", "ss"]
    assert tokenize("") == []


def test_anchor_terms_keep_names_and_numbers() -> None:
    assert anchor_terms("How many soldiers did Lukashenko have in 2022?") == [
        "lukashenko", "2022"]
    assert anchor_terms("Who won Super Bowl 50?") == ["sup", "bowl", "50"]
    assert anchor_terms("What did he bring?") == []


@pytest.mark.parametrize(("text", "lang"), [
    ("Wie nennt Lukaschenko Putin?", "de"),
    ("What does Lukashenko call Putin?", "en"),
    ("Wie viele Berufssoldaten hat die belarussische Armee?", "de"),
    ("How many professional soldiers does the Belarusian army have?", "en"),
    ("?!", "de"),
    ("12345", "de"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
    assert detect_language("?!", default="en") == "en"
