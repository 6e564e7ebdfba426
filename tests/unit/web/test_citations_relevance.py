"""Citation links, calibrated relevance labels, the low-relevance warning and short
headings in the web chat's rendering (pure functions, no browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from rag.settings import Settings
from rag.types import Answer, Source
from rag.web.relevance import RelevanceScale, best_relevance
from rag.web.render import (
    answer_key,
    chat_text,
    cited_numbers,
    escape_markdown,
    link_citations,
    short_title,
    source_html,
    sources_html,
)

SCRIPT = "<script>alert(1)</script>"
SCALE_DE = RelevanceScale(answer=0.815, strong=0.835)


def source(n: int = 1, relevance: float | None = 0.85, **kw: object) -> Source:
    values: dict = {"n": n, "doc_id": f"00{n}_a.txt", "title": f"Titel {n}", "date": "2021-11",
                    "url": None, "publisher": "zeit.de", "text": "Er nennt ihn Bruder.",
                    "score": 2.2331, "highlights": [(0, 20)], "relevance": relevance}
    values.update(kw)
    return Source(**values)


def answer(text: str = "Er nennt ihn Bruder. [1]", found: bool = True, lang: str = "de",
           sources: list[Source] | None = None) -> Answer:
    return Answer("Wie nennt Lukaschenko Putin?", lang, found, text,
                  sources if sources is not None else [source(1), source(2, 0.80)])


class Tags(HTMLParser):
    """Start tags with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(fragment: str, name: str) -> list[dict[str, str | None]]:
    parser = Tags()
    parser.feed(fragment)
    return [a for t, a in parser.tags if t == name]


# ---------------------------------------------------------------- citation links


def test_citation_markers_link_to_their_source_cards() -> None:
    a = answer()
    key = answer_key(a)
    chat = chat_text(a)
    links = [t["href"] for t in tags(chat, "a")]
    assert links[0] == f"#rag-src-{key}-1"
    panel = sources_html(a)
    ids = [t["id"] for t in tags(panel, "article")]
    assert ids == [f"rag-src-{key}-1", f"rag-src-{key}-2"]
    assert all(t["tabindex"] == "-1" for t in tags(panel, "article"))  # focus target
    # the cards of an answer link back to the citation
    backs = tags(panel, "a")
    assert [(b["data-key"], b["data-n"]) for b in backs if b["class"] == "rag-back"] == [
        (key, "1"), (key, "2")]


def test_markers_without_a_source_stay_text_and_groups_link_each_number() -> None:
    a = answer("Satz [1, 2]. Anderer Satz [7].")
    out = link_citations(escape_markdown(a.text), a)
    hrefs = [t["href"] for t in tags(out, "a")]
    key = answer_key(a)
    assert hrefs == [f"#rag-src-{key}-1", f"#rag-src-{key}-2"]
    assert "&#91;7&#93;" in out
    assert cited_numbers(a.text) == {1, 2, 7}


def test_key_is_stable_while_the_text_streams_and_differs_between_answers() -> None:
    partial, full = answer("Er nennt"), answer("Er nennt ihn Bruder. [1]")
    assert answer_key(partial) == answer_key(full)
    other = answer(sources=[source(1, doc_id="009_x.txt")])
    assert answer_key(other) != answer_key(full)


def test_link_tooltip_and_texts_are_escaped() -> None:
    a = answer(sources=[source(1, title=f'Titel "{SCRIPT}" *fett*')])
    chat = chat_text(a)
    assert "<script>" not in chat and "&lt;script&gt;" in chat
    assert tags(chat, "a")[0]["title"] == f'Quelle 1: Titel "{SCRIPT}" *fett*'
    assert "\\*fett\\*" in chat  # the title in the source line stays literal Markdown


def test_screen_reader_name_of_a_marker_names_the_source() -> None:
    de = chat_text(answer())
    en = chat_text(answer(lang="en"))
    assert '<span class="rag-sr">Quelle </span>1' in de
    assert '<span class="rag-sr">Source </span>1' in en


def test_not_found_answer_has_no_links_or_back_links() -> None:
    a = answer("Dazu habe ich im Korpus nichts gefunden.", found=False,
               sources=[source(1, 0.7)])
    assert tags(chat_text(a, SCALE_DE), "a") == []
    assert not [t for t in tags(sources_html(a, SCALE_DE), "a") if t["class"] == "rag-back"]


# ---------------------------------------------------------------- relevance labels


@pytest.mark.parametrize(("value", "level"), [
    (0.90, "high"), (0.835, "high"), (0.834, "medium"), (0.815, "medium"), (0.80, "low"),
    (None, "low"),
])
def test_levels_follow_the_not_found_threshold(value: float | None, level: str) -> None:
    assert SCALE_DE.level(value) == level


def test_scale_comes_from_the_settings_per_language() -> None:
    s = Settings().replace(min_relevance_de=0.7, strong_relevance_de=0.75,
                           min_relevance_en=0.6, strong_relevance_en=0.5)
    assert RelevanceScale.for_language(s, "de") == RelevanceScale(0.7, 0.75)
    # a "very relevant" level below the answer level is raised to it
    assert RelevanceScale.for_language(s, "en") == RelevanceScale(0.6, 0.6)
    default = Settings()
    assert (RelevanceScale.for_language(default, "de").answer
            == default.answer.min_relevance_de)


def test_cards_show_labels_with_the_exact_values_on_hover() -> None:
    html = source_html(source(1, 0.8421), "de", key="k", scale=SCALE_DE)
    span = [t for t in tags(html, "span") if "rag-rel" in (t.get("class") or "")][0]
    assert span["class"] == "rag-rel rag-rel-high"
    assert "0.842" in span["title"] and "0.835" in span["title"] and "2.233" in span["title"]
    assert ">sehr relevant<" in html
    en = source_html(source(1, 0.82), "en", key="k", scale=RelevanceScale(0.80, 0.83))
    assert ">relevant<" in en and "rag-rel-medium" in en
    low = source_html(source(1, 0.5), "en", key="k", scale=RelevanceScale(0.80, 0.83))
    assert ">possibly relevant<" in low
    # no scale (or no measured relevance): the raw score as before
    assert "Relevanz 2.233" in source_html(source(1, None), "de", key="k", scale=SCALE_DE)


def test_weak_best_source_gets_a_warning_in_chat_and_panel() -> None:
    weak = answer(sources=[source(1, 0.82), source(2, 0.70)])
    assert best_relevance(weak.sources) == 0.82
    assert SCALE_DE.weak(weak)
    assert "Geringe Relevanz" in chat_text(weak, SCALE_DE)
    assert 'class="rag-warn"' in sources_html(weak, SCALE_DE)
    strong = answer(sources=[source(1, 0.86)])
    assert not SCALE_DE.weak(strong)
    assert "Geringe Relevanz" not in chat_text(strong, SCALE_DE)
    assert "rag-warn" not in sources_html(strong, SCALE_DE)
    refused = answer("nichts", found=False, sources=[source(1, 0.80)])
    assert not SCALE_DE.weak(refused)  # a refusal is no weak answer
    en = answer(lang="en", sources=[source(1, 0.81)])
    assert "Low relevance" in chat_text(en, RelevanceScale(0.80, 0.82))


# ---------------------------------------------------------------- headings


def test_short_title_cuts_at_a_word_boundary() -> None:
    lead = ("Ein fester Händedruck, eine freundliche Umarmung, ein Platz an einem Mini-Tisch: "
            "Hast du einen PCR-Test machen lassen?")
    out = short_title(lead, 60)
    assert len(out) <= 61 and out.endswith("…")
    stem = out[:-1]
    assert lead.startswith(stem) and lead[len(stem)] == " "  # ends before a space
    assert short_title("Kurzer Titel", 60) == "Kurzer Titel"
    assert short_title("  mehrere   Leerzeichen ", 60) == "mehrere Leerzeichen"
    assert short_title("x" * 100, 10) == "x" * 10 + "…"
    assert short_title(None) == ""


def test_card_heading_is_the_short_title() -> None:
    long = "Wort " * 40
    html = source_html(source(1, title=long), "de", key="k")
    heading = re.search(r'<span class="rag-title">(.*?)</span>', html).group(1)
    assert heading.endswith("…") and "Wor…" not in heading and len(heading) <= 91
