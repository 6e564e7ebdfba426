"""Turn answers into chat text and source-panel HTML for the web chat.

Pure functions (no Gradio): everything that comes from the corpus or from the user is
escaped here before it becomes HTML or Markdown, so an article containing
``<script>alert(1)</script>`` or a question ``<img src=x onerror=alert(1)>`` shows as
text. Links are only made for ``http``/``https`` URLs. The fixed texts follow the
question's language (``"de"`` or ``"en"``).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ..types import Answer, Source
from .relevance import LEVEL_LABELS, RelevanceScale

LANGUAGES = ("de", "en")
#: Headings longer than this are cut at a word boundary (:func:`short_title`).
TITLE_CHARS = 90

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
        "source": "Quelle",
        "back": "↩ zur Antwort",
        "weak_title": "Geringe Relevanz",
        "weak_note": "Die beste Quelle passt nur mäßig zur Frage. Prüfen Sie die Antwort "
        "anhand der Quellen.",
        "relevance_detail": "Ähnlichkeit zur Frage {value:.3f}; ab {strong:.3f} „{high}“, "
        "ab {answer:.3f} „{medium}“ (darunter keine Antwort); Rangwert {score:.3f}",
        "empty_panel": "Die Quellen der letzten Antwort erscheinen hier.",
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
        "source": "Source",
        "back": "↩ back to the answer",
        "weak_title": "Low relevance",
        "weak_note": "The best source matches the question only moderately. Check the "
        "answer against the sources.",
        "relevance_detail": "Similarity to the question {value:.3f}; from {strong:.3f} "
        "“{high}”, from {answer:.3f} “{medium}” (no answer below); ranking score {score:.3f}",
        "empty_panel": "The sources of the latest answer appear here.",
    },
}

#: Styles of the source panel and the status line (passed to ``launch(css=...)``).
CSS = """
.rag-sources { font-size: 0.95em; }
.rag-sources h2 { margin: 0 0 0.4em 0; font-size: 1.15em; }
.rag-note { opacity: 0.8; margin: 0 0 0.6em 0; }
html[lang="en"] .rag-bilingual[lang="de"], html:not([lang="en"]) .rag-bilingual[lang="en"] {
  display: none; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.6em 0.8em; margin-bottom: 0.7em; }
.rag-source-head { font-weight: 600; }
.rag-n { font-variant-numeric: tabular-nums; margin-right: 0.3em; }
.rag-meta { font-size: 0.85em; margin: 0.2em 0 0.4em 0; }
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


def short_title(title: str | None, limit: int = TITLE_CHARS) -> str:
    """``title`` for a heading: whole when it fits ``limit`` characters, else cut at the
    last word boundary before it (never inside a word) and ended with ``…``."""
    text = " ".join((title or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    # at the last space; a single word longer than the limit ends at the limit
    cut = cut[:space] if space > 0 else text[:limit]
    return cut.rstrip(" ,;:–—-(„\"'«»/") + "…"


def answer_key(answer: Answer) -> str:
    """A short id shared by an answer's citation links and its source cards (the same
    for every rendering of one answer, also while a generated answer streams in)."""
    digest = hashlib.sha1(answer.question.encode("utf-8", "surrogatepass"))
    for s in answer.sources:
        digest.update(f"\0{s.n}\0{s.doc_id}\0{s.text[:200]}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:10]


def _cite_link(key: str, source: Source | None, n: int, lang: str, brackets: bool) -> str:
    """A citation marker as a link to its source card (plain text when no such source)."""
    if source is None:
        return f"&#91;{n}&#93;" if brackets else str(n)
    tip = f"{label(lang, 'source')} {n}: {short_title(source.title)}"
    inner = (f'&#91;<span class="rag-sr">{escape_html(label(lang, "source"))} </span>{n}&#93;'
             if brackets else
             f'<span class="rag-sr">{escape_html(label(lang, "source"))} </span>{n}')
    return (f'<a class="rag-cite" href="#rag-src-{key}-{n}" title="{escape_html(tip)}">'
            f"{inner}</a>")


#: A citation marker in answer text: ``[2]`` or ``[1, 3]``.
_CITE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def cited_numbers(text: str) -> set[int]:
    """The source numbers that ``text`` cites (``[2]``, ``[1, 3]``)."""
    return {int(x) for m in _CITE.finditer(text) for x in re.findall(r"\d+", m.group(1))}


#: A citation marker in escaped Markdown: ``\[2\]`` or ``\[1, 3\]``.
_ESCAPED_CITE = re.compile(r"\\\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\\\]")


def link_citations(markdown: str, answer: Answer) -> str:
    """Turn the escaped citation markers of ``markdown`` into links to the source cards
    (``#rag-src-<key>-<n>``); markers without a source stay text."""
    lang = lang_of(answer.language)
    key = answer_key(answer)
    by_n = {int(s.n): s for s in answer.sources}

    def repl(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        if len(numbers) == 1:
            return _cite_link(key, by_n.get(numbers[0]), numbers[0], lang, True)
        links = ", ".join(_cite_link(key, by_n.get(n), n, lang, False) for n in numbers)
        return f"&#91;{links}&#93;"

    return _ESCAPED_CITE.sub(repl, markdown)


def chat_text(answer: Answer, scale: RelevanceScale | None = None) -> str:
    """The assistant's chat message: a low-relevance warning when ``scale`` says the best
    source is weak, the answer with its citation markers as links to the source cards,
    then the cited sources' titles (or a pointer to the possibly related passages)."""
    lang = lang_of(answer.language)
    body = link_citations(escape_markdown(answer.text), answer)
    if scale is not None and scale.weak(answer):
        body = f"⚠ **{label(lang, 'weak_title')}:** {label(lang, 'weak_note')}\n\n{body}"
    if answer.found:
        numbers = cited_numbers(answer.text)
        cited = [s for s in answer.sources if s.n in numbers]
        if cited:
            key = answer_key(answer)
            names = "; ".join(
                f'<a class="rag-cite" href="#rag-src-{key}-{int(s.n)}">&#91;{int(s.n)}&#93; '
                f"{escape_markdown(short_title(s.title))}</a>"
                for s in cited
            )
            body += f"\n\n_{label(lang, 'cited')}:_ {names}"
    elif answer.sources:
        body += f"\n\n_{label(lang, 'see_related')}_"
    return body


def error_text(message: str, language: str | None = None) -> str:
    """An error as a chat message (escaped; never a traceback)."""
    return f"**{label(language, 'error')}:** {escape_markdown(message)}"


def relevance_html(source: Source, lang: str, scale: RelevanceScale | None) -> str:
    """The source's calibrated relevance label, the exact values on hover (and for screen
    readers); the raw ranking score alone when there is no scale or relevance."""
    if scale is None or source.relevance is None:
        return (f'<span class="rag-score">{escape_html(label(lang, "score"))} '
                f"{float(source.score):.3f}</span>")
    level = scale.level(source.relevance)
    name = LEVEL_LABELS[lang][level]
    detail = label(lang, "relevance_detail").format(
        value=source.relevance, strong=scale.strong, answer=scale.answer,
        high=LEVEL_LABELS[lang]["high"], medium=LEVEL_LABELS[lang]["medium"],
        score=float(source.score))
    return (f'<span class="rag-rel rag-rel-{level}" title="{escape_html(detail)}">'
            f"{escape_html(name)}"
            f'<span class="rag-sr"> ({escape_html(detail)})</span></span>')


def source_html(
    source: Source,
    language: str | None = None,
    *,
    key: str = "",
    scale: RelevanceScale | None = None,
    back: bool = False,
) -> str:
    """One source card: number, title, publisher, date, link, relevance, highlighted
    passage; ``id="rag-src-<key>-<n>"`` is the target of the answer's citation links and
    ``back`` adds a link back to the citation in the answer."""
    lang = lang_of(language)
    n = int(source.n)
    meta: list[str] = []
    if source.publisher:
        meta.append(f'<span class="rag-publisher">{escape_html(source.publisher)}</span>')
    if source.date:
        meta.append(f'<span class="rag-date">{escape_html(source.date)}</span>')
    if source.relevance is not None or source.score:  # listed articles are not ranked
        meta.append(f"<span>{relevance_html(source, lang, scale)}</span>")
    url = safe_url(source.url)
    if url:
        meta.append(
            f'<span><a class="rag-link" href="{escape_html(url)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{escape_html(label(lang, "open"))}</a></span>'
        )
    back_link = ""
    if back:
        back_link = (f'<a class="rag-back" href="#rag-chat" data-key="{escape_html(key)}" '
                     f'data-n="{n}">{escape_html(label(lang, "back"))}</a>')
    title = short_title(source.title) or source.doc_id
    return (
        f'<article class="rag-source" id="rag-src-{escape_html(key)}-{n}" tabindex="-1" '
        f'aria-labelledby="rag-src-{escape_html(key)}-{n}-h">'
        f'<h3 class="rag-source-head" id="rag-src-{escape_html(key)}-{n}-h">'
        f'<span class="rag-n">[{n}]</span>'
        f'<span class="rag-title">{escape_html(title)}</span></h3>'
        f'<div class="rag-meta">{"".join(meta)}</div>'
        f'<blockquote class="rag-passage">{highlight(source.text, source.highlights)}'
        f"</blockquote>"
        f'<div class="rag-source-foot"><span class="rag-doc-id">{escape_html(source.doc_id)}'
        f"</span>{back_link}</div>"
        f"{also_html(source, lang)}"
        "</article>"
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


def sources_html(answer: Answer, scale: RelevanceScale | None = None) -> str:
    """The source panel for ``answer``; passages are "possibly related" when not found.
    With ``scale`` each source shows its calibrated relevance label, and a weak best
    source a warning."""
    lang = lang_of(answer.language)
    key = answer_key(answer)
    if answer.found:
        head = f"<h2>{escape_html(label(lang, 'sources'))}</h2>"
        if scale is not None and scale.weak(answer):
            head += (f'<p class="rag-warn" role="note"><strong>'
                     f"{escape_html(label(lang, 'weak_title'))}:</strong> "
                     f"{escape_html(label(lang, 'weak_note'))}</p>")
    else:
        head = (
            f"<h2>{escape_html(label(lang, 'possibly_related'))}</h2>"
            f'<p class="rag-note">{escape_html(label(lang, "related_note"))}</p>'
        )
    if not answer.sources:
        body = f'<p class="rag-note">{escape_html(label(lang, "no_sources"))}</p>'
        head = f"<h2>{escape_html(label(lang, 'sources'))}</h2>"
    else:
        body = "".join(source_html(s, lang, key=key, scale=scale, back=answer.found)
                       for s in answer.sources)
    kind = "found" if answer.found else "related"
    return (f'<div class="rag-sources rag-{kind}" lang="{lang}" data-key="{key}">'
            f"{head}{body}</div>")


def empty_panel() -> str:
    """The source panel before the first answer: its note in both languages, of which
    the page's language (``<html lang>``) shows one. The note thus never has to be
    re-rendered when the language changes, so no late relabel can replace an answer."""
    notes = "".join(f'<p class="rag-note rag-bilingual" lang="{lang}">'
                    f"{escape_html(label(lang, 'empty_panel'))}</p>" for lang in ("de", "en"))
    return f'<div class="rag-sources rag-empty">{notes}</div>'


def status_html(state: str, message: str = "") -> str:
    """The status line: ``state`` is ``"busy"``, ``"ready"`` or ``"error"``."""
    kind = state if state in ("busy", "ready", "error") else "busy"
    return (
        f'<div class="rag-status rag-status-{kind}" role="status" data-state="{kind}">'
        f'<span class="rag-dot"></span>{escape_html(message)}</div>'
    )
