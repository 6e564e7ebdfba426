"""The served app's ``/ask`` API through ``gradio_client`` (a real ``python app.py`` with
the real model, see conftest.py): answers, parameters, clear errors, startup."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from shared_data import IMG, MINSK_VISIT, SCRIPT, SEWASTOPOL

from .conftest import Server

pytestmark = pytest.mark.slow

ANSWER_KEYS = {"question", "language", "found", "text", "sources", "understood_as", "period",
               "generated", "model", "dropped", "extractive", "notice", "timing"}
SOURCE_KEYS = {"n", "doc_id", "title", "date", "url", "publisher", "text", "score", "highlights",
               "relevance", "also"}


@pytest.mark.parametrize(
    "question, lang, doc_id",
    [
        ("Wie nennt Lukaschenko Putin?", "de", SEWASTOPOL),
        ("Who replaced the deceased Belarusian foreign minister Makei?", "en", MINSK_VISIT),
    ],
)
def test_ask_returns_answer_dict_with_right_source(app_server: Server, question: str,
                                                  lang: str, doc_id: str) -> None:
    result = app_server.client.predict(question, api_name="/ask")
    assert set(result) == ANSWER_KEYS
    assert result["question"] == question and result["language"] == lang
    assert result["understood_as"] is None  # no history: answered on its own
    assert result["sources"] and set(result["sources"][0]) == SOURCE_KEYS
    assert result["sources"][0]["doc_id"] == doc_id
    assert [s["n"] for s in result["sources"]] == list(range(1, len(result["sources"]) + 1))
    if result["found"]:
        assert any(f"[{s['n']}]" in result["text"] for s in result["sources"])


def test_ask_parameters(app_server: Server) -> None:
    result = app_server.client.predict(question="Wie nennt Lukaschenko Putin?", k=2,
                                       date_from="2022", date_to="2022-12-31",
                                       doc_ids=[MINSK_VISIT], api_name="/ask")
    assert 1 <= len(result["sources"]) <= 2
    assert {s["doc_id"] for s in result["sources"]} == {MINSK_VISIT}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"question": "   "}, "Please enter a question"),
        ({"question": "Putin?", "k": 0}, "k must be between 1 and 20"),
        ({"question": "Putin?", "date_from": "gestern"}, "date_from must be a date"),
        ({"question": "x" * 5000}, "too long"),
    ],
)
def test_ask_errors_are_clear(app_server: Server, kwargs: dict, message: str) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        app_server.client.predict(**kwargs, api_name="/ask")
    assert message in str(info.value) and "Traceback" not in str(info.value)


def test_xss_question_comes_back_as_data(app_server: Server) -> None:
    result = app_server.client.predict(IMG, api_name="/ask")
    assert result["question"] == IMG  # plain data: escaping is the renderer's job
    assert result["language"] in ("de", "en")
    result = app_server.client.predict(f"Was sagte Lukaschenko? {SCRIPT}", api_name="/ask")
    assert result["question"] == f"Was sagte Lukaschenko? {SCRIPT}"


def test_flag_port_wins_over_environment(app_server: Server) -> None:
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(1)
        s.connect(("127.0.0.1", app_server.other_port))


def test_page_is_served_without_external_assets(app_server: Server) -> None:
    with urllib.request.urlopen(app_server.url, timeout=10) as resp:
        page = resp.read().decode()
    assert "fonts.googleapis" not in page and "cdn.jsdelivr" not in page
    with urllib.request.urlopen(app_server.url + "config", timeout=10) as resp:
        config = resp.read().decode()
    assert "fonts.googleapis" not in config


def test_startup_built_the_index_with_progress(app_server: Server) -> None:
    log = app_server.log.read_text()
    assert "Embedding" in log and "Ready after" in log
    assert f"Web chat on http://127.0.0.1:{app_server.port}/" in log
    assert "Traceback" not in log
    print(f"timings: {app_server.timings}")


def test_follow_up_with_history(app_server: Server) -> None:
    """``/ask`` takes the conversation so far: a follow-up says how it was understood."""
    question = "Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?"
    first = app_server.client.predict(question, api_name="/ask")
    history = [{"role": "user", "content": question},
               {"role": "assistant", "content": first["text"]}]
    result = app_server.client.predict("Und wann war das?", history=history, api_name="/ask")
    assert result["understood_as"] and result["text"].startswith(result["understood_as"])
    assert result["sources"] and result["sources"][0]["doc_id"] == MINSK_VISIT
