"""Sweep chunking settings and fusion weights on the shared question sets.

For each chunking setting the xquad-de and seed corpora are indexed (into
bench/results/), every question is embedded once, and retrieval is run with each
keyword weight. Prints hit@1 / hit@5 per language and writes bench/results/tune.json.

    python bench/tune_retrieval.py --chunking 128:24 200:40 300:60 --weights 0 0.04 0.08 0.12
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import answers_question  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve.search import search  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text.language import detect_language  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SETS = {
    "xquad": (SHARED / "xquad-de" / "corpus", SHARED / "xquad-de" / "questions.jsonl"),
    "seed": (ROOT / "corpus", SHARED / "seed_questions.jsonl"),
}


def evaluate_set(pipeline: Pipeline, questions, weights: list[tuple[float, float]], k: int = 5):
    """hit@1/3/5 per language for each (de, en, sentence) weight triple."""
    index = pipeline.index
    answerable = [q for q in questions if not q.no_answer]
    qvecs = pipeline.embedder.encode_queries([q.question for q in answerable])
    langs = [detect_language(q.question) for q in answerable]
    results = {}
    for w_de, w_en, w_s in weights:
        params = replace(pipeline.settings.retrieval, keyword_weight_de=w_de,
                         keyword_weight_en=w_en, sentence_weight=w_s)
        stats: dict[str, list[int]] = {}
        for q, qv, lang in zip(answerable, qvecs, langs):
            hits = search(index, qv, q.question, lang, k, params)
            chunks = index.chunks([h.id for h in hits])
            rank = next(
                (i for i, h in enumerate(hits, 1)
                 if h.doc_id in q.expected_sources
                 and answers_question(chunks[h.id].text, q.answer_keywords)),
                None,
            )
            s = stats.setdefault(q.lang, [0, 0, 0, 0])
            s[0] += rank == 1
            s[1] += rank is not None and rank <= 3
            s[2] += rank is not None and rank <= 5
            s[3] += 1
        results[f"{w_de}/{w_en}/{w_s}"] = {
            lang: {"hit@1": round(a / n, 4), "hit@3": round(b / n, 4), "hit@5": round(c / n, 4),
                   "n": n}
            for lang, (a, b, c, n) in stats.items()
        }
    return results


def main() -> None:
    """Run the sweep."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunking", nargs="+", default=["200:40"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.04, 0.08, 0.12])
    parser.add_argument("--sets", nargs="+", default=["xquad", "seed"])
    parser.add_argument("--sentence-weights", nargs="+", type=float, default=[1.5])
    parser.add_argument("--en-weight-ratio", type=float, default=0.6,
                        help="English keyword weight as a share of the German one")
    parser.add_argument("--max-per-doc", type=int, default=None)
    parser.add_argument("--margin", type=float, default=None, help="dominance margin")
    parser.add_argument("--rerank-depth", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = [(w, round(w * args.en_weight_ratio, 4), s)
               for w in args.weights for s in args.sentence_weights]
    report = {}
    embedder = None
    for spec in args.chunking:
        tokens, overlap, para = ([int(x) for x in spec.split(":")] + [0])[:3]
        for name in args.sets:
            corpus, qfile = SETS[name]
            settings = Settings.from_env(
                corpus_dir=corpus, index_dir=out_dir / f"idx-{name}-{tokens}-{overlap}-{para}",
                chunk_tokens=tokens, chunk_overlap_tokens=overlap, paragraph_tokens=para,
                max_per_doc=args.max_per_doc, rerank_depth=args.rerank_depth,
                dominance_margin=args.margin,
            )
            pipeline = Pipeline(settings, embedder=embedder)
            t0 = time.perf_counter()
            build = pipeline.update_index(progress=False)
            embedder = pipeline.embedder
            res = evaluate_set(pipeline, load_questions(qfile), weights)
            report[f"{name} {spec}"] = {"chunks": build.chunks,
                                        "index_seconds": round(time.perf_counter() - t0, 1),
                                        "results": res}
            for w, r in res.items():
                cells = "  ".join(
                    f"{lang} hit@1 {v['hit@1']:.3f} @3 {v['hit@3']:.3f} @5 {v['hit@5']:.3f}"
                    for lang, v in sorted(r.items())
                )
                print(f"{name:6} chunk {spec:7} chunks {build.chunks:4}  w {w:14}  {cells}",
                      flush=True)
    (out_dir / "tune.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
