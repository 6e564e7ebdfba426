"""Answer-selection bonuses (reason, quote, headline) on the tune and held-back halves.

Asks every question of the seed, seed_more and wikinews-de sets with each setting (the
first is the baseline: all three off) through ``Pipeline.ask`` and prints answer_hit and
hit@3 per set, language and half (split: :func:`rag.eval.variants.split_half`).

    python bench/tune_answers.py --values 0 0.03 0.06 [--index-root DIR]

Indexes are built (or reused) under ``--index-root`` (default bench/results/indexes).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import judge  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.eval.variants import split_half  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED_ROOT = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SHARED = SHARED_ROOT / "eval"
SETS = {
    "seed": (SHARED / "seed_questions.jsonl", SHARED_ROOT / "corpus-seed"),
    "seed_more": (SHARED / "seed_more_questions.jsonl", SHARED_ROOT / "corpus-seed"),
    "wikinews": (SHARED / "wikinews-de" / "questions.jsonl", SHARED / "wikinews-de" / "corpus"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=float, nargs="+", default=[0.0, 0.03, 0.06])
    parser.add_argument("--index-root", type=Path, default=ROOT / "bench" / "results" / "indexes")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    embedder = None
    table: dict[tuple, dict[float, tuple[float, float, int]]] = {}
    for name in args.sets:
        questions, corpus = SETS[name]
        index_dir = args.index_root / ("seed" if name.startswith("seed") else name)
        qs = [q for q in load_questions(questions) if not q.no_answer]
        for value in args.values:
            settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir,
                                         reason_bonus=value, quote_bonus=value,
                                         headline_penalty=value)
            pipeline = Pipeline(settings, embedder=embedder)
            embedder = pipeline.embedder
            results = [(q, judge(q, pipeline.ask(q.question, 10), 0.0)) for q in qs]
            for half in ("tune", "held"):
                for lang in ("de", "en"):
                    sub = [r for q, r in results if q.lang == lang and split_half(q.id) == half]
                    if not sub:
                        continue
                    hit = sum(bool(r.answer_hit) for r in sub) / len(sub)
                    hit3 = sum(r.rank is not None and r.rank <= 3 for r in sub) / len(sub)
                    table.setdefault((name, half, lang), {})[value] = (hit, hit3, len(sub))
    base = args.values[0]
    print(f"{'set':10s} {'half':4s} lang   n  " + "  ".join(
        f"ans@{v:<5g}" for v in args.values) + "   (answer_hit; ratio to the first value)")
    for (name, half, lang), row in sorted(table.items()):
        n = row[base][2]
        cells = "  ".join(f"{row[v][0]:.3f}x{(row[v][0] / row[base][0]) if row[base][0] else 0:.2f}"
                          for v in args.values)
        print(f"{name:10s} {half:4s} {lang:4s} {n:3d}  {cells}")


if __name__ == "__main__":
    main()
