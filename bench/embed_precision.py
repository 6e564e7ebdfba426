"""Embedding speed and agreement: fp32 vs bf16 autocast vs bf16 weights.

Real German passages (~200 words, from the XQuAD-de corpus), batch 32, on the CPU.
Prints a table and writes ``bench/results/embed_precision.json``. Also reports the
offline model build (time and size on disk). Keep it short: the machine is shared.

    python bench/embed_precision.py [--passages 64] [--batch-size 32] [--queries 20] [--repeat 2]

Single-query latency is the median over ``--queries`` questions. With ``--repeat`` the
variants run interleaved and the best run is reported (all runs are in the JSON).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed.e5.build import build_model, ensure_default_model  # noqa: E402
from rag.embed.sbert import SentenceTransformerEmbedder as Embedder  # noqa: E402
from rag.embed.sbert import cpu_has_fast_bf16  # noqa: E402
from rag.settings import Settings  # noqa: E402

XQUAD = ROOT.parent / "shared" / "eval" / "xquad-de"
RESULTS = ROOT / "bench" / "results" / "embed_precision.json"


def load_passages(n: int, words: int = 200) -> list[str]:
    """``n`` passages of ``words`` words cut from the XQuAD-de articles (overlapping)."""
    passages: list[str] = []
    for path in sorted((XQUAD / "corpus").glob("*.txt")):
        tokens = [
            w for para in path.read_text(encoding="utf-8").split("\n\n")
            if len(para.split()) >= 10 for w in para.split()
        ]
        starts = range(0, len(tokens) - words + 1, words // 2)  # half-overlapping windows
        passages += [" ".join(tokens[i : i + words]) for i in starts]
    if len(passages) < n:
        raise SystemExit(f"only {len(passages)} passages of {words} words in {XQUAD}")
    step = len(passages) / n  # spread over all articles
    return [passages[int(i * step)] for i in range(n)]


def load_questions(n: int) -> list[str]:
    lines = (XQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[: 2 * n : 2]]


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def query_latency_ms(encode, questions: list[str]) -> float:
    encode([questions[0]])  # warm-up
    times = [timed(encode, [q])[1] for q in questions]
    return 1e3 * statistics.median(times)


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"min": round(float(c.min()), 6), "mean": round(float(c.mean()), 6)}


def main() -> None:
    import torch  # after rag.embed.sbert, which sets the OpenMP wait policy before torch loads

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per variant (best)")
    parser.add_argument("--no-build", action="store_true", help="skip the fresh build timing")
    args = parser.parse_args()

    report: dict[str, object] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu_has_fast_bf16(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "loadavg_start": os.getloadavg()[0],
        },
    }
    cache = Settings.from_env().paths.model_cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            dest, seconds = timed(build_model, Path(tmp) / "model")
            files = {p.name: p.stat().st_size for p in dest.rglob("*") if p.is_file()}
            report["build"] = {
                "seconds": round(seconds, 2),
                "disk_mb": round(sum(files.values()) / 1e6, 1),
                "model_safetensors_mb": round(files["model.safetensors"] / 1e6, 1),
                "tokenizer_json_mb": round(files["tokenizer.json"] / 1e6, 1),
            }
            shutil.rmtree(dest)
        print(f"build: {report['build']['seconds']} s, {report['build']['disk_mb']} MB on disk "
              f"(model.safetensors {report['build']['model_safetensors_mb']} MB, "
              f"tokenizer.json {report['build']['tokenizer_json_mb']} MB)")

    ensure_default_model(cache)
    fp32, load_s = timed(
        lambda: Embedder(cache_dir=cache, precision="fp32", batch_size=args.batch_size)
    )
    report["load_seconds"] = round(load_s, 2)
    autocast = fp32.with_precision("bf16")
    passages = load_passages(args.passages)
    questions = load_questions(args.queries)
    tokens = [fp32.count_tokens(p) for p in passages]
    report["passages"] = {
        "n": len(passages), "words": 200, "batch_size": args.batch_size,
        "tokens_mean": round(float(np.mean(tokens)), 1), "tokens_max": max(tokens),
    }

    # bf16 weights: a bf16 copy of the model, through sentence-transformers' own encode
    bf16_model = copy.deepcopy(fp32.model).to(torch.bfloat16)

    def bf16_passages(texts: list[str]) -> np.ndarray:
        return bf16_model.encode_document(texts, prompt=fp32.passage_prompt,
                                          batch_size=args.batch_size, convert_to_numpy=False,
                                          convert_to_tensor=True).float().numpy()

    def bf16_queries(texts: list[str]) -> np.ndarray:
        return bf16_model.encode_query(texts, prompt=fp32.query_prompt, convert_to_tensor=True,
                                       convert_to_numpy=False).float().numpy()

    variants = {
        "fp32": (fp32.encode_passages, fp32.encode_queries),
        "bf16 autocast": (autocast.encode_passages, autocast.encode_queries),
        "bf16 weights": (bf16_passages, bf16_queries),
    }
    vectors: dict[str, np.ndarray] = {}
    qvectors: dict[str, np.ndarray] = {}
    speed: dict[str, list[float]] = {name: [] for name in variants}
    latency: dict[str, list[float]] = {name: [] for name in variants}
    for name, (encode_p, encode_q) in variants.items():  # warm-up and vectors
        encode_p(passages[: min(4, len(passages))])
        qvectors[name] = encode_q(questions)
    for rep in range(args.repeat):  # interleaved; the best run counts (shared machine)
        for name, (encode_p, encode_q) in variants.items():
            vectors[name], seconds = timed(encode_p, passages)
            speed[name].append(len(passages) / seconds)
            latency[name].append(query_latency_ms(encode_q, questions))
        print(f"  run {rep + 1}/{args.repeat} done", flush=True)
    rows: dict[str, dict] = {}
    for name in variants:
        rows[name] = {
            "passages_per_s": round(max(speed[name]), 2),
            "query_ms": round(min(latency[name]), 2),
            "runs": {"passages_per_s": [round(x, 2) for x in speed[name]],
                     "query_ms": [round(x, 2) for x in latency[name]]},
        }
        if name != "fp32":
            rows[name]["cos_passages_vs_fp32"] = cosines(vectors[name], vectors["fp32"])
            rows[name]["cos_queries_vs_fp32"] = cosines(qvectors[name], qvectors["fp32"])
    report["results"] = rows
    report["machine"]["loadavg_end"] = os.getloadavg()[0]  # type: ignore[index]
    report["auto_precision"] = fp32.with_precision("auto").precision

    print(f"\n{len(passages)} passages of 200 words "
          f"(mean {report['passages']['tokens_mean']} tokens), batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads; precision 'auto' -> {report['auto_precision']}")
    print(f"{'variant':<15} {'passages/s':>11} {'query ms':>9} {'cos p min':>10} "
          f"{'cos p mean':>11} {'cos q min':>10}")
    for name, row in rows.items():
        cp = row.get("cos_passages_vs_fp32", {"min": 1.0, "mean": 1.0})
        cq = row.get("cos_queries_vs_fp32", {"min": 1.0})
        print(f"{name:<15} {row['passages_per_s']:>11.2f} {row['query_ms']:>9.2f} "
              f"{cp['min']:>10.6f} {cp['mean']:>11.6f} {cq['min']:>10.6f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
