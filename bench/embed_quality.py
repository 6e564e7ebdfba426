"""Retrieval quality and build time per embedding backend and sentence-vector scheme.

For each variant (``backend/sentence_vectors``, e.g. ``torch/separate``,
``onnx-int8/pooled``) and each shared question set, builds the index of the set's corpus
from scratch in a temporary folder (the real ``update_index``), then runs the batch
evaluation (``rag.eval.run.evaluate``: the same ``ask()`` as the app) and prints hit@1,
hit@5, answer_hit and no-answer figures per language, with the build time and the
cosine of each variant's passage vectors to the first variant's.

    python bench/embed_quality.py                              # xquad + seed, 3 variants
    python bench/embed_quality.py --sets wikinews --variants onnx-int8/pooled

Nothing here was tuned on these questions: the backend and scheme are switches, every
other setting is the product default. Writes bench/results/embed_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import load_embedder  # noqa: E402
from rag.eval.questions import load_questions  # noqa: E402
from rag.eval.run import evaluate  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
EVAL = SHARED / "eval"
SETS = {
    "xquad": (EVAL / "xquad-de" / "corpus", [EVAL / "xquad-de" / "questions.jsonl"]),
    "seed": (SHARED / "corpus-seed",
             [EVAL / "seed_questions.jsonl", EVAL / "seed_more_questions.jsonl"]),
    "wikinews": (EVAL / "wikinews-de" / "corpus", [EVAL / "wikinews-de" / "questions.jsonl"]),
}
RESULTS = ROOT / "bench" / "results" / "embed_quality.json"
KEYS = ("hit@1", "hit@5", "answer_hit", "no_answer_recall", "false_refusals", "n")


def run_variant(variant: str, sets: list[str], embedders: dict) -> dict:
    """Build and evaluate every set with ``variant``; returns figures and vectors."""
    backend, scheme = variant.split("/")
    settings = Settings.from_env(embed_backend=backend, sentence_vectors=scheme)
    if backend not in embedders:
        t0 = time.perf_counter()
        embedders[backend] = load_embedder(settings)
        print(f"[{variant}] model loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    embedder = embedders[backend]
    out: dict = {}
    for name in sets:
        corpus, question_files = SETS[name]
        with tempfile.TemporaryDirectory(prefix="embq-") as tmp:
            s = settings.replace(corpus_dir=corpus, index_dir=Path(tmp) / "index")
            pipeline = Pipeline(s, embedder=embedder)
            t0, c0 = time.perf_counter(), time.process_time()
            report = pipeline.update_index(progress=False)
            build = time.perf_counter() - t0
            cpu = time.process_time() - c0
            questions = [q for f in question_files for q in load_questions(f)]
            rep = evaluate(pipeline, questions, k=10, progress=False)
            index = pipeline.index
            try:  # a fresh build numbers its chunks 0..n-1
                vectors = np.asarray(index.vectors.reconstruct_batch(np.arange(index.size)))
            except (AttributeError, RuntimeError):
                vectors = None
        langs = {"all": rep.metrics["overall"], **rep.metrics["by_language"]}
        out[name] = {
            "chunks": report.chunks, "build_s": round(build, 2), "build_cpu_s": round(cpu, 2),
            "load_avg": round(os.getloadavg()[0], 2),
            "metrics": {g: {k: m.get(k) for k in KEYS} for g, m in langs.items()},
            "vectors": vectors,
        }
        m = out[name]["metrics"]
        print(f"[{variant}] {name}: {report.chunks} chunks, build {build:.1f} s "
              f"(cpu {cpu:.1f} s, load {os.getloadavg()[0]:.1f}); "
              + "; ".join(f"{g} hit@1 {m[g]['hit@1']} hit@5 {m[g]['hit@5']} "
                          f"answer {m[g]['answer_hit']} refusals {m[g]['false_refusals']}"
                          for g in m), flush=True)
    return out


def main() -> None:
    """Run the variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["xquad", "seed"], choices=list(SETS))
    parser.add_argument("--variants", nargs="+",
                        default=["torch/separate", "onnx-int8/separate", "onnx-int8/pooled"])
    args = parser.parse_args()
    embedders: dict = {}
    results = {v: run_variant(v, args.sets, embedders) for v in args.variants}
    ref = results[args.variants[0]]
    print("\n| variant | set | chunks | build s (cpu s) | lang | hit@1 | hit@5 | answer_hit "
          "| no-answer recall | false refusals | cos to first min / mean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for v, per_set in results.items():
        for name, r in per_set.items():
            cos = ""
            a, b = r.pop("vectors"), ref[name].get("vectors")
            if a is not None and b is not None and a.shape == b.shape:
                c = (a * b).sum(axis=1)
                cos = f"{c.min():.4f} / {c.mean():.4f}"
                r["cos_to_first"] = [round(float(c.min()), 4), round(float(c.mean()), 4)]
            for g, m in r["metrics"].items():
                print(f"| {v} | {name} | {r['chunks']} | {r['build_s']} ({r['build_cpu_s']}) "
                      f"| {g} | {m['hit@1']} | {m['hit@5']} | {m['answer_hit']} "
                      f"| {m['no_answer_recall']} | {m['false_refusals']} | {cos} |")
    for per_set in results.values():
        for r in per_set.values():
            r.pop("vectors", None)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    previous.update({f"{v}": r for v, r in results.items()})
    RESULTS.write_text(json.dumps(previous, indent=1))
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
