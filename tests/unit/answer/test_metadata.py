"""Questions about an article's author, publisher, date, link or headline (fake embedder)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.metadata import (
    asked_field,
    format_date,
    metadata_answer,
    missing_answer,
    record_line,
    topic_words,
)
from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import DocMeta


@pytest.mark.parametrize("question, field", [
    ("Wer hat den Artikel über den Staudamm geschrieben?", "author"),
    ("Wer ist die Autorin des Berichts über die Flut?", "author"),
    ("Who wrote the report about the flood?", "author"),
    ("Wann ist der Bericht über den Staudamm erschienen?", "date"),
    ("When was the article about the dam published?", "date"),
    ("An welchem Tag wurde der Kommentar veröffentlicht?", "date"),
    ("Which publication ran the analysis of the floods?", "publisher"),
    ("In welcher Zeitung erschien der Artikel über die Brücke?", "publisher"),
    ("Gibt es einen Link zum Artikel über die Brücke?", "url"),
    ("Wann stieg der Pegel am Staudamm?", None),
    ("Who built the dam?", None),
    ("Was berichtete der Artikel über die Flut?", None),
    # "berichtete" is the verb, not a report: the question asks the text for the paper
    ("Welche Zeitung berichtete über die Flut am Staudamm?", None),
    ("Who ran the marathon, according to the report?", None),
    ("In welchem Monat und Jahr erschien der Bericht über die Flut?", "date"),
    ("In which year was the article about the dam published?", "date"),
    ("In welchem Jahr wurde der Staudamm laut dem Artikel gebaut?", None),
    # the headline: asked for itself, not for what it says or a title won
    ("Wie lautet die Überschrift des Artikels über die Flut?", "title"),
    ("What was the headline of the report on the flood?", "title"),
    ("Unter welcher Schlagzeile erschien der Bericht über die Brücke?", "title"),
    ("What's the article's title?", "title"),
    ("Was sollte die Maschine im Titel des Artikels beenden?", None),
    ("What was the machine in the title of the article supposed to end?", None),
    ("Which team won the title, according to the report?", None),
    ("Which article has the headline about the flood?", None),
    ("Wer hat den Artikel mit der Überschrift „Neue Brücke“ geschrieben?", "author"),
])
def test_asked_field(question, field):
    assert asked_field(question) == field


def test_dates_as_people_write_them():
    assert format_date("2022-12-19", "de") == "19.12.2022 (2022-12-19)"
    assert format_date("2022-12-19", "en") == "19 December 2022 (2022-12-19)"
    assert format_date("2023-06", "de") == "Juni 2023 (2023-06)"
    assert format_date("2023", "en") == "2023"


DOC = DocMeta("flut.md", "Hochwasser am Staudamm", "2021-05-01", "https://www.example.org/flut",
              None, "Erika Muster")


def test_answer_text_and_record():
    answer = metadata_answer("author", DOC, "de", 1)
    assert answer.text == "Der Artikel „Hochwasser am Staudamm“ ist von Erika Muster [1]."
    assert metadata_answer("publisher", DOC, "en", 2).text.endswith("by example.org [2].")
    assert "1 May 2021" in metadata_answer("date", DOC, "en", 1).text
    month = replace(DOC, date="2020-08")
    assert metadata_answer("date", month, "de", 1).text.endswith(
        "ist im August 2020 (2020-08) erschienen [1].")
    assert metadata_answer("date", replace(DOC, date="2020"), "de", 1).text.endswith(
        "ist 2020 erschienen [1].")
    assert metadata_answer("author", DocMeta("x", "T", None, None, None, None), "de", 1) is None
    assert metadata_answer("title", DOC, "de", 1).text == (
        "Der Artikel hat im Archiv den Titel „Hochwasser am Staudamm“ [1].")
    assert record_line(DOC, "de") == ("Titel: Hochwasser am Staudamm · Autor: Erika Muster · "
                                      "Datum: 01.05.2021 (2021-05-01) · "
                                      "Link: https://www.example.org/flut")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    root = tmp_path_factory.mktemp("meta")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "flut.md").write_text(
        "---\ntitle: \"Hochwasser am Staudamm\"\ndate: 2021-05-01\nauthor: Erika Muster\n"
        "url: https://www.example.org/flut\n---\nHochwasser am Staudamm\n\n"
        "Der Pegel am Staudamm stieg auf 120 Zentimeter. Die Behörde ordnete Kontrollen an.\n",
        encoding="utf-8")
    (corpus / "bruecke.md").write_text(
        "---\ntitle: \"Neue Brücke\"\ndate: 2020-01-02\n---\nNeue Brücke\n\n"
        "Der Stadtrat beschloss den Bau einer neuen Brücke über den Kanal.\n", encoding="utf-8")
    (corpus / "wahl.md").write_text(
        "---\ntitle: \"Wahl im Kreistag\"\ndate: 2022-03-04\nauthor: Jan Beispiel\n---\n"
        "Wahl im Kreistag\n\nDer Kreistag wählte einen neuen Landrat.\n", encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=root / "index",
                                 min_relevance_de=0.0, min_relevance_en=0.0)
    p = Pipeline(settings, embedder=FakeEmbedder())
    p.update_index(progress=False)
    return p


def test_pipeline_answers_author_question_from_metadata(pipeline):
    answer = pipeline.ask("Wer hat den Artikel über das Hochwasser am Staudamm geschrieben?")
    assert answer.found
    assert "Erika Muster" in answer.text and answer.text.endswith("[1].")
    record = answer.sources[0]
    assert record.n == 1 and record.doc_id == "flut.md" and "Erika Muster" in record.text
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))


def test_pipeline_answers_in_which_month_and_year_from_metadata(pipeline):
    answer = pipeline.ask("In welchem Monat und Jahr erschien der Bericht über das Hochwasser "
                          "am Staudamm?")
    assert answer.found and "01.05.2021" in answer.text
    assert answer.sources[0].doc_id == "flut.md"


def test_pipeline_answers_the_headline_from_metadata(pipeline):
    """"What was the headline?" is answered with the article's title, cited, not with
    the passage that matches the question best."""
    answer = pipeline.ask("Wie lautete die Überschrift des Artikels über den Bau der neuen "
                          "Brücke über den Kanal?")
    assert answer.found and answer.text == "Der Artikel hat im Archiv den Titel „Neue Brücke“ [1]."
    assert answer.sources[0].doc_id == "bruecke.md"


def test_missing_field_falls_back_to_the_text(pipeline):
    answer = pipeline.ask("Wer hat den Artikel über die neue Brücke am Kanal geschrieben?")
    assert answer.found and "Stadtrat" in answer.text


def test_a_metadata_question_searches_for_its_topic():
    """The words that ask for a field or name an article are not the topic the keyword
    search looks for ("Artikel" and "erschien" found an article about Wikipedia's
    millionth article, not the one about Wikiasari)."""
    assert topic_words("Wann erschien der Artikel über Wikiasari?") == "Wann der über Wikiasari?"
    assert topic_words("Who wrote the report on the Iserlohn murders?") == (
        "Who the on the Iserlohn murders?")
    assert topic_words("Gibt es einen Link zum Bericht über die Flut?") == (
        "Gibt es einen zum über die Flut?")


def test_missing_field_answer():
    doc = DocMeta("x.md", "Wahl im Kreistag", None, None, None, "Jan Beispiel")
    assert missing_answer("url", doc, "de", 1).text == (
        "Zum Artikel „Wahl im Kreistag“ ist kein Link erfasst [1].")
    assert missing_answer("date", doc, "en", 2).text == (
        "The archive records no date for the article “Wahl im Kreistag” [2].")


def test_an_article_named_by_its_author_is_answered_from_its_record(pipeline):
    """A question that names the article by its author needs no topic: the "not found"
    gate (strict here) is for the content; a field the record lacks is said to be
    missing instead of quoting the text."""
    strict = Pipeline(pipeline.settings.replace(min_relevance_de=0.99, min_relevance_en=0.99),
                      embedder=pipeline.embedder, auto_index=False)
    assert not strict.ask("Wann ist der Artikel über das Hochwasser erschienen?").found
    answer = strict.ask("Wann ist Erika Musters Artikel erschienen?")
    assert answer.found and "01.05.2021" in answer.text
    assert answer.sources[0].doc_id == "flut.md" and answer.sources[0].n == 1
    link = strict.ask("What is the link to Jan Beispiel's report?")
    assert link.found and link.text == (
        "The archive records no link for the article “Wahl im Kreistag” [1].")
    assert {s.doc_id for s in link.sources} == {"wahl.md"}
