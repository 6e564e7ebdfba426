"""Questions that ask only what happened in a period (rag.answer.digest): answered with
the period's articles in date order, on the fake-embedder seed index (Bruderhilfe
2020-08, Sewastopol 2021-11, Minsk visit 2022-12-19, Prigoschin 2023-06, Kremlin undated)."""

from __future__ import annotations

import pytest
from shared_data import BRUDERHILFE, MINSK_VISIT, PRIGOSCHIN, SEWASTOPOL

from rag.answer.digest import asks_what_happened
from rag.pipeline import Pipeline


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
    # none in the period: those of the days after it (reports of it); none there either:
    # the usual search of all articles, which says so
    after = shared_fake_pipeline.ask("Was passierte am 18. Dezember 2022?")
    assert after.text.startswith("Kein Artikel aus diesem Zeitraum; 1 aus den 31 Tagen "
                                 "danach:\n- 2022-12-19: ")
    assert "Artikel aus" not in shared_fake_pipeline.ask("Was passierte im Januar 2024?").text


@pytest.mark.parametrize(("question", "header"), [
    ("Was gibt es Neues?", "Die neuesten Artikel (3 von 4):"),
    ("What's the latest news?", "The newest articles (3 of 4):"),
])
def test_without_a_period_the_newest_articles(shared_fake_pipeline: Pipeline, question: str,
                                              header: str) -> None:
    """The four dated seed articles, newest first (the undated one is left out)."""
    answer = shared_fake_pipeline.ask(question, 3)
    assert answer.found and answer.text.splitlines()[0] == header
    assert [s.doc_id for s in answer.sources] == [PRIGOSCHIN, MINSK_VISIT, SEWASTOPOL]
    assert answer.period is None
