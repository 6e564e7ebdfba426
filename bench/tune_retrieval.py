"""Retrieval on the dev sets, tune and held-back halves, against plain dense retrieval.

For each set the corpus is indexed (or the index under ``--index-root`` reused), every
question (and each real-query variant of it: :mod:`rag.eval.variants`) is embedded once,
and the passage ranks are computed for

* ``ours``: :func:`rag.retrieve.search` with the settings (plus ``--set key=value``
  overrides, e.g. ``--set max_per_doc=2 correct_spelling=false``), and
* ``dense``: plain dense retrieval with the same model over the same passages, each
  embedded whole as bare text (the LangChain tutorial pipeline), exact top 10,

in the same run. Prints hit@1/3/5 per set, variant, half (:func:`split_half`) and
language, with the ratio ours/dense of hit@1, and writes bench/results/retrieval.json.

    python bench/tune_retrieval.py --sets seed seed_more xquad wikinews \\
        --variants questions real --index-root /tmp/idx
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import first_answering_rank  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.eval.variants import VARIANTS, split_half, variant  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve import search  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text.language import detect_language  # noqa: E402

SHARED_ROOT = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
EVAL = SHARED_ROOT / "eval"
SETS = {
    "seed": (SHARED_ROOT / "corpus-seed", EVAL / "seed_questions.jsonl"),
    "seed_more": (SHARED_ROOT / "corpus-seed", EVAL / "seed_more_questions.jsonl"),
    "xquad": (EVAL / "xquad-de" / "corpus", EVAL / "xquad-de" / "questions.jsonl"),
    "wikinews": (EVAL / "wikinews-de" / "corpus", EVAL / "wikinews-de" / "questions.jsonl"),
}


def hits_at(ranks: list[int | None], ks: tuple[int, ...] = (1, 3, 5)) -> dict[str, float]:
    """Share of ``ranks`` (1-based, ``None``: not found) at most each of ``ks``."""
    n = len(ranks) or 1
    return {f"hit@{k}": round(sum(r is not None and r <= k for r in ranks) / n, 4)
            for k in ks}


def dense_passages(pipeline: Pipeline, cache: Path | None = None) -> tuple[list, np.ndarray]:
    """The index's passages in row order and, for plain dense retrieval, each passage's
    text embedded whole as bare text (the LangChain tutorial pipeline); the vectors are
    kept in ``cache`` (a ``.npy`` file for this index version) when given."""
    index = pipeline.index
    ids = [int(i) for i in index.row_ids]
    chunks = index.chunks(ids)
    passages = [chunks[i] for i in ids]
    if cache is not None and cache.exists():
        return passages, np.load(cache)
    whole = pipeline.embedder.encode_passages([c.text for c in passages])
    if cache is not None:
        np.save(cache, whole)
    return passages, whole


def run_set(pipeline: Pipeline, questions, styles: list[str]) -> dict[str, dict]:
    """Ranks of ours and plain dense per variant, half and language."""
    index = pipeline.index
    passages, whole = dense_passages(pipeline)
    answerable = [q for q in questions if not q.no_answer]
    out: dict[str, dict] = {}
    for style in styles:
        asked = answerable if style == "questions" else [variant(q, style) for q in answerable]
        qvecs = pipeline.embedder.encode_queries([q.question for q in asked])
        groups: dict[tuple[str, str], dict[str, list]] = {}
        for q, qvec in zip(asked, qvecs):
            hits = search(index, qvec, q.question, detect_language(q.question), 10,
                          pipeline.settings.retrieval)
            got = index.chunks([h.id for h in hits])
            top = np.argsort(-(whole @ qvec))[:10]
            g = groups.setdefault((split_half(q.id), q.lang), {"ours": [], "dense": []})
            g["ours"].append(first_answering_rank(q, [got[h.id] for h in hits]))
            g["dense"].append(first_answering_rank(q, [passages[i] for i in top]))
        out[style] = {f"{half} {lang}": {"n": len(g["ours"]), "ours": hits_at(g["ours"]),
                                         "dense": hits_at(g["dense"])}
                      for (half, lang), g in sorted(groups.items())}
    return out


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--variants", nargs="+", default=["questions", "real"],
                        choices=["questions", *VARIANTS])
    parser.add_argument("--index-root", type=Path, default=ROOT / "bench" / "results" / "idx")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings overrides for ours (flat field names)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    overrides = dict(item.split("=", 1) for item in args.set)
    report = {}
    embedder = None
    for name in args.sets:
        corpus, qfile = SETS[name]
        index_dir = args.index_root / ("seed" if name.startswith("seed") else name)
        settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir, **overrides)
        pipeline = Pipeline(settings, embedder=embedder)
        embedder = pipeline.embedder
        report[name] = run_set(pipeline, load_questions(qfile), args.variants)
        for style, groups in report[name].items():
            for group, r in groups.items():
                o, d = r["ours"], r["dense"]
                ratio = o["hit@1"] / d["hit@1"] if d["hit@1"] else float("nan")
                print(f"{name:9s} {style:10s} {group:7s} n={r['n']:4d}  ours "
                      f"{o['hit@1']:.3f}/{o['hit@3']:.3f}/{o['hit@5']:.3f}  dense "
                      f"{d['hit@1']:.3f}/{d['hit@3']:.3f}/{d['hit@5']:.3f}  "
                      f"hit@1 ratio {ratio:.2f}", flush=True)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "retrieval.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
