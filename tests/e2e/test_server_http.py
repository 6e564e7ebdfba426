"""The served app's HTTP surface under attack (a real ``python app.py``, see conftest.py):
bound address, endpoints, file routes, path-like input, uploads, HTML in answers."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from shared_data import IMG, ROOT, SCRIPT, XSS_DOC, XSS_QUESTION, write_artifact

from rag.types import Answer, Source
from rag.web import render

from .conftest import Server

pytestmark = pytest.mark.slow

ARTIFACT = "concurrency"


@pytest.fixture()
def server(app_server: Server) -> Server:
    return app_server


def get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --------------------------------------------------------------------------- security


def test_listens_on_loopback_only(server: Server) -> None:
    """Without ``--host`` the app listens on 127.0.0.1 only: its listening sockets are
    loopback ones and the port is closed on every other local address."""
    listening = [c.laddr for c in psutil.Process(server.proc.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and {a.ip for a in listening} <= {"127.0.0.1", "::1"}, listening
    assert {a.port for a in listening} == {server.port}
    others = [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
              if a.family == socket.AF_INET and not a.address.startswith("127.")]
    for address in others:
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect((address, server.port))
    write_artifact(ARTIFACT, {"bound": {"listening": [f"{a.ip}:{a.port}" for a in listening],
                              "refused_on": others}})


def test_api_has_one_endpoint_without_file_or_path_inputs(server: Server) -> None:
    """The API is ``/ask`` (text, optional integer, strings and lists): no file
    inputs, no other callable endpoint, no file-type component on the page."""
    api = server.client.view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]
    params = api["named_endpoints"]["/ask"]["parameters"]
    assert [(p["parameter_name"], p["python_type"]["type"]) for p in params] == [
        ("question", "str"), ("k", "None | int"), ("date_from", "None | str"),
        ("date_to", "None | str"), ("doc_ids", "None | list[str]"),
        ("history", "None | list[dict(str, Any)]")]
    status, raw_info = get(server.url + "gradio_api/info")
    info = json.loads(raw_info)
    assert status == 200 and list(info["named_endpoints"]) == ["/ask"]
    assert not info["unnamed_endpoints"]
    assert [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]] == [
        p["parameter_name"] for p in params]
    status, raw = get(server.url + "config")
    config = json.loads(raw)
    kinds = {c["type"] for c in config["components"]}
    assert not kinds & {"file", "uploadbutton", "image", "audio", "video", "gallery",
                        "model3d", "imageeditor", "filexplorer", "fileexplorer", "dataframe"}
    callable_ = {d["api_name"] for d in config["dependencies"]
                 if d.get("api_visibility") != "private"}
    assert callable_ <= {"ask", "load_example"}  # load_example: the examples' own loader
    for text in (json.dumps(api), raw_info.decode()):  # (the chat's own schema mentions
        assert "filepath" not in text and "FileData" not in text  # files: output only)
    write_artifact(ARTIFACT, {"api": {"endpoints": list(api["named_endpoints"]),
                            "parameters": [p["parameter_name"] for p in params],
                            "components": sorted(kinds)}})


def test_file_routes_refuse_paths(server: Server, tmp_path: Path) -> None:
    """Gradio's file route serves none of: system files, the app's code, the corpus, the
    index, the feedback file, a file next to them (absolute, relative, ``..``, encoded)."""
    sentinel = f"SENTINEL-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(sentinel, encoding="utf-8")
    server.data.mkdir(parents=True, exist_ok=True)
    (server.data / "feedback.jsonl").touch()
    targets = ["/etc/passwd", "../../../../etc/passwd", str(ROOT / "app.py"), "app.py",
               str(server.corpus / XSS_DOC), str(server.index / "CURRENT"),
               str(server.data / "feedback.jsonl"), str(secret),
               "/proc/self/environ", str(server.gradio_tmp / ".." / "corpus" / XSS_DOC)]
    codes = {}
    for target in targets:
        for path in (target, urllib.parse.quote(target, safe="")):
            status, body = get(f"{server.url}gradio_api/file={path}")
            codes[target] = status
            assert status in (403, 404), (target, status)
            assert sentinel.encode() not in body and b"root:" not in body
            assert b"Minsker Zoo" not in body and b"import" not in body
    write_artifact(ARTIFACT, {"file_route": codes})


def _strace(pid: int, out: Path) -> subprocess.Popen | None:
    """``strace`` attached to the app, logging file system calls; ``None`` if unavailable."""
    strace = shutil.which("strace")
    if not strace:
        return None
    proc = subprocess.Popen(
        [strace, "-f", "-qq", "-p", str(pid), "-o", str(out), "-e",
         "trace=open,openat,openat2,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,"
         "mkdirat,symlink,symlinkat,link,linkat,truncate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(1.5)  # attach to every thread
    if proc.poll() is not None:
        return None
    return proc


def test_path_like_input_reads_and_writes_nothing(server: Server, tmp_path: Path) -> None:
    """Questions and ``doc_ids`` that look like paths are only data: no file is opened,
    created or removed because of them (checked with ``strace`` on the app when
    available), nothing from those paths comes back."""
    sentinel = f"SENTINEL-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(sentinel, encoding="utf-8")
    planted = tmp_path / "planted.txt"
    paths = ["../../etc/passwd", "/etc/passwd", str(secret), f"../../../..{secret}",
             str(planted), "file:///etc/passwd", "~/.bashrc"]
    trace_log = tmp_path / "strace.log"
    tracer = _strace(server.proc.pid, trace_log)
    try:
        for path in paths:
            result = server.client.predict(path, api_name="/ask")
            assert result["question"] == path
            filtered = server.client.predict("Wie nennt Lukaschenko Putin?", doc_ids=[path],
                                             api_name="/ask")
            assert filtered["sources"] == [] and not filtered["found"]
            for r in (result, filtered):
                blob = json.dumps(r)
                assert sentinel not in blob and "root:x:" not in blob
    finally:
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(20)
    assert not planted.exists() and secret.read_text(encoding="utf-8") == sentinel
    if tracer is None:
        pytest.skip("strace is not available (or may not attach): responses checked, "
                    "system calls not")
    touched = []
    for line in trace_log.read_text(errors="replace").splitlines():
        if '"' not in line:
            continue
        path = line.split('"')[1]
        touched.append(path)
        assert "passwd" not in path and str(tmp_path) not in path and ".bashrc" not in path
    allowed = (str(server.index), "/proc/", "/sys/", "/dev/")
    assert all(p.startswith(allowed) for p in touched), sorted(set(touched))
    write_artifact(ARTIFACT, {"path_inputs": {"calls": 2 * len(paths),
                                    "files_touched": sorted(set(touched))}})


def _upload(server: Server, name: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        server.url + "gradio_api/upload", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_upload_cannot_choose_where_it_writes(server: Server) -> None:
    """Gradio's upload route (always present) keeps only the base name, in its temp folder."""
    status, body = _upload(server, "../../../../tmp/evil-upload.txt", b"evil")
    if status == 200:
        stored = [Path(p) for p in json.loads(body)]
        assert all(p.resolve().is_relative_to(server.gradio_tmp.resolve()) for p in stored)
        for p in stored:
            p.unlink()
    assert not Path("/tmp/evil-upload.txt").exists()


def test_upload_size_is_limited(server: Server) -> None:
    """The app takes no files: Gradio's ``/gradio_api/upload`` refuses anything but tiny
    uploads (``launch(max_file_size="1kb")``), so nobody can fill the disk through it.
    The server answers 413 or drops the connection while the body is still coming."""
    try:
        status, body = _upload(server, "big.txt", b"x" * 5_000_000)
    except (urllib.error.URLError, ConnectionError):
        return  # refused mid-upload
    if status == 200:
        for p in json.loads(body):
            Path(p).unlink(missing_ok=True)
    assert status == 413, f"a 5 MB upload was accepted ({status})"


def test_ask_json_is_raw_data_and_html_is_escaped(server: Server) -> None:
    """``/ask`` returns corpus text as raw data (HTML and all); every HTML the app makes of
    it (chat text, source panel) escapes it and links no ``javascript:`` URL."""
    result = server.client.predict(XSS_QUESTION, api_name="/ask")
    top = result["sources"][0]
    assert top["doc_id"] == XSS_DOC and SCRIPT in top["title"] and top["publisher"] == IMG
    assert SCRIPT in top["text"] and top["url"] == "javascript:alert(1)"
    answer = Answer(**{**result, "sources": [Source(**s) for s in result["sources"]]})
    for html in (render.sources_html(answer), render.chat_text(answer)):
        assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in render.sources_html(answer)
