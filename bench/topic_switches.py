"""Topic switches in a conversation: a question on another topic asked after a conversation.

Each conversation of a set (its earlier questions, answered and fed back as in
``rag eval``) is followed by ``--per`` questions drawn at random (fixed seed) from the
set's stand-alone dev questions (answerable ones, another article than the
conversation's), as written and rewritten in search-box style (``keywords``:
:func:`rag.eval.variants.variant`). Nothing announces the switch, so the product must see
from the question itself that it does not refer back. Reported per half of the drawn
question (:func:`rag.eval.variants.split_half`) and language: how many were read on
their own (no "Verstanden als"), hit@3 and answer_hit after the conversation, and the
same question asked with no history (the figure a switch should keep).

    python bench/topic_switches.py seed
    python bench/topic_switches.py wikinews --index /tmp/wikinews-index --per 3

Indexes are built (or reused) under bench/results/indexes unless ``--index`` says where.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from chat_followups import SETS, SHARED  # noqa: E402

from rag.eval.metrics import judge  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.eval.run import conversation  # noqa: E402
from rag.eval.variants import split_half, variant  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

QUESTIONS = {
    "seed": [SHARED / "eval/seed_questions.jsonl", SHARED / "eval/seed_more_questions.jsonl"],
    "wikinews": [SHARED / "eval/wikinews-de/questions.jsonl"],
}
STYLES = ("as written", "keywords")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", choices=sorted(SETS))
    parser.add_argument("--index", type=Path, help="index folder (default: under bench/results)")
    parser.add_argument("--per", type=int, default=6,
                        help="questions drawn per conversation (default 6)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    corpus, files = SETS[args.set]
    index = args.index or ROOT / "bench" / "results" / "indexes" / args.set
    pipeline = Pipeline(Settings.from_env(corpus_dir=str(corpus), index_dir=str(index)))
    pipeline.update_index(progress=False)
    conversations = [q for f in files for q in load_questions(f) if q.history]
    pool = [q for f in QUESTIONS[args.set] for q in load_questions(f) if not q.no_answer]
    rng = random.Random(args.seed)
    alone_cache: dict[tuple[str, str], tuple[bool, bool]] = {}
    table: dict[tuple[str, str, str], list[int]] = {}
    for conv in conversations:
        history = conversation(pipeline, conv.history, 10)
        others = [q for q in pool if not set(q.expected_sources) & set(conv.expected_sources)]
        for drawn in rng.sample(others, min(args.per, len(others))):
            for style in STYLES:
                q = drawn if style == "as written" else variant(drawn, style)
                answer = pipeline.ask(q.question, 10, history=history)
                result = judge(q, answer, 0.0)
                key = (q.id, style)
                if key not in alone_cache:
                    plain = judge(q, pipeline.ask(q.question, 10), 0.0)
                    alone_cache[key] = (plain.rank is not None and plain.rank <= 3,
                                        bool(plain.answer_hit))
                row = table.setdefault((style, split_half(drawn.id), q.lang), [0] * 6)
                row[0] += 1
                row[1] += answer.understood_as is None
                row[2] += result.rank is not None and result.rank <= 3
                row[3] += bool(result.answer_hit)
                row[4] += alone_cache[key][0]
                row[5] += alone_cache[key][1]
    print(f"{args.set}: {len(conversations)} conversations x {args.per} drawn questions")
    print(f"{'style':11s} {'half':4s} lang {'asked':>5s} {'read alone':>10s} "
          f"{'hit@3':>6s} {'answer':>6s} | {'no history: hit@3':>17s} {'answer':>6s}")
    for (style, half, lang), r in sorted(table.items()):
        n = r[0]
        print(f"{style:11s} {half:4s} {lang:4s} {n:5d} {r[1] / n:10.3f} {r[2] / n:6.3f} "
              f"{r[3] / n:6.3f} | {r[4] / n:17.3f} {r[5] / n:6.3f}")


if __name__ == "__main__":
    main()
