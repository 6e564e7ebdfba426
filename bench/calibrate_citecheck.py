"""Calibrate the citation check's meaning threshold (``llm_min_support``).

For answerable questions with answer keywords, a *supported* claim is the question
followed by its answer keyword (in the question's language: German, or English against
German passages), compared with the sentences of a passage from an expected article
that contain the keyword; an *unsupported* claim is the same text compared with the best
sentence of a retrieved passage from another article (a citation of the wrong source).
The similarity is the one the check computes: the claim embedded as a query against the
passage's stored sentence vectors. The threshold is chosen on the tuning half (every
other question, by id) to keep 95 % of the supported claims; the held-back half is
reported beside it.

    python bench/calibrate_citecheck.py --corpus corpus --index /tmp/seed-index \\
        --questions ../shared/eval/seed_questions.jsonl ../shared/eval/seed_more_questions.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import _normalize, _source_key  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text.language import detect_language  # noqa: E402


def pairs(pipeline: Pipeline, questions) -> list[tuple[str, str, float, float]]:
    """(id, lang, supported similarity, best wrong-source similarity) per question."""
    index = pipeline.index
    retriever = Retriever(index, pipeline.embedder, pipeline.settings.retrieval)
    out = []
    for q in questions:
        if q.no_answer or not q.answer_keywords or not q.expected_sources:
            continue
        lang = detect_language(q.question)
        hits = retriever.search(q.question, lang, 10)
        chunks = index.chunks([h.id for h in hits])
        expected = {_source_key(s) for s in q.expected_sources}
        keyword = q.answer_keywords[0]
        vec = pipeline.embedder.encode_queries([f"{q.question} {keyword}"])[0]
        pos, neg = [], []
        for h in hits:
            c = chunks[h.id]
            if not c.sentences:
                continue
            sims = c.sentence_vectors @ vec
            if _source_key(h.doc_id) in expected:
                pos += [float(s) for (a, b), s in zip(c.sentences, sims)
                        if any(_normalize(k) in _normalize(c.text[a:b])
                               for k in q.answer_keywords)]
            else:
                neg.append(float(sims.max()))
        if pos and neg:
            out.append((q.id, lang, max(pos), max(neg)))
    return out


def report(name: str, rows, threshold: float) -> None:
    for lang in ("de", "en", None):
        sel = [r for r in rows if lang is None or r[1] == lang]
        if not sel:
            continue
        kept = np.mean([r[2] >= threshold for r in sel])
        rejected = np.mean([r[3] < threshold for r in sel])
        print(f"{name:9s} {lang or 'all':3s} n={len(sel):3d}  supported kept {kept:.3f}  "
              f"wrong source rejected {rejected:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--questions", nargs="+", required=True)
    ap.add_argument("--keep", type=float, default=0.95, help="share of supported claims kept")
    ap.add_argument("--sample", type=int, default=0, help="at most this many questions "
                    "(a fixed random sample)")
    args = ap.parse_args()
    pipeline = Pipeline(Settings.from_env(corpus_dir=args.corpus, index_dir=args.index))
    questions = [q for f in args.questions for q in load_questions(f)]
    if args.sample and len(questions) > args.sample:
        questions = random.Random(1234).sample(questions, args.sample)
    rows = pairs(pipeline, questions)

    def half(r) -> int:
        return int(hashlib.sha1(r[0].encode()).hexdigest(), 16) % 2

    tune = [r for r in rows if half(r) == 0]
    held = [r for r in rows if half(r) == 1]
    threshold = float(np.quantile([r[2] for r in tune], 1 - args.keep))
    print(f"threshold (keeps {args.keep:.0%} of supported claims on the tuning half): "
          f"{threshold:.3f}")
    report("tuning", tune, threshold)
    report("held-back", held, threshold)


if __name__ == "__main__":
    main()
