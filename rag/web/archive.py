"""The archive view: which articles the index holds, from when, and choosing one to ask.

Pure functions (no Gradio): :func:`entries` lists the indexed articles with their number
of passages, :func:`select` filters and sorts them, :func:`table_html` and
:func:`timeline_html` render them (everything from the corpus escaped). The table's
buttons carry the article id in ``data-doc``; :data:`TABLE_JS` turns a click (or Enter /
Space on the focused button) into the component's ``select`` event.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..types import DocMeta
from .render import escape_html, lang_of, short_title

Order = Literal["newest", "oldest"]
ORDERS: tuple[Order, ...] = ("newest", "oldest")
#: Rows shown at most; the caption says how many more match (filter to narrow down).
MAX_ROWS = 200

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Titel", "publisher": "Herausgeber", "date": "Datum",
        "passages": "Passagen", "action": "Aktion", "ask": "Befragen",
        "ask_sr": "nur diesen Artikel befragen", "chosen": "ausgewählt",
        "caption": "{shown} von {total} Artikeln", "caption_filtered":
        "{shown} von {matching} passenden Artikeln ({total} im Archiv)",
        "more": "Weitere {n} Artikel passen; grenzen Sie den Filter ein.",
        "none": "Kein Artikel passt zum Filter.", "empty": "Das Archiv ist noch leer.",
        "loading": "Das Archiv wird geladen …",
        "undated": "ohne Datum", "timeline": "Artikel pro Monat",
        "timeline_summary": "{total} Artikel von {first} bis {last}, die meisten im Monat "
        "{peak_month} ({peak})", "timeline_undated": "{n} ohne Monatsangabe",
        "per_month": "{month}: {n} Artikel",
    },
    "en": {
        "title": "Title", "publisher": "Publisher", "date": "Date",
        "passages": "Passages", "action": "Action", "ask": "Ask",
        "ask_sr": "ask only this article", "chosen": "selected",
        "caption": "{shown} of {total} articles", "caption_filtered":
        "{shown} of {matching} matching articles ({total} in the archive)",
        "more": "{n} more articles match; narrow the filter.",
        "none": "No article matches the filter.", "empty": "The archive is still empty.",
        "loading": "Loading the archive …",
        "undated": "undated", "timeline": "Articles per month",
        "timeline_summary": "{total} articles from {first} to {last}, most in the month "
        "{peak_month} ({peak})", "timeline_undated": "{n} without a month",
        "per_month": "{month}: {n} articles",
    },
}


@dataclass(frozen=True)
class Entry:
    """One article of the archive."""

    doc_id: str
    title: str
    date: str | None
    publisher: str | None
    passages: int


def entries(docs: Mapping[str, DocMeta], row_docs: Iterable[str]) -> list[Entry]:
    """The indexed articles (``docs``) with their passage counts (``row_docs``: the
    article of each stored passage)."""
    counts = Counter(row_docs)
    return [Entry(d.doc_id, d.title, d.date, d.publisher, counts.get(d.doc_id, 0))
            for d in docs.values()]


def newest_titles(items: Sequence[Entry], n: int, limit: int = 80) -> list[str]:
    """The titles of the ``n`` newest articles that fit ``limit`` characters whole
    (distinct; undated articles last). A headline finds its article: the chat offers
    them as examples beside the questions about the default corpus."""
    out: list[str] = []
    for entry in select(items, None, "newest"):
        title = " ".join(entry.title.split())
        if len(out) >= n:
            break
        if title and len(title) <= limit and title not in out:
            out.append(title)
    return out


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for matching (``Müller`` ~ ``muller``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def select(items: Sequence[Entry], query: str | None = None,
           order: str | None = "newest") -> list[Entry]:
    """The entries matching every word of ``query`` (in title, publisher, date or file
    name), newest (or oldest) first; undated articles last."""
    words = _fold(query or "").split()
    if words:
        items = [e for e in items
                 if all(w in _fold(f"{e.title} {e.publisher or ''} {e.date or ''} {e.doc_id}")
                        for w in words)]
    dated = [e for e in items if e.date]
    dated.sort(key=lambda e: (e.date or "", e.doc_id), reverse=order != "oldest")
    undated = sorted((e for e in items if not e.date), key=lambda e: e.title.casefold())
    return dated + undated


def table_html(items: Sequence[Entry], total: int, language: str | None = None, *,
               query: str | None = None, order: str | None = "newest",
               chosen: Iterable[str] = (), limit: int = MAX_ROWS) -> str:
    """The archive table of ``items`` (already selected); ``total``: articles in the
    archive; ``chosen``: ids of the articles the questions are restricted to."""
    t = TEXTS[lang_of(language)]
    if not total:
        return f'<div class="rag-archive"><p class="rag-note">{escape_html(t["empty"])}</p></div>'
    if not items:
        return f'<div class="rag-archive"><p class="rag-note">{escape_html(t["none"])}</p></div>'
    shown = list(items[:limit])
    if (query or "").strip():
        caption = t["caption_filtered"].format(shown=len(shown), matching=len(items), total=total)
    else:
        caption = t["caption"].format(shown=len(shown), total=total)
    sort = "ascending" if order == "oldest" else "descending"
    picked = set(chosen)
    rows = []
    for e in shown:
        title = escape_html(short_title(e.title) or e.doc_id)
        mark = (f' <span class="rag-chosen">({escape_html(t["chosen"])})</span>'
                if e.doc_id in picked else "")
        rows.append(
            f'<tr{" class=rag-row-chosen" if e.doc_id in picked else ""}>'
            f'<td class="rag-a-title">{title}{mark}</td>'
            f'<td class="rag-a-pub">{escape_html(e.publisher or "–")}</td>'
            f'<td class="rag-a-date">{escape_html(e.date or t["undated"])}</td>'
            f'<td class="rag-a-n" data-unit="{escape_html(t["passages"])}">{int(e.passages)}'
            "</td>"
            f'<td class="rag-a-act"><button type="button" class="rag-choose" '
            f'data-doc="{escape_html(e.doc_id)}">{escape_html(t["ask"])}'
            f'<span class="rag-sr">: {title}, {escape_html(t["ask_sr"])}</span></button></td>'
            "</tr>"
        )
    more = ""
    if len(items) > len(shown):
        more = f'<p class="rag-note">{escape_html(t["more"].format(n=len(items) - len(shown)))}</p>'
    head = (
        f'<th scope="col">{escape_html(t["title"])}</th>'
        f'<th scope="col">{escape_html(t["publisher"])}</th>'
        f'<th scope="col" aria-sort="{sort}">{escape_html(t["date"])}</th>'
        f'<th scope="col">{escape_html(t["passages"])}</th>'
        f'<th scope="col"><span class="rag-sr">{escape_html(t["action"])}</span></th>'
    )
    return (
        f'<div class="rag-archive" lang="{lang_of(language)}"><table>'
        f"<caption>{escape_html(caption)}</caption><thead><tr>{head}</tr></thead>"
        f'<tbody>{"".join(rows)}</tbody></table>{more}</div>'
    )


def month_counts(items: Iterable[Entry]) -> tuple[list[tuple[str, int]], int]:
    """Articles per month (``"2022-12"``), every month from the first to the last
    included (zero when none), and the number of articles without a month."""
    counts: Counter[str] = Counter()
    without = 0
    for e in items:
        if e.date and len(e.date) >= 7:
            counts[e.date[:7]] += 1
        else:
            without += 1
    if not counts:
        return [], without
    first, last = min(counts), max(counts)
    y, m = int(first[:4]), int(first[5:7])
    months = []
    while f"{y:04d}-{m:02d}" <= last:
        key = f"{y:04d}-{m:02d}"
        months.append((key, counts.get(key, 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months, without


def timeline_html(items: Iterable[Entry], language: str | None = None) -> str:
    """A small bar chart of articles per month (with a text summary for screen readers)."""
    t = TEXTS[lang_of(language)]
    months, without = month_counts(items)
    if not months:
        note = t["timeline_undated"].format(n=without) if without else t["empty"]
        return (f'<figure class="rag-timeline"><figcaption>{escape_html(t["timeline"])}: '
                f"{escape_html(note)}</figcaption></figure>")
    peak_month, peak = max(months, key=lambda mc: mc[1])
    summary = t["timeline_summary"].format(
        total=sum(n for _, n in months), first=months[0][0], last=months[-1][0],
        peak_month=peak_month, peak=peak)
    if without:
        summary += "; " + t["timeline_undated"].format(n=without)
    bars = "".join(
        f'<li title="{escape_html(t["per_month"].format(month=m, n=n))}">'
        f'<span class="rag-bar" style="height:{max(n / peak * 100, 2 if n else 0):.0f}%">'
        "</span></li>"
        for m, n in months
    )
    return (
        f'<figure class="rag-timeline" lang="{lang_of(language)}">'
        f'<figcaption>{escape_html(t["timeline"])}</figcaption>'
        f'<ol class="rag-bars" aria-hidden="true">{bars}</ol>'
        f'<div class="rag-axis" aria-hidden="true"><span>{months[0][0]}</span>'
        f"<span>{months[-1][0]}</span></div>"
        f'<p class="rag-timeline-summary">{escape_html(summary)}</p></figure>'
    )


#: ``js_on_load`` of the archive table: a button click selects its article.
TABLE_JS = """
element.addEventListener('click', (ev) => {
  const b = ev.target.closest('button.rag-choose');
  if (b && element.contains(b)) trigger('select', {index: 0, value: b.dataset.doc});
});
"""
