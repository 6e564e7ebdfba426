"""People's names by first name (faker's first-name lists, the real data)."""

from __future__ import annotations

import pytest

from rag.text.persons import first_names, full_names, names_person


def test_first_names_of_many_languages() -> None:
    names = first_names()
    assert {"Marcelo", "Adriano", "Wladimir", "Gerhard", "Raed", "Ursula"} <= names
    assert not {"Lukaschenko", "Deutschland", "Richter"} & names


@pytest.mark.parametrize(("text", "pairs"), [
    ("Marcelo Ebrard, der Bürgermeister, teilte mit.", [("Marcelo", "Ebrard")]),
    ("durch seinen Fahrer Adriano De Souza belastet", [("Adriano", "De")]),
    ("Sie traf Ursula von der Leyen in Brüssel.", [("Ursula", "Leyen")]),
    ("Die Lage Berlins ist ernst.", []),  # "Lage" after an article is a noun
    ("Der Fahrer eines Kleinbusses wurde verletzt.", []),
])
def test_full_names(text: str, pairs: list[tuple[str, str]]) -> None:
    assert full_names(text) == pairs


def test_a_person_the_question_does_not_name() -> None:
    question = "Wie heißt der Chauffeur, der Phil Spector belastet?"
    assert names_person("Spector wird von Adriano De Souza belastet.", question)
    assert not names_person("Phil Spector wird belastet.", question)
    context = "Trainer Felix Magath hat es geschafft. Magath sagte, es sei gut."
    assert names_person("Magath sagte, es sei gut.", "Wie hieß der Trainer?", context)
    assert not names_person("Magath sagte, es sei gut.", "Wie hieß der Trainer?")
