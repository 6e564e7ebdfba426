"""The conversation as messages: validation, turns, the context kept of an answer."""

from __future__ import annotations

import pytest

from rag.chat import Turn, answer_context, parse_history
from rag.errors import QuestionError


def test_no_history_is_no_turns():
    assert parse_history(None, 10) == []
    assert parse_history([], 10) == []


def test_messages_become_turns_in_order():
    history = [
        {"role": "user", "content": "Wer gewann das Rennen?"},
        {"role": "assistant", "content": "Die Läuferin Anna Berg gewann. [1]"},
        {"role": "user", "content": "  Und  wann? "},
    ]
    assert parse_history(history, 10) == [
        Turn("Wer gewann das Rennen?", "Die Läuferin Anna Berg gewann."),
        Turn("Und wann?", ""),
    ]


def test_unanswered_question_and_leading_assistant_message():
    history = [
        {"role": "assistant", "content": "Willkommen!"},
        {"role": "user", "content": "Erste Frage?"},
        {"role": "user", "content": "Zweite Frage?", "metadata": {"x": 1}},
    ]
    assert parse_history(history, 10) == [Turn("Erste Frage?"), Turn("Zweite Frage?")]


def test_multimodal_text_parts_are_joined():
    history = [{"role": "user", "content": [{"type": "text", "text": "Wo liegt"},
                                            {"type": "text", "text": "Minsk?"}]}]
    assert parse_history(history, 10) == [Turn("Wo liegt Minsk?")]


@pytest.mark.parametrize(
    ("history", "needle"),
    [
        ("Wer?", "must be a list"),
        ([{"role": "system", "content": "x"}], "'role'"),
        ([{"role": "user", "content": 3}], "'content' must be text"),
        (["Wer?"], "history[0] must be a message"),
        ([{"role": "user", "content": "a"}] * 11, "at most 10"),
    ],
)
def test_malformed_history_is_a_question_error(history, needle):
    with pytest.raises(QuestionError, match=None) as info:
        parse_history(history, 10)
    assert needle in str(info.value)


def test_answer_context_drops_markup_and_citations():
    rendered = ("Verstanden als: Und dann? (Bezug: Wer?)\n\nDie Stadt hat 12\\.000 "
                "Einwohner \\[1\\]\\.\n\n_Zitiert:_ \\[1\\] Bericht")
    assert answer_context(rendered) == "Die Stadt hat 12.000 Einwohner . Zitiert: Bericht"
    assert answer_context("Im Mai 1999. [1]\n\n(Zeitraum: 1999)") == "Im Mai 1999."


def test_not_found_answer_gives_no_context():
    assert answer_context("Dazu habe ich im Korpus nichts gefunden.") == ""
    assert answer_context("I could not find this in the corpus.") == ""
