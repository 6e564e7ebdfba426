"""``rag add`` end to end (slow): a real HTTP server process on 127.0.0.1 started and
stopped here, the real command line and model, then ``rag ask`` finds the added pages.

Loopback is refused by default; the test allows it explicitly for itself only
(``RAG_FETCH_ALLOW_PRIVATE=true`` in the command's environment)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "unit" / "ingest" / "data"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    for name in ("nordkurier_jsonld.html", "tagesbericht_meta.html", "bahn_presse.pdf"):
        shutil.copy(DATA / name, root / name)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def _rag(*args: str, allow: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAG_FETCH_ALLOW_PRIVATE"}
    if allow:
        env["RAG_FETCH_ALLOW_PRIVATE"] = "true"
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def test_add_urls_then_ask(site, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    paths = ["--corpus", str(corpus), "--index", str(index)]

    refused = _rag("add", site + "/nordkurier_jsonld.html", *paths, "--no-index")
    assert refused.returncode == 3
    assert "refused" in refused.stdout and "not public" in refused.stdout

    done = _rag("add", site + "/nordkurier_jsonld.html", site + "/fehlt.html",
                site + "/bahn_presse.pdf", "file:///etc/passwd", *paths, "--quiet", allow=True)
    assert done.returncode == 3, done.stderr  # some inputs failed, the others went in
    out = done.stdout
    assert "added 2, already there 0, failed 2" in out
    assert "HTTP 404" in out and "only http:// and https://" in out
    assert "Index rebuilt" in out or "Index updated" in out
    saved = corpus / "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"
    assert saved.exists() and "publisher: DER NORDSPIEGEL" in saved.read_text()
    assert (corpus / "2024-03-12-bahn-modernisiert-1-800-bahnhoefe-bis-2030.md").exists()

    again = _rag("add", site + "/tagesbericht_meta.html", *paths, "--quiet", allow=True)
    assert again.returncode == 0, again.stderr
    assert "Index updated" in again.stdout and "added: 1, changed: 0" in again.stdout

    answer = _rag("ask", "Auf wie viel Cent senken die Stadtwerke Rostock den Gaspreis?",
                  *paths, "--json")
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    assert data["found"]
    top = data["sources"][0]
    assert top["doc_id"] == saved.name and top["publisher"] == "DER NORDSPIEGEL"
    assert "14,2" in data["text"]
