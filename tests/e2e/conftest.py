"""The served app for the end-to-end tests: one real ``python app.py`` process per session
(the real model), talked to over loopback HTTP like a user or an API client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shared_data import ARTIFACTS, ROOT, SEED, XSS_ARTICLE, XSS_DOC, free_port


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
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(corpus),
             "--index", str(tmp / "index"), "--data", str(tmp / "data")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, proc, log, 240)
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
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
