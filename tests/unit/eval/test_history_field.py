"""The optional ``history`` field of question files and how a conversation is replayed."""

from __future__ import annotations

import pytest

from rag.eval.questions import QuestionFileError, parse_question
from rag.eval.run import conversation
from rag.types import Answer

BASE = {"id": "c1", "lang": "de", "question": "Und wann?", "expected_sources": ["a.txt"],
        "answer_keywords": ["1999"]}


def test_history_is_read_in_order():
    q = parse_question({**BASE, "history": ["Wer baute die Brücke?", "Wo steht sie?"]})
    assert q.history == ("Wer baute die Brücke?", "Wo steht sie?")
    assert parse_question(BASE).history == ()


@pytest.mark.parametrize("history", ["Wer?", [1], [""], {"a": 1}])
def test_malformed_history_names_the_line(history):
    with pytest.raises(QuestionFileError, match="history"):
        parse_question({**BASE, "history": history}, line=7, path="conv.jsonl")


class _Recorder:
    """Answers each question with a fixed text and records what it was asked with."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list | None]] = []

    def ask(self, question, k, history=None):
        self.asked.append((question, None if history is None else list(history)))
        return Answer(question, "de", True, f"Antwort auf {question}", [])


def test_conversation_feeds_each_answer_back():
    recorder = _Recorder()
    messages = conversation(recorder, ["Erste?", "Zweite?"], 5)  # type: ignore[arg-type]
    assert recorder.asked == [
        ("Erste?", None),
        ("Zweite?", [{"role": "user", "content": "Erste?"},
                     {"role": "assistant", "content": "Antwort auf Erste?"}]),
    ]
    assert messages[-1] == {"role": "assistant", "content": "Antwort auf Zweite?"}
    assert len(messages) == 4
