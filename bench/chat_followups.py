"""Follow-up questions in a conversation: figures with and without history, per half.

Each conversation file line has ``history`` (earlier user questions) and the scored
follow-up ``question`` (format: shared/eval/README.md). Every set is split into a
*tuning* half and a *held-back* half by a hash of the id (``half()``); chat settings were
tuned on the tuning halves only. Without history the follow-up is asked alone (what the
product did before conversations); with history the earlier questions are asked first and
their answers fed back (``rag.eval.run.conversation``).

    python bench/chat_followups.py seed
    python bench/chat_followups.py wikinews --index /tmp/wikinews-index
    python bench/chat_followups.py seed --grid '[{"context_weight": 0.3}, {}]'
    python bench/chat_followups.py seed --latency     # ask() p50/p95 with a 6-turn history

Prints hit@3, answer_hit, refusals of unanswerable questions (topic switches and
unanswerable follow-ups, by ``kind``), false refusals and latency per half.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embed import load_embedder  # noqa: E402
from rag.eval.metrics import group_metrics, judge  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.eval.run import conversation  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED = Path("/work/shared") if Path("/work/shared").exists() else ROOT.parent / "shared"
SETS = {
    "seed": (SHARED / "corpus-seed", [SHARED / "eval/seed_conversations.jsonl",
                                      ROOT / "bench/data/chat_dev_seed.jsonl"]),
    "wikinews": (SHARED / "eval/wikinews-de/corpus",
                 [SHARED / "eval/wikinews-de/conversations.jsonl",
                  ROOT / "bench/data/chat_dev_wikinews.jsonl",
                  ROOT / "bench/data/chat_definite_wikinews.jsonl"]),
}


def half(question_id: str) -> str:
    """``"tune"`` or ``"held"``: a fixed split of a set by a hash of the question id."""
    return "tune" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0 \
        else "held"


def kinds(path: Path) -> dict[str, str]:
    """The optional ``kind`` of each question id in a conversation file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out[record["id"]] = record.get("kind") or (
                "unanswerable" if record.get("no_answer") else "followup")
    return out


def run(pipeline: Pipeline, questions, use_history: bool, k: int = 10) -> list:
    """Judged results of the follow-ups (asked after their history, or alone)."""
    results = []
    for q in questions:
        history = conversation(pipeline, q.history, k) if use_history else []
        t0 = time.perf_counter()
        answer = pipeline.ask(q.question, k, history=history or None)
        results.append(judge(q, answer, (time.perf_counter() - t0) * 1000))
    return results


def summary(rows: list, kind_of: dict[str, str]) -> str:
    """One line of figures for a group of results."""
    m = group_metrics(rows)
    unanswerable = [r for r in rows if r.no_answer]
    by_kind: dict[str, list[int]] = {}
    for r in unanswerable:
        done = by_kind.setdefault(kind_of.get(r.id, "unanswerable"), [0, 0])
        done[0] += not r.found
        done[1] += 1
    refused = " ".join(f"{kind} {a}/{b}" for kind, (a, b) in sorted(by_kind.items()))
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return (f"n={m['n']:2d} hit@3={fmt(m['hit@3'])} answer_hit={fmt(m['answer_hit'])} "
            f"false_refusals={m['false_refusals']} refused: {refused or '-'} "
            f"p50={m['latency_p50_ms']:.0f}ms")


def latency(pipeline: Pipeline, baseline: Pipeline, questions, turns: int = 6, k: int = 5
            ) -> dict[str, float]:
    """p50/p95 (ms) of ``ask()`` for each follow-up after a history of ``turns`` turns
    (earlier questions of other conversations first, then its own), and of the same
    questions asked alone on ``baseline`` (another pipeline: no question vector cached)."""
    pool = [q.question for q in questions if not q.history] + [
        h for q in questions for h in q.history]
    times: dict[str, list[float]] = {"alone": [], "history": []}
    for i, q in enumerate(questions):
        others = [t for t in pool if t not in q.history]
        earlier = (others[i % max(1, len(others)):] + others)[: max(0, turns - len(q.history))]
        history = conversation(pipeline, [*earlier, *q.history][-turns:], k)
        assert len(history) == 2 * turns
        t0 = time.perf_counter()
        pipeline.ask(q.question, k, history=history)
        times["history"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        baseline.ask(q.question, k)
        times["alone"].append((time.perf_counter() - t0) * 1000)
    out = {}
    for name, values in times.items():
        values.sort()
        out[f"{name}_p50"] = statistics.median(values)
        out[f"{name}_p95"] = values[int(0.95 * (len(values) - 1))]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--index", help="index folder (default: a folder under /tmp per set)")
    ap.add_argument("--grid", help="JSON list of settings overrides to compare")
    ap.add_argument("--latency", action="store_true", help="measure ask() with 6 turns")
    ap.add_argument("--verbose", action="store_true", help="one line per conversation")
    args = ap.parse_args()
    corpus, files = SETS[args.set]
    files = [f for f in files if f.exists()]
    questions = [q for f in files for q in load_questions(f)]
    kind_of = {i: k for f in files for i, k in kinds(f).items()}
    index_dir = args.index or f"/tmp/rag-bench-{args.set}-index"
    base = Settings.from_env(corpus_dir=str(corpus), index_dir=index_dir)
    embedder = load_embedder(base)
    Pipeline(base, embedder=embedder).update_index(progress=False)
    grid = json.loads(args.grid) if args.grid else [{}]
    print(f"{args.set}: {len(questions)} conversations from "
          + ", ".join(f.name for f in files))
    for g, overrides in enumerate(grid):
        pipeline = Pipeline(base.replace(**overrides), embedder=embedder, auto_index=False)
        pipeline.ask("Warm-up", 3)
        modes = (("alone", False), ("history", True)) if g == 0 else (("history", True),)
        for mode, use_history in modes:
            rows = run(pipeline, questions, use_history)
            if args.verbose:
                for r in rows:
                    print(f"  {r.id} {half(r.id)} {mode} rank={r.rank} found={r.found} "
                          f"hit={r.answer_hit} | {(r.answer or '')[:150]!r}")
            for part in ("tune", "held"):
                print(f"{json.dumps(overrides)} {mode:7s} {part}: "
                      + summary([r for r in rows if half(r.id) == part], kind_of), flush=True)
        if args.latency:  # a fresh pipeline: no question vectors cached by the runs above
            fresh, alone = (Pipeline(base.replace(**overrides), embedder=embedder,
                                     auto_index=False) for _ in range(2))
            fresh.ask("Warm-up", 3)
            alone.ask("Warm-up", 3)
            t = latency(fresh, alone, questions)
            print(f"{json.dumps(overrides)} ask() with a 6-turn history: p50 "
                  f"{t['history_p50']:.1f} ms, p95 {t['history_p95']:.1f} ms; the same "
                  f"questions alone: p50 {t['alone_p50']:.1f} ms, p95 {t['alone_p95']:.1f} ms "
                  f"(ratio p50 {t['history_p50'] / t['alone_p50']:.2f})", flush=True)


if __name__ == "__main__":
    main()
