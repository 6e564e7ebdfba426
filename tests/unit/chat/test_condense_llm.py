"""Parsing and prompting of the LLM condensation of follow-up questions."""

from __future__ import annotations

from datetime import date

import pytest

from rag.chat.condense_llm import Condensed, condense_messages, parse_condensed
from rag.errors import LLMError

HISTORY = [{"role": "user", "content": "Wer ist der Präsident von Belarus?"},
           {"role": "assistant", "content": "Alexander Lukaschenko [1]."}]


def test_reply_format_is_parsed():
    assert parse_condensed("QUESTION: Wie alt ist Lukaschenko?", "de") == \
        Condensed("Wie alt ist Lukaschenko?")
    reply = 'QUESTION: "How old is Lukashenko?"\nGERMAN: Alter Lukaschenko'
    assert parse_condensed(reply, "en") == Condensed("How old is Lukashenko?", "Alter Lukaschenko")


@pytest.mark.parametrize("reply", ["", "Lukaschenko ist 68.", "QUESTION: ?", "QUESTION:  "])
def test_malformed_reply_is_an_llm_error(reply):
    with pytest.raises(LLMError) as err:
        parse_condensed(reply, "de")
    assert err.value.kind == "malformed"


def test_prompt_has_history_date_and_language_rule():
    messages = condense_messages("Und wie alt ist er?", HISTORY, "de", date(2026, 11, 30))
    assert "2026-11-30" in messages[0]["content"] and "GERMAN:" not in messages[0]["content"]
    assert "User: Wer ist der Präsident" in messages[1]["content"]
    assert "Last question: Und wie alt ist er?" in messages[1]["content"]
    en = condense_messages("How old is he?", HISTORY, "en", date(2026, 11, 30))
    assert "GERMAN:" in en[0]["content"]
