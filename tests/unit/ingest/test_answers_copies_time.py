"""The pipeline's use of copies and time (fake embedder: only the logic around the model)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from rag.embed.fake import FakeEmbedder
from rag.ingest.add import add_sources
from rag.pipeline import Pipeline
from rag.settings import Settings

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("copies")
    corpus = tmp / "corpus"
    add_sources([str(DATA)], corpus)
    original = next(corpus.glob("2022-12-19-*.md")).read_text()
    body = original.split("---\n", 2)[2].split("\n", 2)[2]
    (corpus / "kopie.md").write_text(
        "---\ntitle: Gas wird billiger\ndate: 2022-12-20\npublisher: Ostsee-Anzeiger\n---\n"
        "Rostock (dpa) - " + body + "\nMehr zum Thema: Energiepreise\n", encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=tmp / "index",
                                 min_relevance_de=0.0, min_relevance_en=0.0)
    p = Pipeline(settings, embedder=FakeEmbedder())
    p.update_index(progress=False)
    return p


def test_copies_found_at_indexing(pipeline):
    assert pipeline.index.manifest.duplicates == {
        "kopie.md": "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"}


def test_copy_shown_once_with_also_published(pipeline):
    answer = pipeline.ask("Stadtwerke Rostock Gaspreis Erdgas Kilowattstunde", 5)
    docs = {s.doc_id for s in answer.sources}
    assert len(docs & {"kopie.md", "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"}
               ) == 1
    shown = next(s for s in answer.sources if s.doc_id in (
        "kopie.md", "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"))
    assert [c["publisher"] for c in shown.also] in (["Ostsee-Anzeiger"], ["DER NORDSPIEGEL"])


def test_period_named_and_used(pipeline):
    answer = pipeline.ask("Was beschloss der Bundestag im März 2023?", 5,
                          today=date(2024, 6, 1))
    assert answer.period == "2023-03"
    assert answer.text.endswith("(Zeitraum: 2023-03)")
    assert {s.date for s in answer.sources} <= {"2023-03-17"}  # filter: +31 days after


def test_relative_period_resolved_against_today(pipeline):
    answer = pipeline.ask("Was geschah letztes Jahr an der Mosel?", 5, today=date(2025, 2, 1))
    assert answer.period == "2024"
    assert all(s.date.startswith("2024") for s in answer.sources)


def test_period_without_articles_searches_all_and_says_so(pipeline):
    answer = pipeline.ask("Was geschah im Mai 2019 an der Mosel?", 3)
    assert answer.sources
    assert answer.period == "2019-05 – keine Artikel aus diesem Zeitraum, alle durchsucht"


def test_a_follow_up_naming_a_period_without_articles_searches_all(pipeline):
    """"Und wie viele waren es dort im Mai 2019?" after a question about the Mosel: no
    article is of that period, so the follow-up searches them all, as a question alone
    does, instead of searching none (whether a passage answers is the real model's
    matter: tests/integration/test_wikinews_heldback.py)."""
    first = pipeline.ask("Was geschah an der Mosel?", 3)
    history = [{"role": "user", "content": "Was geschah an der Mosel?"},
               {"role": "assistant", "content": first.text}]
    answer = pipeline.ask("Und was geschah dort im Mai 2019?", 3, history=history)
    assert answer.understood_as and answer.sources
    assert answer.period == "2019-05 – keine Artikel aus diesem Zeitraum, alle durchsucht"


def test_articles_before_the_period_that_announce_it_count_as_in_it(pipeline):
    # no article is dated 2030, but the Bahn's press release (2024) announces its plan
    answer = pipeline.ask("Wie viele Bahnhöfe sollen 2030 modernisiert sein?", 3,
                          today=date(2024, 6, 1))
    assert answer.period == "2030"
    assert answer.sources
    assert all("2030" in s.text for s in answer.sources)


def test_timeline_in_date_order(pipeline):
    answer = pipeline.ask("Wie hat sich die Lage an der Mosel und beim Gas entwickelt?", 5)
    dates = [s.date for s in answer.sources]
    assert dates == sorted(dates)
    # numbered 1, 2, ... again in that order, and the citations follow the new numbers
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    by_n = {s.n: s for s in answer.sources}
    for quote, n in re.findall(r"([^\n\[\]]+?) \[(\d+)\]", answer.body):
        assert " ".join(quote.split()[-4:]) in " ".join(by_n[int(n)].text.split())


def test_renumbering_changes_sources_and_citations_together():
    from rag.retrieve.timefilter import renumbered
    from rag.types import Answer, Source

    sources = [Source(n, f"{n}.md", "T", d, None, None, f"Satz {n}.", 0.5)
               for n, d in ((1, "2023-05-01"), (2, "2021-01-01"), (3, None))]
    answer = Answer("Wie entwickelte sich das?", "de", True,
                    "The sources disagree on this:\n- Satz 1. [1]\n- Satz 2. [2]", sources)
    out = renumbered(answer, [sources[1], sources[0], sources[2]])
    assert [(s.n, s.doc_id) for s in out.sources] == [(1, "2.md"), (2, "1.md"), (3, "3.md")]
    assert out.text.endswith("- Satz 1. [2]\n- Satz 2. [1]")
    assert renumbered(answer, sources) is answer


def test_the_extractive_text_is_finished_like_the_text() -> None:
    """Beside an LLM's answer the extractive one gets the same relative dates, numbers
    and period line: when the LLM fails, the fallback shows exactly it."""
    from rag.pipeline import _time_and_copies
    from rag.retrieve.timefilter import TimeIntent
    from rag.types import Answer, Source

    sources = [Source(n, f"{n}.md", "T", d, None, None, f"Satz {n}.", 0.5)
               for n, d in ((1, "2022-12-21"), (2, "2021-01-01"))]
    quoted = "Die Prüfung soll am Montag abgeschlossen worden sein. [1]"
    fell_back = Answer("Wie entwickelte sich das?", "de", True, quoted, list(sources),
                       extractive=quoted)
    intent = TimeIntent(lo="2021-01-01", hi="2022-12-31", label="2021-2022", timeline=True)
    out = _time_and_copies(fell_back, intent, None, {})
    assert "am Montag (19.12.2022)" in out.text and "[2]" in out.text  # dated, renumbered
    assert out.text.endswith("(Zeitraum: 2021-2022)") and out.extractive == out.text
    plain = _time_and_copies(Answer("?", "de", True, quoted, list(sources)), intent, None, {})
    assert plain.extractive is None


def test_time_off(pipeline):
    p = Pipeline(pipeline.settings.replace(time_mode="off"), embedder=pipeline.embedder)
    answer = p.ask("Was beschloss der Bundestag im März 2023?", 5)
    assert answer.period is None and "Zeitraum" not in answer.text


def test_web_card_lists_copies_as_text():
    from rag.types import Source
    from rag.web.render import source_html

    source = Source(1, "a.md", "Titel", "2022-12-19", None, "Nordspiegel", "Text", 0.9,
                    also=[{"doc_id": "b.md", "publisher": "<img src=x onerror=alert(1)>",
                           "date": "2022-12-20", "title": "T", "url": None}])
    html = source_html(source, "de")
    assert "auch erschienen bei: &lt;img src=x onerror=alert(1)&gt; (2022-12-20)" in html
    assert "<img" not in html
