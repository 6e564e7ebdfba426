"""Event handlers of the web chat (rag.web.handlers): a :class:`ChatApp` with a
:class:`Service` over a real pipeline with the fake embedder. Answers go to the chat and
the source panel, every problem becomes a readable message (never a traceback), ratings
go to the feedback file, the ``/ask`` API raises ``gr.Error`` with the pipeline's message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from shared_data import IMG, MINSK_VISIT

from rag.answer import Evidence
from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store.folder import CURRENT, current_version
from rag.store.index import CHUNKS
from rag.types import Answer, Source
from rag.web import feedback, render
from rag.web.handlers import ChatApp, feedback_view, message_language
from rag.web.layout import build_ui, launch_options
from rag.web.relevance import RelevanceScale
from rag.web.service import Service

QUESTION = "Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?"


class Fails:
    """An answerer that raises (a bug somewhere below the web layer)."""

    def answer(self, evidence: Evidence, retriever: Retriever) -> Answer:
        raise RuntimeError("secret internal detail")


class Fixed:
    """An answerer that returns one fixed answer (for the feedback limits)."""

    def __init__(self, answer: Answer) -> None:
        self.fixed = answer

    def answer(self, evidence: Evidence, retriever: Retriever) -> Answer:
        return self.fixed


def ready_chat(pipeline: Pipeline, data_dir: Path, **settings: Any) -> ChatApp:
    """A chat whose service is ready (the pipeline's index is already built)."""
    service = Service(pipeline)
    service.phase = "ready"
    return ChatApp(service, pipeline.settings.replace(data_dir=data_dir, **settings))


@pytest.fixture()
def chat(answering_fake_pipeline: Pipeline, tmp_path: Path) -> ChatApp:
    return ready_chat(answering_fake_pipeline, tmp_path / "data")


def _with_answerer(shared: Pipeline, answerer: Any) -> Pipeline:
    return Pipeline(shared.settings, embedder=shared.embedder, answerer=answerer,
                    auto_index=False)


def like(index: int, liked: bool | str) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "x", "liked": liked})


# --------------------------------------------------------------------------- answers


def test_add_user_shows_the_question_as_text(chat: ChatApp) -> None:
    cleared, history, pending = chat.add_user(IMG, [])
    assert cleared == "" and pending == IMG
    assert history == [{"role": "user", "content": render.user_text(IMG)}]
    assert chat.add_user("   ", history) == ("", history, "   ")  # nothing shown


def test_respond_puts_answer_in_chat_and_sources_in_panel(chat: ChatApp) -> None:
    _, history, pending = chat.add_user(QUESTION, [])
    history, records, panel = chat.respond(pending, history, {}, 3.0, " 2022 ", "", [])
    expected = chat.service.pipeline.ask(QUESTION, 3, date_from=" 2022 ")
    scale = RelevanceScale.for_language(chat.settings, expected.language)
    assert history[-1] == {"role": "assistant", "content": render.chat_text(expected, scale)}
    assert "&#91;1&#93;" in history[-1]["content"]
    assert panel == render.sources_html(expected, scale) and "<mark>" in panel
    assert records == {"1": feedback_view(expected)}
    assert set(records["1"]["sources"][0]) == {"n", "doc_id", "title", "score"}
    assert all(s.date and s.date[:4] >= "2022" for s in expected.sources)  # from 2022 on


def test_respond_passes_the_earlier_conversation(chat: ChatApp) -> None:
    """The conversation before the question (not the question itself, which ``add_user``
    already shows) goes to the pipeline, so that a follow-up is understood."""
    _, history, pending = chat.add_user(QUESTION, [])
    history, records, _ = chat.respond(pending, history, {}, 5, "", "", [])
    earlier = list(history)
    _, history, pending = chat.add_user("Und wann war das?", history)
    history, records, _ = chat.respond(pending, history, records, 5, "", "", [])
    plain = [{"role": "user", "content": QUESTION},
             {"role": "assistant", "content": records["1"]["text"]}]
    expected = chat.service.pipeline.ask("Und wann war das?", 5, history=plain)
    scale = RelevanceScale.for_language(chat.settings, expected.language)
    assert history[-1]["content"] == render.chat_text(expected, scale)
    assert "Geringe Relevanz" not in (expected.understood_as or "")
    assert sorted(records, key=int) == ["1", "3"]
    assert chat.api_ask("Und wann war das?", 5, history=plain) == expected.to_dict()
    assert len(earlier) == 2


def test_records_are_kept_per_session_up_to_the_limit(answering_fake_pipeline: Pipeline,
                                                       tmp_path: Path) -> None:
    chat = ready_chat(answering_fake_pipeline, tmp_path, max_records=2)
    history: list[dict] = []
    records: dict = {}
    for i in range(4):
        history.append({"role": "user", "content": "q"})
        history, records, _ = chat.respond(f"{QUESTION} {i}", history, records, 2, "", "", [])
    assert sorted(records, key=int) == ["5", "7"]


def test_error_reply_replaces_an_old_feedback_record(chat: ChatApp) -> None:
    _, records, _ = chat.respond(QUESTION, [{"role": "user", "content": "q"}], {}, 5, "", "",
                                 [])
    assert "1" in records
    history, records, panel = chat.respond("", [{"role": "user", "content": "q"}], records, 5,
                                           "", "", [])
    assert records == {} and "Please enter a question" in history[-1]["content"]
    assert panel == gr.skip()  # the panel keeps the previous answer


def test_errors_become_readable_chat_messages(answering_fake_pipeline: Pipeline,
                                              tmp_path: Path) -> None:
    chat = ready_chat(answering_fake_pipeline, tmp_path)
    text = chat.respond("   ", [], {}, 5, "", "", [])[0][-1]["content"]
    assert text.startswith("**Fehler:**") and "Bitte geben Sie eine Frage ein\\." in text
    text = chat.respond("Which year?", [], {}, 0, "", "", [])[0][-1]["content"]
    assert text.startswith("**Error:**") and "k must be between 1 and 20" in text

    broken = ready_chat(_with_answerer(answering_fake_pipeline, Fails()), tmp_path)
    history, records, panel = broken.respond(QUESTION, [], {}, 5, "", "", [])
    text = history[-1]["content"]
    assert "Es ist ein interner Fehler aufgetreten" in text
    assert "secret" not in text and "Traceback" not in text
    assert records == {} and panel == gr.skip()


def test_missing_index_is_a_readable_message(tmp_path: Path) -> None:
    settings = Settings().replace(corpus_dir=tmp_path, index_dir=tmp_path / "index")
    chat = ready_chat(Pipeline(settings, embedder=FakeEmbedder(), auto_index=False), tmp_path)
    text = chat.respond(QUESTION, [], {}, 5, "", "", [])[0][-1]["content"]
    assert "Der Suchindex ist nicht verfügbar\\: No index in" in text
    assert "rag index" in text and "Traceback" not in text


def test_question_while_index_is_built(answering_fake_pipeline: Pipeline,
                                       tmp_path: Path) -> None:
    service = Service(answering_fake_pipeline)
    service.phase = "building"
    chat = ChatApp(service, answering_fake_pipeline.settings.replace(api_wait_seconds=0.01))
    history, _, _ = chat.respond("How many soldiers does the army have?", [], {}, 5, "", "",
                                 [])
    assert "still being built" in history[-1]["content"]
    history, _, _ = chat.respond("Wie viele Soldaten hat die Armee?", [], {}, 5, "", "", [])
    assert "noch aufgebaut" in history[-1]["content"]
    with pytest.raises(gr.Error, match="still being built"):
        chat.api_ask("Wie nennt Lukaschenko Putin?")


def test_app_shows_a_broken_index_readably(fake_settings: Settings, tmp_path: Path) -> None:
    """A broken version published while the app runs: the chat and the API say the index is
    not available and how to fix it; no traceback, no answer from the broken index."""
    service = Service(Pipeline(fake_settings, embedder=FakeEmbedder(), auto_index=False))
    service.start().join(60)
    assert service.ready, service.error
    chat = ChatApp(service, fake_settings)
    assert chat.api_ask(QUESTION)["sources"]

    index_dir = fake_settings.paths.index_dir
    broken = index_dir / "v-broken"
    shutil.copytree(current_version(index_dir), broken)
    (broken / CHUNKS).unlink()
    (index_dir / CURRENT).write_text(broken.name, encoding="utf-8")
    history, records, panel = chat.respond(QUESTION, [], {}, 5, "", "", [])
    reply = history[-1]["content"]
    assert "Der Suchindex ist nicht verfügbar" in reply and "rebuild" in reply
    assert "Traceback" not in reply and records == {} and panel == gr.skip()
    with pytest.raises(gr.Error, match="--rebuild"):
        chat.api_ask("How many professional soldiers does the Belarusian army have?")


# --------------------------------------------------------------------------- the API


def test_api_returns_the_answer_dict(chat: ChatApp) -> None:
    result = chat.api_ask(QUESTION, 2, "2022", None, [MINSK_VISIT])
    assert result == chat.service.pipeline.ask(QUESTION, 2, date_from="2022",
                                               doc_ids=[MINSK_VISIT]).to_dict()
    assert {s["doc_id"] for s in result["sources"]} == {MINSK_VISIT}
    json.dumps(result)


def test_api_wrong_types_get_a_clear_error(chat: ChatApp) -> None:
    """``/ask`` with a value of the wrong type names the bad parameter (it once answered
    "internal error" and logged a traceback per call)."""
    unclear = []
    for kwargs in ({"k": "five"}, {"k": float("nan")}, {"k": 2.5}, {"k": 0},
                   {"date_from": 2022}, {"date_to": ["2022"]}, {"doc_ids": 7},
                   {"doc_ids": [1, 2]}, {"question": None}):
        args = {"question": "Wie nennt Lukaschenko Putin?", **kwargs}
        with pytest.raises(gr.Error) as info:
            chat.api_ask(**args)
        name = next(iter(kwargs)).replace("question", "question must be text")
        if name.split()[0] not in str(info.value) or "internal error" in str(info.value):
            unclear.append(f"{kwargs}: {info.value}")
    assert not unclear, unclear


def test_api_internal_errors_are_not_shown(answering_fake_pipeline: Pipeline,
                                           tmp_path: Path) -> None:
    chat = ready_chat(_with_answerer(answering_fake_pipeline, Fails()), tmp_path)
    with pytest.raises(gr.Error) as info:
        chat.api_ask(QUESTION)
    assert "internal error" in str(info.value) and "secret" not in str(info.value)


# --------------------------------------------------------------------------- feedback


def test_like_and_dislike_append_feedback(chat: ChatApp) -> None:
    question = "Wie nennt Lukaschenko Putin?"
    history, records, _ = chat.respond(question, [{"role": "user", "content": "q"}], {}, 5,
                                       "", "", [])
    chat.on_like(records, like(1, True))
    chat.on_like(records, like([1, 0], False))  # a list index, as Gradio also sends
    chat.on_like(records, like(0, True))  # the user's message: ignored
    chat.on_like(records, like(1, ""))  # retracted: ignored
    chat.on_like(None, like(1, True))  # no records: ignored
    path = feedback.feedback_path(chat.settings)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [r["rating"] for r in rows] == ["helpful", "not_helpful"]
    row = rows[0]
    assert set(row) == {"ts", "rating", "question", "language", "found", "answer", "sources"}
    assert row["question"] == question and row["language"] == "de"
    assert row["answer"] == chat.service.pipeline.ask(question, 5).text
    assert row["sources"] == records["1"]["sources"] and row["ts"].endswith("+00:00")


def _huge_answer(wide: str) -> Answer:
    """An answer as large as possible in every field, made of the character ``wide``."""
    sources = [Source(n, wide * 5000 + "/../../etc/passwd", wide * 5000, None,
                      "javascript:alert(1)", None, wide * 100, 0.5, [(0, 5)])
               for n in range(1, 51)]
    return Answer(wide * 50_000, "de", True, "\n".join([wide * 100] * 1000), sources)


@pytest.mark.parametrize("wide", [
    "x",
    "😀",
], ids=["ascii", "4-byte-utf8"])
def test_feedback_through_the_app_stays_bounded(shared_fake_pipeline: Pipeline,
                                                tmp_path: Path, wide: str) -> None:
    """Many maximal ratings through the like handler: at most ``backups + 1`` files of
    ``feedback_max_bytes`` each, every line a capped JSON record, no path from the answer
    used (limits lowered in the settings to keep the test fast)."""
    data = tmp_path / "data"
    chat = ready_chat(_with_answerer(shared_fake_pipeline, Fixed(_huge_answer(wide))), data,
                      feedback_max_bytes=200_000, feedback_backups=2)
    _, records, _ = chat.respond("q", [{"role": "user", "content": "q"}], {}, 5, "", "", [])
    limit = 3 * 200_000
    written = 0
    while written < 1.5 * limit:
        chat.on_like(records, like(1, True))
        written += len(json.dumps(feedback.make_record(records["1"], True),
                                  ensure_ascii=False).encode()) + 1
    files = sorted(p.name for p in data.iterdir())
    assert files == [".feedback.jsonl.lock", "feedback.jsonl", "feedback.jsonl.1",
                     "feedback.jsonl.2"]
    sizes = [p.stat().st_size for p in data.glob("feedback.jsonl*")]
    assert max(sizes) <= 200_000 and sum(sizes) <= limit
    for line in (data / "feedback.jsonl").read_text("utf-8").split("\n")[:-1]:
        row = json.loads(line)
        assert len(row["question"]) <= feedback.MAX_QUESTION_CHARS
        assert len(row["answer"]) <= feedback.MAX_TEXT_CHARS
        assert len(row["sources"]) <= feedback.MAX_SOURCES
    assert not list(tmp_path.rglob("passwd"))


def test_feedback_does_not_follow_a_planted_symlink(chat: ChatApp, tmp_path: Path) -> None:
    """``feedback.jsonl`` replaced by a symbolic link to another file: nothing is written
    there, the user gets a readable error."""
    data = chat.settings.paths.data_dir
    data.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch\n", encoding="utf-8")
    (data / "feedback.jsonl").symlink_to(outside)
    _, records, _ = chat.respond(QUESTION, [{"role": "user", "content": "q"}], {}, 5, "", "",
                                 [])
    try:
        with pytest.raises(gr.Error, match="Feedback could not be saved"):
            chat.on_like(records, like(1, True))
    finally:
        assert outside.read_text(encoding="utf-8") == "do not touch\n"


def test_unwritable_feedback_is_a_readable_error(chat: ChatApp) -> None:
    data = chat.settings.paths.data_dir
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("a file where the folder should be")
    _, records, _ = chat.respond(QUESTION, [{"role": "user", "content": "q"}], {}, 5, "", "",
                                 [])
    with pytest.raises(gr.Error, match="Feedback could not be saved"):
        chat.on_like(records, like(1, True))


# --------------------------------------------------------------------------- status, UI


def test_refresh_polls_while_busy_and_fills_the_article_list_and_examples(
        answering_fake_pipeline: Pipeline) -> None:
    service = Service(answering_fake_pipeline)
    chat = ChatApp(service, answering_fake_pipeline.settings)
    status, docs, timer, examples = chat.refresh()
    assert 'data-state="busy"' in status and docs == gr.skip() and timer.active
    assert examples == gr.skip()
    service.phase = "ready"
    service.doc_choices = [("Titel <b>", "a.txt")]
    service.examples = ["Wer <b>?", "Titel"]
    status, docs, timer, examples = chat.refresh()
    assert 'data-state="ready"' in status and not timer.active
    assert docs.choices == [("Titel <b>", "a.txt")]
    assert examples.constructor_args["samples"] == [["Wer <b>?"], ["Titel"]]
    assert examples.visible
    service.examples = []  # none answered, no headline short enough: no empty box
    assert not chat.refresh()[3].visible
    service.phase, service.error = "error", "kaputt"
    status, docs, timer, examples = chat.refresh()
    assert 'data-state="error"' in status and not timer.active and examples == gr.skip()


@pytest.mark.parametrize(("text", "lang"), [
    ("How many soldiers does the army have?", "en"),
    ("Wie viele Soldaten hat die Armee?", "de"),
    ("", "de"), ("   ", "de"), (None, "de"), (42, "de"), ("\ud800", "de"),
])
def test_message_language(text: Any, lang: str) -> None:
    assert message_language(text) == lang


def test_ui_has_one_public_endpoint(chat: ChatApp) -> None:
    demo = build_ui(chat)
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"ask"}
    params = demo.get_api_info()["named_endpoints"]["/ask"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["question", "k", "date_from", "date_to",
                                                    "doc_ids", "history"]
    assert "filepath" not in json.dumps(params) and "FileData" not in json.dumps(params)
    options = launch_options()
    assert options["share"] is False and options["ssr_mode"] is False
    assert options["show_error"] is False and options["max_file_size"] == "1kb"
    assert options["css"].startswith(render.CSS)


def test_serve_listens_where_the_settings_say(answering_fake_pipeline: Pipeline,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``rag serve`` passes ``settings.web.host``/``port`` to Gradio (the served app is
    checked in tests/e2e); loading starts in the background first."""
    import rag.web.layout as layout

    seen: dict[str, Any] = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr(Service, "start", lambda self: seen.setdefault("started", True))
    settings = answering_fake_pipeline.settings.replace(host="127.0.0.2", port=8123)
    layout.serve(settings)
    assert (seen["server_name"], seen["server_port"], seen["started"]) == ("127.0.0.2", 8123,
                                                                          True)
    assert seen["share"] is False
    assert "Web chat on http://127.0.0.2:8123/" in capsys.readouterr().out
