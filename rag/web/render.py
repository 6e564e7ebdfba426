"""Turn answers into chat text and source-panel HTML for the web chat.

Pure functions (no Gradio): everything that comes from the corpus or from the user is
escaped here before it becomes HTML or Markdown, so an article containing
``<script>alert(1)</script>`` or a question ``<img src=x onerror=alert(1)>`` shows as
text. Links are only made for ``http``/``https`` URLs. The fixed texts follow the
question's language (``"de"`` or ``"en"``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ..types import Answer, Source

LANGUAGES = ("de", "en")

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "sources": "Quellen",
        "cited": "Quellen",
        "possibly_related": "Möglicherweise verwandt",
        "related_note": "Keine Passage beantwortet die Frage; diese Passagen könnten "
        "verwandt sein.",
        "see_related": "Möglicherweise verwandte Passagen stehen rechts.",
        "no_sources": "Keine Quellen gefunden.",
        "score": "Relevanz",
        "open": "Artikel öffnen",
        "building": "Der Suchindex wird noch aufgebaut – bitte gleich noch einmal fragen.",
        "index_error": "Der Suchindex ist nicht verfügbar",
        "internal_error": "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es "
        "erneut; Details stehen im Server-Log.",
        "error": "Fehler",
    },
    "en": {
        "sources": "Sources",
        "cited": "Sources",
        "possibly_related": "Possibly related",
        "related_note": "No passage answers the question; these passages may be related.",
        "see_related": "Possibly related passages are shown on the right.",
        "no_sources": "No sources found.",
        "score": "Relevance",
        "open": "Open article",
        "building": "The search index is still being built – please ask again in a moment.",
        "index_error": "The search index is not available",
        "internal_error": "An internal error occurred. Please try again; details are in "
        "the server log.",
        "error": "Error",
    },
}

#: Placeholder of the source panel before the first answer (both languages).
EMPTY_PANEL = (
    '<div class="rag-sources rag-empty">'
    "Die Quellen der letzten Antwort erscheinen hier.<br>"
    "The sources of the latest answer appear here.</div>"
)

#: Styles of the source panel and the status line (passed to ``launch(css=...)``).
CSS = """
.rag-sources { font-size: 0.95em; }
.rag-sources h3 { margin: 0 0 0.4em 0; }
.rag-note { opacity: 0.8; margin: 0 0 0.6em 0; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.6em 0.8em; margin-bottom: 0.7em; }
.rag-source-head { font-weight: 600; }
.rag-n { font-variant-numeric: tabular-nums; margin-right: 0.3em; }
.rag-meta { font-size: 0.85em; opacity: 0.85; margin: 0.2em 0 0.4em 0; }
.rag-meta > span + span::before { content: " · "; }
.rag-passage { white-space: pre-wrap; margin: 0; padding-left: 0.7em;
  border-left: 3px solid var(--border-color-primary); }
.rag-passage mark { background: #ffe58a; color: #1a1a1a; padding: 0 0.1em;
  border-radius: 2px; }
.rag-doc-id { font-size: 0.75em; opacity: 0.6; margin-top: 0.3em; }
.rag-status { font-size: 0.9em; padding: 0.3em 0.6em; border-radius: 6px; }
.rag-dot { display: inline-block; width: 0.6em; height: 0.6em; border-radius: 50%;
  margin-right: 0.5em; background: #2e9e44; }
.rag-status-busy { background: #fff4ce; color: #5a4500; }
.rag-status-busy .rag-dot { background: #d49b00; animation: rag-pulse 1s infinite alternate; }
.rag-status-error { background: #fde2e1; color: #8a1c12; }
.rag-status-error .rag-dot { background: #c0392b; }
.rag-status-ready { opacity: 0.75; }
@keyframes rag-pulse { from { opacity: 1; } to { opacity: 0.3; } }
"""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:^=])")


def lang_of(language: str | None) -> str:
    """A supported language code (``"de"`` unless ``"en"``)."""
    return language if language in LANGUAGES else "de"


def label(language: str | None, key: str) -> str:
    """A fixed text in ``language``."""
    return LABELS[lang_of(language)][key]


def escape_html(text: object) -> str:
    """``text`` as HTML text (``&``, ``<``, ``>``, quotes escaped); ``None`` -> ``""``."""
    return html.escape("" if text is None else str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` as literal Markdown: HTML-escaped and Markdown punctuation backslashed.

    The chat renders Markdown, so ``*``, ``_``, ``[``, ``$`` and friends from an article
    or a question would otherwise become formatting, links or math.
    """
    raw = "" if text is None else str(text)
    return escape_html(_MD_SPECIAL.sub(r"\\\1", raw))


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute ``http(s)`` URL, else ``None`` (no ``javascript:``)."""
    if not url:
        return None
    url = url.strip()
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[tuple[int, int]]:
    """Sorted, non-overlapping ``(start, end)`` spans clipped to ``[0, length]``."""
    clipped = sorted(
        (max(0, int(a)), min(length, int(b)))
        for a, b in spans
        if min(length, int(b)) > max(0, int(a))
    )
    merged: list[tuple[int, int]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, spans: Iterable[Sequence[int]]) -> str:
    """``text`` as escaped HTML with the character ``spans`` wrapped in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for a, b in merge_spans(spans, len(text)):
        out.append(escape_html(text[pos:a]))
        out.append("<mark>" + escape_html(text[a:b]) + "</mark>")
        pos = b
    out.append(escape_html(text[pos:]))
    return "".join(out)


def user_text(question: str) -> str:
    """The user's message as shown in the chat (literal text, no Markdown or HTML)."""
    return escape_markdown(question)


def chat_text(answer: Answer) -> str:
    """The assistant's chat message: the answer with its citation markers, then the
    cited sources' titles (or a pointer to the possibly related passages)."""
    lang = lang_of(answer.language)
    body = escape_markdown(answer.text)
    if answer.found:
        cited = [s for s in answer.sources if f"[{s.n}]" in answer.text]
        if cited:
            names = "; ".join(f"\\[{s.n}\\] {escape_markdown(s.title)}" for s in cited)
            body += f"\n\n_{label(lang, 'cited')}:_ {names}"
    elif answer.sources:
        body += f"\n\n_{label(lang, 'see_related')}_"
    return body


def error_text(message: str, language: str | None = None) -> str:
    """An error as a chat message (escaped; never a traceback)."""
    return f"**{label(language, 'error')}:** {escape_markdown(message)}"


def source_html(source: Source, language: str | None = None) -> str:
    """One source card: number, title, publisher, date, link, score, highlighted passage."""
    lang = lang_of(language)
    meta: list[str] = []
    if source.publisher:
        meta.append(f'<span class="rag-publisher">{escape_html(source.publisher)}</span>')
    if source.date:
        meta.append(f'<span class="rag-date">{escape_html(source.date)}</span>')
    meta.append(
        f'<span class="rag-score">{escape_html(label(lang, "score"))} '
        f"{float(source.score):.3f}</span>"
    )
    url = safe_url(source.url)
    if url:
        meta.append(
            f'<span><a class="rag-link" href="{escape_html(url)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{escape_html(label(lang, "open"))}</a></span>'
        )
    return (
        f'<div class="rag-source" id="rag-source-{int(source.n)}">'
        f'<div class="rag-source-head"><span class="rag-n">[{int(source.n)}]</span>'
        f'<span class="rag-title">{escape_html(source.title)}</span></div>'
        f'<div class="rag-meta">{"".join(meta)}</div>'
        f'<blockquote class="rag-passage">{highlight(source.text, source.highlights)}'
        f"</blockquote>"
        f'<div class="rag-doc-id">{escape_html(source.doc_id)}</div>'
        f"{also_html(source, lang)}</div>"
    )


def also_html(source: Source, language: str | None = None) -> str:
    """"Also published by: publisher (date), ..." for an article's copies (escaped)."""
    if not source.also:
        return ""
    head = "also published by" if lang_of(language) == "en" else "auch erschienen bei"
    items = ", ".join(
        escape_html(c.get("publisher") or c.get("title") or c.get("doc_id") or "")
        + (f" ({escape_html(c['date'])})" if c.get("date") else "") for c in source.also)
    return f'<div class="rag-also">{escape_html(head)}: {items}</div>'



def sources_html(answer: Answer) -> str:
    """The source panel for ``answer``; passages are "possibly related" when not found."""
    lang = lang_of(answer.language)
    if answer.found:
        head = f"<h3>{escape_html(label(lang, 'sources'))}</h3>"
    else:
        head = (
            f"<h3>{escape_html(label(lang, 'possibly_related'))}</h3>"
            f'<p class="rag-note">{escape_html(label(lang, "related_note"))}</p>'
        )
    if not answer.sources:
        body = f'<p class="rag-note">{escape_html(label(lang, "no_sources"))}</p>'
        head = f"<h3>{escape_html(label(lang, 'sources'))}</h3>"
    else:
        body = "".join(source_html(s, lang) for s in answer.sources)
    kind = "found" if answer.found else "related"
    return f'<div class="rag-sources rag-{kind}" lang="{lang}">{head}{body}</div>'


def status_html(state: str, message: str = "") -> str:
    """The status line: ``state`` is ``"busy"``, ``"ready"`` or ``"error"``."""
    kind = state if state in ("busy", "ready", "error") else "busy"
    return (
        f'<div class="rag-status rag-status-{kind}" role="status" data-state="{kind}">'
        f'<span class="rag-dot"></span>{escape_html(message)}</div>'
    )
