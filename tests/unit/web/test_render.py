"""Rendering of answers for the web chat (rag.web.render): escaping, highlights, labels."""

from __future__ import annotations

import html
import re

import pytest
from shared_data import IMG, SCRIPT

from rag.types import Answer, Source
from rag.web.render import (
    CSS,
    LABELS,
    chat_text,
    empty_panel,
    error_text,
    escape_markdown,
    highlight,
    label,
    merge_spans,
    safe_url,
    source_html,
    sources_html,
    status_html,
    user_text,
)


def make_source(n: int = 1, **kw: object) -> Source:
    values: dict = {
        "n": n,
        "doc_id": f"00{n}_abc.txt",
        "title": f"Titel {n}",
        "date": "2021-11",
        "url": "https://www.zeit.de/politik/a?b=1&c=2",
        "publisher": "zeit.de",
        "text": "Erster Satz. Er nennt ihn Bruder. Letzter Satz.",
        "score": 0.91234,
        "highlights": [(13, 33)],
    }
    values.update(kw)
    return Source(**values)


def make_answer(lang: str = "de", found: bool = True, **kw: object) -> Answer:
    values: dict = {
        "question": "Wie nennt Lukaschenko Putin?",
        "language": lang,
        "found": found,
        "text": "Er nennt ihn Bruder. [1]",
        "sources": [make_source(1), make_source(2, highlights=[])],
    }
    values.update(kw)
    return Answer(**values)


def visible_text(fragment: str) -> str:
    """Text of an HTML fragment as a browser shows it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# --- escaping -----------------------------------------------------------------------


def test_source_panel_escapes_corpus_html() -> None:
    src = make_source(title=f"Titel {SCRIPT}", publisher=IMG, date='2021"><b>',
                      doc_id=f"{SCRIPT}.txt", text=f"Vorher {SCRIPT} nachher.",
                      highlights=[(7, 32)])
    out = sources_html(make_answer(sources=[src]))
    assert "<script" not in out and "<img" not in out and '"><b>' not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    # the highlighted script text is marked, still escaped
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in out
    assert SCRIPT in visible_text(out)


def test_user_question_is_literal_text_in_chat() -> None:
    out = user_text(IMG)
    assert "<img" not in out
    assert "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in out


@pytest.mark.parametrize("raw", ["*bold* _it_", "[link](javascript:alert(1))", "$x^2$", "# h",
                                 "`code`", "1. list", "a\\b", "![i](http://x/i.png)",
                                 "Tom's \"quote\" & <b>"])
def test_escape_markdown_leaves_no_markup(raw: str) -> None:
    out = escape_markdown(raw)
    assert "<" not in out and ">" not in out
    decoded, i = [], 0
    while i < len(out):  # every Markdown character is backslash-escaped or an entity
        ch = out[i]
        if ch == "\\":
            decoded.append(out[i + 1])
            i += 2
        elif ch == "&":
            end = out.index(";", i)
            decoded.append(html.unescape(out[i : end + 1]))
            i = end + 1
        else:
            assert ch not in "*_[]()$^#`!\\<>-.|~+=:{}", (ch, out)
            decoded.append(ch)
            i += 1
    assert "".join(decoded) == raw


def test_answer_with_html_in_text_is_escaped_in_chat() -> None:
    ans = make_answer(text=f"{SCRIPT} [1]",
                      sources=[make_source(1, title=IMG)])
    out = chat_text(ans)
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://www.zeit.de/a", True),
        ("http://example.org/x?y=1", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://exa mple.org", False),
        ("https://x.org/\nfoo", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_unsafe_url_gets_no_link() -> None:
    out = source_html(make_source(url="javascript:alert(1)"))
    assert "href" not in out and "javascript" not in out


def test_link_attributes() -> None:
    out = source_html(make_source())
    assert 'href="https://www.zeit.de/politik/a?b=1&amp;c=2"' in out
    assert 'rel="noopener noreferrer nofollow"' in out and 'target="_blank"' in out


def test_url_with_quote_cannot_break_attribute() -> None:
    out = source_html(make_source(url='https://x.org/"onmouseover="alert(1)'))
    assert '"onmouseover' not in out
    assert "&quot;onmouseover=&quot;" in out


# --- highlights -----------------------------------------------------------------------


def test_highlight_marks_spans() -> None:
    text = "Erster Satz. Er nennt ihn Bruder. Letzter Satz."
    assert highlight(text, [(13, 33)]) == (
        "Erster Satz. <mark>Er nennt ihn Bruder.</mark> Letzter Satz."
    )


def test_highlight_merges_overlaps_and_clips() -> None:
    assert merge_spans([(5, 8), (0, 3), (2, 4), (7, 100), (-5, 0), (9, 9)], 10) == [
        (0, 4), (5, 10)]
    assert highlight("abcdef", [(4, 2), (10, 20)]) == "abcdef"
    assert highlight("a<b>c", [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c"
    assert highlight("", [(0, 3)]) == ""


def test_highlight_accepts_json_lists() -> None:
    assert highlight("abc", [[0, 1]]) == "<mark>a</mark>bc"


# --- content and labels -------------------------------------------------------------


def test_source_card_shows_all_fields() -> None:
    out = source_html(make_source(), "de")
    for part in ("[1]", "Titel 1", "zeit.de", "2021-11", "Relevanz 0.912",
                 "Artikel öffnen", "<mark>Er nennt ihn Bruder.</mark>", "001_abc.txt"):
        assert part in out
    assert 'id="rag-src-' in out and '-1"' in out


def test_missing_metadata_is_left_out() -> None:
    out = source_html(make_source(url=None, publisher=None, date=None), "en")
    assert "href" not in out and "rag-publisher" not in out and "rag-date" not in out
    assert "Relevance 0.912" in out


def test_a_listed_article_shows_no_relevance() -> None:
    """Articles listed by date ("Was geschah im Juni 2023?") are not ranked: no score."""
    out = source_html(make_source(score=0.0), "en")
    assert "Relevance" not in out and "rag-score" not in out and "rag-date" in out


@pytest.mark.parametrize("lang, heading, score", [("de", "Quellen", "Relevanz"),
                                                   ("en", "Sources", "Relevance")])
def test_found_panel_in_question_language(lang: str, heading: str, score: str) -> None:
    out = sources_html(make_answer(lang))
    assert f"<h2>{heading}</h2>" in out and score in out
    assert f'lang="{lang}"' in out
    assert out.count('class="rag-source"') == 2


@pytest.mark.parametrize("lang", ["de", "en"])
def test_not_found_shows_possibly_related(lang: str) -> None:
    not_found = {"de": "Dazu habe ich im Korpus nichts gefunden.",
                 "en": "I could not find this in the corpus."}[lang]
    ans = make_answer(lang, found=False, text=not_found,
                      sources=[make_source(1, highlights=[])])
    panel = sources_html(ans)
    assert LABELS[lang]["possibly_related"] in panel
    assert LABELS[lang]["related_note"] in panel
    assert "<mark>" not in panel
    chat = chat_text(ans)
    assert escape_markdown(not_found) in chat
    assert label(lang, "see_related") in chat


def test_not_found_without_sources() -> None:
    ans = make_answer("en", found=False, text="I could not find this in the corpus.",
                      sources=[])
    assert "No sources found." in sources_html(ans)
    assert "Possibly related" not in chat_text(ans)


def test_chat_text_keeps_citations_and_lists_cited_titles() -> None:
    ans = make_answer("en", text="He calls him brother. [1]")
    out = chat_text(ans)
    assert 'href="#rag-src-' in out and "&#91;<span class=\"rag-sr\">Source </span>1&#93;" in out
    assert re.search(r"_Sources:_ <a class=\"rag-cite\" href=\"#rag-src-\w+-1\">&#91;1&#93; "
                     r"Titel 1</a>", out)
    assert "Titel 2" not in out  # not cited


def test_disagreement_lists_both_citations() -> None:
    ans = make_answer(text="Die Quellen machen dazu unterschiedliche Angaben:\n"
                      "- A sagt 1. [1]\n- B sagt 2. [2]")
    out = chat_text(ans)
    assert re.search(r"&#91;1&#93; Titel 1</a>; <a [^>]+>&#91;2&#93; Titel 2</a>", out)
    assert "\n\\- A sagt 1\\. <a class=\"rag-cite\"" in out


def test_unknown_language_falls_back_to_german() -> None:
    assert label("fr", "sources") == "Quellen"
    assert 'lang="de"' in sources_html(make_answer("xx"))


def test_error_and_status_are_escaped() -> None:
    out = error_text(f"bad {IMG}", "en")
    assert out.startswith("**Error:**") and "<img" not in out
    assert error_text("x", "de").startswith("**Fehler:**")
    st = status_html("busy", f"Building {SCRIPT}")
    assert "<script" not in st and 'data-state="busy"' in st
    assert 'data-state="busy"' in status_html("weird", "x")


def test_empty_panel_carries_both_languages() -> None:
    panel = empty_panel()
    assert 'lang="de"' in panel and "Quellen" in panel
    assert 'lang="en"' in panel and "sources" in panel
    assert 'html[lang="en"] .rag-bilingual[lang="de"]' in CSS  # the page shows one
