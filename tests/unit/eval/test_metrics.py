"""Judging answers and computing metrics of the batch evaluation (rag.eval.metrics)."""

from __future__ import annotations

import json

import pytest

from rag.eval.metrics import (
    METRIC_KEYS,
    QuestionResult,
    Report,
    answers_question,
    compute_metrics,
    first_answering_rank,
    judge,
)
from rag.eval.questions import Question
from rag.types import Answer, Source


def src(n: int, doc_id: str, text: str, score: float = 0.5) -> Source:
    return Source(n, doc_id, "Title", None, None, None, text, score)


def question(qid: str = "q1", lang: str = "de", sources=("a.txt",), keywords=("Tulpen",),
             no_answer: bool = False) -> Question:
    return Question(qid, lang, "Frage?", tuple(sources), tuple(keywords), no_answer)


def row(qid: str, lang: str = "de", *, rank=None, found=True, answer_hit=None,
        no_answer=False, latency=10.0) -> QuestionResult:
    if answer_hit is None and not no_answer:
        answer_hit = found and rank is not None
    return QuestionResult(qid, lang, "?", no_answer, found, rank, "text", answer_hit, latency)


# --- keywords ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Die Armee hat 62'000 Soldaten", "Die Armee hat 62.000 Soldaten",
    "Die Armee hat 62 000 Soldaten", "Die Armee hat 62’000 Soldaten",
    "Die Armee hat 62\u2009000 Soldaten", "Die Armee hat 62\u202f000 Soldaten",
    "Die Armee hat 62000 Soldaten",
])
@pytest.mark.parametrize("keyword", ["62'000", "62.000", "62 000", "62000"])
def test_digit_group_separators_are_equal(text, keyword):
    assert answers_question(text, [keyword])


def test_keywords_case_insensitive_and_whitespace():
    assert answers_question("Er brachte TULPEN mit.", ["Tulpen"])
    assert answers_question("ein Vertrag mit 28\nPunkten", ["28 Punkte"])
    assert answers_question("Straße", ["STRASSE"])  # casefold
    assert answers_question("Mu\u0308nchen", ["München"])  # NFD vs NFC
    assert answers_question("nichts, dann Belta", ["Minsk", "Belta"])  # any keyword


def test_keywords_that_are_absent():
    assert not answers_question("Die Armee hat 62 Soldaten", ["62'000"])
    assert not answers_question("Er brachte Rosen mit.", ["Tulpen"])
    assert not answers_question("Er brachte Tulpen mit.", [])
    assert not answers_question("am 19.12.2022", ["19122022"])  # dates are no digit groups


# --- judging -----------------------------------------------------------------------


def test_rank_is_the_list_position_of_the_first_answering_passage():
    q = question(sources=["a.txt", "b.txt"], keywords=["Tulpen"])
    sources = [
        src(1, "c.txt", "Tulpen, aber aus dem falschen Artikel", 0.9),  # wrong source
        src(2, "a.txt", "richtiger Artikel, kein Stichwort", 0.8),  # no keyword
        src(3, "b.txt", "Er brachte tulpen mit.", 0.7),
        src(4, "a.txt", "Tulpen auch hier", 0.7),
    ]
    assert first_answering_rank(q, sources) == 3


def test_ties_keep_the_list_order():
    q = question()
    sources = [src(1, "x.txt", "gleich gut", 0.8), src(2, "a.txt", "Tulpen", 0.8)]
    assert first_answering_rank(q, sources) == 2
    result = judge(q, Answer("Frage?", "de", True, "Tulpen [2]", sources), 12.3456)
    assert result.rank == 2 and result.answer_hit is True and result.latency_ms == 12.346


def test_no_answering_passage_gives_no_rank_and_mrr_0():
    q = question()
    answer = Answer("Frage?", "de", True, "Rosen [1]", [src(1, "a.txt", "Rosen")])
    result = judge(q, answer, 5.0)
    assert result.rank is None and result.answer_hit is False
    metrics = compute_metrics([result])["overall"]
    assert metrics["mrr"] == 0.0 and metrics["hit@10"] == 0.0


def test_refused_answer_is_no_answer_hit_but_keeps_its_rank():
    q = question()
    answer = Answer("Frage?", "de", False, "Dazu habe ich im Korpus nichts gefunden.",
                    [src(1, "a.txt", "Tulpen")])
    result = judge(q, answer, 5.0)
    assert result.found is False and result.rank == 1 and result.answer_hit is False
    assert result.failed


def test_rejected_question_counts_as_refused():
    result = judge(question(), None, 0.1, error="too long")
    assert result.found is False and result.rank is None and result.error == "too long"
    assert compute_metrics([result])["overall"]["false_refusals"] == 1


def test_no_answer_question_has_no_rank_nor_answer_hit():
    q = question(sources=(), keywords=(), no_answer=True)
    refused = judge(q, Answer("Frage?", "de", False, "nichts", [src(1, "a.txt", "x")]), 1.0)
    assert refused.rank is None and refused.answer_hit is None and not refused.failed
    answered = judge(q, Answer("Frage?", "de", True, "x [1]", [src(1, "a.txt", "x")]), 1.0)
    assert answered.failed


# --- metrics -----------------------------------------------------------------------


def test_metrics_on_a_hand_made_run():
    rows = [
        row("d1", "de", rank=1, latency=10),
        row("d2", "de", rank=3, answer_hit=False, latency=20),
        row("d3", "de", rank=None, latency=30),
        row("e1", "en", rank=7, latency=40),
        row("e2", "en", rank=12, latency=50),  # beyond the top 10: mrr 0, no hit
        row("e3", "en", rank=2, found=False, latency=60),  # false refusal
        row("n1", "de", no_answer=True, found=False, latency=70),  # right refusal
        row("n2", "en", no_answer=True, found=True, latency=80),  # answered anyway
    ]
    m = compute_metrics(rows)
    overall, de, en = m["overall"], m["by_language"]["de"], m["by_language"]["en"]
    assert set(overall) == set(METRIC_KEYS) and list(overall) == list(METRIC_KEYS)
    assert overall["n"] == 8 and de["n"] == 4 and en["n"] == 4
    assert overall["hit@1"] == pytest.approx(1 / 6)
    assert overall["hit@3"] == pytest.approx(3 / 6)
    assert overall["hit@5"] == pytest.approx(3 / 6)
    assert overall["hit@10"] == pytest.approx(4 / 6)
    assert overall["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 2) / 6)
    assert overall["answer_hit"] == pytest.approx(3 / 6)  # d1, e1, e2 (e3 was refused)
    assert overall["no_answer_precision"] == pytest.approx(1 / 2)  # refused: e3, n1
    assert overall["no_answer_recall"] == pytest.approx(1 / 2)
    assert overall["false_refusals"] == 1
    assert overall["latency_p50_ms"] == pytest.approx(45.0)
    assert overall["latency_p95_ms"] == pytest.approx(76.5)  # linear interpolation
    assert de["hit@3"] == pytest.approx(2 / 3) and de["mrr"] == pytest.approx(4 / 9)
    assert de["no_answer_precision"] == 1.0 and de["false_refusals"] == 0
    assert en["no_answer_precision"] == 0.0 and en["no_answer_recall"] == 0.0
    assert en["hit@1"] == 0.0 and en["hit@3"] == pytest.approx(1 / 3)


def test_precision_is_none_when_nothing_was_refused():
    m = compute_metrics([row("d1", rank=1), row("n1", no_answer=True, found=True)])["overall"]
    assert m["no_answer_precision"] is None
    assert m["no_answer_recall"] == 0.0
    assert m["false_refusals"] == 0


def test_groups_without_questions_or_answerable_questions():
    m = compute_metrics([row("n1", "de", no_answer=True, found=False)])
    assert m["overall"]["hit@1"] is None and m["overall"]["mrr"] is None
    assert m["overall"]["no_answer_recall"] == 1.0
    en = m["by_language"]["en"]  # de and en are always reported
    assert en["n"] == 0 and en["latency_p50_ms"] is None and en["false_refusals"] == 0


def test_metrics_from_report_dicts_equal_metrics_from_results():
    rows = [row("d1", rank=1, latency=3.25), row("e1", "en", rank=4, latency=7.5),
            row("n1", no_answer=True, found=False)]
    report = Report(compute_metrics(rows), {}, rows)
    data = json.loads(json.dumps(report.to_dict()))
    assert compute_metrics(data["questions"]) == data["metrics"] == report.metrics
