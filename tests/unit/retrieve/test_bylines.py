"""Articles a question names by their author or publisher (rag.retrieve.bylines), on the
fake-embedder seed index: Paul Flückiger wrote the Minsk visit, Silke Bigalke the video
conference from Sewastopol, zeit.de published the "Bruderhilfe" article."""

from __future__ import annotations

import pytest
from shared_data import BRUDERHILFE, MINSK_VISIT, SEWASTOPOL

from rag.pipeline import Pipeline
from rag.retrieve import named_articles
from rag.types import DocMeta


@pytest.mark.parametrize(("question", "docs"), [
    ("Wann ist Paul Flückigers Bericht über die Gefangenen erschienen?", [MINSK_VISIT]),
    ("Was schreibt Silke Bigalke über das Erdgas?", [SEWASTOPOL]),
    ("what did silke bigalke write about gas prices", [SEWASTOPOL]),
    ("Laut Paul Flückiger und Silke Bigalke: was plant Putin?", [MINSK_VISIT, SEWASTOPOL]),
    ("Was steht in Bigalkes Artikel über die Krim?", [SEWASTOPOL]),
    ("Was meldet der Bericht von Flückiger über Tulpen?", [MINSK_VISIT]),
    ("Wie nennt der Zeit-Artikel das Verhältnis der beiden?", [BRUDERHILFE]),
    ("Was steht im Artikel der Zeit über Bruderhilfe?", [BRUDERHILFE]),
    ("What does the Zeit article say about the phone call?", [BRUDERHILFE]),
    ("Was schreibt der zeit.de-Artikel über Panzer?", [BRUDERHILFE]),
])
def test_a_named_author_or_publisher_gives_their_articles(
        shared_fake_pipeline: Pipeline, question: str, docs: list[str]) -> None:
    assert named_articles(question, shared_fake_pipeline.index) == docs


@pytest.mark.parametrize("question", [
    "Wie viele Gefangene gab es in Belarus?",  # no name
    "Silke Bigalke Krim",  # a full name without a word that makes it the source
    "Was sagt Bigalke?",  # a family name alone, not joined to a word for an article
    "Wie viel Zeit blieb laut dem Bericht?",  # "Zeit" the word, not the newspaper
    "Was sagt der Bericht über die Zeit nach der Wahl?",
    "Who wrote the article about the video conference?",  # asks for the author
])
def test_no_source_named(shared_fake_pipeline: Pipeline, question: str) -> None:
    assert named_articles(question, shared_fake_pipeline.index) is None


class _Archive:
    """Just the article records an index holds (weak-referenceable, like an Index)."""

    def __init__(self, docs: dict[str, DocMeta]) -> None:
        self.docs = docs


def test_a_source_every_article_has_filters_nothing() -> None:
    archive = _Archive({f"a{i}.md": DocMeta(f"a{i}.md", "T", None, None, "Wikinews",
                                             "Anna Beispiel, Jan Muster" if i else None)
                        for i in range(3)})
    assert named_articles("Was steht im Wikinews-Artikel über Wahlen?", archive) is None
    assert named_articles("Was schreibt Jan Muster über Wahlen?", archive) == ["a1.md", "a2.md"]


def test_the_pipeline_searches_only_the_named_articles(answering_fake_pipeline: Pipeline) -> None:
    answer = answering_fake_pipeline.ask("Was schreibt Silke Bigalke über Lukaschenko?")
    assert answer.found and {s.doc_id for s in answer.sources} == {SEWASTOPOL}
    # an explicit article filter wins; without the setting the question searches everything
    chosen = answering_fake_pipeline.ask("Was schreibt Silke Bigalke über Lukaschenko?",
                                         doc_ids=[MINSK_VISIT])
    assert {s.doc_id for s in chosen.sources} == {MINSK_VISIT}
    off = Pipeline(answering_fake_pipeline.settings.replace(byline_filter=False),
                   embedder=answering_fake_pipeline.embedder, auto_index=False)
    assert len({s.doc_id for s in off.ask("Was schreibt Silke Bigalke über Lukaschenko?")
                .sources}) > 1
