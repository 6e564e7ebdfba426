"""Event handlers of the web chat (kept apart from the layout, so they can be tested)."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from ..errors import NotReady, QuestionError, RagError
from ..settings import Settings
from ..text.language import detect_language
from ..types import Answer
from . import feedback, render
from .service import Service

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
    ) -> tuple[list[dict], dict[str, Any], Any]:
        """Answer ``question``: the reply goes to the chat, its sources to the panel.

        Problems (empty question, index still building or broken) become a readable
        chat message; the source panel then keeps the previous answer.
        """
        history = list(history or [])
        # The conversation before this question (add_user already showed the question).
        earlier = history[:-1] if history and history[-1].get("role") == "user" else history
        records = dict(records or {})
        key = str(len(history))  # index of the reply in the chat, as the like event gives it
        records.pop(key, None)  # no feedback on error messages
        lang = message_language(question)
        panel: Any = gr.skip()
        try:
            answer = self.service.ask(question, k, date_from, date_to, doc_ids, earlier)
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
            reply, panel = render.chat_text(answer), render.sources_html(answer)
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

    def refresh(self) -> tuple[str, Any, gr.Timer]:
        """Status line, article choices (once ready) and whether to keep polling."""
        state, message = self.service.status()
        docs = gr.Dropdown(choices=self.service.doc_choices) if self.service.ready else gr.skip()
        return render.status_html(state, message), docs, gr.Timer(active=state == "busy")

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
