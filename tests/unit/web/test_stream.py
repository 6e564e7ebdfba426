"""The chat text around generated answers: drafts, dropped sentences, notices (escaped)."""

from __future__ import annotations

from rag.types import Answer
from rag.web.stream import draft_text, generated_note

SCRIPT = "<script>alert(1)</script>"


def test_generated_answer_note_lists_dropped_sentences_struck_through():
    answer = Answer("Wie viele?", "de", True, "Rund 62'000 [1].", [], generated=True,
                    model="/models/smollm2", extractive="Zitat [1]",
                    dropped=[{"text": f"Es sind 5 {SCRIPT} [1].", "reason": "the number 5 ..."}])
    note = generated_note(answer)
    assert "Generiert von smollm2" in note and "Nicht durch die Quellen belegt" in note
    assert "~~Es sind 5" in note and "<script>" not in note and "&lt;script&gt;" in note


def test_fallback_notice_and_plain_extractive_answer():
    fell_back = Answer("How many?", "en", True, "Quote [1]", [], model="m",
                       notice=f"Note: the language model could not be used {SCRIPT}")
    note = generated_note(fell_back)
    assert "the language model could not be used" in note and "<script>" not in note
    assert generated_note(Answer("q", "de", True, "Zitat [1]", [])) == ""


def test_draft_is_escaped_and_marked():
    text = draft_text(f"Die Armee {SCRIPT} [1]", "en")
    assert "<script>" not in text and "Draft, being checked" in text
