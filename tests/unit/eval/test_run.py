"""Running a question file through the pipeline (rag.eval.run) without the model: a real
:class:`~rag.pipeline.Pipeline` over the seed corpus with the fake embedder, and an
answerer that gives scripted answers (the answerer is the pipeline's plug-in point)."""

from __future__ import annotations

import json

import pytest
from shared_data import MINSK_VISIT, SEWASTOPOL

from rag.answer import Evidence
from rag.eval.questions import Question
from rag.eval.run import evaluate
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.types import Answer, Source


def src(n: int, doc_id: str, text: str, score: float = 0.5) -> Source:
    return Source(n, doc_id, "Title", None, None, None, text, score)


class Scripted:
    """An answerer that returns a fixed answer per question and records what it was given."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    def answer(self, evidence: Evidence, retriever: Retriever) -> Answer:
        self.calls.append((evidence.question, evidence.k))
        assert len(evidence.hits) <= evidence.k
        return self.answers[evidence.question]


def test_evaluate_warms_up_and_scores_every_question(shared_fake_pipeline) -> None:
    questions = [
        Question("d1", "de", "Was brachte er mit?", (MINSK_VISIT,), ("Tulpen",)),
        Question("e1", "en", "What did he bring?", (MINSK_VISIT,), ("Tulpen",)),
        Question("n1", "de", "Hauptstadt?", (), (), True),
        Question("x1", "en", "???", (SEWASTOPOL,), ("y",)),  # rejected by ask()
    ]
    hit = Answer("q", "de", True, "Er brachte Tulpen mit. [2]",
                 [src(1, SEWASTOPOL, "x"), src(2, MINSK_VISIT, "Er brachte Tulpen mit.")])
    answerer = Scripted({
        "Was brachte er mit?": hit,
        "What did he bring?": Answer("q", "en", True, "x [1]", [src(1, SEWASTOPOL, "x")]),
        "Hauptstadt?": Answer("q", "de", False, "Dazu habe ich nichts gefunden.", []),
    })
    shared = shared_fake_pipeline
    pipeline = Pipeline(shared.settings, embedder=shared.embedder, answerer=answerer,
                        auto_index=False)
    report = evaluate(pipeline, questions, k=7, progress=False)
    assert answerer.calls[0] == ("Was brachte er mit?", 7)  # the warm-up
    assert len(answerer.calls) == len(questions)  # + warm-up - the rejected one
    by_id = {q.id: q for q in report.questions}
    assert by_id["d1"].rank == 2 and by_id["d1"].answer_hit
    assert by_id["e1"].rank is None
    assert by_id["x1"].error and "Please enter a question" in by_id["x1"].error
    m = report.metrics["overall"]
    assert m["hit@3"] == pytest.approx(1 / 3) and m["false_refusals"] == 1
    assert m["no_answer_precision"] == pytest.approx(1 / 2) and m["no_answer_recall"] == 1.0
    config = report.config
    assert config["k"] == 7 and config["model"]["name"] == "fake-hash"
    assert config["model"]["dim"] == shared.embedder.dim
    assert config["index"]["files"] == 5 and config["answerer"] == "Scripted"
    assert config["chunking"]["chunk_tokens"] == shared.settings.chunking.chunk_tokens
    assert config["settings"]["retrieval"]["top_k"] == shared.settings.retrieval.top_k
    assert {"python", "torch", "sentence-transformers", "faiss", "bm25s"} <= set(
        config["versions"])
    data = json.loads(json.dumps(report.to_dict()))  # JSON-serialisable (paths too)
    assert data["questions"][0]["sources"][1] == {"doc_id": MINSK_VISIT, "n": 2, "score": 0.5}
    assert all(q["latency_ms"] >= 0 for q in data["questions"])


def test_unknown_expected_sources_are_warned_about(shared_fake_pipeline, caplog) -> None:
    """Expected sources that are not in the index (a wrong --corpus) are named in a warning."""
    questions = [Question("d1", "de", "Wie nennt Lukaschenko Putin?", ("nope.txt",), ("x",))]
    report = evaluate(shared_fake_pipeline, questions, k=3, progress=False)
    assert "nope.txt" in caplog.text and "wrong --corpus" in caplog.text
    assert report.questions[0].rank is None and len(report.questions[0].sources) <= 3


def test_empty_question_list(shared_fake_pipeline) -> None:
    report = evaluate(shared_fake_pipeline, [], k=5, progress=False)
    assert report.questions == [] and report.metrics["overall"]["n"] == 0
