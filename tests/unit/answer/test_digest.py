"""Questions that ask only what happened in a period (rag.answer.digest): answered with
the period's articles in date order, on the fake-embedder seed index (Bruderhilfe
2020-08, Sewastopol 2021-11, Minsk visit 2022-12-19, Prigoschin 2023-06, Kremlin undated)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from shared_data import BRUDERHILFE, MINSK_VISIT, PRIGOSCHIN, SEED, SEWASTOPOL, small_settings

from rag.answer.digest import (
    article_order,
    articles_topic,
    asks_archive_overview,
    asks_archive_size,
    asks_article_count,
    asks_what_happened,
    digest_topic,
    lists_articles,
)
from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.retrieve import allowed_rows, articles_naming


@pytest.mark.parametrize(("topic", "digest"), [
    ("Was geschah?", True),
    ("What happened?", True),
    ("Was gab es Neues?", True),
    ("Was war los?", True),
    ("Which news were there?", True),
    ("Was geschah mit Prigoschin?", False),  # a topic
    ("What happened to the prisoners?", False),
    ("Wie viele Menschen starben?", False),
    ("Was war?", False),  # no word that asks for events
])
def test_asks_what_happened(topic: str, digest: bool) -> None:
    assert asks_what_happened(topic) is digest


def test_the_articles_of_the_period_in_date_order(shared_fake_pipeline: Pipeline) -> None:
    answer = shared_fake_pipeline.ask("What happened between 2020 and 2022?", 2)
    assert answer.found and answer.period
    lines = answer.text.splitlines()
    assert lines[0] == "3 articles from this period, the first 2:"
    assert [s.doc_id for s in answer.sources] == [BRUDERHILFE, SEWASTOPOL]
    assert lines[1].startswith("- 2020-08: ") and lines[1].endswith(" [1]")
    for line, source in zip(lines[1:], answer.sources):  # the lead sentence, highlighted
        (a, b), = source.highlights
        assert source.text[a:b] in line  # seed titles are first sentences cut short


def test_one_article_and_none(shared_fake_pipeline: Pipeline) -> None:
    answer = shared_fake_pipeline.ask("Was geschah im Dezember 2022?")
    assert answer.text.startswith("1 Artikel aus diesem Zeitraum:\n- 2022-12-19: ")
    assert [s.doc_id for s in answer.sources] == [MINSK_VISIT]
    assert answer.text.splitlines()[1].endswith(  # its headline
        "Russland Putin bittet Lukaschenko um Hilfe: Zieht der Kreml jetzt Minsk mit in den "
        "Krieg? [1]")
    # none in the period: those of the days after it (reports of it)
    after = shared_fake_pipeline.ask("Was passierte am 18. Dezember 2022?")
    assert after.text.startswith("Kein Artikel aus diesem Zeitraum; 1 aus den 31 Tagen "
                                 "danach:\n- 2022-12-19: ")


@pytest.mark.parametrize(("question", "header"), [
    ("Was passierte im Januar 2024?", "Kein Artikel aus diesem Zeitraum; die neuesten davor "
                                      "(2 von 4):"),
    ("Was geschah gestern?", "Kein Artikel aus diesem Zeitraum; die neuesten davor (2 von 4):"),
    ("What happened last week?", "No article from this period; the newest before it (2 of 4):"),
])
def test_none_in_the_period_or_after_it_the_newest_before(
        shared_fake_pipeline: Pipeline, question: str, header: str) -> None:
    """An archive that ends before the period ("gestern" asked of an old archive): the
    newest articles before it, newest first, rather than any sentence with "passierte"."""
    answer = shared_fake_pipeline.ask(question, 2, today=date(2024, 5, 15))
    assert answer.found and answer.text.splitlines()[0] == header
    assert [s.doc_id for s in answer.sources] == [PRIGOSCHIN, MINSK_VISIT]
    assert answer.period


def test_a_season_lists_its_three_months(shared_fake_pipeline: Pipeline) -> None:
    """Summer 2023 is June to August: the Prigoschin article (June 2023) alone."""
    answer = shared_fake_pipeline.ask("Was war im Sommer 2023 los?")
    assert answer.text.startswith("1 Artikel aus diesem Zeitraum:\n- 2023-06")
    assert [s.doc_id for s in answer.sources] == [PRIGOSCHIN]


@pytest.mark.parametrize(("question", "header"), [
    ("Was gibt es Neues?", "Die neuesten Artikel (3 von 4 mit Datum, 1 ohne):"),
    ("What's the latest news?", "The newest articles (3 of 4 dated, 1 undated):"),
])
def test_without_a_period_the_newest_articles(shared_fake_pipeline: Pipeline, question: str,
                                              header: str) -> None:
    """The four dated seed articles, newest first (the undated one is left out, and
    counted)."""
    answer = shared_fake_pipeline.ask(question, 3)
    assert answer.found and answer.text.splitlines()[0] == header
    assert [s.doc_id for s in answer.sources] == [PRIGOSCHIN, MINSK_VISIT, SEWASTOPOL]
    assert answer.period is None


@pytest.mark.parametrize(("question", "topic"), [
    ("What happened in Germany?", "Germany"),
    ("Was gibt es Neues aus Berlin?", "Berlin"),
    ("Neuigkeiten über Angela Merkel", "Angela Merkel"),
    ("Welche Nachrichten gibt es zur Fußball-WM?", "Fußball-WM"),
    ("Was geschah?", None),  # no topic: the period's or the newest articles
    ("Wie viele Menschen starben?", None),  # asks for no events
    ("What happened to the prisoners of the camps near the border?", None),  # too long
])
def test_digest_topic(question: str, topic: str | None) -> None:
    assert digest_topic(question) == topic


@pytest.fixture(scope="module")
def refusing_pipeline(shared_fake_pipeline: Pipeline) -> Pipeline:
    """The shared index, every question refused by the usual "not found" gate."""
    settings = shared_fake_pipeline.settings.replace(min_relevance_de=5.0, min_relevance_en=5.0)
    return Pipeline(settings, embedder=shared_fake_pipeline.embedder, auto_index=False)


def test_what_happened_about_a_topic_lists_the_articles_that_name_it(
        refusing_pipeline: Pipeline) -> None:
    """No sentence answers "What happened in Minsk in 2022?": the articles of the period
    whose passage names Minsk are listed instead of "not found"."""
    answer = refusing_pipeline.ask("What happened in Minsk in 2022?")
    assert answer.found and answer.text.startswith("Articles about “Minsk”:\n- 2022-12-19: ")
    assert [s.doc_id for s in answer.sources] == [MINSK_VISIT]
    # without a period: newest first
    news = refusing_pipeline.ask("Neuigkeiten aus Minsk?", 2)
    assert news.text.startswith("Artikel zu „Minsk“:\n")
    dates = [s.date for s in news.sources]
    assert len(dates) == 2 and dates == sorted(dates, reverse=True)
    assert all("Minsk" in s.title + s.text for s in news.sources)


def test_the_newest_article_about_a_topic(refusing_pipeline: Pipeline) -> None:
    """"Was ist der neueste Artikel über Minsk?": the newest of the articles that name it,
    not the newest of the best-matching ones."""
    index = refusing_pipeline.index
    chunks = index.chunks([int(i) for i in index.row_ids])
    naming = {c.doc_id for c in chunks.values() if "Minsk" in c.text}
    newest = max(index.docs[d].date or "" for d in naming)
    answer = refusing_pipeline.ask("Was ist der neueste Artikel über Minsk?", 1)
    assert answer.text.startswith("Die neuesten Artikel zu „Minsk“:\n")
    assert [s.date for s in answer.sources] == [newest]
    oldest = refusing_pipeline.ask("What is the first article about Minsk?", 1)
    assert oldest.text.startswith("The oldest articles about “Minsk”:\n")
    assert [s.date for s in oldest.sources] == [min(index.docs[d].date or "" for d in naming)]


@pytest.mark.parametrize("question", [
    "Was geschah 2021 in Tokio?",  # no article names it
    "Wie viele Soldaten hat Minsk?",  # asks for no events
])
def test_otherwise_not_found_stays(refusing_pipeline: Pipeline, question: str) -> None:
    assert not refusing_pipeline.ask(question).found


@pytest.mark.parametrize(("question", "topic"), [
    ("Welche Artikel gibt es über Fußball?", "Fußball"),
    ("Show me reports about Berlin", "Berlin"),
    ("Zeig mir Artikel über Angela Merkel", "Angela Merkel"),
    ("Wer ist die Autorin des Artikels über die Videokonferenz?", None),  # one article's
    ("Which article reported the Minsk visit?", None),  # asks which one, not for a list
    ("Welche Waffen hat die Armee?", None),
    # the newest article about something: a list too, newest first
    ("Was ist der neueste Artikel über Fußball?", "Fußball"),
    ("What is the latest article about Obama?", "Obama"),
    ("Show me the most recent reports on Berlin", "Berlin"),
    ("Was stand im neuesten Bericht über die Flut?", None),  # asks for its content
])
def test_articles_topic(question: str, topic: str | None) -> None:
    assert articles_topic(question) == topic


def test_a_question_for_articles_about_a_topic_lists_them(
        shared_fake_pipeline: Pipeline) -> None:
    """Asked for the articles about something, the answer is that list (in the period it
    names), whatever sentence would have matched."""
    answer = shared_fake_pipeline.ask("Welche Artikel gibt es über Lukaschenko?", 3)
    assert answer.found and answer.text.startswith("Artikel zu „Lukaschenko“:\n")
    assert len(answer.sources) == 3
    for source in answer.sources:  # the sentence shown and highlighted names the topic
        (a, b), = source.highlights
        assert "Lukaschenko" in source.text[a:b]
    dated = shared_fake_pipeline.ask("Show me articles about Lukashenko from 2022")
    assert [s.doc_id for s in dated.sources] == [MINSK_VISIT]
    assert not shared_fake_pipeline.ask("Welche Artikel gibt es über Tokio?").text.startswith(
        "Artikel zu")


@pytest.mark.parametrize(("question", "lists", "order"), [
    ("Was sind die neuesten Artikel?", True, "newest"),
    ("Zeig mir die ältesten Berichte", True, "oldest"),
    ("Show me the earliest articles in the archive", True, "oldest"),
    ("Welche Artikel gibt es?", True, None),
    ("Was ist der erste Artikel über Obama?", False, "oldest"),  # a topic: a topic list
    ("Welche Artikel gibt es über die erste Mondlandung?", False, None),  # "erste" is the topic's
    ("Was stand im ersten Artikel?", False, None),  # asks for its content
    ("Wie viele Menschen starben?", False, None),
])
def test_lists_articles_and_their_order(question: str, lists: bool, order: str | None) -> None:
    assert lists_articles(question) is lists
    assert article_order(question) == order


def test_the_newest_or_the_oldest_articles(shared_fake_pipeline: Pipeline) -> None:
    """Asked for the articles and nothing else: the newest (the oldest) dated ones."""
    newest = shared_fake_pipeline.ask("Was sind die neuesten Artikel?", 2)
    assert newest.text.splitlines()[0] == "Die neuesten Artikel (2 von 4 mit Datum, 1 ohne):"
    assert [s.doc_id for s in newest.sources] == [PRIGOSCHIN, MINSK_VISIT]
    oldest = shared_fake_pipeline.ask("Show me the oldest articles", 3)
    assert oldest.text.splitlines()[0] == "The oldest articles (3 of 4 dated, 1 undated):"
    assert [s.doc_id for s in oldest.sources] == [BRUDERHILFE, SEWASTOPOL, MINSK_VISIT]


@pytest.mark.parametrize(("question", "asks"), [
    ("Wie viele Artikel gibt es?", True),
    ("How many articles are in the archive?", True),
    ("Über welchen Zeitraum reicht das Archiv?", True),
    ("How far back do the articles go?", True),
    ("Seit wann gibt es Artikel?", True),
    ("Wie viele Artikel gibt es über Fußball?", False),  # a topic: its list
    ("Wie viele Artikel hat der Autor geschrieben?", False),
    ("Wann erschien der Artikel?", False),  # one article's date
    ("Wie viele Menschen starben?", False),
    ("Was steht im Archiv?", False),  # asks for no number or time
])
def test_asks_archive_size(question: str, asks: bool) -> None:
    assert asks_archive_size(question) is asks


def test_how_many_articles_and_what_time_they_cover(shared_fake_pipeline: Pipeline) -> None:
    """The number of articles of the index, the dates of the first and the last (cited),
    and how many have no date; within the dates or the period asked for."""
    index = shared_fake_pipeline.index
    dated = sorted((d.date, i) for i, d in index.docs.items() if d.date)
    undated = len(index.docs) - len(dated)
    answer = shared_fake_pipeline.ask("Wie viele Artikel gibt es?")
    assert answer.found and answer.text.startswith(f"Das Archiv enthält {len(index.docs)} Artikel")
    assert [s.doc_id for s in answer.sources] == [dated[0][1], dated[-1][1]]
    assert answer.text.endswith(f" ({undated} ohne Datum).") and "[1] bis zum " in answer.text
    filtered = shared_fake_pipeline.ask("How many articles are there?", date_from="2021",
                                        date_to="2022")
    assert filtered.text.startswith("The archive holds 2 articles, from ")
    assert [s.doc_id for s in filtered.sources] == [SEWASTOPOL, MINSK_VISIT]
    period = shared_fake_pipeline.ask("Wie viele Artikel gibt es aus dem Jahr 2022?")
    assert period.text.startswith("1 Artikel aus diesem Zeitraum:")


@pytest.mark.parametrize(("question", "asks"), [
    ("Worum geht es in den Artikeln?", True),
    ("What is the archive about?", True),
    ("Welche Themen gibt es im Archiv?", True),
    ("What topics do the articles cover?", True),
    ("Worum geht es im Artikel über Obama?", False),  # one article's content
    ("Welche Artikel gibt es?", False),  # the newest list
    ("Worum geht es?", False),  # no word for the articles: a follow-up, if anything
])
def test_asks_archive_overview(question: str, asks: bool) -> None:
    assert asks_archive_overview(question) is asks


def test_what_the_archive_is_about(shared_fake_pipeline: Pipeline) -> None:
    """The time the dated articles span and the newest of them."""
    answer = shared_fake_pipeline.ask("Worum geht es in den Artikeln?", 2)
    assert answer.text.splitlines()[0] == (
        "Das Archiv enthält Artikel vom August 2020 (2020-08) bis zum Juni 2023 (2023-06); "
        "die neuesten (2 von 4 mit Datum, 1 ohne):")
    assert [s.doc_id for s in answer.sources] == [PRIGOSCHIN, MINSK_VISIT]


@pytest.mark.parametrize(("question", "counts", "topic"), [
    ("Wie viele Artikel gibt es über Fußball?", True, "Fußball"),
    ("How many articles mention Obama?", True, "Obama"),
    ("How many reports about Berlin are there?", True, "Berlin"),
    ("Anzahl der Artikel über Angela Merkel", True, "Angela Merkel"),
    ("Wie viele Artikel über Merkel sind erschienen?", True, "Merkel"),
    # how many of something an article reports: not a count of articles
    ("Wie viele Menschen starben laut dem Artikel?", False, None),
    ("How many people died according to the report about the storm?", False, None),
    ("Welche Artikel gibt es über Fußball?", False, "Fußball"),
])
def test_asks_article_count(question: str, counts: bool, topic: str | None) -> None:
    assert asks_article_count(question) is counts
    assert articles_topic(question) == topic


def _articles_naming(word: str) -> list[str]:
    """The seed articles whose text has ``word`` (as a word of its own)."""
    return [p.name for p in sorted(SEED.glob("*.txt"))
            if re.search(rf"\b{word}\b", p.read_text(encoding="utf-8"))]


def test_how_many_articles_name_a_topic(shared_fake_pipeline: Pipeline) -> None:
    """All the articles naming the topic are counted (not only those a search returns),
    the newest listed; none is said so (not found); a period counts its own."""
    naming = _articles_naming("Sewastopol")
    assert 0 < len(naming) < 5
    answer = shared_fake_pipeline.ask("Wie viele Artikel gibt es über Sewastopol?", 5)
    assert answer.found and answer.text.startswith(
        f"{len(naming)} Artikel {'nennt' if len(naming) == 1 else 'nennen'} „Sewastopol“")
    assert sorted(s.doc_id for s in answer.sources) == naming
    everywhere = _articles_naming("Lukaschenko")
    answer = shared_fake_pipeline.ask("How many articles mention Lukashenko?", 2)
    assert answer.text.startswith(f"{len(everywhere)} articles mention “Lukashenko”, "
                                  "the newest 2:\n")
    dates = [s.date for s in answer.sources]
    assert len(dates) == 2 and dates == sorted(dates, reverse=True)
    none = shared_fake_pipeline.ask("Wie viele Artikel gibt es über Quantencomputer?")
    assert not none.found and none.text == "Kein Artikel nennt „Quantencomputer“."
    assert not none.sources
    dated = shared_fake_pipeline.ask("Wie viele Artikel gibt es aus dem Jahr 2022 über "
                                     "Lukaschenko?")
    assert dated.text.startswith("1 Artikel nennt „Lukaschenko“")
    assert [s.doc_id for s in dated.sources] == [MINSK_VISIT]
    # an English word in lower case may be written in German: no count of zero
    assert not shared_fake_pipeline.ask("How many articles about football are there?"
                                        ).text.startswith("No article")


def test_articles_naming_counts_alike_in_both_keyword_stores(tmp_path) -> None:
    """The count comes from the keyword index: bm25s and tantivy give the same articles
    (and the chunk that names the topic), with and without a row filter."""


    found = []
    for backend in ("bm25s", "tantivy"):
        settings = small_settings(tmp_path / backend, keyword_backend=backend)
        pipeline = Pipeline(settings, embedder=FakeEmbedder(), auto_index=False)
        pipeline.update_index(progress=False)
        index = pipeline.index
        rows = allowed_rows(index, "2022-01-01", None, None)
        found.append((articles_naming(index, [["lukaschenko"]]),
                      articles_naming(index, [["putin"], ["sewastopol"]]),
                      articles_naming(index, [["lukaschenko"]], rows)))
    assert found[0] == found[1]
    everyone, both, recent = found[0]
    assert sorted(everyone) == _articles_naming("Lukaschenko")
    assert sorted(both) == sorted(set(_articles_naming("Putin"))
                                  & set(_articles_naming("Sewastopol")))
    assert set(recent) < set(everyone) and recent
