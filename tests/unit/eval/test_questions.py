"""Question files of the batch evaluation (rag.eval.questions): the shared sets load,
malformed lines are named with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_data import SEED_QUESTIONS, SHARED

from rag.errors import EvalFileError, InputError, RagError
from rag.eval.questions import QuestionFileError, load_questions

GOOD = {"id": "d1", "lang": "de", "question": "Wer?", "expected_sources": ["a.txt"],
        "answer_keywords": ["Tulpen"]}


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_the_shared_question_files():
    seed = load_questions(SEED_QUESTIONS)
    assert len(seed) == 22 and sum(q.no_answer for q in seed) == 2
    assert seed[1].answer_keywords == ("62'000",)
    xquad = SHARED / "eval" / "xquad-de" / "questions.jsonl"
    if xquad.exists():
        assert len(load_questions(xquad)) == 1264


@pytest.mark.parametrize(("bad", "message"), [
    ('{"id": "d2", "lang": "de", ', "invalid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "lang"} | {"id": "d2"}),
     "missing field(s): lang"),
    (json.dumps(GOOD | {"id": "d2", "expected_sources": "a.txt"}),
     "'expected_sources' must be a list of strings (got a string)"),
    (json.dumps(GOOD | {"id": "d2", "question": 42}), "'question' must be a string"),
    (json.dumps(GOOD | {"id": "d2", "no_answer": "yes"}), "'no_answer' must be true or false"),
    (json.dumps(GOOD | {"id": "d2", "expected_sources": []}), "needs at least one expected"),
    (json.dumps(GOOD | {"id": "d2", "lang": "Deutsch"}), "language code"),
    (json.dumps(GOOD), "duplicate id 'd1' (first on line 1)"),
    ("[1, 2]", "expected a JSON object, got a list"),
])
def test_malformed_line_is_named(tmp_path, bad, message):
    path = write_lines(tmp_path / "q.jsonl", json.dumps(GOOD), "", bad)
    with pytest.raises(QuestionFileError) as info:
        load_questions(path)
    assert info.value.line == 3
    assert "q.jsonl:3: " in str(info.value) and message in str(info.value)


def test_empty_or_missing_file(tmp_path):
    with pytest.raises(QuestionFileError, match="no questions"):
        load_questions(write_lines(tmp_path / "q.jsonl", "", "  "))
    with pytest.raises(QuestionFileError, match="cannot read"):
        load_questions(tmp_path / "missing.jsonl")


def test_question_file_errors_are_input_errors(tmp_path):
    """A bad question file is the user's to fix: a RagError the CLI shows as a message."""
    with pytest.raises(QuestionFileError) as info:
        load_questions(write_lines(tmp_path / "q.jsonl", "{"))
    assert isinstance(info.value, EvalFileError) and isinstance(info.value, InputError)
    assert isinstance(info.value, RagError) and info.value.path.endswith("q.jsonl")
