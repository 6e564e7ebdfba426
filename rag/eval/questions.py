"""Question files of the batch evaluation (format: ``shared/eval/README.md``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import EvalFileError

#: Language groups always present in ``by_language`` (others appear when used).
LANGUAGES = ("de", "en")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)?")


class QuestionFileError(EvalFileError):
    """A question file is unreadable or malformed; the message names file and line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


@dataclass(frozen=True)
class Question:
    """One evaluation question (one line of a question file)."""

    id: str
    lang: str
    question: str
    expected_sources: tuple[str, ...]
    answer_keywords: tuple[str, ...]
    no_answer: bool = False
    #: Earlier user questions of the same conversation, in order (the question is a
    #: follow-up to them); empty for a question asked on its own.
    history: tuple[str, ...] = ()
    #: Optional label ("factoid", "why", "metadata", ...) for per-kind breakdowns.
    kind: str | None = None

    @property
    def article_level(self) -> bool:
        """Judged by source alone: answerable, with expected sources but no keywords."""
        return not self.no_answer and not self.answer_keywords


# --- question files ----------------------------------------------------------------


def _string_list(record: dict, name: str, line: int, path: Path) -> tuple[str, ...]:
    value = record[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QuestionFileError(
            path, line, f"field {name!r} must be a list of strings (got {_kind(value)})"
        )
    if any(not v.strip() for v in value):
        raise QuestionFileError(path, line, f"field {name!r} contains an empty string")
    return tuple(value)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__)


def parse_question(record: object, line: int = 0, path: Path | str = "<questions>") -> Question:
    """Validate one decoded JSON record; raises :class:`QuestionFileError` naming ``line``."""
    path = Path(path)
    if not isinstance(record, dict):
        raise QuestionFileError(path, line, f"expected a JSON object, got {_kind(record)}")
    missing = [f for f in ("id", "lang", "question", "expected_sources", "answer_keywords")
               if f not in record]
    if missing:
        raise QuestionFileError(path, line, "missing field(s): " + ", ".join(missing))
    for name in ("id", "lang", "question"):
        value = record[name]
        if not isinstance(value, str):
            raise QuestionFileError(
                path, line, f"field {name!r} must be a string (got {_kind(value)})")
        if not value.strip():
            raise QuestionFileError(path, line, f"field {name!r} is empty")
    if not _LANG.fullmatch(record["lang"]):
        raise QuestionFileError(
            path, line, f"field 'lang' must be a language code like 'de' or 'en' "
            f"(got {record['lang']!r})")
    no_answer = record.get("no_answer", False)
    if not isinstance(no_answer, bool):
        raise QuestionFileError(
            path, line, f"field 'no_answer' must be true or false (got {_kind(no_answer)})")
    sources = _string_list(record, "expected_sources", line, path)
    keywords = _string_list(record, "answer_keywords", line, path)
    if not no_answer and not sources:
        raise QuestionFileError(
            path, line, "an answerable question needs at least one expected source "
            "(or \"no_answer\": true); answer_keywords may be empty to judge it by source")
    if no_answer and (sources or keywords):
        raise QuestionFileError(
            path, line, "a question with \"no_answer\": true must have empty "
            "expected_sources and answer_keywords")
    history = _string_list(record, "history", line, path) if "history" in record else ()
    kind = record.get("kind")
    if kind is not None and (not isinstance(kind, str) or not kind.strip()):
        raise QuestionFileError(
            path, line, f"field 'kind' must be a non-empty string (got {_kind(kind)})")
    return Question(record["id"], record["lang"], record["question"], sources, keywords,
                    no_answer, history, kind.strip() if kind else None)


def load_questions(path: str | Path) -> list[Question]:
    """Read and validate a JSON Lines question file (blank lines are skipped).

    Raises :class:`QuestionFileError` at the first problem, naming the line: unreadable
    file, invalid JSON, missing field, wrong type, duplicate id, or no question at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(path, None, f"cannot read the question file ({exc})") from exc
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(
                path, number, f"invalid JSON ({exc.msg} at column {exc.colno})") from exc
        question = parse_question(record, number, path)
        if question.id in seen:
            raise QuestionFileError(
                path, number, f"duplicate id {question.id!r} (first on line {seen[question.id]})")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise QuestionFileError(path, None, "the file contains no questions")
    return questions


