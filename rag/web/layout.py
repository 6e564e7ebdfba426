"""The web chat's layout (Gradio Blocks) and how it is served."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from ..errors import ServeError
from ..pipeline import Pipeline
from ..settings import Settings
from . import archive, client, render, stream, upload
from .handlers import ChatApp
from .service import Service, port_taken
from .ui_text import LANGUAGE_CHOICES, order_choices, ui

log = logging.getLogger(__name__)

#: System fonts only: nothing is fetched from a font CDN.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial",
          "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Consolas", "monospace"],
)


#: The language switch's change sets the document's language for screen readers.
_SET_DOC_LANG = "(lang) => { document.documentElement.lang = lang; return [lang]; }"
#: After an article was chosen in the archive: focus the question box once the chat tab
#: shows it (retried for up to two seconds while Gradio switches the tab).
_FOCUS_QUESTION = """() => { let tries = 0; const go = () => {
  const box = document.querySelector('#rag-question textarea');
  if (box && box.offsetParent !== null) box.focus();
  if (document.activeElement !== box && ++tries < 40) setTimeout(go, 50); };
  setTimeout(go, 50); }"""


def build_ui(chat: ChatApp) -> gr.Blocks:
    """The Blocks UI: a chat tab (chat, source panel, examples, settings) and an archive
    tab, the language switch, the status line, and the ``/ask`` API."""
    lang0 = "de"
    with gr.Blocks(title="Nachrichten-Fragen · News Q&A", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        with gr.Row(equal_height=False, elem_classes="rag-title-bar"):
            heading = gr.HTML(f'<h1 lang="{lang0}">{ui(lang0, "heading")}</h1>',
                              js_on_load=None, scale=4, min_width=320)
            lang = gr.Radio(LANGUAGE_CHOICES, value=lang0, label="Sprache / Language",
                            elem_id="rag-lang", scale=1, min_width=200)
        state, message = chat.service.status(lang0)
        status = gr.HTML(render.status_html(state, message), js_on_load=None,
                         elem_id="rag-status")
        timer = gr.Timer(1.0, active=True)
        records = gr.State({})
        pending = gr.State("")
        with gr.Tabs(selected="chat", elem_id="rag-tabs") as tabs:
            with (gr.Tab(ui(lang0, "chat_tab"), id="chat", elem_id="rag-chat-tab") as chat_tab,
                  gr.Row(equal_height=False)):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(
                        label=ui(lang0, "chat_label"), elem_id="rag-chat", height=480,
                        latex_delimiters=[], feedback_options=("Like", "Dislike"),
                        buttons=["copy"], placeholder=ui(lang0, "chat_placeholder"),
                    )
                    scope = gr.HTML("", visible=False, js_on_load=None,
                                    elem_id="rag-scope")
                    clear_scope = gr.Button(ui(lang0, "clear_scope"), visible=False,
                                            size="sm", elem_id="rag-clear-scope")
                    question = gr.Textbox(
                        label=ui(lang0, "question"), show_label=False,
                        elem_id="rag-question", submit_btn=True, lines=1, max_lines=4,
                        max_length=chat.settings.answer.max_question_chars,
                        placeholder=ui(lang0, "question_placeholder"),
                    )
                    examples = gr.Examples([[q] for q in chat.service.examples], inputs=question,
                                           label=ui(lang0, "examples"))
                    with gr.Accordion(ui(lang0, "settings"), open=False) as settings:
                        k = gr.Slider(1, chat.settings.retrieval.max_top_k,
                                      value=chat.settings.retrieval.top_k, step=1,
                                      label=ui(lang0, "k"))
                        with gr.Row():
                            date_from = gr.Textbox(label=ui(lang0, "date_from"),
                                                   placeholder="2021-11-01, 2021-11, 2021")
                            date_to = gr.Textbox(label=ui(lang0, "date_to"),
                                                 placeholder="2022-12-31, 2022-12, 2022")
                        docs = gr.Dropdown(choices=chat.service.doc_choices, value=[],
                                           multiselect=True, elem_id="rag-docs",
                                           label=ui(lang0, "docs"))
                    if chat.settings.web.uploads_enabled:
                        upload.build_panel(chat.service, chat.settings, status, docs)
                with gr.Column(scale=2, min_width=300):
                    panel = gr.HTML(render.empty_panel(), js_on_load=None,
                                    elem_id="rag-sources", max_height=760, padding=True)
            with gr.Tab(ui(lang0, "archive_tab"), id="archive",
                        elem_id="rag-archive-tab") as archive_tab:
                timeline = gr.HTML("", js_on_load=None, elem_id="rag-timeline")
                with gr.Row(equal_height=False):
                    query = gr.Textbox(label=ui(lang0, "filter"), elem_id="rag-filter",
                                       placeholder=ui(lang0, "filter_placeholder"),
                                       scale=3, min_width=240)
                    order = gr.Radio(order_choices(lang0), value="newest",
                                     label=ui(lang0, "order"), elem_id="rag-order",
                                     scale=2, min_width=240)
                table = gr.HTML("", js_on_load=archive.TABLE_JS, elem_id="rag-archive")

        private: dict[str, Any] = {"api_visibility": "private"}
        question.submit(
            chat.add_user, [question, chatbot], [question, chatbot, pending],
            queue=False, **private,
        ).then(
            chat.question_language, [pending], [lang], queue=False, **private,
        ).then(
            stream.streaming(chat) if chat.settings.llm.enabled else chat.respond,
            [pending, chatbot, records, k, date_from, date_to, docs],
            [chatbot, records, panel], concurrency_id="answer", concurrency_limit=2, **private,
        )
        chatbot.clear(lambda: ({}, render.empty_panel()), None, [records, panel],
                      queue=False, **private)
        chatbot.like(chat.on_like, [records], None, **private)
        relabelled = [heading, chat_tab, archive_tab, chatbot, question, settings, k,
                      date_from, date_to, docs, clear_scope, query, order, examples.dataset]
        lang.change(chat.relabel, [lang], relabelled, js=_SET_DOC_LANG, queue=False,
                    **private)
        archive_inputs = [query, order, docs, lang]
        for event in (lang.change, order.change, query.change, docs.change,
                      archive_tab.select):
            event(chat.archive_view, archive_inputs, [timeline, table], queue=False,
                  show_progress="hidden", **private)
        for event in (docs.change, lang.change):
            event(chat.scope_view, [docs, lang], [scope, clear_scope], queue=False, **private)
        clear_scope.click(lambda: [], None, [docs], queue=False, **private).then(
            None, js=_FOCUS_QUESTION)
        table.select(chat.choose_article, None, [docs, tabs], queue=False, **private).then(
            None, js=_FOCUS_QUESTION)
        refreshed = [status, docs, timer, examples.dataset]
        for event in (timer.tick, lang.change):
            event(chat.refresh, [lang], refreshed, show_progress="hidden", **private)
        demo.load(None, js=f"() => {{ document.documentElement.lang = '{lang0}'; }}")
        demo.load(chat.refresh, [lang], refreshed, show_progress="hidden", **private)
        demo.load(chat.archive_view, archive_inputs, [timeline, table], show_progress="hidden",
                  **private)
        gr.api(chat.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=2)
    return demo


def launch_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments of ``launch()``: local theme and CSS, no sharing, no SSR, and
    no uploads worth the name unless they are enabled (then up to ``upload_max_bytes``)."""
    web = (settings or Settings()).web
    size = web.upload_max_bytes if web.uploads_enabled else "1kb"
    return {"theme": THEME, "css": render.CSS + client.styles(), "js": client.script(),
            "share": False, "ssr_mode": False, "show_error": False, "max_file_size": size}


def serve(settings: Settings, service: Service | None = None) -> None:
    """Serve the web chat on ``settings.web.host``/``port`` (blocks until interrupted),
    loading the index first unless ``service`` is already started."""
    if service is None:
        service = Service(Pipeline(settings, auto_index=False))
        service.start()
    demo = build_ui(ChatApp(service, settings))
    host, port = settings.web.host, settings.web.port
    print(f"Web chat on http://{host}:{port}/ (corpus {settings.paths.corpus_dir})", flush=True)
    try:
        demo.queue(default_concurrency_limit=2).launch(
            server_name=host, server_port=port, quiet=True, **launch_options(settings)
        )
    except OSError as exc:  # taken between the check at start-up and now
        raise ServeError(port_taken(host, port)) from exc

