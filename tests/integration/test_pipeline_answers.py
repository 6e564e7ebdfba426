"""``ask()`` with the real model on the seed corpus: right sources and answers, refusals,
citations and highlights, filters, diversity, odd and random input (validation and the
index logic are unit tests with the fake embedder: tests/unit/test_pipeline.py)."""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import MINSK_VISIT, PRIGOSCHIN, SEWASTOPOL, write_artifact

from rag.errors import QuestionError
from rag.eval.metrics import answers_question
from rag.pipeline import Pipeline, clean_question
from rag.types import Answer

pytestmark = pytest.mark.slow


def _rank(answer: Answer, q: dict) -> int | None:
    for s in answer.sources:
        if s.doc_id in q["expected_sources"] and answers_question(s.text, q["answer_keywords"]):
            return s.n
    return None


def check_answer(answer: Answer, max_chars: int) -> None:
    """The invariants of every :class:`Answer`."""
    assert isinstance(answer, Answer)
    assert answer.language in ("de", "en")
    assert isinstance(answer.found, bool) and answer.text
    assert 0 < len(answer.question) <= max_chars
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    json.dumps(answer.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_seed_questions_answered_with_right_source(seed_pipeline: Pipeline,
                                                   seed_questions: list[dict],
                                                   lang: str) -> None:
    questions = [q for q in seed_questions if q["lang"] == lang and not q.get("no_answer")]
    assert len(questions) >= 9
    top3 = answered = 0
    for q in questions:
        answer = seed_pipeline.ask(q["question"])
        assert answer.language == lang
        rank = _rank(answer, q)
        top3 += rank is not None and rank <= 3
        answered += answer.found and answers_question(answer.text, q["answer_keywords"])
    assert top3 / len(questions) >= 0.95
    assert answered / len(questions) >= 0.85


def test_answer_has_citations_and_highlights(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?")
    assert answer.found
    assert "Tulpen" in answer.text
    cited = [s for s in answer.sources if f"[{s.n}]" in answer.text]
    assert cited and cited[0].doc_id == MINSK_VISIT
    assert any("Tulpen" in cited[0].text[a:b] for a, b in cited[0].highlights)
    json.dumps(answer.to_dict())  # serialisable


def test_unanswerable_questions_refused(seed_pipeline: Pipeline,
                                        seed_questions: list[dict]) -> None:
    for q in (q for q in seed_questions if q.get("no_answer")):
        answer = seed_pipeline.ask(q["question"])
        assert not answer.found, q["question"]
        expected = "nichts gefunden" if q["lang"] == "de" else "could not find"
        assert expected in answer.text


@pytest.mark.parametrize("question", [
    "How many people live in Minsk?",
    "How many tanks did Russia send to Belarus?",
])
def test_a_count_the_archive_does_not_give_is_refused(seed_pipeline: Pipeline,
                                                      question: str) -> None:
    """The seed articles are about Minsk and Russia's troops in Belarus, but give neither
    number: a sentence on the topic without one is no answer."""
    answer = seed_pipeline.ask(question)
    assert not answer.found, answer.text


def test_a_person_s_name_the_archive_does_not_give_is_refused(seed_pipeline: Pipeline) -> None:
    """The Minsk report names the late foreign minister, not who drove Lukashenko's car:
    a sentence about the visit naming only Putin and Lukashenko is no answer to the
    second."""
    answer = seed_pipeline.ask(
        "Wie hieß der langjährige Aussenminister von Belarus, der kürzlich gestorben ist?")
    assert answer.found and "Makei" in answer.text
    answer = seed_pipeline.ask(
        "Wie hieß der Fahrer von Lukaschenkos Wagen beim Besuch Putins in Minsk?")
    assert not answer.found, answer.text


def test_date_filter(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Wie nennt Lukaschenko Putin?", date_from="2022", date_to="2023-12")
    assert answer.sources
    assert all(s.date and "2022" <= s.date[:7] <= "2023-12" for s in answer.sources)
    assert all(s.doc_id != SEWASTOPOL for s in answer.sources)


def test_article_filter(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Wer ist Prigoschin?", doc_ids=[PRIGOSCHIN])
    assert answer.sources and {s.doc_id for s in answer.sources} == {PRIGOSCHIN}


def test_five_distinct_passages(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Wie viele Berufssoldaten hat die belarussische Armee?", k=5)
    texts = [s.text for s in answer.sources]
    assert len(set(texts)) == len(texts) == 5


def test_control_characters_removed(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("Wie nennt\x00 Lukaschenko\x1b Putin?\u200b")
    assert answer.question == "Wie nennt Lukaschenko Putin?"
    assert answer.found and "Bruder" in answer.text


@pytest.mark.parametrize("question", [
    "Лукашенко Путин 普京 بوتين Lukaschenko Putin?",
    "🇧🇾🤝🇷🇺 Wie nennt Lukaschenko Putin? 😀",
    "x" * 1000,
    "ẞ" * 999 + "\u0301",  # NFC keeps it at 1000 characters
    "Wort " * 199 + "Ende",  # far more tokens than the model takes (truncated)
    "'; DROP TABLE chunks; -- <script>alert(1)</script> ${jndi:ldap://x/a}",
])
def test_odd_questions_get_answers(seed_pipeline: Pipeline, question: str) -> None:
    """Odd input goes through the real tokenizer and model without an error."""
    answer = seed_pipeline.ask(question)
    check_answer(answer, seed_pipeline.settings.answer.max_question_chars)
    assert answer.question == clean_question(question, 1000)


_WORDS = st.sampled_from([
    "Wie", "viele", "Soldaten", "hat", "Putin", "Lukaschenko", "Minsk", "Belarus", "Kreml",
    "How", "many", "army", "the", "?", "!", "…", "„", "“", "1437", "2022-12-19", "ß", "Ä",
    "\n", "\t", "\x00", "\u200b", "\u0301", "🙂", "Путин", "普京", "بوتين", "🇧🇾",
])
QUESTIONS = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(max_codepoint=0x7F), max_size=60),  # ASCII, control characters too
    st.lists(st.one_of(_WORDS, st.text(max_size=4)), max_size=14).map(" ".join),
    st.one_of(  # long ones: a quarter of the examples (1000 characters embed slowly)
        st.text(min_size=990, max_size=1010),  # around the length limit
        st.tuples(st.text(min_size=1, max_size=8), st.integers(100, 25_000)).map(
            lambda t: t[0] * t[1]),  # up to 200 000 characters
    ),
)


def test_random_questions_give_answer_or_question_error(seed_pipeline: Pipeline) -> None:
    """Random strings through the real model: an Answer or a QuestionError, never anything
    else (``RAG_HYPOTHESIS_EXAMPLES``, default 1200)."""
    max_chars = seed_pipeline.settings.answer.max_question_chars
    outcomes = {"answer": 0, "question_error": 0}
    examples = int(os.environ.get("RAG_HYPOTHESIS_EXAMPLES", "1200"))

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(QUESTIONS)
    def prop(question: str) -> None:
        try:
            answer = seed_pipeline.ask(question)
        except QuestionError as exc:
            assert str(exc)
            outcomes["question_error"] += 1
            return
        check_answer(answer, max_chars)
        outcomes["answer"] += 1

    started = time.perf_counter()
    prop()
    seconds = time.perf_counter() - started
    write_artifact("reliability_questions", {
        "random_questions": {"examples": sum(outcomes.values()), **outcomes,
                             "seconds": round(seconds, 1)},
    })
    assert outcomes["answer"] > examples / 4 and outcomes["question_error"] > examples / 20
