"""Article-level questions, per-kind breakdowns, BEIR folders and real-query variants."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.errors import EvalFileError
from rag.eval.beir import file_name, is_beir, load_beir, write_corpus
from rag.eval.metrics import compute_metrics, first_answering_rank, judge
from rag.eval.questions import QuestionFileError, parse_question
from rag.eval.report import format_metrics_table, metric_groups
from rag.eval.variants import split_half, variant


def _answer(found: bool, text: str, sources: list[tuple[str, str]]):
    return SimpleNamespace(found=found, text=text, body=text, language="de", sources=[
        SimpleNamespace(doc_id=d, n=n, score=1.0, text=t)
        for n, (d, t) in enumerate(sources, start=1)])


def test_article_level_question_is_judged_by_source_alone():
    q = parse_question({"id": "a1", "lang": "de", "question": "Hochwasser Staudamm",
                        "expected_sources": ["b.md"], "answer_keywords": []})
    assert q.article_level
    answer = _answer(True, "irgendein Satz [1]", [("a.md", "x"), ("b.md", "kein Stichwort")])
    result = judge(q, answer, 5.0)
    assert result.rank == 2 and result.answer_hit is None and not result.failed
    metrics = compute_metrics([result])["overall"]
    assert metrics["hit@1"] == 0.0 and metrics["hit@3"] == 1.0
    assert metrics["answer_hit"] is None


def test_keyword_questions_still_need_the_keyword():
    q = parse_question({"id": "k1", "lang": "de", "question": "Wie hoch?",
                        "expected_sources": ["b.md"], "answer_keywords": ["120"]})
    assert first_answering_rank(q, _answer(True, "", [("b.md", "ohne Zahl")]).sources) is None


@pytest.mark.parametrize("record, problem", [
    ({"expected_sources": [], "answer_keywords": []}, "expected source"),
    ({"expected_sources": ["a.md"], "answer_keywords": [], "kind": 3}, "kind"),
    ({"expected_sources": ["a.md"], "answer_keywords": [], "kind": " "}, "kind"),
])
def test_bad_records_name_the_problem(record, problem):
    base = {"id": "x", "lang": "de", "question": "Frage?"}
    with pytest.raises(QuestionFileError, match=problem):
        parse_question({**base, **record}, 3)


def test_metrics_per_kind_when_questions_carry_one():
    rows = []
    cases = [("why", True), ("why", False), ("metadata", True), (None, True)]
    for i, (kind, hit) in enumerate(cases):
        q = parse_question({"id": f"q{i}", "lang": "en", "question": "?", "kind": kind,
                            "expected_sources": ["a.md"], "answer_keywords": ["yes"]})
        rows.append(judge(q, _answer(True, "yes" if hit else "no", [("a.md", "yes")]), 1.0))
    metrics = compute_metrics(rows)
    assert metrics["by_kind"]["why"]["answer_hit"] == 0.5
    assert metrics["by_kind"]["metadata"]["answer_hit"] == 1.0
    assert metrics["by_kind"]["other"]["n"] == 1
    assert [g for g, _ in metric_groups(metrics)][-3:] == ["kind:metadata", "kind:other",
                                                           "kind:why"]
    assert "kind:why" in format_metrics_table(metrics)
    assert "by_kind" not in compute_metrics(rows[-1:])


def _beir(folder: Path, qrels: str = "query-id\tcorpus-id\tscore\nq1\td/1\t1\nq2\td2\t0\n"):
    folder.mkdir(parents=True, exist_ok=True)
    docs = [{"_id": "d/1", "title": "Hochwasser \"am\" Damm", "text": "Der Pegel stieg."},
            {"_id": "d2", "title": "", "text": "Die Brücke wurde gebaut."}]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n",
                                         encoding="utf-8")
    queries = [{"_id": "q1", "text": "Wie hoch stieg der Pegel?"},
               {"_id": "q2", "text": "Brücke"}, {"_id": "q3", "text": "ohne Urteil"}]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries),
                                          encoding="utf-8")
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")


def test_beir_folder_becomes_corpus_and_article_level_questions(tmp_path):
    _beir(tmp_path / "set")
    assert is_beir(tmp_path / "set") and not is_beir(tmp_path)
    data = load_beir(tmp_path / "set")
    assert [q.id for q in data.questions] == ["q1"]  # q2 judged irrelevant, q3 unjudged
    q = data.questions[0]
    assert q.lang == "de" and q.article_level and q.expected_sources == (file_name("d/1"),)
    assert "/" not in file_name("d/1") and file_name("d/1") != file_name("d_1")
    assert write_corpus(data.docs, tmp_path / "corpus") == 2
    assert write_corpus(data.docs, tmp_path / "corpus") == 0  # unchanged files stay
    text = (tmp_path / "corpus" / file_name("d/1")).read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "Hochwasser \\"am\\" Damm"\n---\n')


@pytest.mark.parametrize("qrels, problem", [
    ("q1\td/1\n", "tabs"),
    ("query-id\tcorpus-id\tscore\nq1\td/1\tviel\n", "not a number"),
    ("query-id\tcorpus-id\tscore\nq9\td/1\t1\n", "no query"),
])
def test_bad_beir_files_give_clear_errors(tmp_path, qrels, problem):
    _beir(tmp_path / "set", qrels)
    with pytest.raises(EvalFileError, match=problem):
        load_beir(tmp_path / "set")


def test_missing_split_names_the_fix(tmp_path):
    _beir(tmp_path / "set")
    with pytest.raises(EvalFileError, match="--split"):
        load_beir(tmp_path / "set", "dev")


def test_split_is_stable_and_keeps_both_languages_together():
    assert split_half("56beb4343aeaaa14008c925b-de") == split_half("56beb4343aeaaa14008c925b-en")
    halves = [split_half(f"q{i}") for i in range(200)]
    assert 70 < halves.count("tune") < 130


def test_real_query_variants():
    q = parse_question({"id": "v1", "lang": "de", "expected_sources": ["a.md"],
                        "answer_keywords": ["x"],
                        "question": "Warum wurden dem Handballverein HSV Hamburg acht "
                                    "Punkte abgezogen?"})
    assert variant(q, "keywords").question == "handballverein hsv hamburg acht punkte abgezogen"
    assert variant(q, "no_umlauts").question.startswith("warum wurden")
    typo = variant(q, "typos").question
    assert typo != q.question and len(typo.split()) == len(q.question.split())
    assert variant(q, "typos").question == typo  # reproducible
    real = variant(q, "real").question
    assert real == real.lower() and "?" not in real
    with pytest.raises(ValueError):
        variant(q, "shouting")
