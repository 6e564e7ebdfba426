"""``rag eval`` on a folder in the BEIR layout, end to end (real model, subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    {"_id": "flut", "title": "Hochwasser in Passau",
     "text": "Die Donau erreichte in Passau einen Pegel von zwölf Metern. Die Altstadt wurde "
             "evakuiert."},
    {"_id": "wahl", "title": "Bürgermeisterwahl in Kiel",
     "text": "Bei der Bürgermeisterwahl in Kiel gewann die Kandidatin der Grünen mit 54 "
             "Prozent der Stimmen."},
    {"_id": "zug", "title": "Neue Bahnstrecke eröffnet",
     "text": "Die Schnellfahrstrecke zwischen Erfurt und Leipzig wurde nach zehn Jahren "
             "Bauzeit eröffnet."},
]
QUERIES = [
    {"_id": "q1", "text": "pegel donau passau"},
    {"_id": "q2", "text": "Who won the mayoral election in Kiel?"},
    {"_id": "q3", "text": "Wann wurde die Strecke Erfurt Leipzig eröffnet?"},
]


def test_rag_eval_reads_a_beir_folder(tmp_path):
    data = tmp_path / "mini-beir"
    (data / "qrels").mkdir(parents=True)
    (data / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in DOCS), encoding="utf-8")
    (data / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in QUERIES),
                                        encoding="utf-8")
    (data / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tflut\t1\nq2\twahl\t1\nq3\tzug\t1\n", encoding="utf-8")
    out = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "rag", "eval", str(data), "--corpus", str(tmp_path / "corpus"),
         "--index", str(tmp_path / "index"), "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    overall = report["metrics"]["overall"]
    assert overall["n"] == 3 and overall["hit@1"] == 1.0
    assert overall["answer_hit"] is None  # article-level questions: no keywords to judge
    assert report["config"]["questions_file"]["split"] == "test"
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [
        "flut.md", "wahl.md", "zug.md"]
