"""Fetching a web page or PDF by URL, safely (``rag add URL``, URLs pasted in the chat).

Only ``http``/``https``; no credentials in the URL. Every connection - the first and
each redirect - is checked *after* connecting against the address actually reached, so a
host name that resolves (or re-resolves, DNS rebinding) to a loopback, private,
link-local, multicast or reserved address is refused unless ``allow_private`` is set
(SSRF protection, the same idea as trafilatura's fetcher, but with the failure reason
kept). Redirects are followed by hand up to ``max_redirects``; the body is streamed and
refused beyond ``max_bytes`` (after decompression: no gzip bombs) or ``total_seconds``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import FetchError
from ..settings import IngestSettings

USER_AGENT = "rag-news/0.1 (article import; +https://github.com/)"
#: Content types that can be read as an article.
CONTENT_TYPES = {
    "text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
    "text/plain": ".txt", "text/markdown": ".md",
}


@dataclass(frozen=True)
class Fetched:
    """A downloaded document."""

    url: str
    #: The URL after redirects (where the content really came from).
    final_url: str
    #: Lower-case media type without parameters (``text/html``).
    content_type: str
    #: File name ending for the content: ``.html``, ``.pdf``, ``.txt`` or ``.md``.
    suffix: str
    body: bytes


def _peer_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified)
    return ip.is_global and not ip.is_multicast


class _Refused(OSError):
    pass


def _checked_connection(base: type, allow_private: bool) -> type:
    class Checked(base):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            peer = sock.getpeername()[0]
            if not _peer_allowed(peer, allow_private):
                sock.close()
                raise _Refused(f"the address {peer} is not public (loopback, private, "
                               "link-local or reserved)")
            return sock

    return Checked


def _pool(url: str, opts: IngestSettings) -> HTTPConnectionPool:
    parts = urlsplit(url)
    timeout = urllib3.Timeout(connect=opts.fetch_timeout, read=opts.fetch_timeout)
    if parts.scheme == "https":
        pool = HTTPSConnectionPool(parts.hostname, parts.port or 443, timeout=timeout,
                                   retries=False, maxsize=1)
        pool.ConnectionCls = _checked_connection(HTTPSConnection, opts.fetch_allow_private)
    else:
        pool = HTTPConnectionPool(parts.hostname, parts.port or 80, timeout=timeout,
                                  retries=False, maxsize=1)
        pool.ConnectionCls = _checked_connection(HTTPConnection, opts.fetch_allow_private)
    return pool


def check_url(url: str) -> str:
    """``url`` stripped, if it is an absolute http(s) URL without credentials; else
    :class:`FetchError` saying why."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{url!r} is not a valid URL ({exc}).") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"{url!r}: only http:// and https:// URLs can be fetched"
                         + (f" (not {parts.scheme}://)." if parts.scheme else "."))
    if not parts.hostname:
        raise FetchError(f"{url!r} has no host name.")
    if parts.username or parts.password:
        raise FetchError(f"{url!r}: URLs with a user name or password are not fetched.")
    if port == 0:
        raise FetchError(f"{url!r}: port 0 is not valid.")
    return url


def _refused(url: str, why: str) -> FetchError:
    return FetchError(f"{url}: refused, {why}. Fetching internal addresses is off "
                      "(set RAG_FETCH_ALLOW_PRIVATE=true only on a trusted network).")


def _check_host(url: str, host: str, port: int | None, allow_private: bool) -> None:
    """Refuse before connecting when the host resolves to a non-public address (the
    connection itself is checked again: the name may resolve differently then)."""
    try:
        infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"{url}: the host name {host!r} cannot be resolved ({exc}).") from None
    for info in infos:
        address = str(info[4][0])
        if not _peer_allowed(address, allow_private):
            raise _refused(url, f"{host} resolves to {address}, which is not public "
                           "(loopback, private, link-local or reserved)")


def fetch(url: str, opts: IngestSettings | None = None) -> Fetched:
    """Download ``url`` (see the module docstring); raises :class:`FetchError` with the
    reason (refused address, timeout, HTTP status, size, content type)."""
    opts = opts or IngestSettings()
    first = current = check_url(url)
    deadline = time.monotonic() + opts.fetch_total_seconds
    for _hop in range(opts.fetch_max_redirects + 1):
        parts = urlsplit(current)
        _check_host(current, parts.hostname or "", parts.port, opts.fetch_allow_private)
        pool = _pool(current, opts)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            resp = pool.urlopen(
                "GET", target, redirect=False, preload_content=False, retries=False,
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate",
                         "Accept": "text/html,application/xhtml+xml,application/pdf,"
                                   "text/plain;q=0.8,*/*;q=0.1"},
            )
        except (TimeoutError, urllib3.exceptions.TimeoutError):
            raise FetchError(f"{current}: no answer within {opts.fetch_timeout:g} s.") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if "not public" in str(exc):
                raise _refused(current, _message(exc)) from None
            raise FetchError(f"{current}: cannot connect ({_message(exc)}).") from None
        try:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(f"{current}: redirect ({resp.status}) without a target.")
                current = check_url(urljoin(current, location))
                continue
            if resp.status != 200:
                raise FetchError(f"{current}: the server answered HTTP {resp.status} "
                                 f"{resp.reason or ''}".rstrip() + ".")
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            suffix = CONTENT_TYPES.get(ctype)
            if suffix is None:
                raise FetchError(f"{current}: content type {ctype or 'unknown'!r} is not an "
                                 "article (web page, PDF or text).")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > opts.fetch_max_bytes:
                raise FetchError(f"{current}: {int(declared) // 1_000_000} MB is larger than "
                                 f"the limit of {opts.fetch_max_bytes // 1_000_000} MB.")
            body = bytearray()
            try:
                for part in resp.stream(65536, decode_content=True):
                    body += part
                    if len(body) > opts.fetch_max_bytes:
                        raise FetchError(f"{current}: larger than the limit of "
                                         f"{opts.fetch_max_bytes // 1_000_000} MB.")
                    if time.monotonic() > deadline:
                        raise FetchError(f"{current}: the download took longer than "
                                         f"{opts.fetch_total_seconds:g} s.")
            except (TimeoutError, urllib3.exceptions.TimeoutError):
                raise FetchError(f"{current}: the download stalled (no data for "
                                 f"{opts.fetch_timeout:g} s).") from None
            except urllib3.exceptions.HTTPError as exc:
                raise FetchError(f"{current}: the download failed ({_message(exc)}).") from None
            return Fetched(first, current, ctype, suffix, bytes(body))
        finally:
            resp.release_conn()
            pool.close()
    raise FetchError(f"{first}: more than {opts.fetch_max_redirects} redirects.")


def _message(exc: BaseException) -> str:
    for e in (exc.__cause__, exc.__context__):
        if isinstance(e, _Refused):
            return str(e)
    text = str(exc)
    if "not public" in text:
        return text[text.find("the address"):].rstrip(")")
    return text.split(": ", 1)[-1] if ": " in text else text
