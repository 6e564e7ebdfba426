"""Event handlers of the web chat (kept apart from the layout, so they can be tested)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from ..errors import NotReady, QuestionError, RagError
from ..settings import Settings
from ..text.language import detect_language
from ..types import Answer
from . import archive, feedback, render, stream
from .relevance import RelevanceScale
from .service import Service
from .ui_text import order_choices, ui

log = logging.getLogger(__name__)


def feedback_view(answer: Answer) -> dict[str, Any]:
    """What feedback needs of an answer (no passage texts: kept per browser session)."""
    data = answer.to_dict()
    data["sources"] = [{k: s[k] for k in ("n", "doc_id", "title", "score")}
                       for s in data["sources"]]
    return data


def message_language(question: object) -> str:
    """``de`` or ``en`` for a chat message (``de`` when it gives no clue)."""
    try:
        return detect_language(question) if isinstance(question, str) and question.strip() else "de"
    except Exception:  # noqa: BLE001 - only picks the language of a message
        return "de"


def plain_history(records: dict[str, Any]) -> list[dict[str, str]]:
    """The answered turns of the conversation, oldest first, as messages for
    :meth:`rag.pipeline.Pipeline.ask` (each record holds a question and its answer)."""
    messages: list[dict[str, str]] = []
    for key in sorted(records, key=int):
        record = records[key]
        messages.append({"role": "user", "content": str(record.get("question") or "")})
        messages.append({"role": "assistant", "content": str(record.get("text") or "")})
    return messages


class ChatApp:
    """Event handlers of the web chat."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def add_user(
        self, message: str, history: list[dict] | None
    ) -> tuple[str, list[dict], str]:
        """Show the user's question at once and clear the textbox."""
        history = list(history or [])
        if message and message.strip():
            history.append({"role": "user", "content": render.user_text(message)})
        return "", history, message or ""

    def respond(
        self,
        question: str,
        history: list[dict] | None,
        records: dict[str, Any] | None,
        k: float | None,
        date_from: str | None,
        date_to: str | None,
        doc_ids: list[str] | None,
        on_draft: Callable[[str], None] | None = None,
    ) -> tuple[list[dict], dict[str, Any], Any]:
        """Answer ``question``: the reply goes to the chat, its sources to the panel.

        Problems (empty question, index still building or broken) become a readable
        chat message; the source panel then keeps the previous answer.
        """
        history = list(history or [])
        records = dict(records or {})
        # The conversation before this question, as plain text: the chat shows rendered
        # markdown (escapes, links, warnings), the pipeline needs what was asked and said.
        earlier = plain_history(records)
        key = str(len(history))  # index of the reply in the chat, as the like event gives it
        records.pop(key, None)  # no feedback on error messages
        lang = message_language(question)
        panel: Any = gr.skip()
        try:
            answer = self.service.ask(question, k, date_from, date_to, doc_ids, earlier,
                                      on_draft)
        except QuestionError as exc:
            reply = render.error_text(str(exc), lang)
        except NotReady:
            reply = render.error_text(render.label(lang, "building"), lang)
        except RagError as exc:
            reply = render.error_text(f"{render.label(lang, 'index_error')}: {exc}", lang)
        except Exception:  # noqa: BLE001 - never a traceback in the chat
            log.exception("Answering %r failed", question)
            reply = render.error_text(render.label(lang, "internal_error"), lang)
        else:
            scale = RelevanceScale.for_language(self.settings, answer.language)
            reply = render.chat_text(answer, scale)
            panel = render.sources_html(answer, scale)
            reply += stream.generated_note(answer)
            records[key] = feedback_view(answer)
            for old in sorted(records, key=int)[: -self.settings.web.max_records]:
                del records[old]
        history.append({"role": "assistant", "content": reply})
        return history, records, panel

    def on_like(self, records: dict[str, Any] | None, data: gr.LikeData) -> None:
        """Append a helpful / not-helpful rating of an answer to the feedback file."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = (records or {}).get(str(index))
        if record is None or data.liked not in (True, False):
            log.debug("feedback ignored: index %r, liked %r", data.index, data.liked)
            return
        try:
            feedback.record_feedback(self.settings, record, bool(data.liked))
        except OSError:
            log.exception("Could not write feedback")
            raise gr.Error("Feedback could not be saved. / Feedback konnte nicht "
                           "gespeichert werden.", print_exception=False) from None
        en = record.get("language") == "en"
        gr.Info("Thanks for your feedback!" if en else "Danke für Ihr Feedback!")

    def refresh(self, language: str | None = None) -> tuple[str, Any, gr.Timer, Any]:
        """Status line (in ``language``), article choices and example questions (once
        ready; none: hidden) and whether to keep polling."""
        state, message = self.service.status(render.lang_of(language))
        if not self.service.ready:  # polling goes on while busy (not after an error)
            return (render.status_html(state, message), gr.skip(),
                    gr.Timer(active=state == "busy"), gr.skip())
        return (render.status_html(state, message),
                gr.Dropdown(choices=self.service.doc_choices), gr.Timer(active=False),
                gr.Dataset(samples=[[q] for q in self.service.examples],
                           visible=bool(self.service.examples)))

    # ------------------------------------------------------------------ language

    @staticmethod
    def question_language(question: str | None) -> Any:
        """The page's language after a question: the question's, or unchanged when the
        message gives no clue (empty)."""
        if not question or not question.strip():
            return gr.skip()
        return message_language(question)

    @staticmethod
    def relabel(language: str | None) -> tuple[Any, ...]:
        """Every fixed text of the layout in ``language``, in the order of the layout's
        ``relabelled`` components (the empty source panel follows ``<html lang>``)."""
        lang = render.lang_of(language)
        return (
            f'<h1 lang="{lang}">{render.escape_html(ui(lang, "heading"))}</h1>',
            gr.Tab(label=ui(lang, "chat_tab")),
            gr.Tab(label=ui(lang, "archive_tab")),
            gr.Chatbot(label=ui(lang, "chat_label"), placeholder=ui(lang, "chat_placeholder")),
            gr.Textbox(label=ui(lang, "question"), placeholder=ui(lang, "question_placeholder")),
            gr.Accordion(label=ui(lang, "settings")),
            gr.Slider(label=ui(lang, "k")),
            gr.Textbox(label=ui(lang, "date_from")),
            gr.Textbox(label=ui(lang, "date_to")),
            gr.Dropdown(label=ui(lang, "docs")),
            gr.Button(value=ui(lang, "clear_scope")),
            gr.Textbox(label=ui(lang, "filter"), placeholder=ui(lang, "filter_placeholder")),
            gr.Radio(label=ui(lang, "order"), choices=order_choices(lang)),
            gr.Dataset(label=ui(lang, "examples")),
        )

    # ------------------------------------------------------------------ archive

    def archive_view(
        self, query: str | None, order: str | None, doc_ids: list[str] | None,
        language: str | None,
    ) -> tuple[str, str]:
        """The archive's timeline and table (filtered by ``query``, sorted by ``order``)."""
        lang = render.lang_of(language)
        if not self.service.ready:
            note = render.escape_html(archive.TEXTS[lang]["loading"])
            return "", f'<div class="rag-archive"><p class="rag-note">{note}</p></div>'
        items = self.service.archive
        chosen = archive.select(items, query, order)
        return (archive.timeline_html(items, lang),
                archive.table_html(chosen, len(items), lang, query=query, order=order,
                                   chosen=doc_ids or ()))

    def choose_article(self, data: gr.SelectData) -> tuple[Any, Any]:
        """Restrict the next questions to the article chosen in the archive, back to chat."""
        doc_id = data.value if isinstance(data.value, str) else None
        known = {e.doc_id for e in self.service.archive}
        if doc_id not in known:
            log.info("archive: unknown article %r ignored", doc_id)
            return gr.skip(), gr.skip()
        return [doc_id], gr.Tabs(selected="chat")

    def scope_view(self, doc_ids: list[str] | None, language: str | None) -> tuple[Any, Any]:
        """The note above the question box naming the articles the questions are
        restricted to, and the button that lifts the restriction (both hidden without)."""
        lang = render.lang_of(language)
        if not doc_ids:
            return gr.HTML(value="", visible=False), gr.Button(visible=False)
        titles = {e.doc_id: e.title for e in self.service.archive}
        names = [render.short_title(titles.get(d, d), 60) for d in doc_ids[:3]]
        text = "; ".join(f"„{n}“" if lang == "de" else f"“{n}”" for n in names)
        if len(doc_ids) > 3:
            text += " " + ui(lang, "scope_more").format(n=len(doc_ids) - 3)
        note = (f'<p class="rag-scope" role="status"><strong>'
                f'{render.escape_html(ui(lang, "scope"))}:</strong> '
                f"{render.escape_html(text)}</p>")
        return gr.HTML(value=note, visible=True), gr.Button(visible=True)

    def api_ask(
        self,
        question: str,
        k: int | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        doc_ids: list[str] | None = None,
        history: list[dict] | None = None,
    ) -> dict:
        """Answer a German or English question; returns ``Answer.to_dict()``.

        ``k``: number of sources (default and maximum from the settings); ``date_from``/
        ``date_to``: ISO dates such as 2021-11-30, 2021-11 or 2021; ``doc_ids``: only
        these articles; ``history``: the conversation so far as ``{"role": "user" |
        "assistant", "content": ...}`` messages, so that a follow-up is understood.
        """
        if not self.service.ready:
            self.service.wait(self.settings.web.api_wait_seconds)
        try:
            return self.service.ask(question, k, date_from, date_to, doc_ids,
                                    history).to_dict()
        except RagError as exc:
            log.info("/ask: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:  # noqa: BLE001 - a clear error, not a traceback
            log.exception("API answer to %r failed", question)
            raise gr.Error(render.label("en", "internal_error"), print_exception=False) from None


__all__ = ["ChatApp", "feedback_view", "message_language"]
