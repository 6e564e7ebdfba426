"""``rag eval`` with the real model on real data: the seed questions over the seed corpus
(a real process), metrics above the floors, every report file, the baseline diff."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest
from shared_data import ROOT, SEED, SEED_QUESTIONS

from rag.eval.metrics import METRIC_KEYS

pytestmark = pytest.mark.slow


def test_eval_command_on_the_seed_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED, corpus)
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
