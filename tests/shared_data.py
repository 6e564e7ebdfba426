"""Test data and helpers shared by several test files (the XSS strings and article, a free
local port)."""

from __future__ import annotations

import socket

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
#: An article with HTML/JS in its metadata and body: must always render as text.
XSS_ARTICLE = f"""---
title: "Minsker Zoo {SCRIPT}"
publisher: "{IMG}"
url: "javascript:alert(1)"
date: 2023-05-02
---
Der Minsker Zoo meldet die Geburt eines kleinen Pandas. {SCRIPT} Das Jungtier heißt Bambus \\
und wiegt 150 Gramm. {IMG} Der Zoodirektor spricht von einer Sensation für die Stadt Minsk.
"""
XSS_QUESTION = "Wie heißt das Panda-Jungtier im Minsker Zoo?"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
