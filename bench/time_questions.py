"""Time-aware retrieval, measured: hit@1/hit@3 on questions that name a time, with and
without the time handling, on a tuning half and a held-back half.

The questions naming a period are found by :func:`rag.retrieve.timefilter.parse_time`
(on wikinews-de: the 10 the set's README lists). They are split by position (even:
tuning, odd: held back). Every configuration runs in this process on the same index; the
configuration is chosen on the tuning half only. The other questions of the file are run
too, to show that questions without a time are not changed.

    python bench/time_questions.py --index /tmp/wikinews-index
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import first_answering_rank  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve.timefilter import announces_period, in_period, parse_time  # noqa: E402
from rag.settings import Settings  # noqa: E402

_SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
                if p.is_dir()), ROOT.parent / "shared")
EVAL = _SHARED / "eval/wikinews-de"
CONFIGS = {
    "off": {"time_mode": "off"},
    # ties are broken by the order here: the more lenient setting first
    "filter (+31 days)": {"time_mode": "filter", "time_slack_days": 31},
    "filter (period only)": {"time_mode": "filter", "time_slack_days": 0},
    "boost 0.05": {"time_mode": "boost", "time_boost": 0.05},
    "boost 0.1": {"time_mode": "boost", "time_boost": 0.1},
    "boost 0.2": {"time_mode": "boost", "time_boost": 0.2},
    "boost 0.1, no slack": {"time_mode": "boost", "time_boost": 0.1, "time_slack_days": 0},
}


def hits(pipeline: Pipeline, questions: list) -> tuple[float, float, list[int | None], float]:
    """hit@1, hit@3, the first answering rank of each question, and the share of the top
    3 sources about the period the question names: dated in it (within 31 days after
    it), or from before it and writing a date in it (an announcement, a plan)."""
    ranks, in_time = [], []
    for q in questions:
        answer = pipeline.ask(q.question, 10)
        ranks.append(first_answering_rank(q, answer.sources))
        intent = parse_time(q.question)
        if intent.period:
            in_time += [in_period(s.date, intent, 31) or announces_period(s.text, s.date, intent)
                        for s in answer.sources[:3]]
    n = max(1, len(ranks))
    return (sum(r is not None and r <= 1 for r in ranks) / n,
            sum(r is not None and r <= 3 for r in ranks) / n, ranks,
            sum(in_time) / max(1, len(in_time)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=Path, default=EVAL / "questions.jsonl")
    ap.add_argument("--corpus", type=Path, default=EVAL / "corpus")
    ap.add_argument("--index", type=Path, required=True)
    args = ap.parse_args()
    questions = [q for q in load_questions(args.questions) if not q.no_answer]
    timed = [q for q in questions if parse_time(q.question).period]
    others = [q for q in questions if not parse_time(q.question).period]
    tune, held = timed[0::2], timed[1::2]
    print(f"{len(timed)} answerable questions name a period: tuning {[q.id for q in tune]}, "
          f"held back {[q.id for q in held]}; {len(others)} others")
    base = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    first = Pipeline(base)
    first.update_index(progress=False)
    results = {}
    for name, change in CONFIGS.items():
        p = Pipeline(base.replace(**change), embedder=first.embedder)
        t = time.perf_counter()
        t1, t3, tr, tp = hits(p, tune)
        h1, h3, hr, hp = hits(p, held)
        results[name] = (t1, t3, h1, h3, tp, hp)
        print(f"{name:22s} tuning hit@1 {t1:.2f} hit@3 {t3:.2f} in-period@3 {tp:.2f} | "
              f"held back hit@1 {h1:.2f} hit@3 {h3:.2f} in-period@3 {hp:.2f}  "
              f"({time.perf_counter() - t:.1f} s)  ranks {tr} {hr}")
    # best tuning hit@1, then hit@3, then share of in-period sources; ties: listed first
    best = max((n for n in CONFIGS if n != "off"),
               key=lambda n: (results[n][0], results[n][1], results[n][4]))
    off = results["off"]
    b = results[best]
    print(f"\nchosen on the tuning half: {best}")
    print(f"tuning:    hit@1 {off[0]:.2f} -> {b[0]:.2f}, hit@3 {off[1]:.2f} -> {b[1]:.2f}, "
          f"in-period@3 {off[4]:.2f} -> {b[4]:.2f}")
    print(f"held back: hit@1 {off[2]:.2f} -> {b[2]:.2f}, hit@3 {off[3]:.2f} -> {b[3]:.2f}, "
          f"in-period@3 {off[5]:.2f} -> {b[5]:.2f}")
    p_off = Pipeline(base.replace(**CONFIGS["off"]), embedder=first.embedder)
    p_on = Pipeline(base.replace(**CONFIGS[best]), embedder=first.embedder)
    o = hits(p_off, others)
    w = hits(p_on, others)
    print(f"questions without a period ({len(others)}): hit@1 {o[0]:.2f} -> {w[0]:.2f}, "
          f"hit@3 {o[1]:.2f} -> {w[1]:.2f}, identical ranks: {o[2] == w[2]}")


if __name__ == "__main__":
    main()
