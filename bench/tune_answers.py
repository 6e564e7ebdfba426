"""Answer settings on the tune and held-back halves of the dev sets.

Asks every answerable question of the chosen sets with each value of the chosen answer
setting(s) through ``Pipeline.ask`` (the first value is the baseline) and prints
answer_hit and hit@3 per set, half (:func:`rag.eval.variants.split_half`) and language,
and the share of answerable questions answered "not found". Choose on the tune half;
the held-back half is the figure to report.

    python bench/tune_answers.py --values 0 0.03 0.06
    python bench/tune_answers.py --param passages_de --values 1 2 3 --sets seed xquad wikinews

``--param`` is a comma list of flat setting names set together to each value (default
the three selection bonuses: reason, quote, headline). Indexes are built (or reused)
under ``--index-root`` (default bench/results/indexes).
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
    "xquad": (SHARED / "xquad-de" / "questions.jsonl", SHARED / "xquad-de" / "corpus"),
}
BONUSES = "reason_bonus,quote_bonus,headline_penalty"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--param", default=BONUSES,
                        help=f"comma list of settings set to each value (default {BONUSES})")
    parser.add_argument("--values", nargs="+", default=["0", "0.03", "0.06"])
    parser.add_argument("--index-root", type=Path, default=ROOT / "bench" / "results" / "indexes")
    parser.add_argument("--sets", nargs="+", default=["seed", "seed_more", "wikinews"],
                        choices=list(SETS))
    args = parser.parse_args()
    names = [n.strip() for n in args.param.split(",") if n.strip()]
    embedder = None
    table: dict[tuple, dict[str, tuple[float, float, float, int]]] = {}
    for name in args.sets:
        questions, corpus = SETS[name]
        index_dir = args.index_root / ("seed" if name.startswith("seed") else name)
        qs = [q for q in load_questions(questions) if not q.no_answer]
        for value in args.values:
            settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir,
                                         **{n: value for n in names})
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
                    refused = sum(not r.found for r in sub) / len(sub)
                    table.setdefault((name, half, lang), {})[value] = (hit, hit3, refused,
                                                                      len(sub))
    base = args.values[0]
    print(f"{args.param}: answer_hit per value (ratio to {base}); hit@3 and refused "
          "share of the baseline")
    print(f"{'set':10s} {'half':4s} lang   n  hit@3 refused  " + "  ".join(
        f"{v:>10s}" for v in args.values))
    for (name, half, lang), row in sorted(table.items()):
        hit0, hit3, refused, n = row[base]
        cells = "  ".join(f"{row[v][0]:.3f}x{(row[v][0] / hit0) if hit0 else 0:.2f}"
                          for v in args.values)
        print(f"{name:10s} {half:4s} {lang:4s} {n:3d}  {hit3:.3f} {refused:.3f}    {cells}")


if __name__ == "__main__":
    main()
