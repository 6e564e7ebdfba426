"""A real news archive: the German Wikinews corpus (997 articles), built, served, updated.

Steps, each a separate process as a user would run them (peak RSS = that process's
``VmHWM``), on a private copy of ``shared/eval/wikinews-de/corpus``:

1. ``rag index`` from scratch: wall time, peak RSS, index size on disk;
2. the app (``python app.py``) starts on that index: cold start = process start to the
   first answer of the ``/ask`` API (HTTP, as a client sees it); then every question of
   ``wikinews-de/questions.jsonl`` through ``/ask``: p50/p95, hit@1/hit@5;
3. while the app keeps running: one article added, one changed, one removed, each
   followed by ``rag index`` (incremental: time, peak RSS); the running app picks up each
   new version, checked by asking about the added article;
4. ``rag ask`` in a fresh process: cold start to the first answer on the CLI.

    python bench/wikinews_archive.py                       # product defaults
    RAG_EMBED_BACKEND=torch python bench/wikinews_archive.py --label torch

Prints a Markdown table and writes bench/results/wikinews_archive[-LABEL].json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
WIKINEWS = SHARED / "eval" / "wikinews-de"
RESULTS = ROOT / "bench" / "results"

#: Runs the CLI, then reports its own peak RSS (VmHWM) on stderr.
_RUN_CLI = (
    "import sys, time; t=time.perf_counter(); from rag.cli import main; rc = main(sys.argv[1:]);"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
    "print(f'@@ peak_kb={hwm} seconds={time.perf_counter()-t:.3f}', file=sys.stderr);"
    "sys.exit(rc)"
)

ADDED = """---
title: "Erzgebirgische Bergbaustadt eröffnet Zinnmuseum im alten Stollen"
date: 2022-06-14
publisher: Wikinews
---
Erzgebirgische Bergbaustadt eröffnet Zinnmuseum im alten Stollen

Die Stadt Ehrenfriedersdorf hat am Dienstag ein Zinnmuseum im früheren Sauberg-Stollen
eröffnet. Besucher fahren mit einer Grubenbahn 120 Meter tief in den Berg ein.

Nach Angaben der Bürgermeisterin kostete der Umbau 3,4 Millionen Euro. Das Museum zeigt
Werkzeuge der Bergleute aus fünf Jahrhunderten.
"""
ADDED_QUESTION = (
    "Wie viel kostete der Umbau des Zinnmuseums in Ehrenfriedersdorf?", "3,4 Millionen"
)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(args: list[str], env: dict) -> dict:
    """``rag ARGS`` in a fresh process: wall seconds, peak RSS (MiB), output."""
    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.run([sys.executable, "-c", _RUN_CLI, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    if proc.returncode != 0:
        raise SystemExit(f"rag {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    marker = [ln for ln in proc.stderr.splitlines() if ln.startswith("@@ ")][-1]
    fields = dict(kv.split("=") for kv in marker[3:].split())
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(int(fields["peak_kb"]) / 1024, 1), "stdout": proc.stdout.strip()}


def dir_mb(path: Path) -> float:
    """Size of the files under ``path`` (the published version and its folder)."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


def api_ask(port: int, question: str, timeout: float = 120.0) -> dict:
    """One answer from the app's ``/ask`` API (gradio's call + event stream)."""
    base = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    body = json.dumps({"data": [question, None, None, None, None, None]}).encode()
    req = urllib.request.Request(base, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{base}/{event}", timeout=timeout) as r:
        kind = None
        for raw in r:
            line = raw.decode().strip()
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = json.loads(line[5:])
                if kind == "error":
                    raise RuntimeError(f"/ask error: {data}")
                return data[0]
    raise RuntimeError("/ask: no answer")


def rank(answer: dict, q: dict) -> int | None:
    """1-based rank of the first source that answers ``q`` (expected article + keyword)."""
    from rag.eval.metrics import answers_question

    for i, s in enumerate(answer.get("sources", []), 1):
        if s.get("doc_id") in q["expected_sources"] and answers_question(
            s.get("text", ""), q["answer_keywords"]
        ):
            return i
    return None


def start_app(env: dict, port: int, corpus: Path, index: Path, log: Path):
    """``python app.py`` on ``corpus``/``index``; returns the process and its start time."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--corpus", str(corpus),
         "--index", str(index)],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    return proc, started


def first_answer(port: int, proc, started: float, question: str, limit: float = 300.0):
    """Seconds from ``started`` to the first answer of ``/ask`` (polling until it serves)."""
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise SystemExit("the app exited during start-up")
        try:
            answer = api_ask(port, question)
            return time.perf_counter() - started, answer
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.05)
    raise SystemExit("the app did not answer in time")


def main() -> None:
    """Run the steps and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="", help="suffix of the results file")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: reuse its corpus and index (skip the full build)")
    args = parser.parse_args()
    questions = [json.loads(x) for x in (WIKINEWS / "questions.jsonl").read_text().splitlines()
                 if x.strip()]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAG_SHARED_DIR": str(SHARED)}
    work = args.keep or Path(tempfile.mkdtemp(prefix="wikinews-bench-"))
    corpus, index, data = work / "corpus", work / "index", work / "data"
    reuse = bool(args.reuse and args.keep and (index / "CURRENT").is_file())
    if not reuse:
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(WIKINEWS / "corpus", corpus)
    env["RAG_DATA_DIR"] = str(data)
    paths = ["--corpus", str(corpus), "--index", str(index)]
    out: dict = {"load_avg_start": os.getloadavg()[0],
                 "backend": os.environ.get("RAG_EMBED_BACKEND", "default")}
    app = None
    try:
        previous = RESULTS / "wikinews_archive-full_build.json"
        if reuse and previous.is_file():
            out["full_build"] = json.loads(previous.read_text())
        else:
            out["full_build"] = cli(["index", *paths, "--quiet"], env)
            RESULTS.mkdir(parents=True, exist_ok=True)
            previous.write_text(json.dumps(out["full_build"]))
        out["index_mb"] = dir_mb(index)
        print("full build", out["full_build"], out["index_mb"], "MB", flush=True)

        port = free_port()
        app, started = start_app(env, port, corpus, index, work / "app.log")
        cold, _ = first_answer(port, app, started, questions[0]["question"])
        out["app_cold_start_s"] = round(cold, 2)
        print("app cold start to first answer", out["app_cold_start_s"], flush=True)
        lat, ranks = [], []
        for q in questions:
            t0 = time.perf_counter()
            answer = api_ask(port, q["question"])
            lat.append((time.perf_counter() - t0) * 1000)
            if not q.get("no_answer"):
                ranks.append(rank(answer, q))
        lat.sort()
        out["api_ask_ms"] = {"p50": round(statistics.median(lat), 1),
                             "p95": round(lat[int(0.95 * (len(lat) - 1))], 1), "n": len(lat)}
        out["api_hit@1"] = round(sum(r == 1 for r in ranks) / len(ranks), 3)
        out["api_hit@5"] = round(sum(r is not None and r <= 5 for r in ranks) / len(ranks), 3)
        print("ask via /ask", out["api_ask_ms"], "hit@1", out["api_hit@1"], flush=True)

        names = sorted(p.name for p in corpus.glob("*.md"))
        (corpus / "zz_added_zinnmuseum.md").write_text(ADDED, encoding="utf-8")
        out["add_one"] = cli(["index", *paths, "--quiet"], env)
        time.sleep(0.5)
        answer = api_ask(port, ADDED_QUESTION[0])
        out["app_sees_added"] = any(ADDED_QUESTION[1] in s.get("text", "")
                                    for s in answer.get("sources", []))
        changed = corpus / names[0]
        changed.write_text(changed.read_text(encoding="utf-8") + "\nNachtrag: Der Artikel wurde "
                           "am Folgetag ergänzt.\n", encoding="utf-8")
        out["change_one"] = cli(["index", *paths, "--quiet"], env)
        (corpus / names[1]).unlink()
        out["remove_one"] = cli(["index", *paths, "--quiet"], env)
        out["index_mb_after_updates"] = dir_mb(index)
        answer = api_ask(port, questions[0]["question"])
        out["app_answers_after_updates"] = bool(answer.get("sources"))
        print("updates", {k: out[k] for k in ("add_one", "change_one", "remove_one")}, flush=True)
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                app.kill()
    out["cli_ask_cold"] = cli(["ask", *paths, questions[0]["question"]], env)
    out["cli_ask_cold"]["stdout"] = out["cli_ask_cold"]["stdout"][:200]
    out["load_avg_end"] = os.getloadavg()[0]
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    fb = out["full_build"]
    rows = [
        ("full build (997 articles)", f"{fb['wall_s']} s wall, {fb.get('cpu_s', '?')} s CPU",
         f"{fb['peak_rss_mb']} MB"),
        ("index size on disk", f"{out['index_mb']} MB", ""),
        ("app cold start to first answer (/ask)", f"{out['app_cold_start_s']} s", ""),
        ("ask via /ask p50 / p95", f"{out['api_ask_ms']['p50']} / {out['api_ask_ms']['p95']} ms",
         f"hit@1 {out['api_hit@1']}, hit@5 {out['api_hit@5']}"),
        *((f"{k.replace('_', ' ')} (incremental)",
           f"{out[k]['wall_s']} s wall, {out[k]['cpu_s']} s CPU",
           f"{out[k]['peak_rss_mb']} MB") for k in ("add_one", "change_one", "remove_one")),
        ("app sees the added article / answers after updates",
         f"{out['app_sees_added']} / {out['app_answers_after_updates']}", ""),
        ("`rag ask` cold (fresh process, whole command)",
         f"{out['cli_ask_cold']['wall_s']} s wall, {out['cli_ask_cold']['cpu_s']} s CPU",
         f"{out['cli_ask_cold']['peak_rss_mb']} MB"),
    ]
    print(f"\n| wikinews-de, backend {out['backend']} | time | peak RSS / quality |")
    print("|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"load average {out['load_avg_start']:.1f} -> {out['load_avg_end']:.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "wikinews_archive" + (f"-{args.label}" if args.label else "") + ".json"
    (RESULTS / name).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
