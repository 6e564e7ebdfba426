"""Calibrate the "not in the corpus" threshold and the answer-sentence weights.

Answerable questions: the seed questions over the seed corpus and the xquad-de questions
over their corpus. Unanswerable: the seed set's no-answer questions, plus each set's
questions asked against the other corpus (xquad questions over the Belarus articles,
seed questions over the Wikipedia paragraphs). For every question it records the best
sentence similarity of the top passage (the relevance signal) per language and prints,
for each threshold, precision/recall of refusals and false refusals; then it sweeps the
answer-sentence settings and prints answer_hit.

    python bench/calibrate.py [--xquad-sample 300]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer.extractive import compose, rank_sentences  # noqa: E402
from rag.eval.metrics import answers_question  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve.search import search  # noqa: E402
from rag.settings import AnswerSettings, Settings  # noqa: E402
from rag.text.language import detect_language  # noqa: E402
from rag.types import Source  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SEED_CORPUS = ROOT / "corpus"
XQUAD_CORPUS = SHARED / "xquad-de" / "corpus"


def run(pipeline: Pipeline, questions, answerable: bool, k: int = 5) -> list[dict]:
    """Retrieval features of each question over the pipeline's corpus."""
    index = pipeline.index
    qvecs = pipeline.embedder.encode_queries([q.question for q in questions])
    rows = []
    for q, qv in zip(questions, qvecs):
        lang = detect_language(q.question)
        hits = search(index, qv, q.question, lang, k, pipeline.settings.retrieval)
        chunks = index.chunks([h.id for h in hits])
        rows.append({
            "lang": q.lang, "answerable": answerable,
            "top": hits[0].sentence if hits else 0.0,
            "q": q, "qv": qv, "hits": hits, "chunks": [chunks[h.id] for h in hits],
        })
    return rows


def threshold_table(rows: list[dict]) -> None:
    """Refusal precision/recall per language for a range of thresholds."""
    for lang in ("de", "en"):
        sub = [r for r in rows if r["lang"] == lang]
        pos = [r["top"] for r in sub if r["answerable"]]
        neg = [r["top"] for r in sub if not r["answerable"]]
        print(f"\n{lang}: answerable top-sentence min {min(pos):.3f} p5 {np.percentile(pos, 5):.3f}"
              f" | unanswerable max {max(neg):.3f} p95 {np.percentile(neg, 95):.3f}")
        for t in np.arange(0.76, 0.90, 0.01):
            refused_pos = sum(p < t for p in pos)
            refused_neg = sum(n < t for n in neg)
            refused = refused_pos + refused_neg
            prec = refused_neg / refused if refused else float("nan")
            print(f"  t={t:.2f} precision {prec:.3f} recall {refused_neg / len(neg):.3f} "
                  f"false refusals {refused_pos}/{len(pos)}")


def answer_sweep(rows: list[dict]) -> None:
    """answer_hit for answer-sentence settings (answerable questions only)."""
    grid = [(nb, n, m, ms) for nb in (0.0, 0.03) for n in (1, 3) for m in (0.05, 0.1)
            for ms in (2, 3)]
    for nb, n, m, ms in grid:
        params = replace(AnswerSettings(), number_bonus=nb, passages_de=n, passages_en=n,
                         extra_margin=m,
                         max_sentences=ms)
        hit = {"de": [0, 0], "en": [0, 0]}
        for r in rows:
            if not r["answerable"]:
                continue
            sources = [Source(i + 1, h.doc_id, "", None, None, None, c.text, h.score)
                       for i, (h, c) in enumerate(zip(r["hits"], r["chunks"]))]
            cands = rank_sentences(r["qv"], r["q"].question, r["lang"], r["chunks"],
                                   [h.score for h in r["hits"]], params)
            text = compose(r["q"].question, cands, sources, r["lang"], params)
            hit[r["lang"]][0] += answers_question(text, r["q"].answer_keywords)
            hit[r["lang"]][1] += 1
        print(f"  number bonus {nb:.2f} passages {n} extra margin {m:.2f} sentences {ms}: "
              + "  ".join(
            f"{lang} {a / b:.3f}" for lang, (a, b) in hit.items() if b))


def main() -> None:
    """Run the calibration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--xquad-sample", type=int, default=300)
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    seed_q = load_questions(SHARED / "seed_questions.jsonl")
    xq = load_questions(SHARED / "xquad-de" / "questions.jsonl")
    random.Random(0).shuffle(xq)
    xq = xq[: args.xquad_sample]

    seed = Pipeline(Settings.from_env(corpus_dir=SEED_CORPUS, index_dir=out / "idx-cal-seed"))
    seed.update_index(progress=False)
    xquad = Pipeline(Settings.from_env(corpus_dir=XQUAD_CORPUS, index_dir=out / "idx-cal-xquad"),
                     embedder=seed.embedder)
    xquad.update_index(progress=False)

    rows = run(seed, [q for q in seed_q if not q.no_answer], True)
    rows += run(seed, [q for q in seed_q if q.no_answer], False)
    rows += run(seed, xq, False)
    rows += run(xquad, xq, True)
    rows += run(xquad, [q for q in seed_q if not q.no_answer], False)
    threshold_table(rows)
    print("\nanswer sentence (seed questions):")
    answer_sweep([r for r in rows if r["q"].id[0] == "d"])
    print("\nanswer sentence (xquad sample):")
    answer_sweep([r for r in rows if r["q"].id[0] != "d"])
    (out / "calibration.json").write_text(json.dumps(
        [{"lang": r["lang"], "answerable": r["answerable"], "top": r["top"]} for r in rows]))


if __name__ == "__main__":
    main()
