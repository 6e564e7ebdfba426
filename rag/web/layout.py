"""The web chat's layout (Gradio Blocks) and how it is served."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from ..pipeline import Pipeline
from ..settings import Settings
from . import render, upload
from .handlers import ChatApp
from .service import WARM_UP_QUESTION, Service

log = logging.getLogger(__name__)

EXAMPLES = [
    WARM_UP_QUESTION,
    "Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?",
    "Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?",
    "How many professional soldiers does the Belarusian army have?",
    "Who replaced the deceased Belarusian foreign minister Makei?",
    "What did Putin jokingly ask Lukashenko when greeting him in the Kremlin?",
]

#: System fonts only: nothing is fetched from a font CDN.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
          "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Consolas", "monospace"],
)


def build_ui(chat: ChatApp) -> gr.Blocks:
    """The Blocks UI: chat, source panel, examples, settings, status line, ``/ask`` API."""
    with gr.Blocks(title="Nachrichten-Fragen · News Q&A", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## Fragen an das Nachrichtenarchiv · Ask the news archive")
        state, message = chat.service.status()
        status = gr.HTML(render.status_html(state, message), js_on_load=None,
                         elem_id="rag-status")
        timer = gr.Timer(1.0, active=True)
        records = gr.State({})
        pending = gr.State("")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat", elem_id="rag-chat", height=480, latex_delimiters=[],
                    feedback_options=("Like", "Dislike"), buttons=["copy"],
                    placeholder="Fragen Sie auf Deutsch oder Englisch. / "
                                "Ask in German or English.",
                )
                question = gr.Textbox(
                    show_label=False, elem_id="rag-question", submit_btn=True, lines=1,
                    max_lines=4, max_length=chat.settings.answer.max_question_chars,
                    placeholder="Ihre Frage … / Your question …",
                )
                gr.Examples(EXAMPLES, inputs=question, label="Beispiele / Examples")
                with gr.Accordion("Einstellungen / Settings", open=False):
                    k = gr.Slider(1, chat.settings.retrieval.max_top_k,
                                  value=chat.settings.retrieval.top_k, step=1,
                                  label="Anzahl Quellen / Number of sources (k)")
                    with gr.Row():
                        date_from = gr.Textbox(label="Von / From",
                                               placeholder="2021-11-01, 2021-11, 2021")
                        date_to = gr.Textbox(label="Bis / To",
                                             placeholder="2022-12-31, 2022-12, 2022")
                    docs = gr.Dropdown(choices=chat.service.doc_choices, value=[],
                                       multiselect=True, elem_id="rag-docs",
                                       label="Nur diese Artikel / Only these articles")
                if chat.settings.web.uploads_enabled:
                    upload.build_panel(chat.service, chat.settings, status, docs)
            with gr.Column(scale=2):
                panel = gr.HTML(render.EMPTY_PANEL, js_on_load=None, elem_id="rag-sources",
                                max_height=760, padding=True)

        question.submit(
            chat.add_user, [question, chatbot], [question, chatbot, pending],
            queue=False, api_visibility="private",
        ).then(
            chat.respond, [pending, chatbot, records, k, date_from, date_to, docs],
            [chatbot, records, panel], api_visibility="private", concurrency_id="answer",
            concurrency_limit=2,
        )
        chatbot.clear(lambda: ({}, render.EMPTY_PANEL), None, [records, panel], queue=False,
                      api_visibility="private")
        chatbot.like(chat.on_like, [records], None, api_visibility="private")
        timer.tick(chat.refresh, None, [status, docs, timer], api_visibility="private",
                   show_progress="hidden")
        demo.load(chat.refresh, None, [status, docs, timer], api_visibility="private",
                  show_progress="hidden")
        gr.api(chat.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=2)
    return demo


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments of ``launch()``: local theme and CSS, no sharing, no SSR, and
    no uploads worth the name unless they are enabled (then up to ``upload_max_bytes``)."""
    web = (settings or Settings()).web
    size = web.upload_max_bytes if web.uploads_enabled else "1kb"
    return {"theme": THEME, "css": render.CSS, "share": False, "ssr_mode": False,
            "show_error": False, "max_file_size": size}




def serve(settings: Settings) -> None:
    """Start loading the index and serve the web chat on ``settings.web.host``/``port``
    (blocks until interrupted)."""
    service = Service(Pipeline(settings, auto_index=False))
    service.start()
    demo = build_ui(ChatApp(service, settings))
    host, port = settings.web.host, settings.web.port
    print(f"Web chat on http://{host}:{port}/ (corpus {settings.paths.corpus_dir})", flush=True)
    demo.queue(default_concurrency_limit=2).launch(
        server_name=host, server_port=port, quiet=True, **launch_options(settings)
    )
