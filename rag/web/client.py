"""What the browser gets besides Gradio's own code: the chat's script and styles.

Both are files in ``assets/`` served inline with the page (nothing is loaded from
elsewhere): ``ui.js`` makes citation markers jump to their source card and back,
``ui.css`` styles citations, relevance labels, the archive view and keyboard focus.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"


@cache
def script() -> str:
    """The page script (a JavaScript function, for ``launch(js=...)``)."""
    return (ASSETS / "ui.js").read_text(encoding="utf-8")


@cache
def styles() -> str:
    """The extra styles (appended to the layout's CSS)."""
    return (ASSETS / "ui.css").read_text(encoding="utf-8")
