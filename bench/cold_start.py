"""Cold start of the web app with an existing index: process start to the first answer.

Each round starts ``python app.py`` as a fresh process on an already built index and
times, as a client sees it, the first page (HTTP 200) and the first answer of the
``/ask`` API (the app loads model and index in a thread while gradio imports; the API
call waits until it is ready). The same rounds time ``rag ask`` in a fresh process, and,
as the floor any Gradio app pays, a process that only imports gradio (the baseline the
ratios refer to), and one that imports it as the app does (without gradio's type-stub
writer, ``rag/web/gradio_import.py``). The index is built once before the rounds (not timed).

    python bench/cold_start.py                    # seed corpus, 5 rounds
    python bench/cold_start.py --corpus ../shared/eval/wikinews-de/corpus --rounds 3

Prints a table (median and min per figure) and writes bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from wikinews_archive import RESULTS, first_answer, free_port, start_app  # noqa: E402

QUESTION = "Wie nennt Lukaschenko Putin?"
#: gradio imported the way the app imports it (rag/web/gradio_import.py).
STUBLESS = "from rag.web import gradio_import; gradio_import.install(); import gradio"


def page_up(port: int, proc: subprocess.Popen, started: float, limit: float = 120.0) -> float:
    """Seconds from ``started`` until the page answers with HTTP 200."""
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise SystemExit("the app exited during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit("the page did not come up in time")


def timed(cmd: list[str], env: dict) -> float:
    """Wall seconds of a fresh process running ``cmd``."""
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    """Build the index once, then time the rounds and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    index = work / "index"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAG_DATA_DIR": str(work / "data")}
    paths = ["--corpus", str(args.corpus), "--index", str(index)]
    subprocess.run([sys.executable, "-m", "rag", "index", *paths, "--quiet"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    rows: dict[str, list[float]] = {"gradio import only (baseline)": [],
                                    "gradio import, stub writer off (as the app)": [],
                                    "app: page up": [], "app: first answer": [],
                                    "rag ask (whole command)": []}
    for r in range(args.rounds):
        rows["gradio import only (baseline)"].append(
            timed([sys.executable, "-c", "import gradio"], env))
        rows["gradio import, stub writer off (as the app)"].append(timed(
            [sys.executable, "-c", STUBLESS], env))
        port = free_port()
        proc, started = start_app(env, port, args.corpus, index, work / f"app-{r}.log")
        try:
            rows["app: page up"].append(page_up(port, proc, started))
            cold, answer = first_answer(port, proc, started, args.question)
            rows["app: first answer"].append(cold)
            assert answer.get("sources"), answer
        finally:
            proc.terminate()
            proc.wait(30)
        rows["rag ask (whole command)"].append(
            timed([sys.executable, "-m", "rag", "ask", *paths, args.question], env))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()),
              flush=True)
    base = statistics.median(rows["gradio import only (baseline)"])
    print(f"\n{args.corpus} - {args.rounds} rounds, load average {os.getloadavg()[0]:.2f}\n")
    print("| figure | median | min | median / gradio import |\n|---|---|---|---|")
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} s | {min(values):.2f} s | {med / base:.2f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(
        {"corpus": str(args.corpus), "rounds": rows, "load_avg_end": os.getloadavg()[0]},
        indent=2))


if __name__ == "__main__":
    main()
