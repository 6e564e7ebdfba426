"""German terms for keyword search (rag.text.terms) and the question language
(rag.text.language)."""

from __future__ import annotations

import pytest

from rag.text.language import detect_language
from rag.text.terms import (
    acronyms,
    anchor_terms,
    compound_terms,
    normalize_numbers,
    nouns,
    tokenize,
)


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
    # German names in English questions, English names in German ones: the small words decide
    ("What did Flückiger write about the prisoners in Minsk?", "en"),
    ("When was Paul Flückiger's report about Lukashenko published?", "en"),
    ("Where was Jürgen Müller born?", "en"),
    ("Wer ist der General Manager der Broncos?", "de"),
    ("Was ist Internet Explorer?", "de"),
    # short German questions share their words with English: German unless English is
    # clearly more likely
    ("Was plant Putin in Belarus?", "de"),
    ("Was war los?", "de"),
    ("Who is Putin?", "en"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
    assert detect_language("?!", default="en") == "en"


def test_nouns_are_the_capitalised_words_after_the_first() -> None:
    assert nouns("Wie stark waren die heftigsten Böen über Spanien?") == {
        "boen": "böen", "spani": "spanien"}
    assert nouns("Wer war es?") == {}


def test_acronyms_are_words_in_capitals() -> None:
    assert acronyms("Wie reagierte die GEW auf den Plan der EU?") == {"gew": "gew", "eu": "eu"}
    assert acronyms("Wie reagierte die Gewerkschaft?") == {}


@pytest.mark.parametrize(("question", "text", "found"), [
    ("Wie stark waren die Böen?", "Die Orkanböen erreichten 200 km/h.", {"boen"}),
    ("Wie viele Soldaten hat das Heer?", "Es hat 62'000 Berufssoldaten.", {"soldat"}),
    ("Wie viele Berufssoldaten gibt es?", "Es gibt 62'000 Soldaten.", {"berufssoldat"}),
    ("Was war die Ursache?", "Die Einsturzursache war ein falscher Leim.", {"ursach"}),
    # the same word (a stem match already counts it) or no shared head
    ("Wie stark waren die Böen?", "Die Böen erreichten 200 km/h.", set()),
    ("Wie stark waren die Böen?", "Der Orkan erreichte 200 km/h.", set()),
])
def test_compound_terms_match_a_noun_and_its_compound(question, text, found) -> None:
    """German compounds end with their head noun, whose stem differs from the compound's
    ("orkanbo" vs "boen"): the noun of a question is found as the head of a compound."""
    assert compound_terms(nouns(question), text) == found
