"""The conversation so far: messages in the OpenAI/Gradio format, validated and grouped
into turns (a user question and the assistant's answer to it)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from ..answer import NOT_FOUND, PERIOD
from ..errors import QuestionError
from ..retrieve.timefilter import without_annotations

#: How an answer that used the conversation starts (see :mod:`rag.chat.context`).
UNDERSTOOD = {"de": "Verstanden als:", "en": "Understood as:"}
#: Longest message text kept per turn (longer answers are cut; they only give context).
MAX_MESSAGE_CHARS = 4000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                      r"\ufeff\ud800-\udfff]")
_CITATION = re.compile(r"\\?\[\d+\\?\]")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_UNDERSTOOD_LINE = re.compile(
    r"^\W*(" + "|".join(re.escape(u[:-1]) for u in UNDERSTOOD.values()) + r")\W.*$",
    re.MULTILINE,
)
_NOT_FOUND = {" ".join(t.split()).casefold() for t in NOT_FOUND.values()}
#: The line that names the period an answer was limited to ("(Zeitraum: 2008-03)").
_PERIOD_LINE = re.compile(r"^\((?:" + "|".join(PERIOD.values()) + r"): .*\)$", re.MULTILINE)


@dataclass(frozen=True)
class Turn:
    """One exchange: the user's question and the answer it got ("" when none)."""

    question: str
    answer: str = ""


def _content(message: Mapping, position: int) -> str:
    content = message.get("content")
    if isinstance(content, list | tuple):  # multimodal parts: keep the text parts
        parts = [p.get("text") if isinstance(p, Mapping) else p for p in content]
        if all(isinstance(p, str) for p in parts):
            content = " ".join(parts)  # type: ignore[arg-type]
    if not isinstance(content, str):
        raise QuestionError(
            f"history[{position}]: 'content' must be text (got {type(content).__name__}). "
            "Pass the conversation as a list of {\"role\": \"user\"|\"assistant\", "
            "\"content\": \"...\"} messages."
        )
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", content))
    return text[:MAX_MESSAGE_CHARS]


def answer_context(text: str) -> str:
    """The informative part of an assistant message: without the "Understood as" line,
    citation markers, Markdown escapes, the line naming its period and the dates the
    answer put after "gestern" or "am Montag" (so that its sentences are found in their
    sources again); "" for a "not found" answer."""
    text = without_annotations(_PERIOD_LINE.sub(" ", _UNDERSTOOD_LINE.sub(" ", text)))
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    text = _CITATION.sub(" ", text)
    text = re.sub(r"[*_`#>]+", " ", text)
    text = " ".join(text.split())
    if text.casefold() in _NOT_FOUND:
        return ""
    return text


def parse_history(history: object, max_messages: int) -> list[Turn]:
    """The turns of ``history`` (a list of ``{"role", "content"}`` messages), oldest first.

    ``None`` or an empty list is no history. A user message without an answer (e.g. one
    that failed) is a turn with an empty answer; assistant messages before the first user
    message are ignored. Raises :class:`~rag.errors.QuestionError` for anything else than
    such a list, an unknown role, non-text content, or more than ``max_messages`` messages.
    """
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise QuestionError(
            "history must be a list of messages like {\"role\": \"user\", \"content\": "
            f"\"...\"}} (got {type(history).__name__})."
        )
    if len(history) > max_messages:
        raise QuestionError(
            f"The history has {len(history)} messages, at most {max_messages} are accepted. "
            "Start a new conversation or pass only the recent messages."
        )
    turns: list[Turn] = []
    question: str | None = None
    for position, message in enumerate(history):
        if not isinstance(message, Mapping):
            raise QuestionError(
                f"history[{position}] must be a message object with 'role' and 'content' "
                f"(got {type(message).__name__})."
            )
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise QuestionError(
                f"history[{position}]: 'role' must be \"user\" or \"assistant\" (got {role!r})."
            )
        text = _content(message, position)
        if role == "user":
            if question is not None:
                turns.append(Turn(question))
            question = " ".join(_MARKDOWN_ESCAPE.sub(r"\1", text).split())
        elif question is not None:
            turns.append(Turn(question, answer_context(text)))
            question = None
    if question is not None:
        turns.append(Turn(question))
    return [t for t in turns if t.question]
