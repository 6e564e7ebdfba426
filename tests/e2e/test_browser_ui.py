"""The web chat as a reader uses it, in a real headless Chromium (Playwright with Debian's
/usr/bin/chromium; no browser is downloaded).

A real ``python app.py`` serves a temporary copy of the seed corpus (its index is built at
startup). Checked: a citation marker scrolls its source card into view and marks it, and
the card links back; calibrated relevance labels; the archive tab lists the articles with
their dates, sorts, filters and restricts the next question to the chosen article; the
page follows the question's language; a keyboard-only flow from typing a question to
reading source 1; no horizontal scrolling at 390 px; axe-core finds no serious or
critical accessibility violation; no request leaves 127.0.0.1.

axe-core comes from the npm registry at test time (``npm pack``, checked against its
pinned sha512) into ``.cache/axe-core/`` and is injected into the page. Screenshots go to
``tests/artifacts/``; with ``RAG_SAVE_SCREENSHOT=1`` also to ``docs/screenshot-desktop.png``
and ``docs/screenshot-phone.png``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_data import ARTIFACTS, ROOT, free_port

from .conftest import app_command, needs_chromium, open_page, served

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = ("sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNt"
                 "uFooJpZe37OgudVGtQ==")
QUESTION_DE = "Wie nennt Lukaschenko Putin?"
QUESTION_EN = "How many professional soldiers does the Belarusian army have?"

pytestmark = [pytest.mark.slow, needs_chromium]


@dataclass
class App:
    url: str
    corpus: Path
    proc: subprocess.Popen


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """``python app.py`` on a copy of the seed corpus, index built at startup."""
    tmp = tmp_path_factory.mktemp("ui")
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("README*"))
    port = free_port()
    env = dict(os.environ, RAG_DATA_DIR=str(tmp / "data"), PYTHONUNBUFFERED="1")
    url = f"http://127.0.0.1:{port}/"
    cmd = app_command(port, "--host", "127.0.0.1", "--corpus", str(corpus),
                      "--index", str(tmp / "index"))
    with served(cmd, url, tmp / "app.log", env, timeout=180) as proc:
        yield App(url, corpus, proc)


@pytest.fixture(scope="module")
def axe_js() -> str:
    """axe.min.js of axe-core ``AXE_VERSION`` from the npm registry (cached, verified)."""
    cache = ROOT / ".cache" / "axe-core" / AXE_VERSION
    script = cache / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot fetch axe-core")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination",
                               str(cache)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm pack axe-core failed:\n{done.stderr[-2000:]}"
        tgz = cache / f"axe-core-{AXE_VERSION}.tgz"
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        assert digest == AXE_INTEGRITY, f"axe-core package does not match its pinned hash: {digest}"
        with tarfile.open(tgz) as tar:
            member = tar.extractfile("package/axe.min.js")
            assert member is not None
            script.write_bytes(member.read())
        tgz.unlink()
    return script.read_text(encoding="utf-8")


def open_ready_page(browser, url: str, width: int = 1280, height: int = 900):
    page = open_page(browser, url, width, height)
    page.wait_for_selector("#rag-status .rag-status-ready", timeout=180_000)
    return page


@pytest.fixture
def page(browser, web_app: App) -> Iterator:
    page = open_ready_page(browser, web_app.url)
    yield page
    watch = page.watch
    page.context.close()
    assert watch.foreign() == [], watch.foreign()  # nothing loaded from the internet
    assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)


@pytest.fixture
def phone(browser, web_app: App) -> Iterator:
    page = open_ready_page(browser, web_app.url, 390, 844)
    yield page
    watch = page.watch
    page.context.close()
    assert watch.foreign() == [] and watch.errors == [], (watch.foreign(), watch.errors)


def ask(page, question: str) -> None:
    """Type ``question`` and press Enter; wait for the answer and its sources."""
    bots = page.locator('#rag-chat [data-testid="bot"]')
    before = bots.count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat [data-testid=\"bot\"]').length > n",
        arg=before, timeout=60_000)
    page.wait_for_selector("#rag-sources .rag-source", timeout=30_000)


def in_view(page, selector: str) -> bool:
    """True when the element is inside the window and inside its scrolling panel."""
    return page.evaluate(
        """sel => {
            const el = document.querySelector(sel);
            if (!el) return false;
            const r = el.getBoundingClientRect();
            if (r.top < -1 || r.top > window.innerHeight - 20) return false;
            for (let p = el.parentElement; p; p = p.parentElement) {
                const s = getComputedStyle(p);
                if (/(auto|scroll)/.test(s.overflowY) && p.scrollHeight > p.clientHeight) {
                    const b = p.getBoundingClientRect();
                    if (r.top < b.top - 1 || r.top > b.bottom - 20) return false;
                }
            }
            return true;
        }""",
        selector,
    )


def scroll_panel_to_end(page) -> None:
    """Scroll the source panel (and the page) to the end, away from source 1."""
    page.evaluate(
        """() => {
            const el = document.querySelector('#rag-sources .rag-source:last-of-type');
            el.scrollIntoView({block: 'end'});
        }""")
    page.wait_for_timeout(200)


def active(page) -> dict:
    return page.evaluate(
        """() => { const a = document.activeElement;
                   return {id: a.id, cls: a.className || '', tag: a.tagName,
                           href: a.getAttribute('href') || '',
                           outline: getComputedStyle(a).outlineStyle,
                           outlineWidth: getComputedStyle(a).outlineWidth}; }""")


def screenshot(page, name: str, docs_name: str) -> None:
    """The page from its top (a scrolled source panel keeps its position)."""
    page.evaluate(
        """() => { for (const el of [document.scrollingElement, ...document.querySelectorAll('*')])
                       if (el.scrollTop > 0 && !el.closest('#rag-sources, #rag-chat'))
                           el.scrollTop = 0; }""")
    page.wait_for_timeout(200)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("RAG_SAVE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / docs_name).write_bytes(shot)


def test_citation_scrolls_to_the_marked_source_and_back(page) -> None:
    ask(page, QUESTION_DE)
    bot = page.locator('#rag-chat [data-testid="bot"]').last
    link = bot.locator("a.rag-cite").first
    href = link.get_attribute("href")
    assert href and href.startswith("#rag-src-")
    card = f"#{href[1:]}"
    assert page.locator(card).count() == 1
    # calibrated label with the exact value on hover, no raw score as the label
    rel = page.locator(f"{card} .rag-rel")
    assert rel.inner_text().split("\n")[0] in ("sehr relevant", "relevant",
                                               "möglicherweise relevant")
    assert "Ähnlichkeit zur Frage 0." in (rel.get_attribute("title") or "")
    scroll_panel_to_end(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    link.click()
    page.wait_for_timeout(900)  # smooth scrolling
    assert in_view(page, card)
    assert "rag-active" in (page.locator(card).get_attribute("class") or "")
    assert active(page)["id"] == href[1:]  # focus moved to the card
    assert page.locator(f"{card} mark").count() >= 1  # its answer sentence is marked
    screenshot(page, "ui_desktop.png", "screenshot-desktop.png")

    page.locator(f"{card} a.rag-back").click()  # and back to the answer
    page.wait_for_timeout(900)
    now = active(page)
    assert now["tag"] == "A" and now["href"] == href and "rag-active" in now["cls"]


def test_archive_lists_filters_sorts_and_restricts_questions(page, web_app: App) -> None:
    from rag.ingest.corpus import read_corpus

    articles, _ = read_corpus(web_app.corpus)
    page.get_by_role("tab", name="Archiv").click()
    table = page.locator("#rag-archive table")
    table.wait_for(timeout=15_000)
    rows = page.locator("#rag-archive tbody tr")
    assert rows.count() == len(articles) == 5
    dates = [rows.nth(i).locator(".rag-a-date").inner_text() for i in range(rows.count())]
    expected = sorted((a.date for a in articles if a.date), reverse=True)
    assert dates[: len(expected)] == expected  # newest first, undated last
    assert "ohne Datum" in dates[len(expected):] or len(expected) == 5
    assert "Artikel pro Monat" in page.locator("#rag-timeline").inner_text()
    assert page.locator("#rag-timeline .rag-bars li").count() >= 12

    page.get_by_label("Älteste zuerst").check()
    page.wait_for_function(
        "() => document.querySelector('#rag-archive th[aria-sort]')"
        ".getAttribute('aria-sort') === 'ascending'")
    assert rows.first.locator(".rag-a-date").inner_text() == min(expected)

    target = next(a for a in articles if a.date == "2021-11")
    box = page.locator("#rag-filter textarea, #rag-filter input").first
    box.fill("2021-11")
    page.wait_for_function("() => document.querySelectorAll('#rag-archive tbody tr').length === 1")
    box.fill("keinartikelpasst")
    page.wait_for_selector("#rag-archive .rag-note")
    box.fill("2021-11")
    page.wait_for_function("() => document.querySelectorAll('#rag-archive tbody tr').length === 1")
    assert rows.first.locator("button.rag-choose").get_attribute("data-doc") == target.doc_id

    rows.first.locator("button.rag-choose").click()
    page.wait_for_selector("#rag-scope .rag-scope", timeout=10_000)
    assert page.get_by_role("tab", name="Chat").get_attribute("aria-selected") == "true"
    # ready for the next question: the question box gets the focus once the tab shows it
    page.wait_for_function("() => document.activeElement?.closest('#rag-question') !== null",
                           timeout=5_000)
    ask(page, "Von wo aus war Putin zugeschaltet?")
    docs = page.locator("#rag-sources .rag-doc-id").all_inner_texts()
    assert docs and set(docs) == {target.doc_id}  # only the chosen article
    page.locator("#rag-clear-scope").click()
    page.wait_for_selector("#rag-scope .rag-scope", state="detached", timeout=10_000)


def test_page_follows_the_question_language(page) -> None:
    assert page.locator("h1").inner_text() == "Fragen an das Nachrichtenarchiv"
    ask(page, QUESTION_EN)
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.locator("h1").inner_text() == "Ask the news archive"
    page.get_by_role("tab", name="Archive").wait_for()
    page.wait_for_function(  # the status line follows (its refresh is queued)
        "() => document.querySelector('#rag-status').innerText.includes('Ready')")
    panel = page.locator("#rag-sources").inner_text()
    assert "Sources" in panel or "Possibly related" in panel
    assert "Quelle" not in page.locator('#rag-chat [data-testid="bot"]').last.inner_text()
    page.get_by_label("Deutsch").check()  # or the switch
    page.wait_for_function("() => document.documentElement.lang === 'de'")
    page.get_by_role("tab", name="Archiv").wait_for()


def test_keyboard_only_from_question_to_source_one(page) -> None:
    page.locator("body").focus()
    for _ in range(60):  # Tab to the question box
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('#rag-question') !== null"):
            break
    else:
        pytest.fail("the question box cannot be reached with Tab")
    assert active(page)["outline"] != "none"  # focus is visible
    page.keyboard.type(QUESTION_DE)
    before = page.locator('#rag-chat [data-testid="bot"]').count()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat [data-testid=\"bot\"]').length > n",
        arg=before, timeout=60_000)
    page.wait_for_selector("#rag-sources .rag-source")
    scroll_panel_to_end(page)
    for _ in range(40):  # back to the answer's first citation
        page.keyboard.press("Shift+Tab")
        if "rag-cite" in active(page)["cls"]:
            break
    else:
        pytest.fail("no citation link reachable with Shift+Tab")
    link = active(page)
    assert link["outline"] != "none" and link["outlineWidth"] != "0px"
    page.keyboard.press("Enter")
    page.wait_for_timeout(900)
    focused = active(page)
    assert focused["id"] == link["href"][1:] and "rag-active" in focused["cls"]
    assert in_view(page, "#" + focused["id"])
    assert focused["id"].endswith("-1")  # source 1


def test_phone_width_has_no_horizontal_scrolling(phone) -> None:
    def overflow() -> int:
        return phone.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")

    assert overflow() <= 0
    ask(phone, QUESTION_DE)
    assert overflow() <= 0
    screenshot(phone, "ui_phone.png", "screenshot-phone.png")
    link = phone.locator('#rag-chat [data-testid="bot"]').last.locator("a.rag-cite").first
    link.click()
    phone.wait_for_timeout(900)
    assert in_view(phone, link.get_attribute("href"))
    assert overflow() <= 0
    phone.get_by_role("tab", name="Archiv").click()
    phone.locator("#rag-archive table").wait_for()
    assert overflow() <= 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "ui_phone_archive.png"), full_page=True)


def run_axe(page, axe_js: str) -> list[dict]:
    # Gradio renders the example buttons' text with a component loaded on demand: on a
    # cold start the buttons are still empty (nameless) for a moment; audit the page the
    # reader sees, once every example shown has its text (and the examples exist: before
    # the gallery renders, "every" of no button would be true at once).
    page.wait_for_function(
        "() => { const all = [...document.querySelectorAll('.gallery-item')];"
        " return all.length > 0 && all.filter(b => b.offsetParent)"
        ".every(b => b.innerText.trim().length > 0); }", timeout=30_000)
    page.add_script_tag(content=axe_js)
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }""")


def test_no_serious_accessibility_violations(page, axe_js: str) -> None:
    found = {"start": run_axe(page, axe_js)}
    ask(page, QUESTION_DE)
    page.locator('#rag-chat [data-testid="bot"]').last.locator("a.rag-cite").first.click()
    page.wait_for_timeout(900)
    found["answer"] = run_axe(page, axe_js)
    page.get_by_role("tab", name="Archiv").click()
    page.locator("#rag-archive table").wait_for()
    found["archive"] = run_axe(page, axe_js)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))
    serious = {state: [v for v in vs if v["impact"] in ("serious", "critical")]
               for state, vs in found.items()}
    assert all(not vs for vs in serious.values()), json.dumps(serious, indent=1)
