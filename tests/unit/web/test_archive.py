"""The archive view: entries, filtering and sorting, the table, the timeline, and the
handlers that restrict the questions to a chosen article."""

from __future__ import annotations

from html.parser import HTMLParser

import gradio as gr
import pytest

from rag.settings import Settings
from rag.types import DocMeta
from rag.web import archive
from rag.web.handlers import ChatApp
from rag.web.service import Service, doc_label

SCRIPT = "<script>alert(1)</script>"


def meta(doc_id: str, title: str, date: str | None, publisher: str | None = None) -> DocMeta:
    return DocMeta(doc_id, title, date, None, publisher, None)


DOCS = {d.doc_id: d for d in [
    meta("000_a.txt", "Ein fester Händedruck im Kreml", None),
    meta("001_b.txt", "Einladung an Putin", "2020-08", "zeit.de"),
    meta("002_c.txt", "Putin bittet Lukaschenko um Hilfe", "2022-12-19"),
    meta("003_d.txt", "Videokonferenz aus Sewastopol", "2021-11"),
    meta("004_e.txt", f"Dolchstoß-Rede {SCRIPT}", "2023-06", "Müller & Söhne"),
]}
ROWS = ["001_b.txt"] * 3 + ["002_c.txt"] * 7 + ["003_d.txt"] * 6 + ["004_e.txt"] * 4 + [
    "000_a.txt"] * 5


@pytest.fixture
def items() -> list[archive.Entry]:
    return archive.entries(DOCS, ROWS)



def test_newest_titles_are_whole_distinct_headlines_newest_first(items) -> None:
    assert archive.newest_titles(items, 3) == [
        f"Dolchstoß-Rede {SCRIPT}", "Putin bittet Lukaschenko um Hilfe",
        "Videokonferenz aus Sewastopol"]
    # too long to show whole, a repeated title, undated last; never more than asked
    more = items + [archive.Entry("005_f.txt", "Ein fester   Händedruck im Kreml", "2024-01",
                                  None, 1),
                    archive.Entry("006_g.txt", "x" * 81, "2025-01", None, 1)]
    assert archive.newest_titles(more, 9) == [
        "Ein fester Händedruck im Kreml", f"Dolchstoß-Rede {SCRIPT}",
        "Putin bittet Lukaschenko um Hilfe", "Videokonferenz aus Sewastopol",
        "Einladung an Putin"]
    assert archive.newest_titles(more, 0) == [] and archive.newest_titles([], 3) == []

class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.buttons: list[str | None] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag == "td":
            self._in = True
            self.rows[-1].append("")
        if tag == "button":
            self.buttons.append(dict(attrs).get("data-doc"))

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.rows[-1][-1] += data


def table(html: str) -> Cells:
    c = Cells()
    c.feed(html)
    c.rows = [r for r in c.rows if r]
    return c


def test_entries_count_passages(items) -> None:
    by_id = {e.doc_id: e.passages for e in items}
    assert by_id == {"000_a.txt": 5, "001_b.txt": 3, "002_c.txt": 7, "003_d.txt": 6,
                     "004_e.txt": 4}


def test_sorted_by_date_both_ways_undated_last(items) -> None:
    newest = [e.doc_id for e in archive.select(items, "", "newest")]
    assert newest == ["004_e.txt", "002_c.txt", "003_d.txt", "001_b.txt", "000_a.txt"]
    oldest = [e.doc_id for e in archive.select(items, None, "oldest")]
    assert oldest == ["001_b.txt", "003_d.txt", "002_c.txt", "004_e.txt", "000_a.txt"]


@pytest.mark.parametrize(("query", "expected"), [
    ("putin", ["002_c.txt", "001_b.txt"]),
    ("PUTIN hilfe", ["002_c.txt"]),
    ("muller", ["004_e.txt"]),  # accents and case folded
    ("2021-11", ["003_d.txt"]),
    ("zeit.de", ["001_b.txt"]),
    ("003_d", ["003_d.txt"]),
    ("nichts davon", []),
])
def test_filter_matches_every_word(items, query: str, expected: list[str]) -> None:
    assert [e.doc_id for e in archive.select(items, query)] == expected


def test_table_lists_articles_with_dates_and_escapes(items) -> None:
    html = archive.table_html(archive.select(items), len(items), "de")
    t = table(html)
    assert [r[2] for r in t.rows] == ["2023-06", "2022-12-19", "2021-11", "2020-08", "ohne Datum"]
    assert t.rows[0][3] == "4"
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "Müller &amp; Söhne" in html
    assert t.buttons == ["004_e.txt", "002_c.txt", "003_d.txt", "001_b.txt", "000_a.txt"]
    assert 'aria-sort="descending"' in html and "<caption>5 von 5 Artikeln</caption>" in html
    en = archive.table_html(archive.select(items, "putin", "oldest"), len(items), "en",
                            query="putin", order="oldest", chosen=["002_c.txt"])
    assert "2 of 2 matching articles (5 in the archive)" in en
    assert 'aria-sort="ascending"' in en and "(selected)" in en


def test_table_limits_rows_and_says_how_many_more(items) -> None:
    html = archive.table_html(archive.select(items), len(items), "en", limit=2)
    assert len(table(html).rows) == 2 and "3 more articles match" in html
    assert "No article matches" in archive.table_html([], 5, "en", query="x")
    assert "still empty" in archive.table_html([], 0, "en")


def test_month_counts_fill_gaps_and_count_undated(items) -> None:
    months, undated = archive.month_counts(items)
    assert months[0] == ("2020-08", 1) and months[-1] == ("2023-06", 1)
    assert len(months) == 35 and sum(n for _, n in months) == 4 and undated == 1
    assert dict(months)["2021-01"] == 0


def test_timeline_has_a_bar_per_month_and_a_text_summary(items) -> None:
    html = archive.timeline_html(items, "de")
    assert html.count("<li ") == 35
    assert "4 Artikel von 2020-08 bis 2023-06" in html and "1 ohne Monatsangabe" in html
    assert 'title="2022-12: 1 Artikel"' in html
    assert "Articles per month" in archive.timeline_html(items, "en")
    assert "<li" not in archive.timeline_html([], "en")


def test_article_filter_label_is_cut_at_a_word_boundary() -> None:
    title = "Fast klang es wie eine direkte Einladung an Wladimir Putin, militärische " \
            "Bruderhilfe zu leisten"
    label = doc_label(title, "2020-08", "001_b.txt")
    assert label.endswith("… (2020-08)")
    assert title.startswith(label[: -len("… (2020-08)")] + " ")


# ---------------------------------------------------------------- handlers


@pytest.fixture
def chat(items, tmp_path) -> ChatApp:
    service = Service(None)  # type: ignore[arg-type] - no questions asked here
    service.phase = "ready"
    service.archive = items
    return ChatApp(service, Settings().replace(data_dir=tmp_path))


def test_archive_view_filters_and_marks_the_chosen(chat: ChatApp) -> None:
    timeline, html = chat.archive_view("sewastopol", "newest", ["003_d.txt"], "de")
    assert "rag-timeline" in timeline
    assert table(html).buttons == ["003_d.txt"] and "(ausgewählt)" in html
    chat.service.phase = "starting"
    assert "wird geladen" in chat.archive_view("", "newest", [], "de")[1]


def test_choosing_an_article_restricts_questions_and_returns_to_chat(chat: ChatApp) -> None:
    docs, tabs = chat.choose_article(gr.SelectData(None, {"index": 0, "value": "002_c.txt"}))
    assert docs == ["002_c.txt"] and tabs.selected == "chat"
    # an id that is not in the archive (forged event) changes nothing
    docs, tabs = chat.choose_article(gr.SelectData(None, {"index": 0, "value": "../x"}))
    assert isinstance(docs, type(gr.skip()))


def test_scope_note_names_the_articles(chat: ChatApp) -> None:
    note, button = chat.scope_view(["002_c.txt"], "de")
    assert note.visible and "„Putin bittet Lukaschenko um Hilfe“" in note.value
    assert button.visible
    note, button = chat.scope_view(["000_a.txt", "001_b.txt", "002_c.txt", "003_d.txt"], "en")
    assert "and 1 more" in note.value
    note, button = chat.scope_view([], "de")
    assert note.visible is False and button.visible is False


def test_question_language_switches_the_page(chat: ChatApp) -> None:
    assert chat.question_language("How many soldiers does the army have?") == "en"
    assert chat.question_language("Wie viele Soldaten hat die Armee?") == "de"
    assert isinstance(chat.question_language("  "), type(gr.skip()))


def test_relabel_gives_every_text_in_one_language(chat: ChatApp) -> None:
    en = chat.relabel("en")
    assert "Ask the news archive" in en[0]
    labels = [getattr(u, "label", None) for u in en[1:11]]
    assert "Archive" in labels and "Number of sources (k)" in labels
    assert en[-1].label == "Examples"
    de = chat.relabel("de")
    assert "Archiv" in [getattr(u, "label", None) for u in de[1:11]]
    # the source panel is not among the relabelled: a late relabel cannot replace an answer
    assert not any("rag-sources" in str(u) for u in de)
