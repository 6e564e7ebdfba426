"""The metrics of ``rag eval --llm`` on recorded answers."""

from __future__ import annotations

from rag.eval.llm_metrics import format_llm_metrics, llm_metrics
from rag.eval.questions import Question
from rag.types import Answer, Source


def _q(i: str, lang: str, sources: list[str]) -> Question:
    return Question(id=i, lang=lang, question="?", expected_sources=sources,
                    answer_keywords=["x"], no_answer=not sources)


def _src(n: int, doc: str) -> Source:
    return Source(n, doc, "t", None, None, None, "text", 1.0)


def test_llm_metrics_on_recorded_answers():
    questions = [_q("1", "en", ["a.txt"]), _q("2", "de", ["b.txt"]), _q("3", "de", [])]
    answers = [
        Answer("How many soldiers does the army have?", "en", True,
               "The army has 62,000 professional soldiers [1].",
               [_src(1, "a.txt"), _src(2, "c.txt")],
               generated=True, model="m",
               dropped=[{"text": "It has 5 tanks [2].", "reason": "the number 5 ..."}],
               timing={"first_token": 1.0, "total": 3.0}),
        Answer("Wie viele?", "de", True, "Zitat [1]", [_src(1, "b.txt")], model="m",
               notice="fallback", timing={"first_token": 2.0, "total": 5.0}),
        Answer("Nichts?", "de", False, "Nichts gefunden.", []),  # LLM not asked
    ]
    m = llm_metrics(questions, answers)
    assert m["asked"] == 2 and m["generated"] == 1
    assert m["citation_precision"] == 0.5 and m["sentences_dropped"] == 1
    assert m["cites_expected_before"] == 0.5 and m["cites_expected_after"] == 1.0
    assert m["fallback_share"] == 0.5 and m["language_correct"] == 1.0
    assert m["first_token_s_p50"] == 1.5 and m["total_s_p95"] <= 5.0
    assert "citation_precision" in format_llm_metrics(m)
