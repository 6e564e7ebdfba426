"""German forms of English country, language and city names, and the cities and regions a
question names (rag.text.names, CLDR)."""

from __future__ import annotations

import pytest

from rag.text.names import german_forms, load, named_places
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


@pytest.mark.parametrize(("question", "lang", "places"), [
    ("Another question: how many people live in Tokyo?", "en", [{"tokyo", "tokio"}]),
    ("Wie viele Einwohner hat Tokio?", "de", [{"tokyo", "tokio"}]),
    ("Was geschah in Berlin?", "de", [{"berlin"}]),  # a city CLDR names alike
    ("How many people died in West Africa?", "en", [{"africa", "afrika"}]),
    # a country also by its official languages: "chinesische", "weissrussischen"
    ("What is China's plan?", "en", [{"china", "chines"}]),  # stems
    ("Wie viele Gefangene gibt es in Belarus?", "de", [{"belarus", "belaruss", "russisch"}]),
    # the world is no place an article is about
    ("Who scored for Germany at the Women's World Cup?", "en", [{"germany", "deutschland"}]),
    ("Was ist der größte Hafen der Welt?", "de", []),
    ("Um wie viel Uhr UTC begann die Sitzung?", "de", []),  # a time zone, no city
    ("When did it start, in GMT?", "en", []),
    # not by a language official in many countries: "englische" names no Canada
    ("What is the capital of Canada?", "en", [{"canada", "kanada"}]),
    ("Wie groß ist Tokios Bevölkerung?", "de", [{"tokyo", "tokio"}]),
    ("Was sagte der Berliner Experte?", "de", [{"berlin"}]),
    ("Wovor hatten die Römer Angst?", "de", []),  # no "Rom", though stemmed alike
    ("Tokio hat wie viele Einwohner?", "de", []),  # the first word is no name
    ("Wer gewann in Bad Reichenhall?", "de", []),
])
def test_named_places(question: str, lang: str, places: list[set[str]]) -> None:
    assert [set(p) for p in named_places(question, lang)] == places
