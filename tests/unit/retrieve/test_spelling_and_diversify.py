"""Typo correction of query terms, and which passages count as duplicates (fake embedder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.retrieve.search import keyword_terms
from rag.retrieve.spelling import correct_terms, max_edits
from rag.settings import Settings
from rag.store.keywords import Bm25sKeywords
from rag.text.terms import tokenize

TEXTS = [
    "Lukaschenko telefonierte mit Putin über die Sanktionen der Europäischen Union.",
    "Die Videokonferenz zwischen Minsk und Moskau dauerte zwei Stunden.",
    "Verhaftet wurden mehrere Oppositionelle vor dem Telefonat.",
]


@pytest.fixture(scope="module")
def keywords() -> Bm25sKeywords:
    return Bm25sKeywords.build(TEXTS, np.arange(len(TEXTS), dtype=np.int64))


def test_typo_is_corrected_to_vocabulary_terms(keywords):
    terms = tokenize("Lukascchenko Videokonferrenz Telefnoat")
    assert not set(terms) & set(keywords.vocabulary)
    fixed = correct_terms(terms, keywords)
    assert set(tokenize("Lukaschenko Videokonferenz Telefonat")) <= set(fixed)


def test_english_spelling_of_a_name_finds_the_german_one(keywords):
    assert "lukaschenko" in correct_terms(["lukashenko"], keywords)


def test_tantivy_store_corrects_typos_from_its_term_dictionary(tmp_path: Path):
    from rag.store.keywords_tantivy import TantivyKeywords, TantivyWriter

    writer = TantivyWriter(tmp_path / "kw", None)
    writer.add([(i, f"d{i}", t) for i, t in enumerate(TEXTS)])
    assert writer.finish() == len(TEXTS)
    store = TantivyKeywords.open(tmp_path / "kw")
    terms = tokenize("Lukascchenko Videokonferrenz Telefnoat")
    assert not any(store.known(t) for t in terms)
    fixed = correct_terms(terms, store)
    assert set(tokenize("Lukaschenko Videokonferenz Telefonat")) <= set(fixed)
    assert "lukaschenko" in correct_terms(["lukashenko"], store)
    # a typo in the first two letters is out of the tantivy store's reach
    assert correct_terms(["ulkaschenko"], store) == ["ulkaschenko"]
    store.close()


def test_known_short_numeric_and_far_terms_are_kept(keywords):
    terms = ["putin", "eu", "2020", "quantenphysik"]
    assert correct_terms(terms, keywords) == terms


def test_edit_budget_grows_with_length():
    assert max_edits("minsk") == 1
    assert max_edits("videokonferenz") == 2


def test_english_questions_keep_their_anchor_terms(keywords):
    # English questions search names and numbers only; no correction of English words.
    assert keyword_terms("How long did the video call between Minsk and Moscow last?",
                         "en") == tokenize("Minsk Moscow")


def _article(title: str, paragraphs: list[str]) -> str:
    return f"---\ntitle: \"{title}\"\ndate: 2021-05-01\n---\n{title}\n\n" + "\n\n".join(
        paragraphs) + "\n"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    root: Path = tmp_path_factory.mktemp("div")
    corpus = root / "corpus"
    corpus.mkdir()
    # One long article: several passages under one headline (similar vectors, other facts).
    long_paragraphs = [
        f"Absatz {i}: Die Staudammbehörde meldete am Pegel {i} einen Wasserstand von "
        f"{100 + i} Zentimetern und ordnete Kontrollen entlang des Flusses an. " * 3
        for i in range(8)
    ]
    (corpus / "flut.md").write_text(_article("Hochwasser am Staudamm", long_paragraphs),
                                    encoding="utf-8")
    same = ["Der Stadtrat beschloss den Bau einer neuen Brücke über den Kanal."]
    (corpus / "a.md").write_text(_article("Brücke", same), encoding="utf-8")
    (corpus / "b.md").write_text(_article("Brücke", same), encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=root / "index", chunk_tokens=60,
                                 chunk_overlap_tokens=10, paragraph_tokens=40)
    p = Pipeline(settings, embedder=FakeEmbedder())
    p.update_index(progress=False)
    return p


def test_sibling_passages_of_one_article_are_not_duplicates(pipeline):
    retriever = Retriever(pipeline.index, pipeline.embedder, pipeline.settings.retrieval)
    hits = retriever.search("Wasserstand am Pegel der Staudammbehörde", "de", 5)
    flut = [h for h in hits if h.doc_id == "flut.md"]
    assert len(flut) >= 3


def test_same_text_in_two_articles_is_returned_once(pipeline):
    retriever = Retriever(pipeline.index, pipeline.embedder, pipeline.settings.retrieval)
    hits = retriever.search("Brücke über den Kanal Stadtrat", "de", 5)
    docs = [h.doc_id for h in hits]
    assert ("a.md" in docs) != ("b.md" in docs)

