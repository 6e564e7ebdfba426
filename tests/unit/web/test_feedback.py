"""Feedback on answers (rag.web.feedback): records with capped fields, rotation by size,
whole lines under concurrent appends."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from shared_data import SCRIPT

from rag.settings import Settings, WebSettings
from rag.types import Answer, Source
from rag.web import feedback


def sample_answer(lang: str = "de") -> Answer:
    src = Source(1, "003_x.txt", f"Titel {SCRIPT}", "2021-11", None, None,
                 "Er nennt ihn Bruder.", 0.91234, [(0, 20)])
    return Answer("Wie nennt Lukaschenko Putin?", lang, True, "Er nennt ihn Bruder. [1]", [src])


def test_record_fields() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    record = feedback.make_record(sample_answer("en"), False, now=now)
    assert record == {
        "ts": "2024-05-01T12:00:00+00:00", "rating": "not_helpful",
        "question": "Wie nennt Lukaschenko Putin?", "language": "en", "found": True,
        "answer": "Er nennt ihn Bruder. [1]",
        "sources": [{"n": 1, "doc_id": "003_x.txt", "title": f"Titel {SCRIPT}",
                     "score": 0.9123}],
    }
    assert feedback.make_record(sample_answer().to_dict(), True)["rating"] == "helpful"


def test_feedback_path_comes_from_the_settings(tmp_path: Path) -> None:
    settings = Settings().replace(data_dir=tmp_path / "d")
    assert feedback.feedback_path(settings) == tmp_path / "d" / "feedback.jsonl"
    assert WebSettings.feedback_max_bytes == feedback.MAX_FILE_BYTES
    path = feedback.record_feedback(settings, sample_answer(), True)
    assert json.loads(path.read_text("utf-8"))["rating"] == "helpful"


def test_feedback_caps_field_lengths(tmp_path: Path) -> None:
    data = sample_answer().to_dict()
    data["question"] = "q" * 50_000
    data["text"] = "a\n" * 50_000 + "\ud800"
    data["sources"] = data["sources"] * 500
    data["sources"][1] = {"n": "x", "score": "high", "title": None}
    data["language"] = "<x>"
    path = tmp_path / "fb.jsonl"
    feedback.append_record(path, feedback.make_record(data, True))
    line = path.read_text("utf-8")
    assert line.count("\n") == 1
    row = json.loads(line)
    assert len(row["question"]) == feedback.MAX_QUESTION_CHARS
    assert len(row["answer"]) == feedback.MAX_TEXT_CHARS
    assert len(row["sources"]) == feedback.MAX_SOURCES and row["language"] is None
    assert row["sources"][1] == {"n": None, "doc_id": None, "title": None, "score": None}


def test_feedback_file_is_rotated(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    record = feedback.make_record(sample_answer(), True)
    size = len(json.dumps(record, ensure_ascii=False).encode()) + 1
    for _ in range(40):
        feedback.append_record(path, record, max_bytes=size * 3, backups=2)
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert files == ["feedback.jsonl", "feedback.jsonl.1", "feedback.jsonl.2"]
    for p in tmp_path.glob("feedback.jsonl*"):
        assert p.stat().st_size <= size * 3
        assert all(json.loads(line) for line in p.read_text("utf-8").splitlines())


def test_feedback_concurrent_appends_stay_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    record = feedback.make_record(sample_answer(), False)

    def write() -> None:
        for _ in range(25):
            feedback.append_record(path, record)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 200 and all(json.loads(line)["rating"] == "not_helpful"
                                     for line in lines)
