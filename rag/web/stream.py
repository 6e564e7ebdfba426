"""Generated answers in the chat: the draft streams in as the LLM writes it, then the
checked answer replaces it (with the sentences the citation check dropped, struck through,
and any notice). All LLM text is escaped before it becomes Markdown."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from ..types import Answer
from . import render

if TYPE_CHECKING:
    from .handlers import ChatApp

_DONE = object()
LABELS = {
    "de": {"draft": "Entwurf, wird geprüft …", "dropped": "Nicht durch die Quellen belegt",
           "generated": "Generiert von {model}, jeder Satz mit seiner Quelle abgeglichen"},
    "en": {"draft": "Draft, being checked …", "dropped": "Not supported by the sources",
           "generated": "Written by {model}, every sentence checked against its source"},
}


def draft_text(draft: str, language: str) -> str:
    """A draft as a chat message (escaped, marked as a draft)."""
    return f"{render.escape_markdown(draft)} ▌\n\n_{LABELS[language]['draft']}_"


def generated_note(answer: Answer) -> str:
    """What follows a generated answer in the chat: who wrote it, the dropped sentences
    struck through with the reason, and the notice of a fallback ("" when none)."""
    lang = render.lang_of(answer.language)
    parts = []
    if answer.generated and answer.model:
        model = render.escape_markdown(answer.model.rsplit("/", 1)[-1])
        parts.append(f"_{LABELS[lang]['generated'].format(model=model)}_")
    if answer.dropped:
        lines = [f"- ~~{render.escape_markdown(d['text'])}~~ "
                 f"({render.escape_markdown(d['reason'])})" for d in answer.dropped]
        parts.append(f"_{LABELS[lang]['dropped']}:_\n" + "\n".join(lines))
    if answer.notice:
        parts.append(f"_{render.escape_markdown(answer.notice)}_")
    return "".join("\n\n" + p for p in parts)


def streaming(chat: ChatApp) -> Callable[..., Iterator[tuple[list[dict], Any, Any]]]:
    """The chat's answer handler that streams drafts (used when an LLM is configured)."""

    def respond_stream(
        question: str,
        history: list[dict] | None,
        records: dict[str, Any] | None,
        k: float | None,
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
    ) -> Iterator[tuple[list[dict], Any, Any]]:
        """Answer ``question``, showing the draft while the LLM writes it."""
        drafts: queue.Queue = queue.Queue()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["out"] = chat.respond(question, history, records, k, date_from, date_to,
                                          doc_ids, on_draft=drafts.put)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the handler
                box["error"] = exc
            finally:
                drafts.put(_DONE)

        lang = render.lang_of(_language(question))
        thread = threading.Thread(target=run, name="rag-answer", daemon=True)
        thread.start()
        shown = list(history or [])
        while True:
            item = drafts.get()
            while item is not _DONE:  # skip to the newest draft
                try:
                    newer = drafts.get_nowait()
                except queue.Empty:
                    break
                item = newer
            if item is _DONE:
                break
            yield (shown + [{"role": "assistant", "content": draft_text(item, lang)}],
                   gr.skip(), gr.skip())
        thread.join()
        if "error" in box:
            raise box["error"]
        yield box["out"]

    return respond_stream


def _language(question: str) -> str:
    from .handlers import message_language

    return message_language(question)
