"""The term-support check of "not found" (German questions), on tune and held-back halves.

Answerable: each dev set's questions over its own corpus. Unanswerable: each set's
``no_answer`` questions over its own corpus, and every set's questions over the other
corpora (xquad-de questions asked of the Wikinews archive, Wikinews and seed questions of
the XQuAD paragraphs, ...; at most ``--cross`` per set and half). For each value of
``--param`` (default ``min_term_support_de``; the first value is the baseline, 0 turns
the check off) it prints per half (:func:`rag.eval.variants.split_half`) and language:
answerable questions refused, answer_hit, own unanswerable questions refused and other
sets' questions refused.

    python bench/term_support.py --values 0 0.25 0.35 0.45 [--index-root DIR]
    python bench/term_support.py --values 0 0.35 --variant real   # typed like a search box

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
from rag.eval.variants import VARIANTS, split_half, variant  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED_ROOT = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
EVAL = SHARED_ROOT / "eval"
CORPORA = {
    "seed": SHARED_ROOT / "corpus-seed",
    "wikinews": EVAL / "wikinews-de" / "corpus",
    "xquad": EVAL / "xquad-de" / "corpus",
}
QUESTIONS = {
    "seed": [EVAL / "seed_questions.jsonl", EVAL / "seed_more_questions.jsonl"],
    "wikinews": [EVAL / "wikinews-de" / "questions.jsonl"],
    "xquad": [EVAL / "xquad-de" / "questions.jsonl"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--param", default="min_term_support_de",
                        help="the setting to vary (default min_term_support_de)")
    parser.add_argument("--values", nargs="+", default=["0", "0.25", "0.35", "0.45"])
    parser.add_argument("--index-root", type=Path, default=ROOT / "bench" / "results" / "indexes")
    parser.add_argument("--variant", choices=VARIANTS,
                        help="ask every question rewritten in this real-query style")
    parser.add_argument("--cross", type=int, default=150,
                        help="other sets' questions per set, half and language (default 150)")
    args = parser.parse_args()
    sets = {name: [q for f in files for q in load_questions(f)]
            for name, files in QUESTIONS.items()}
    if args.variant:
        sets = {name: [variant(q, args.variant) for q in qs] for name, qs in sets.items()}
    embedder = None
    # (value, half, lang) -> counters
    table: dict[tuple[str, str, str], dict[str, list[int]]] = {}
    for corpus_name, corpus in CORPORA.items():
        asked = []
        for qname, qs in sets.items():
            if qname == corpus_name:
                asked += [(q, "own") for q in qs]
                continue
            for half in ("tune", "held"):
                for lang in ("de", "en"):
                    some = [q for q in qs if not q.no_answer and q.lang == lang
                            and split_half(q.id) == half][: args.cross]
                    asked += [(q, "cross") for q in some]
        for value in args.values:
            settings = Settings.from_env(corpus_dir=corpus, index_dir=args.index_root / corpus_name,
                                         **{args.param: value})
            pipeline = Pipeline(settings, embedder=embedder)
            embedder = pipeline.embedder
            for q, kind in asked:
                answer = pipeline.ask(q.question, 10)
                row = table.setdefault((value, split_half(q.id), q.lang), {
                    "answerable": [0, 0], "answer_hit": [0, 0], "unanswerable": [0, 0],
                    "other sets": [0, 0]})
                if kind == "cross":
                    key, hit = "other sets", not answer.found
                elif q.no_answer:
                    key, hit = "unanswerable", not answer.found
                else:
                    key, hit = "answerable", not answer.found
                    result = judge(q, answer, 0.0)
                    row["answer_hit"][0] += bool(result.answer_hit)
                    row["answer_hit"][1] += 1
                row[key][0] += hit
                row[key][1] += 1
    print(f"{args.param}: refused / asked (answerable: false refusals), answer_hit")
    print(f"{'value':>6s} {'half':4s} lang  {'answerable':>11s} {'answer_hit':>10s} "
          f"{'unanswerable':>12s} {'other sets':>11s}")
    for (value, half, lang), row in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][2],
                                                                          args.values.index(kv[0][0]))):
        a, h, u, o = (row[k] for k in ("answerable", "answer_hit", "unanswerable", "other sets"))
        print(f"{value:>6s} {half:4s} {lang:4s} {a[0]:4d}/{a[1]:<6d} {h[0] / max(h[1], 1):10.3f} "
              f"{u[0]:5d}/{u[1]:<6d} {o[0]:4d}/{o[1]:<6d}")


if __name__ == "__main__":
    main()
