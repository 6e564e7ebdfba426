"""The term-support part of "not found" (rag.answer.extractive.term_support): a German
question that its best passage matches only moderately must share its rarer terms."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer import NOT_FOUND
from rag.answer.extractive import term_support
from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store.keywords import KeywordStore, open_store, open_writer
from rag.text.terms import question_terms, tokenize

PASSAGE = ("Der ehemalige SS-Lagerkommandant Josef Schwammberger starb im Alter von 92 Jahren "
           "im Gefängniskrankenhaus Hohenasperg.")
#: An index of 1000 chunks: the passage once, "Duisburg" three times, "Jahre", "Alter",
#: "Menschen" and "starben" everywhere.
TEXTS = [PASSAGE] + [f"Vor {n} Jahren starben im Alter Menschen" + (" in Duisburg." if n < 3
                     else ".") for n in range(999)]


@pytest.fixture(scope="module")
def keywords(tmp_path_factory) -> KeywordStore:
    """A real bm25s keyword store over :data:`TEXTS`."""
    folder = tmp_path_factory.mktemp("kw")
    ids = np.arange(len(TEXTS), dtype=np.int64)
    rows = [(int(i), f"d{i}", t) for i, t in zip(ids, TEXTS, strict=True)]
    writer = open_writer(folder, "bm25s", None)
    writer.add(rows)
    writer.finish(lambda: iter(rows))
    return open_store(folder, "bm25s", ids)


def test_question_words_are_not_terms() -> None:
    terms = question_terms("Warum und wann starb Schwammberger, und wie viele Jahre alt?")
    assert tokenize("Schwammberger")[0] in terms
    assert not set(tokenize("warum wann viele")) & set(terms)


def test_words_for_the_source_are_not_terms(keywords: KeywordStore) -> None:
    # "laut dem Kommentar" says where the answer is written: an article rarely names its
    # own genre, and "Kommentar" (known to no text) would count as the rarest term.
    question = "Wo starb Schwammberger laut dem Kommentar?"
    assert not set(tokenize("laut Kommentar")) & set(question_terms(question))
    assert term_support(question, PASSAGE, keywords) == 1.0
    assert term_support("Wo starb Schwammberger laut Zeugen?", PASSAGE, keywords) < 1.0


def test_rare_shared_terms_count_most(keywords: KeywordStore) -> None:
    assert term_support("Wo ist Josef Schwammberger gestorben?", PASSAGE, keywords) > 0.6
    # Common words shared, but the places it asks about are not in the passage.
    other = "Wie viele Menschen starben im Alter in Duisburg?"
    assert term_support(other, PASSAGE, keywords) < 0.35
    assert term_support("Warum?", PASSAGE, keywords) == 1.0  # nothing to check


def test_unknown_names_count_and_typos_are_corrected(keywords: KeywordStore) -> None:
    # A name no indexed text mentions is the rarest term of all: the passage lacks it.
    assert term_support("Starb Schwammberger bei der Loveparade?", PASSAGE, keywords) < 0.5
    # A lower-case unknown word is left out (a typo without correction, or no article's).
    assert term_support("starb schwammberger bei der loveparade", PASSAGE, keywords) == 1.0
    assert term_support("Wo starb Schwammbreger?", PASSAGE, keywords) == 1.0


def test_compounds_and_inflections_match_by_prefix(keywords: KeywordStore) -> None:
    assert term_support("Welches Gefängnis?", PASSAGE, keywords) == 1.0
    assert term_support("Welche Lagerkommandanten?", PASSAGE, keywords) == 1.0


@pytest.mark.parametrize(("question", "found"), [
    ("Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?", True),
    ("Wer regiert in der Hauptstadt von Australien?", False),
])
def test_pipeline_refuses_questions_the_passage_shares_no_terms_with(
    fake_settings: Settings, question: str, found: bool
) -> None:
    # The fake embedder's similarities are arbitrary: every German question is checked,
    # and the keyword score, not the arbitrary vectors, picks the passage.
    settings = fake_settings.replace(term_check_below_de=2.0, min_term_support_de=0.35,
                                     min_relevance_de=-1.0, keyword_weight_de=1.0)
    answer = Pipeline(settings, embedder=FakeEmbedder()).ask(question)
    assert answer.found is found
    if not found:
        assert answer.body == NOT_FOUND["de"]


def test_check_off_or_strong_match_answers(fake_settings: Settings) -> None:
    question = "Wer regiert in der Hauptstadt von Australien?"
    for changes in ({"min_term_support_de": 0.0, "term_check_below_de": 2.0},
                    {"min_term_support_de": 0.35, "term_check_below_de": -1.0}):
        settings = fake_settings.replace(min_relevance_de=-1.0, place_check=False, **changes)
        assert Pipeline(settings, embedder=FakeEmbedder()).ask(question).found


def test_english_questions_are_checked_on_their_names(keywords: KeywordStore) -> None:
    """English words are not in German text; names and numbers are (spelling corrected)."""
    assert term_support("Did Josef Schwammberger die in Hohenasperg?", PASSAGE, keywords,
                        "en") == 1.0
    assert term_support("Did Schwammberger die at the Love Parade in Duisburg?", PASSAGE,
                        keywords, "en") < 0.5
    assert term_support("Why did he die so old?", PASSAGE, keywords, "en") == 1.0


@pytest.mark.parametrize(("question", "found"), [
    ("What did Lukashenko bring his guest Putin at the airport?", True),
    ("Who governs the capital of Australia?", False),
])
def test_an_english_answer_below_the_fixed_level_needs_its_names(
    fake_settings: Settings, question: str, found: bool
) -> None:
    """An English question whose background lowered its threshold below
    ``min_relevance_en`` is answered only when the best passage holds its names."""
    # every answer falls below the fixed level, and the background lowers the threshold
    settings = fake_settings.replace(min_relevance_en=2.0, background_weight_en=0.5,
                                     background_ref_en=100.0, min_name_support_en=0.3)
    answer = Pipeline(settings, embedder=FakeEmbedder()).ask(question)
    assert answer.found is found
    unguarded = settings.replace(min_name_support_en=0.0, place_check=False)
    assert Pipeline(unguarded, embedder=FakeEmbedder()).ask(question).found


def test_english_names_in_their_german_form(keywords: KeywordStore) -> None:
    """"Switzerland" is "Schweiz" in German text (CLDR names, rag.text.names)."""
    passage = "Die Schweiz verschärft die Regeln für Banken in Zürich."
    assert term_support("Which rules did Switzerland tighten for banks in Zurich?", passage,
                        keywords, "en") == 1.0
    assert term_support("Which rules did Austria tighten for banks in Vienna?", passage,
                        keywords, "en") == 0.0
