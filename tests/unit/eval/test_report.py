"""Reports of the batch evaluation (rag.eval.report): metric tables, baseline diff, JSON,
CSV and Markdown files."""

from __future__ import annotations

import csv

import pytest

from rag.eval.metrics import METRIC_KEYS, QuestionResult, Report, SourceHit, compute_metrics
from rag.eval.report import (
    ReportFileError,
    compare_metrics,
    format_diff,
    format_metrics_table,
    load_report,
    write_csv,
    write_json,
    write_markdown,
)


def row(qid: str, lang: str = "de", *, rank=None, found=True, answer_hit=None,
        no_answer=False, latency=10.0) -> QuestionResult:
    if answer_hit is None and not no_answer:
        answer_hit = found and rank is not None
    return QuestionResult(qid, lang, "?", no_answer, found, rank, "text", answer_hit, latency)


def write_lines(path, *lines: str):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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
