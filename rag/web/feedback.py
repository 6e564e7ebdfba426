"""Feedback on answers ("helpful" / "not helpful") from the web chat.

Each rating is appended as one JSON line to ``Settings.data_dir / "feedback.jsonl"``
(the path comes from the settings, never from user input)::

    {"ts": "2024-05-01T12:00:00+00:00", "rating": "helpful", "question": "...",
     "language": "de", "found": true, "answer": "... [1]",
     "sources": [{"n": 1, "doc_id": "003_....txt", "title": "...", "score": 0.91}]}

Limits: text fields are cut to :data:`MAX_TEXT_CHARS` (questions to
:data:`MAX_QUESTION_CHARS`), at most :data:`MAX_SOURCES` sources are kept, and when the
file would grow past ``feedback_max_bytes`` (settings) it is rotated to
``feedback.jsonl.1`` by the standard library's ``RotatingFileHandler`` (older files shift
up to ``.{feedback_backups}``, the oldest is dropped), so the folder never holds more
than about ``(backups + 1) * max_bytes``. Appends are serialized by a lock (threads) and
a file lock (processes).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from ..settings import Settings, WebSettings
from ..types import Answer

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
MAX_FILE_BYTES = WebSettings.feedback_max_bytes
BACKUPS = WebSettings.feedback_backups
MAX_QUESTION_CHARS = 1000
MAX_TEXT_CHARS = 4000
MAX_TITLE_CHARS = 300
MAX_SOURCES = 20

_lock = threading.Lock()


class _Handler(RotatingFileHandler):
    """The standard rotating handler, measuring in bytes, never following a symlink
    planted at the file's path, and raising when a write fails (the user is told)."""

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                     0o640)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - stdlib name
        if self.stream is None:
            self.stream = self._open()
        line = (self.format(record) + self.terminator).encode(self.encoding or "utf-8", "replace")
        size = os.fstat(self.stream.fileno()).st_size
        return bool(self.maxBytes > 0 and size and size + len(line) > self.maxBytes)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - stdlib name
        raise  # noqa: PLE0704 - re-raises the error emit() is handling


def feedback_path(settings: Settings) -> Path:
    """Where feedback goes: ``settings.paths.data_dir / "feedback.jsonl"``."""
    return Path(settings.paths.data_dir) / FEEDBACK_FILE


def _cut(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def make_record(
    answer: Answer | Mapping[str, Any], helpful: bool, *, now: datetime | None = None
) -> dict[str, Any]:
    """A feedback record for ``answer`` (an :class:`Answer` or its ``to_dict()``)."""
    data = answer.to_dict() if isinstance(answer, Answer) else dict(answer)
    sources = []
    for s in list(data.get("sources") or [])[:MAX_SOURCES]:
        try:
            score = round(float(s.get("score", 0.0)), 4)
        except (TypeError, ValueError):
            score = None
        sources.append({
            "n": _int(s.get("n")),
            "doc_id": _cut(s.get("doc_id"), MAX_TITLE_CHARS),
            "title": _cut(s.get("title"), MAX_TITLE_CHARS),
            "score": score,
        })
    language = data.get("language")
    return {
        "ts": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "rating": "helpful" if helpful else "not_helpful",
        "question": _cut(data.get("question"), MAX_QUESTION_CHARS) or "",
        "language": language if language in ("de", "en") else None,
        "found": bool(data.get("found")),
        "answer": _cut(data.get("text"), MAX_TEXT_CHARS) or "",
        "sources": sources,
    }


def append_record(
    path: Path,
    record: Mapping[str, Any],
    *,
    max_bytes: int = MAX_FILE_BYTES,
    backups: int = BACKUPS,
) -> None:
    """Append ``record`` as one JSON line to ``path``, rotating first when it would
    grow past ``max_bytes``."""
    line = json.dumps(record, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, FileLock(path.with_name("." + path.name + ".lock")):
        handler = _Handler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
            errors="replace", delay=True,
        )
        try:
            handler.emit(logging.makeLogRecord({"msg": line}))
        finally:
            handler.close()


def record_feedback(
    settings: Settings, answer: Answer | Mapping[str, Any], helpful: bool
) -> Path:
    """Append a rating of ``answer`` to the feedback file; returns the file's path."""
    path = feedback_path(settings)
    append_record(path, make_record(answer, helpful), max_bytes=settings.web.feedback_max_bytes,
                  backups=settings.web.feedback_backups)
    log.info("Feedback (%s) recorded in %s", "helpful" if helpful else "not helpful", path)
    return path
