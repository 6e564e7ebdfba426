"""Embedding backends side by side: speed next to this CPU's peak, agreement with fp32.

Backends: torch fp32, torch bf16 autocast (sentence-transformers), ONNX Runtime fp32 and
int8 (``rag.embed.onnx``; exported once beside the model). Input: ``--passages``
passages of 200 words cut from the XQuAD-de articles (as bench/embed_precision.py),
batch 32, and single questions. Reported per backend:

* passages/s (wall, best of ``--repeat``) and passages per CPU-second x cores (what the
  process would do with every core to itself: the steadier figure when other jobs share
  the machine), the arithmetic rate this is (GFLOP/s, counted from the model's matrix
  shapes) and its share of the estimated peak of the CPU for that number format;
* one question's latency (median);
* cosine to torch fp32 for passages and questions (min / mean).

Retrieval quality per backend is bench/embed_quality.py.

    python bench/embed_backends.py [--passages 48] [--repeat 2] [--backends torch-fp32 onnx-int8]

Writes bench/results/embed_backends.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import load_embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
XQUAD = SHARED / "eval" / "xquad-de"
RESULTS = ROOT / "bench" / "results" / "embed_backends.json"
BACKENDS = {
    "torch-fp32": {"embed_backend": "torch", "precision": "fp32"},
    "torch-bf16": {"embed_backend": "torch", "precision": "bf16"},
    "onnx-fp32": {"embed_backend": "onnx-fp32"},
    "onnx-int8": {"embed_backend": "onnx-int8"},
}
#: Operations per cycle and core by number format, for 2 x 512-bit FMA (fp32: 2 x 16
#: lanes x 2), bf16 dot products (2x fp32) and int8 VNNI dot products (4x fp32) per core
#: and cycle: the assumption behind the "peak" column (AVX-512 Zen 5, no AMX).
OPS_PER_CYCLE = {"fp32": 64, "bf16": 128, "int8": 256}
FORMAT = {"torch-fp32": "fp32", "torch-bf16": "bf16", "onnx-fp32": "fp32", "onnx-int8": "int8"}


def load_passages(n: int, words: int = 200) -> list[str]:
    """``n`` passages of ``words`` words cut from the XQuAD-de articles."""
    passages: list[str] = []
    for path in sorted((XQUAD / "corpus").glob("*.txt")):
        tokens = [w for para in path.read_text(encoding="utf-8").split("\n\n")
                  if len(para.split()) >= 10 for w in para.split()]
        passages += [" ".join(tokens[i : i + words])
                     for i in range(0, len(tokens) - words + 1, words // 2)]
    step = len(passages) / n
    return [passages[int(i * step)] for i in range(n)]


def load_questions(n: int) -> list[str]:
    lines = (XQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[: 2 * n : 2]]


def flops_per_passage(tokens: float, layers: int = 12, hidden: int = 384,
                      ffn: int = 1536) -> float:
    """Multiply-adds x 2 of one forward pass over ``tokens`` tokens (BERT encoder)."""
    dense = layers * (4 * hidden * hidden + 2 * hidden * ffn) * tokens
    attention = layers * 2 * tokens * tokens * hidden
    return 2.0 * (dense + attention)


def cpu_ghz() -> float:
    """Nominal clock from /proc/cpuinfo (GHz)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) / 1000
    return 2.5


def main() -> None:
    """Measure every backend and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    args = parser.parse_args()
    passages, questions = load_passages(args.passages), load_questions(args.queries)
    cores = len(os.sched_getaffinity(0))
    ghz = cpu_ghz()
    results: dict[str, dict] = {}
    ref_p = ref_q = None
    names = args.backends if args.backends[0] == "torch-fp32" else ["torch-fp32", *args.backends]
    for name in names:
        settings = Settings.from_env(**BACKENDS[name])
        t0 = time.perf_counter()
        embedder = load_embedder(settings)
        load_s = time.perf_counter() - t0
        tokens = statistics.mean(embedder.count_tokens(p) for p in passages)
        embedder.encode_passages(passages[:4])
        best_wall = best_cpu = float("inf")
        for _ in range(args.repeat):
            w, c = time.perf_counter(), time.process_time()
            vectors = embedder.encode_passages(passages)
            best_wall = min(best_wall, time.perf_counter() - w)
            best_cpu = min(best_cpu, time.process_time() - c)
        embedder.encode_queries(questions[:3])
        latencies = []
        for q in questions:
            t = time.perf_counter()
            embedder.encode_queries([q])
            latencies.append((time.perf_counter() - t) * 1000)
        qvec = embedder.encode_queries(questions)
        if name == "torch-fp32":
            ref_p, ref_q = vectors, qvec
        pps_wall = len(passages) / best_wall
        pps_cores = len(passages) * cores / best_cpu
        gflops = flops_per_passage(tokens) * pps_cores / 1e9
        peak = OPS_PER_CYCLE[FORMAT[name]] * ghz * cores
        cp, cq = (vectors * ref_p).sum(axis=1), (qvec * ref_q).sum(axis=1)
        results[name] = {
            "load_s": round(load_s, 2), "tokens_per_passage": round(tokens, 1),
            "passages_per_s_wall": round(pps_wall, 2),
            "passages_per_s_all_cores": round(pps_cores, 2),
            "gflops": round(gflops, 1), "peak_gflops": round(peak, 1),
            "peak_passages_per_s": round(peak * 1e9 / flops_per_passage(tokens), 1),
            "query_ms_p50": round(statistics.median(latencies), 2),
            "cos_passages": [round(float(cp.min()), 5), round(float(cp.mean()), 5)],
            "cos_queries": [round(float(cq.min()), 5), round(float(cq.mean()), 5)],
            "load_avg": round(os.getloadavg()[0], 2),
        }
        print(name, results[name], flush=True)
        del embedder
    print(f"\n{len(passages)} passages of 200 words, {cores} cores at {ghz:.2f} GHz nominal")
    print("| backend | passages/s wall | passages/s, all cores (CPU time) | GFLOP/s | "
          "peak GFLOP/s (format) | est. peak passages/s | share of peak | query p50 ms "
          "| cos passages min / mean | cos questions min / mean | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['passages_per_s_wall']} | {r['passages_per_s_all_cores']} | "
              f"{r['gflops']} | {r['peak_gflops']} ({FORMAT[name]}) | "
              f"{r['peak_passages_per_s']} | {100 * r['gflops'] / r['peak_gflops']:.0f} % | "
              f"{r['query_ms_p50']} | {r['cos_passages'][0]} / {r['cos_passages'][1]} | "
              f"{r['cos_queries'][0]} / {r['cos_queries'][1]} | {r['load_avg']} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
