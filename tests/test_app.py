"""The web chat (app.py): handlers and feedback (fast), and the launched app end to end
through ``gradio_client`` (slow: a real ``python app.py`` server on a free local port)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import gradio as gr
import pytest
from shared_data import IMG, SCRIPT, free_port

from rag import feedback
from rag.answer import Answer, Source
from rag.index import IndexMissing
from rag.pipeline import QuestionError
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
ANSWER_KEYS = {"question", "language", "found", "text", "sources"}
SOURCE_KEYS = {"n", "doc_id", "title", "date", "url", "publisher", "text", "score", "highlights"}


def load_app() -> ModuleType:
    """Import ``app.py`` from the repository root (it is a script, not a package)."""
    if "rag_web_app" in sys.modules:
        return sys.modules["rag_web_app"]
    spec = importlib.util.spec_from_file_location("rag_web_app", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["rag_web_app"] = module
    spec.loader.exec_module(module)
    return module


app = load_app()


def sample_answer(lang: str = "de") -> Answer:
    src = Source(1, "003_x.txt", f"Titel {SCRIPT}", "2021-11", None, None,
                 "Er nennt ihn Bruder.", 0.9, [(0, 20)])
    return Answer("Wie nennt Lukaschenko Putin?", lang, True, "Er nennt ihn Bruder. [1]", [src])


class StubPipeline:
    """Stands in for :class:`rag.Pipeline` in handler tests (no model)."""

    def __init__(self, result: Answer | Exception) -> None:
        self.result = result
        self.calls: list[tuple] = []

    def ask(self, question: str, k: int | None = None, **kw: Any) -> Answer:
        self.calls.append((question, k, kw))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def ready_chat(result: Answer | Exception, tmp_path: Path) -> Any:
    service = app.Service(StubPipeline(result))  # type: ignore[arg-type]
    service.phase = "ready"
    return app.ChatApp(service, Settings(data_dir=tmp_path / "data"))


# --- address and arguments ----------------------------------------------------------


def test_address_defaults_env_and_flags() -> None:
    assert app.resolve_address(None, None, {}) == ("127.0.0.1", 7860)
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "8000"}
    assert app.resolve_address(None, None, env) == ("0.0.0.0", 8000)
    assert app.resolve_address("127.0.0.2", 9000, env) == ("127.0.0.2", 9000)
    with pytest.raises(SystemExit, match="GRADIO_SERVER_PORT"):
        app.resolve_address(None, None, {"GRADIO_SERVER_PORT": "http"})


def test_parser_flags() -> None:
    args = app.build_parser().parse_args(["--host", "0.0.0.0", "--port", "8080"])
    assert (args.host, args.port) == ("0.0.0.0", 8080)


# --- handlers (no model) --------------------------------------------------------------


def test_respond_puts_answer_in_chat_and_sources_in_panel(tmp_path: Path) -> None:
    chat = ready_chat(sample_answer(), tmp_path)
    cleared, history, pending = chat.add_user(IMG, [])
    assert cleared == "" and pending == IMG
    assert history == [{"role": "user", "content": app.render.user_text(IMG)}]
    history, records, panel = chat.respond(pending, history, {}, 3, " 2021 ", "", ["a"])
    # the UI's values go to the pipeline as they are: Pipeline.ask validates them
    assert chat.service.pipeline.calls == [
        (IMG, 3, {"date_from": " 2021 ", "date_to": "", "doc_ids": ["a"]})]
    assert history[-1]["role"] == "assistant" and "\\[1\\]" in history[-1]["content"]
    assert "<mark>Er nennt ihn Bruder.</mark>" in panel and "<script" not in panel
    expected = sample_answer().to_dict()
    expected["sources"] = [{"n": 1, "doc_id": "003_x.txt", "title": f"Titel {SCRIPT}",
                            "score": 0.9}]
    assert records == {"1": expected}


def test_error_reply_replaces_an_old_feedback_record(tmp_path: Path) -> None:
    chat = ready_chat(sample_answer(), tmp_path)
    _, records, _ = chat.respond("q", [{"role": "user", "content": "q"}], {}, 5, "", "", [])
    assert "1" in records
    chat.service.pipeline.result = QuestionError("Please enter a question.")
    history, records, _ = chat.respond("", [{"role": "user", "content": "q"}], records, 5, "",
                                       "", [])
    assert records == {} and "Please enter a question" in history[-1]["content"]


@pytest.mark.parametrize(
    "error, expected",
    [
        (QuestionError("Please enter a question. / Bitte geben Sie eine Frage ein."),
         "Bitte geben Sie eine Frage ein\\."),
        (IndexMissing("No index yet. Build it with: python -m rag index"),
         "Der Suchindex ist nicht verfügbar\\: No index yet\\."),
        (RuntimeError("secret internal detail"), "Es ist ein interner Fehler aufgetreten"),
    ],
)
def test_errors_become_readable_chat_messages(tmp_path: Path, error: Exception,
                                              expected: str) -> None:
    chat = ready_chat(error, tmp_path)
    history, records, panel = chat.respond("Wie nennt Lukaschenko Putin?", [], {}, 5, "", "",
                                           [])
    text = history[-1]["content"]
    assert expected in text and "Traceback" not in text and "secret" not in text
    assert records == {}
    assert panel == gr.skip()  # the panel keeps the previous answer


def test_question_while_index_is_built(tmp_path: Path) -> None:
    service = app.Service(StubPipeline(sample_answer()))  # type: ignore[arg-type]
    service.phase = "building"
    chat = app.ChatApp(service, Settings(data_dir=tmp_path))
    history, _, _ = chat.respond("How many soldiers does the army have?", [], {}, 5, "", "", [])
    assert "still being built" in history[-1]["content"]
    history, _, _ = chat.respond("Wie viele Soldaten hat die Armee?", [], {}, 5, "", "", [])
    assert "noch aufgebaut" in history[-1]["content"]
    state, message = service.status()
    assert state == "busy" and "Building the search index" in message
    saved, app.API_WAIT_SECONDS = app.API_WAIT_SECONDS, 0.01
    try:
        with pytest.raises(gr.Error, match="still being built"):
            chat.api_ask("Wie nennt Lukaschenko Putin?")
    finally:
        app.API_WAIT_SECONDS = saved


def test_api_errors_are_gr_errors(tmp_path: Path) -> None:
    chat = ready_chat(QuestionError("k must be between 1 and 50 (got 0)."), tmp_path)
    with pytest.raises(gr.Error, match="k must be between 1 and 50"):
        chat.api_ask("x", 0)
    chat = ready_chat(sample_answer(), tmp_path)
    assert chat.api_ask("Wie nennt Lukaschenko Putin?") == sample_answer().to_dict()


def test_failed_startup_is_reported(tmp_path: Path) -> None:
    class Broken(StubPipeline):
        def is_stale(self) -> bool:
            raise OSError("corpus folder missing")

    service = app.Service(Broken(sample_answer()))  # type: ignore[arg-type]
    service.start().join(10)
    assert service.phase == "error" and service.wait(0)
    assert service.status() == ("error", "Der Suchindex ist nicht verfügbar / The index is "
                                         "not available: corpus folder missing")
    chat = app.ChatApp(service, Settings(data_dir=tmp_path))
    history, _, _ = chat.respond("Wie nennt Lukaschenko Putin?", [], {}, 5, "", "", [])
    assert "corpus folder missing" in history[-1]["content"]


def test_ui_builds_with_ask_endpoint(tmp_path: Path) -> None:
    demo = app.build_ui(ready_chat(sample_answer(), tmp_path))
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"ask"}


# --- feedback -------------------------------------------------------------------------


def like(index: int, liked: bool | str) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "x", "liked": liked})


def test_like_and_dislike_append_feedback(tmp_path: Path) -> None:
    chat = ready_chat(sample_answer("en"), tmp_path)
    history, records, _ = chat.respond("q", [{"role": "user", "content": "q"}], {}, 5, "", "",
                                       [])
    chat.on_like(records, like(1, True))
    chat.on_like(records, like(1, False))
    chat.on_like(records, like(0, True))  # the user's message: ignored
    chat.on_like(records, like(1, ""))  # retracted: ignored
    path = tmp_path / "data" / "feedback.jsonl"
    assert path == feedback.feedback_path(chat.settings)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [r["rating"] for r in rows] == ["helpful", "not_helpful"]
    row = rows[0]
    assert set(row) == {"ts", "rating", "question", "language", "found", "answer", "sources"}
    assert row["question"] == "Wie nennt Lukaschenko Putin?" and row["language"] == "en"
    assert row["answer"] == "Er nennt ihn Bruder. [1]"
    assert row["sources"] == [{"n": 1, "doc_id": "003_x.txt", "title": f"Titel {SCRIPT}",
                               "score": 0.9}]
    assert row["ts"].endswith("+00:00")


def test_feedback_caps_field_lengths(tmp_path: Path) -> None:
    data = sample_answer().to_dict()
    data["question"] = "q" * 50_000
    data["text"] = "a\n" * 50_000 + "\ud800"
    data["sources"] = data["sources"] * 500
    data["language"] = "<x>"
    path = tmp_path / "fb.jsonl"
    feedback.append_record(path, feedback.make_record(data, True))
    line = path.read_text("utf-8")
    assert line.count("\n") == 1
    row = json.loads(line)
    assert len(row["question"]) == feedback.MAX_QUESTION_CHARS
    assert len(row["answer"]) == feedback.MAX_TEXT_CHARS
    assert len(row["sources"]) == feedback.MAX_SOURCES and row["language"] is None


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


# --- the launched app (slow) ------------------------------------------------------------


@dataclass
class Server:
    url: str
    client: Any
    data_dir: Path
    log: Path
    timings: dict[str, float]
    other_port: int


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait until ``url`` answers; fail with the server log if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"app.py did not answer within {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python app.py --port P`` on the default corpus with a fresh index (built at startup).

    ``GRADIO_SERVER_PORT`` points elsewhere to show that the flag wins.
    """
    from gradio_client import Client

    tmp = tmp_path_factory.mktemp("app")
    port, other = free_port(), free_port()
    env = dict(os.environ, RAG_DATA_DIR=str(tmp / "data"), GRADIO_SERVER_PORT=str(other),
               PYTHONUNBUFFERED="1")
    env.pop("GRADIO_SERVER_NAME", None)
    log = tmp / "app.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--index",
             str(tmp / "index")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, proc, log, 180)
        page_up = time.perf_counter() - started
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        client.predict("Wie nennt Lukaschenko Putin?", api_name="/ask")  # waits for the index
        timings = {"page_up_s": round(page_up, 2),
                   "first_answer_s": round(time.perf_counter() - started, 2),
                   "first_answer_call_s": round(time.perf_counter() - t0, 2)}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "app_timings.json").write_text(json.dumps(timings, indent=2))
        yield Server(url, client, tmp / "data", log, timings, other)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, lang, doc_id",
    [
        ("Wie nennt Lukaschenko Putin?", "de", "003_13b114440d0760a9.txt"),
        ("Who replaced the deceased Belarusian foreign minister Makei?", "en",
         "002_b32e619577f15ed7.txt"),
    ],
)
def test_ask_returns_answer_dict_with_right_source(server: Server, question: str, lang: str,
                                                  doc_id: str) -> None:
    result = server.client.predict(question, api_name="/ask")
    assert set(result) == ANSWER_KEYS
    assert result["question"] == question and result["language"] == lang
    assert result["sources"] and set(result["sources"][0]) == SOURCE_KEYS
    assert result["sources"][0]["doc_id"] == doc_id
    assert [s["n"] for s in result["sources"]] == list(range(1, len(result["sources"]) + 1))
    if result["found"]:
        assert any(f"[{s['n']}]" in result["text"] for s in result["sources"])


@pytest.mark.slow
def test_ask_parameters(server: Server) -> None:
    doc = "002_b32e619577f15ed7.txt"
    result = server.client.predict(question="Wie nennt Lukaschenko Putin?", k=2,
                                   date_from="2022", date_to="2022-12-31", doc_ids=[doc],
                                   api_name="/ask")
    assert 1 <= len(result["sources"]) <= 2
    assert {s["doc_id"] for s in result["sources"]} == {doc}


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"question": "   "}, "Please enter a question"),
        ({"question": "Putin?", "k": 0}, "k must be between 1 and 50"),
        ({"question": "Putin?", "date_from": "gestern"}, "date_from must be a date"),
        ({"question": "x" * 5000}, "too long"),
    ],
)
def test_ask_errors_are_clear(server: Server, kwargs: dict, message: str) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        server.client.predict(**kwargs, api_name="/ask")
    assert message in str(info.value) and "Traceback" not in str(info.value)


@pytest.mark.slow
def test_xss_question_comes_back_as_data(server: Server) -> None:
    result = server.client.predict(IMG, api_name="/ask")
    assert result["question"] == IMG  # plain data: escaping is the renderer's job
    assert result["language"] in ("de", "en")
    result = server.client.predict(f"Was sagte Lukaschenko? {SCRIPT}", api_name="/ask")
    assert result["question"] == f"Was sagte Lukaschenko? {SCRIPT}"


@pytest.mark.slow
def test_flag_port_wins_over_environment(server: Server) -> None:
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(1)
        s.connect(("127.0.0.1", server.other_port))


@pytest.mark.slow
def test_page_is_served_without_external_assets(server: Server) -> None:
    with urllib.request.urlopen(server.url, timeout=10) as resp:
        page = resp.read().decode()
    assert "fonts.googleapis" not in page and "cdn.jsdelivr" not in page
    with urllib.request.urlopen(server.url + "config", timeout=10) as resp:
        config = resp.read().decode()
    assert "fonts.googleapis" not in config


@pytest.mark.slow
def test_startup_built_the_index_with_progress(server: Server) -> None:
    log = server.log.read_text()
    assert "Embedding" in log and "Ready after" in log
    assert "Traceback" not in log
    print(f"timings: {server.timings}")
