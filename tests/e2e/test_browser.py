"""The web chat in a real headless Chromium (Playwright, Debian's /usr/bin/chromium).

The app is the session's ``python app.py`` (see conftest.py): the product's articles plus
one with ``<script>`` and ``<img onerror>`` in its title, publisher, URL and text, and an
index built at startup. Checks: the status line, a German question answered with citation
markers and a highlighted passage, feedback buttons, readable errors, everything from the
corpus or the user shown as text with no script run, and no request leaving 127.0.0.1.
Screenshots go to ``tests/artifacts/``; with ``RAG_SAVE_SCREENSHOT=1`` the answer
screenshot is also saved as ``docs/screenshot.png``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import pytest
from shared_data import ARTIFACTS, IMG, MINSK_VISIT, ROOT, SCRIPT, SEWASTOPOL, XSS_DOC, XSS_QUESTION

from .conftest import Server, needs_chromium, open_page

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def page(browser, app_server: Server) -> Iterator:
    page = open_page(browser, app_server.url, 1400, 1000)
    watch = page.watch
    yield page
    page.context.close()
    # every test: nothing left 127.0.0.1, no script from the corpus or a question ran
    assert watch.foreign() == [], watch.foreign()
    assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)


def wait_ready(page) -> None:
    page.wait_for_selector("#rag-status .rag-status-ready", timeout=180_000)


def ask(page, question: str) -> str:
    """Type ``question``, press Enter, return the text of the new assistant message."""
    bots = page.locator('#rag-chat [data-testid="bot"]')
    before = bots.count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat [data-testid=\"bot\"]').length > n",
        arg=before, timeout=60_000,
    )
    return bots.nth(before).inner_text()


def no_injected_markup(page, selector: str) -> None:
    """No element under ``selector`` came from corpus/user markup."""
    found = page.evaluate(
        """sel => {
            const root = document.querySelector(sel);
            const bad = [...root.querySelectorAll('script, iframe, object, embed, img, svg image')]
                .filter(e => !e.closest('button'))
                .map(e => e.outerHTML);
            const handlers = [...root.querySelectorAll('*')].filter(
                e => [...e.attributes].some(a => a.name.startsWith('on'))).map(e => e.outerHTML);
            const js = [...root.querySelectorAll('a[href]')].filter(
                a => !/^(https?:|#rag-)/i.test(a.getAttribute('href'))).map(a => a.outerHTML);
            return bad.concat(handlers, js);
        }""",
        selector,
    )
    assert found == []


def test_german_question_shows_answer_with_citations_and_highlight(page) -> None:
    # a status line is shown from the start: loading/building (temp index) or ready
    # (state and text read together: the start is fast enough to turn ready in between)
    state, text = page.locator("#rag-status .rag-status").evaluate(
        "el => [el.getAttribute('data-state'), el.innerText]")
    assert state in ("busy", "ready")
    if state == "busy":
        assert re.search(r"geladen|aufgebaut", text)
    wait_ready(page)
    t0 = time.perf_counter()
    reply = ask(page, "Wie nennt Lukaschenko Putin?")
    page.wait_for_selector("#rag-sources mark")
    answer_s = time.perf_counter() - t0

    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", reply)})
    assert cited, reply
    assert "Quellen" in reply  # fixed texts in the question's language
    panel = page.locator("#rag-sources")
    assert panel.locator("h2").inner_text() == "Quellen"
    assert "[1]" in panel.locator(".rag-source").first.inner_text()
    for n in cited:  # each cited source shows its passage with the answer sentence marked
        card = panel.locator(f'.rag-source[id$="-{n}"]')
        assert card.locator("mark").count() >= 1
        assert card.locator("mark").first.inner_text().strip() in reply
        assert re.search(r"relevant.*Ähnlichkeit zur Frage \d\.\d{3}", card.inner_text(),
                         re.DOTALL)
    assert SEWASTOPOL in panel.locator(".rag-source").first.inner_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / "browser_answer.png"), full_page=True)
    if os.environ.get("RAG_SAVE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "screenshot.png").write_bytes(shot)
    (ARTIFACTS / "browser_timings.json").write_text(json.dumps(
        {"answer_in_browser_s": round(answer_s, 2)}, indent=2))

    assert page.watch.dialogs == [] and page.watch.errors == []
    assert page.watch.foreign() == []


def test_english_question_gets_english_texts(page) -> None:
    wait_ready(page)
    reply = ask(page, "Who replaced the deceased Belarusian foreign minister Makei?")
    panel = page.locator("#rag-sources")
    page.wait_for_selector('#rag-sources .rag-sources[lang="en"]')
    heading = panel.locator("h2").inner_text()
    assert heading in ("Sources", "Possibly related")
    if heading == "Possibly related":
        assert "Possibly related" in reply and "could not find" in reply
    else:
        assert "Sources:" in reply
    assert "Similarity to the question" in panel.inner_text()
    assert "Ähnlichkeit" not in panel.inner_text()
    assert MINSK_VISIT in panel.locator(".rag-source").first.inner_text()


def test_xss_in_corpus_and_question_is_shown_as_text(page) -> None:
    wait_ready(page)
    reply = ask(page, IMG)
    assert IMG in reply or IMG in page.locator('#rag-chat [data-testid="user"]').last.inner_text()
    reply = ask(page, XSS_QUESTION)
    panel = page.locator("#rag-sources")
    card = panel.locator(".rag-source").first
    page.wait_for_function(
        "doc => document.querySelector('#rag-sources').innerText.includes(doc)", arg=XSS_DOC)
    text = card.inner_text()
    assert XSS_DOC in text
    assert SCRIPT in text and IMG in text  # title, publisher and passage shown as text
    assert card.locator("a.rag-link").count() == 0  # javascript: URL gets no link
    user_bubbles = page.locator('#rag-chat [data-testid="user"]')
    assert IMG in user_bubbles.nth(user_bubbles.count() - 2).inner_text()

    # the article list shows the title as text too
    page.locator("#rag-chat-tab").get_by_text("Einstellungen", exact=True).click()
    page.locator("#rag-docs input").click()
    options = page.locator('#rag-docs [role="option"]')
    options.first.wait_for()
    assert any(SCRIPT in t for t in options.all_inner_texts()), options.all_inner_texts()
    page.keyboard.press("Escape")

    no_injected_markup(page, "#rag-sources")
    no_injected_markup(page, "#rag-chat")
    page.wait_for_timeout(500)
    assert page.watch.dialogs == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_xss.png"), full_page=True)
    assert page.watch.foreign() == []


def test_errors_are_readable_in_chat(page) -> None:
    wait_ready(page)
    box = page.locator("#rag-question textarea")
    box.fill("   ")
    box.press("Enter")
    bot = page.locator('#rag-chat [data-testid="bot"]').last
    bot.wait_for(timeout=30_000)
    text = bot.inner_text()
    assert "Bitte geben Sie eine Frage ein." in text and "Traceback" not in text


def test_feedback_buttons_write_jsonl(page, app_server: Server) -> None:
    wait_ready(page)
    question = "Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?"
    ask(page, question)
    path = app_server.data / "feedback.jsonl"
    before = len(path.read_text("utf-8").splitlines()) if path.exists() else 0

    def rows_after(n: int) -> list[dict]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if path.exists():
                rows = [json.loads(x) for x in path.read_text("utf-8").splitlines()[before:]]
                if len(rows) >= n:
                    return rows
            time.sleep(0.2)
        return []

    # the page runs with locale de-DE, so Gradio labels the buttons in German
    page.locator('#rag-chat button[aria-label="Gefällt mir"]').last.click()
    rows_after(1)
    page.locator('#rag-chat button[aria-label="Gefällt mir nicht"]').last.click()
    rows = rows_after(2)
    assert [r["rating"] for r in rows] == ["helpful", "not_helpful"]
    assert rows[0]["question"] == question and rows[0]["language"] == "de"
    assert rows[0]["sources"] and rows[0]["answer"]
