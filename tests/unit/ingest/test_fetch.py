"""Fetching URLs: SSRF protection, schemes, redirects, size and time limits, per-URL
failures (a local HTTP server on 127.0.0.1, started and stopped here)."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from pathlib import Path

import pytest

from rag.errors import FetchError
from rag.ingest.add import add_sources
from rag.ingest.fetch import check_url, fetch
from rag.settings import IngestSettings

DATA = Path(__file__).parent / "data"
PAGE = (DATA / "tagesbericht_meta.html").read_bytes()
BOMB = gzip.compress(b" " * 50_000_000, 9)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        path = self.path
        if path.startswith("/hop"):
            n = int(path[4:] or 0)
            self._redirect(f"/hop{n + 1}" if n < 5 else "/artikel")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/artikel":
            self._send(200, "text/html; charset=utf-8", PAGE)
        elif path == "/gross":
            self._send(200, "text/html", b"<p>" + b"x" * 3_000_000)
        elif path == "/gross-ohne-laenge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(300):
                self.wfile.write(b"<p>" + b"y" * 10_000)
        elif path == "/bombe":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(BOMB)))
            self.end_headers()
            self.wfile.write(BOMB)
        elif path == "/bild":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n")
        elif path == "/langsam":
            time.sleep(3)
            self._send(200, "text/html", PAGE)
        else:
            self._send(404, "text/plain", b"not found")

    def _redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that give up early (timeouts, size limits) are expected here


@pytest.fixture(scope="module")
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


#: Explicitly allowed for this test only: the local test server is on loopback.
LOCAL = IngestSettings(fetch_allow_private=True, fetch_max_bytes=2_000_000,
                       fetch_timeout=1.0, fetch_total_seconds=5.0)


def test_loopback_refused_by_default(server):
    with pytest.raises(FetchError, match="refused.*127.0.0.1.*not public"):
        fetch(server + "/artikel")


@pytest.mark.parametrize("url", [
    "http://localhost/", "http://127.1/", "http://0.0.0.0/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.178.1/", "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/", "http://[fe80::1]/", "http://[fd00::1]/", "http://224.0.0.1/",
])
def test_non_public_addresses_refused(url):
    with pytest.raises(FetchError, match="refused"):
        fetch(url)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.com/a", "gopher://example.com/", "javascript:alert(1)",
    "data:text/html,<p>x</p>", "//example.com/a", "example.com/a",
])
def test_only_http_and_https(url):
    with pytest.raises(FetchError, match="only http:// and https://"):
        check_url(url)


def test_credentials_in_url_refused():
    with pytest.raises(FetchError, match="user name or password"):
        check_url("https://admin:geheim@example.com/")


def test_allowed_loopback_fetches_and_follows_redirects(server):
    got = fetch(server + "/hop3", LOCAL)
    assert got.final_url.endswith("/artikel") and got.suffix == ".html"
    assert got.body == PAGE


def test_redirects_capped(server):
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(server + "/hop0", LOCAL)


def test_redirect_to_internal_address_refused_even_from_allowed_start(server):
    opts = IngestSettings(fetch_allow_private=False)
    with pytest.raises(FetchError, match="refused"):
        fetch(server + "/to-metadata", opts)  # the start itself is refused already
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch(server + "/to-file", LOCAL)


def test_size_limits(server):
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch(server + "/gross", LOCAL)  # declared Content-Length
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch(server + "/gross-ohne-laenge", LOCAL)  # streamed


def test_gzip_bomb_bounded(server):
    start = time.perf_counter()
    with pytest.raises(FetchError, match="larger than the limit"):
        fetch(server + "/bombe", LOCAL)
    assert time.perf_counter() - start < 10


def test_content_type_and_status(server):
    with pytest.raises(FetchError, match="image/png"):
        fetch(server + "/bild", LOCAL)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(server + "/fehlt", LOCAL)


def test_slow_server_times_out(server):
    start = time.perf_counter()
    with pytest.raises(FetchError, match="no answer within|stalled"):
        fetch(server + "/langsam", LOCAL)
    assert time.perf_counter() - start < 3


def test_add_reports_each_failed_url_and_keeps_the_others(server, tmp_path):
    report = add_sources([server + "/artikel", server + "/bild", server + "/fehlt",
                          "file:///etc/passwd"], tmp_path / "corpus", LOCAL)
    assert [p for _, p in report.added] == ["2023-03-17-bundestag-beschliesst-reform-des-"
                                            "wahlrechts.md"]
    reasons = dict(report.failed)
    assert "image/png" in reasons[server + "/bild"]
    assert "HTTP 404" in reasons[server + "/fehlt"]
    assert "only http" in reasons["file:///etc/passwd"]
    saved = (tmp_path / "corpus" / report.added[0][1]).read_text()
    # the canonical URL of the page, not the address it was fetched from
    assert "url: https://www.tagesbericht.de/inland/" in saved
