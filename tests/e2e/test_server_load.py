"""The served app under load (a real ``python app.py``, see conftest.py): many users at
once, a soak run, a re-index by another process while users ask. Figures (latencies,
memory) go to ``tests/artifacts/concurrency.json``; ``RAG_SOAK_QUESTIONS`` changes the
soak length (default 2000)."""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import psutil
import pytest
from shared_data import EXTRA, EXTRA_QUESTION, EXTRA_TEXT, ROOT, write_artifact

from .conftest import Server

pytestmark = pytest.mark.slow

ARTIFACT = "concurrency"
#: Seed questions the users ask (German, English, unanswerable).
USER_QUESTION_IDS = ("d01", "d02", "d03", "d06", "d12", "d13", "d14", "d16", "d19", "d22")
USERS = 20


@pytest.fixture()
def server(app_server: Server) -> Server:
    return app_server


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/max in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}


def content(result: dict) -> dict:
    """An answer without its scores, and its uncited sources as a set: when another article
    changes the keyword statistics the scores move a little, and two near-tied passages
    that the answer does not cite may swap places. The text and the cited sources stay."""
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", result.get("text") or "")}
    sources = [{k: v for k, v in s.items() if k != "score"} for s in result["sources"]]
    others = sorted(json.dumps({k: v for k, v in s.items() if k != "n"}, sort_keys=True)
                    for s in sources if s["n"] not in cited)
    return {**result, "sources": [s for s in sources if s["n"] in cited], "others": others}


def _questions(seed_questions: list[dict]) -> list[str]:
    questions = [q["question"] for q in seed_questions if q["id"] in USER_QUESTION_IDS]
    assert len(questions) == len(USER_QUESTION_IDS)
    return questions


def _run_users(url: str, questions: list[str], stop: threading.Event | None = None,
               ) -> tuple[list[tuple[str, dict, float, float]], list[str]]:
    """``USERS`` clients asking ``questions`` (each in its own order) at the same moment;
    with ``stop`` they go on until it is set. Returns (question, result, start, seconds)
    per call and the errors."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(USERS)]
    barrier = threading.Barrier(USERS)
    results: list[tuple[str, dict, float, float]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        order = questions[:]
        random.Random(i).shuffle(order)
        barrier.wait()
        while True:
            for q in order:
                t0 = time.perf_counter()
                try:
                    r = clients[i].predict(q, api_name="/ask")
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(f"user {i}: {q!r}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    results.append((q, r, t0, time.perf_counter() - t0))
            if stop is None or stop.is_set():
                return

    threads = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    for c in clients:
        c.close()
    return results, errors


def test_20_users_at_once(server: Server, seed_questions: list[dict]) -> None:
    """20 users ask 10 questions each at the same time: no errors, every answer identical
    (scores included) to the one asked alone; p50/p95 latency reported."""
    questions = _questions(seed_questions)
    sequential = {}
    alone = []
    for q in questions:
        t0 = time.perf_counter()
        sequential[q] = server.client.predict(q, api_name="/ask")
        alone.append(time.perf_counter() - t0)
    started = time.perf_counter()
    results, errors = _run_users(server.url, questions)
    wall = time.perf_counter() - started
    assert not errors, errors[:5]
    assert len(results) == USERS * len(questions)
    different = [q for q, r, _, _ in results if r != sequential[q]]
    assert not different, different[:5]
    write_artifact(ARTIFACT, {"users_at_once": {
        "users": USERS, "questions_each": len(questions), "calls": len(results),
        "errors": len(errors), "identical_to_sequential": len(results) - len(different),
        "wall_s": round(wall, 1), "throughput_per_s": round(len(results) / wall, 1),
        **percentiles([s for *_, s in results]),
        "alone": percentiles(alone),
    }})


def test_soak_2000_questions(server: Server, seed_questions: list[dict]) -> None:
    """2 000 questions in a row: no errors, the app's memory (RSS) grows by < 50 MB
    between the end of the warm-up and the end."""
    total = int(os.environ.get("RAG_SOAK_QUESTIONS", "2000"))
    warmup = min(200, total // 10)
    questions = [q["question"] for q in seed_questions]
    app = psutil.Process(server.proc.pid)
    errors: list[str] = []
    latencies: list[float] = []
    rss: dict[int, int] = {}
    started = time.perf_counter()
    for i in range(total):
        # every question text is new (a counter): no cache can make it cheap
        q = f"{questions[i % len(questions)]} ({i // len(questions)})"
        t0 = time.perf_counter()
        try:
            server.client.predict(q, api_name="/ask")
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(f"{i}: {type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - t0)
        if i + 1 == warmup or (i + 1) % 250 == 0 or i + 1 == total:
            rss[i + 1] = app.memory_info().rss
    seconds = time.perf_counter() - started
    growth = (rss[total] - rss[warmup]) / 2**20
    write_artifact(ARTIFACT, {"soak": {
        "questions": total, "errors": len(errors), "seconds": round(seconds, 1),
        **percentiles(latencies[warmup:]),
        "rss_mb_after_warmup": round(rss[warmup] / 2**20, 1),
        "rss_mb_end": round(rss[total] / 2**20, 1), "rss_growth_mb": round(growth, 1),
        "rss_mb_by_question": {k: round(v / 2**20, 1) for k, v in sorted(rss.items())},
    }})
    assert not errors, errors[:5]
    assert growth < 50, f"RSS grew by {growth:.1f} MB"


def test_reindex_while_users_ask(server: Server, seed_questions: list[dict]) -> None:
    """20 users keep asking while an article is added and ``python -m rag index`` publishes
    a new index version: no errors, their (unaffected) answers stay the same, and the app
    answers from the new article afterwards."""
    from gradio_client import Client

    questions = _questions(seed_questions)
    before = {q: content(server.client.predict(q, api_name="/ask")) for q in questions}
    stop = threading.Event()
    outcome: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(zip(("results", "errors"),
                                          _run_users(server.url, questions, stop),
                                          strict=True)))
    runner.start()
    time.sleep(2)
    (server.corpus / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    t_index = time.perf_counter()
    indexer = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--corpus", str(server.corpus), "--index",
         str(server.index), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    t_published = time.perf_counter()
    watcher = Client(server.url, verbose=False)
    deadline = time.monotonic() + 60
    while True:
        sources = watcher.predict(EXTRA_QUESTION, api_name="/ask")["sources"]
        if sources and sources[0]["doc_id"] == EXTRA or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    t_seen = time.perf_counter()
    time.sleep(2)
    stop.set()
    runner.join(600)
    watcher.close()
    assert indexer.returncode == 0, indexer.stdout + indexer.stderr
    assert sources and sources[0]["doc_id"] == EXTRA, "the app never used the new index"
    results, errors = outcome["results"], outcome["errors"]
    during = [r for r in results if t_index <= r[2] <= t_seen]
    changed = [q for q, r, _, _ in results if content(r) != before[q]]
    write_artifact(ARTIFACT, {"reindex_while_asking": {
        "calls": len(results), "errors": len(errors), "changed_answers": len(changed),
        "calls_during_reindex": len(during), "index_s": round(t_published - t_index, 1),
        "new_version_seen_after_s": round(t_seen - t_published, 2),
        **percentiles([s for *_, s in results]),
        "error_samples": errors[:3],
        "server_log_errors": sorted({line.strip() for line in server.log.read_text(
            errors="replace").splitlines() if line.startswith(("sqlite3.", "faiss", "rag."))
            and "Error" in line})[:5],
        "changed_samples": sorted({f"{q}: {sorted(k for k in r if content(r)[k] != before[q][k])}"
                                   for q, r, _, _ in results if q in changed})[:3],
    }})
    assert not errors, errors[:5]
    assert not changed, changed[:5]
