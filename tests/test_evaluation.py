"""Batch evaluation: question files, judging, metrics, reports, baseline diff, the CLI."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.answer import Answer, Source
from rag.eval_report import (
    ReportFileError,
    compare_metrics,
    format_diff,
    format_metrics_table,
    load_report,
    write_csv,
    write_json,
    write_markdown,
)
from rag.evaluation import (
    METRIC_KEYS,
    Question,
    QuestionFileError,
    QuestionResult,
    Report,
    SourceHit,
    add_eval_parser,
    answers_question,
    compute_metrics,
    evaluate,
    first_answering_rank,
    judge,
    load_questions,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SEED_QUESTIONS = SHARED / "eval" / "seed_questions.jsonl"


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


# --- question files ----------------------------------------------------------------

GOOD = {"id": "d1", "lang": "de", "question": "Wer?", "expected_sources": ["a.txt"],
        "answer_keywords": ["Tulpen"]}


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_the_shared_question_files():
    seed = load_questions(SEED_QUESTIONS)
    assert len(seed) == 22 and sum(q.no_answer for q in seed) == 2
    assert seed[1].answer_keywords == ("62'000",)
    xquad = SHARED / "eval" / "xquad-de" / "questions.jsonl"
    if xquad.exists():
        assert len(load_questions(xquad)) == 1264


@pytest.mark.parametrize(("bad", "message"), [
    ('{"id": "d2", "lang": "de", ', "invalid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "lang"} | {"id": "d2"}),
     "missing field(s): lang"),
    (json.dumps(GOOD | {"id": "d2", "expected_sources": "a.txt"}),
     "'expected_sources' must be a list of strings (got a string)"),
    (json.dumps(GOOD | {"id": "d2", "question": 42}), "'question' must be a string"),
    (json.dumps(GOOD | {"id": "d2", "no_answer": "yes"}), "'no_answer' must be true or false"),
    (json.dumps(GOOD | {"id": "d2", "answer_keywords": []}), "needs at least one"),
    (json.dumps(GOOD | {"id": "d2", "lang": "Deutsch"}), "language code"),
    (json.dumps(GOOD), "duplicate id 'd1' (first on line 1)"),
    ("[1, 2]", "expected a JSON object, got a list"),
])
def test_malformed_line_is_named(tmp_path, bad, message):
    path = write_lines(tmp_path / "q.jsonl", json.dumps(GOOD), "", bad)
    with pytest.raises(QuestionFileError) as info:
        load_questions(path)
    assert info.value.line == 3
    assert "q.jsonl:3: " in str(info.value) and message in str(info.value)


def test_empty_or_missing_file(tmp_path):
    with pytest.raises(QuestionFileError, match="no questions"):
        load_questions(write_lines(tmp_path / "q.jsonl", "", "  "))
    with pytest.raises(QuestionFileError, match="cannot read"):
        load_questions(tmp_path / "missing.jsonl")


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)

    def add_paths(p: argparse.ArgumentParser) -> None:
        for flag in ("--corpus", "--index", "--model"):
            p.add_argument(flag)

    add_eval_parser(sub, add_paths)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_stops_on_a_malformed_file_and_writes_nothing(tmp_path, capsys):
    path = write_lines(tmp_path / "q.jsonl", json.dumps(GOOD), '{"id": 7}')
    out = tmp_path / "out"
    code = run_cli(["eval", str(path), "--out", str(out / "r.json"),
                    "--csv", str(out / "r.csv"), "--markdown", str(out / "r.md")])
    assert code == 2
    err = capsys.readouterr().err
    assert "q.jsonl:2:" in err and "missing field(s): lang" in err
    assert not out.exists()


def test_cli_rejects_a_bad_baseline_before_running(tmp_path, capsys):
    questions = write_lines(tmp_path / "q.jsonl", json.dumps(GOOD))
    baseline = write_lines(tmp_path / "old.json", '{"questions": []}')
    assert run_cli(["eval", str(questions), "--baseline", str(baseline)]) == 2
    assert "not an evaluation report" in capsys.readouterr().err


# --- evaluate() without the model --------------------------------------------------


class FakePipeline:
    """Just enough of :class:`rag.pipeline.Pipeline` for :func:`evaluate`."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        from rag.settings import Settings

        self.answers = answers
        self.calls: list[tuple[str, int]] = []
        self.settings = Settings()
        self.fusion = SimpleNamespace()
        self.answering = SimpleNamespace()
        self.embedder = SimpleNamespace(name="fake", dim=4, query_prompt=None,
                                        passage_prompt=None)
        manifest = SimpleNamespace(counts={"articles": 2, "chunks": 3},
                                   files={"a.txt": "h", "b.txt": "h"}, built_at="2024-01-01",
                                   build_seconds=1.0, faiss_type="Flat", format_version=1)
        self.index = SimpleNamespace(folder=Path("v-1"), manifest=manifest,
                                     docs={"a.txt": None, "b.txt": None})

    def ask(self, text: str, k: int) -> Answer:
        from rag.pipeline import QuestionError

        self.calls.append((text, k))
        if text not in self.answers:
            raise QuestionError("rejected")
        return self.answers[text]


def test_evaluate_warms_up_and_scores_every_question():
    questions = [
        Question("d1", "de", "Was brachte er mit?", ("a.txt",), ("Tulpen",)),
        Question("e1", "en", "What did he bring?", ("a.txt",), ("Tulpen",)),
        Question("n1", "de", "Hauptstadt?", (), (), True),
        Question("x1", "en", "???", ("b.txt",), ("y",)),
    ]
    hit = Answer("q", "de", True, "Er brachte Tulpen mit. [2]",
                 [src(1, "b.txt", "x"), src(2, "a.txt", "Er brachte Tulpen mit.")])
    pipeline = FakePipeline({
        "Was brachte er mit?": hit,
        "What did he bring?": Answer("q", "en", True, "x [1]", [src(1, "b.txt", "x")]),
        "Hauptstadt?": Answer("q", "de", False, "Dazu habe ich nichts gefunden.", []),
    })
    report = evaluate(pipeline, questions, k=7, progress=False)
    assert pipeline.calls[0] == ("Was brachte er mit?", 7)  # the warm-up
    assert len(pipeline.calls) == len(questions) + 1
    by_id = {q.id: q for q in report.questions}
    assert by_id["d1"].rank == 2 and by_id["d1"].answer_hit
    assert by_id["e1"].rank is None and by_id["x1"].error == "rejected"
    m = report.metrics["overall"]
    assert m["hit@3"] == pytest.approx(1 / 3) and m["false_refusals"] == 1
    assert m["no_answer_precision"] == pytest.approx(1 / 2) and m["no_answer_recall"] == 1.0
    assert report.config["k"] == 7 and report.config["model"]["name"] == "fake"
    assert report.config["index"]["files"] == 2
    assert {"python", "torch", "sentence-transformers", "faiss", "bm25s"} <= set(
        report.config["versions"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["questions"][0]["sources"][1] == {"doc_id": "a.txt", "n": 2, "score": 0.5}
    assert all(q["latency_ms"] >= 0 for q in data["questions"])


# --- reports and the baseline diff -------------------------------------------------


def small_report() -> Report:
    rows = [row("d1", rank=1), row("e1", "en", rank=None),
            row("n1", no_answer=True, found=False)]
    rows[1].sources = [SourceHit("b.txt", 1, 0.42, "falsch " * 80)]
    rows[1].expected_sources, rows[1].answer_keywords = ["a.txt"], ["Tulpen"]
    return Report(compute_metrics(rows), {"k": 10, "model": {"name": "m"}}, rows)


def test_baseline_diff():
    new = compute_metrics([row("d1", rank=1, latency=20), row("e1", "en", rank=2, latency=20)])
    old = compute_metrics([row("d1", rank=1, latency=10), row("e1", "en", rank=None,
                                                                   latency=10)])
    cmp = compare_metrics(new, old)
    assert cmp["overall"]["hit@3"] == {"new": 1.0, "old": 0.5, "diff": 0.5}
    assert cmp["en"]["hit@1"]["diff"] == 0.0
    assert cmp["overall"]["latency_p50_ms"]["diff"] == pytest.approx(10.0)
    assert format_diff("hit@3", 1.0, 0.5) == "+0.500"
    assert format_diff("hit@3", 0.5, 1.0) == "-0.500!"  # worse
    assert format_diff("latency_p50_ms", 20.0, 10.0) == "+10.0!"  # slower is worse
    assert format_diff("false_refusals", 0, 2) == "-2"
    assert format_diff("mrr", None, 0.5) == "n/a"
    table = format_metrics_table(new, old)
    line = next(x for x in table.splitlines() if x.startswith("hit@3"))
    assert line.split() == ["hit@3", "1.000", "0.500", "+0.500", "1.000", "1.000", "+0.000",
                            "1.000", "0.000", "+1.000"]
    assert "overall" in table and " de " in table and table.rstrip().endswith("lower is better)")


def test_metrics_table_without_baseline():
    table = format_metrics_table(small_report().metrics)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "overall", "de", "en"]
    assert [x.split()[0] for x in lines[2:]] == list(METRIC_KEYS)
    assert next(x for x in lines if x.startswith("no_answer_precision")).split() == [
        "no_answer_precision", "1.000", "1.000", "-"]  # en: nothing refused


def test_report_files(tmp_path):
    report = small_report()
    write_json(report, tmp_path / "out" / "r.json")
    write_csv(report, tmp_path / "r.csv")
    write_markdown(report, tmp_path / "r.md", baseline=report.to_dict())
    data = load_report(tmp_path / "out" / "r.json")
    assert data["metrics"] == report.metrics and len(data["questions"]) == 3
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["d1", "e1", "n1"]
    assert rows[1]["rank"] == "" and rows[1]["top_doc_id"] == "b.txt"
    assert rows[0]["found"] == "true"
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "| hit@1 |" in md and "## Failed questions (1 of 3)" in md
    assert "### e1 (en): no answering passage among the top 10" in md
    assert "`b.txt` (0.420): falsch" in md and "`a.txt` containing “Tulpen”" in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.csv", "r.md"]  # no temps


def test_load_report_errors(tmp_path):
    with pytest.raises(ReportFileError, match="invalid JSON"):
        load_report(write_lines(tmp_path / "a.json", "{"))
    with pytest.raises(ReportFileError, match="cannot read"):
        load_report(tmp_path / "missing.json")


# --- end to end --------------------------------------------------------------------


@pytest.mark.slow
def test_eval_command_on_the_seed_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "rag", "eval", str(SEED_QUESTIONS), "--corpus", str(corpus),
           "--index", str(tmp_path / "index"), "--out", str(out / "report.json"),
           "--markdown", str(out / "report.md"), "--csv", str(out / "rows.csv"), "--quiet"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0].split() == ["metric", "overall", "de", "en"]

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    overall = report["metrics"]["overall"]
    assert list(overall) == list(METRIC_KEYS)
    assert set(report["metrics"]["by_language"]) == {"de", "en"}
    assert overall["n"] == 22 and report["metrics"]["by_language"]["de"]["n"] == 11
    assert overall["hit@5"] >= 0.8, overall
    assert overall["mrr"] >= 0.6 and overall["answer_hit"] > 0  # quality: tested elsewhere
    assert overall["latency_p50_ms"] > 0
    config = report["config"]
    assert config["k"] == 10 and config["index"]["files"] == 5
    assert config["model"]["name"] and config["chunking"]
    assert {"python", "torch", "sentence-transformers", "faiss", "bm25s"} <= set(
        config["versions"])
    q = report["questions"][0]
    assert {"id", "lang", "question", "found", "rank", "answer", "sources",
            "latency_ms"} <= set(q)
    assert len(q["sources"]) == 10 and set(q["sources"][0]) == {"doc_id", "n", "score"}
    rows = list(csv.DictReader((out / "rows.csv").open(encoding="utf-8")))
    assert len(rows) == 22
    assert "## Metrics" in (out / "report.md").read_text(encoding="utf-8")

    again = subprocess.run(
        [*cmd[:5], "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--quiet",
         "--baseline", str(out / "report.json"), "--limit", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "diff" in again.stdout and "question sets differ" in again.stdout
