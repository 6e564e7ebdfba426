"""What the end-to-end tests share: real server processes started on loopback and
stopped afterwards (``served``; the session's ``python app.py`` with the real model is
``app_server``), and one headless Chromium per test module (Debian's, via Playwright)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from shared_data import ARTIFACTS, ROOT, SEED, XSS_ARTICLE, XSS_DOC, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
#: Marks a test that drives a real browser.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")


@dataclass
class Server:
    """A running ``python app.py``."""

    url: str
    port: int
    #: Where ``GRADIO_SERVER_PORT`` pointed (the ``--port`` flag must win).
    other_port: int
    proc: subprocess.Popen
    corpus: Path
    index: Path
    data: Path
    gradio_tmp: Path
    log: Path
    client: Any
    timings: dict[str, float]


@dataclass
class Watch:
    """What a page did: requests, dialogs (alert), script errors."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """The requests that left 127.0.0.1."""
        return [u for u in self.requests
                if urlsplit(u).scheme not in ("data", "blob", "about")
                and urlsplit(u).hostname not in LOCAL_HOSTS]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait until ``url`` answers; fail with the server log if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args!r} exited with {proc.returncode}:\n"
                        f"{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text()[-4000:]}")


@contextmanager
def served(cmd: Sequence[str], ready_url: str, log: Path, env: dict[str, str] | None = None,
           timeout: float = 240, **popen: Any) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` (output to ``log``) until ``ready_url`` answers; stop it afterwards."""
    with open(log, "w") as out:
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, **popen)
    try:
        wait_http(ready_url, proc, log, timeout)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def stop_group(proc: subprocess.Popen, wait: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and its whole process group
    (SIGTERM, then SIGKILL after ``wait`` seconds; leftovers of the group are killed)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def app_command(port: int, *args: str) -> list[str]:
    """``python app.py --port PORT ARGS``."""
    return [sys.executable, str(ROOT / "app.py"), "--port", str(port), *args]


def open_page(browser: Any, url: str, width: int = 1280, height: int = 900) -> Any:
    """A German-locale page on ``url`` in a context of its own; ``page.watch`` records
    what the page did (:class:`Watch`)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    page = context.new_page()
    watch = Watch()
    context.on("request", lambda r: watch.requests.append(r.url))
    page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.watch = watch
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Chromium for the module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python app.py --port P --corpus C --index I --data D`` on a private corpus (the
    seed articles plus one with HTML/JS in every field) with a fresh index, built at
    startup. No ``--host`` and no ``GRADIO_SERVER_NAME``: the default address;
    ``GRADIO_SERVER_PORT`` points elsewhere to show that the flag wins."""
    from gradio_client import Client

    tmp = tmp_path_factory.mktemp("app")
    corpus = tmp / "corpus"
    shutil.copytree(SEED, corpus)
    (corpus / XSS_DOC).write_text(XSS_ARTICLE, encoding="utf-8")
    port, other = free_port(), free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_TEMP_DIR=str(tmp / "gradio"),
               GRADIO_SERVER_PORT=str(other))
    for name in ("GRADIO_SERVER_NAME", "RAG_HOST", "RAG_PORT", "RAG_DATA_DIR"):
        env.pop(name, None)
    log = tmp / "app.log"
    started = time.perf_counter()
    url = f"http://127.0.0.1:{port}/"
    cmd = app_command(port, "--corpus", str(corpus), "--index", str(tmp / "index"),
                      "--data", str(tmp / "data"))
    with served(cmd, url, log, env) as proc:
        page_up = time.perf_counter() - started
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        client.predict("Wie nennt Lukaschenko Putin?", api_name="/ask")  # waits for the index
        timings = {"page_up_s": round(page_up, 2),
                   "first_answer_s": round(time.perf_counter() - started, 2),
                   "first_answer_call_s": round(time.perf_counter() - t0, 2)}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "app_timings.json").write_text(json.dumps(timings, indent=2))
        yield Server(url, port, other, proc, corpus, tmp / "index", tmp / "data",
                     tmp / "gradio", log, client, timings)
