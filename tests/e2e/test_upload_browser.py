"""Upload and URL paste in the web chat, in a real headless Chromium (slow).

``rag serve --allow-uploads`` runs as its own process on a temporary copy of the product's
corpus. The test uploads a saved news page (HTML) and a PDF press release, pastes a URL of
a loopback address (refused: SSRF protection stays on in the app), waits until the page
says the articles are searchable, asks about the uploaded page and gets an answer citing
it, checks that the page's HTML was shown as text only, then removes the article and
sees it gone. With ``RAG_SAVE_SCREENSHOT=1`` the upload screenshot is saved as
``docs/upload.png``.
"""

from __future__ import annotations

import os
import shutil

import pytest
from shared_data import ROOT, free_port

from .conftest import app_command, needs_chromium, open_page, served

DATA = ROOT / "tests" / "unit" / "ingest" / "data"

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upload")
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    cmd = app_command(port, "--allow-uploads", "--corpus", str(corpus), "--index",
                      str(tmp / "index"), "--data", str(tmp / "data"))
    log = tmp / "app.log"
    with served(cmd, url, log, dict(os.environ, PYTHONUNBUFFERED="1")):
        yield {"url": url, "corpus": corpus, "log": log}


def _wait_text(page, selector: str, text: str, timeout: float = 300) -> None:
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
        arg=[selector, text], timeout=timeout * 1000)


def test_upload_ask_remove(app, browser, tmp_path):
    # the uploaded name is hostile: it must not become the file name in the corpus
    hostile = tmp_path / "..%2F..%2Fetc%2Fpasswd.html"
    hostile.write_bytes((DATA / "lokalzeitung_wp.html").read_bytes())
    page = open_page(browser, app["url"], 1400, 1100)
    try:
        _wait_text(page, "#rag-status", "Bereit")  # the page starts in German
        page.click("#rag-upload button.label-wrap, #rag-upload >> text=Artikel hinzufügen")
        page.set_input_files("#rag-upload-files input[type=file]",
                             [str(hostile), str(DATA / "bahn_presse.pdf")])
        page.fill("#rag-upload-urls textarea", "http://127.0.0.1:9/intern")
        page.click("#rag-upload-add")
        _wait_text(page, "#rag-upload-status", "Suchbar / Searchable", 600)
        status = page.inner_text("#rag-upload-status")
        assert "uploads/2024-01-05-hochwasser-pegel-der-mosel-steigt-weiter.md" in status
        assert "uploads/2024-03-12-bahn-modernisiert-1-800-bahnhoefe-bis-2030.md" in status
        assert "refused" in status and "127.0.0.1" in status
        saved = sorted(x.name for x in (app["corpus"] / "uploads").iterdir())
        assert saved == ["2024-01-05-hochwasser-pegel-der-mosel-steigt-weiter.md",
                         "2024-03-12-bahn-modernisiert-1-800-bahnhoefe-bis-2030.md"]
        _wait_text(page, "#rag-status", "7 Artikel", 30)  # the status line follows

        box = page.locator("#rag-question textarea")
        box.fill("Wie hoch stand der Pegel der Mosel in Trier?")
        box.press("Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('#rag-chat [data-testid=\"bot\"]').length > 0",
            timeout=300_000)
        bot = page.locator('#rag-chat [data-testid="bot"]').first.inner_text()
        panel = page.inner_text("#rag-sources")
        assert "8,40 Meter" in bot, (bot, panel)
        assert "Trierer Volksblatt" in panel, panel
        if os.environ.get("RAG_SAVE_SCREENSHOT"):
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ROOT / "docs" / "upload.png"), full_page=True)
        # the fetched/uploaded page is never rendered as HTML: no markup from it in the DOM
        assert page.locator("#rag-sources .comment-body, #rag-sources nav").count() == 0

        page.locator("#rag-upload-remove input").click()
        page.locator('#rag-upload-remove [role="option"]', has_text="Hochwasser").first.click()
        page.keyboard.press("Escape")
        page.click("#rag-upload-remove-btn")
        _wait_text(page, "#rag-upload-status", "removed / entfernt")
        _wait_text(page, "#rag-upload-status", "Suchbar / Searchable", 300)
        assert not (app["corpus"] / "uploads" /
                    "2024-01-05-hochwasser-pegel-der-mosel-steigt-weiter.md").exists()
    finally:
        page.context.close()
    assert page.watch.dialogs == [] and page.watch.errors == []
    assert page.watch.foreign() == []  # the pasted loopback URL was refused, not fetched
