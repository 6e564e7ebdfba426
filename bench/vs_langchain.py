"""Side by side with the LangChain tutorial pipeline: index build, query latency, hit@k.

Both sides get the same corpus (xquad-de + the seed corpus, copied into one folder), the
same chunks (our chunker's output, given to LangChain as ``Document``s), the same model
directory (the built default multilingual-e5-small) and the same machine, in one run,
alternating (ours, baseline, ours, baseline, ...). Each side runs in its own subprocess
per round, so its peak RSS (``VmHWM`` in /proc/self/status: model load, build and
queries together) is its own.

* ours: ``update_index(settings, embedder, rebuild=True)`` into a temporary folder
  (reading and chunking the corpus, passage + sentence vectors, SQLite, BM25, FAISS),
  then ``Pipeline.ask`` (hybrid retrieval + answer extraction) and the pure retrieval
  step (``encode_queries`` + ``retrieval.search``) per question;
* baseline: ``FAISS.from_documents(docs, HuggingFaceEmbeddings(...))`` with the e5
  prompts (``passage: `` / ``query: ``) and normalised embeddings, then
  ``similarity_search(question, k=5)`` per question.

Build time excludes loading the model (reported separately); the baseline is handed
ready-made chunks (taken from an untimed build of ours, so they are exactly our chunks);
ours chunks the corpus inside its timed build. Our embedding input is the chunk under
its article's title (``embed_titles``), LangChain's the bare chunk text. The untimed
builds (one as configured, one with ``precision=fp32``) also give the cosine between
our fast-path vectors and fp32 vectors of the same input.

    python bench/vs_langchain.py             # full: 3 rounds, all 1264 xquad-de questions
    python bench/vs_langchain.py --quick     # smoke run: seed corpus, 1 round, 20 questions

Writes bench/results/vs_langchain.json. Needs requirements-bench.txt.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.metrics import first_answering_rank  # noqa: E402
from rag.eval.questions import Question, load_questions  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
XQUAD_CORPUS = SHARED / "xquad-de" / "corpus"
XQUAD_QUESTIONS = SHARED / "xquad-de" / "questions.jsonl"
SEED_CORPUS = ROOT / "corpus"
SEED_QUESTIONS = SHARED / "seed_questions.jsonl"
RESULTS = ROOT / "bench" / "results"
K = 5


# --- helpers -----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB: ``VmHWM`` of /proc/self/status.

    (``getrusage().ru_maxrss`` is not used: Linux carries it over ``fork`` + ``exec``, so
    a worker would report the larger peak of the parent that started it.)
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and load of this machine."""
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                      if ln.startswith("Model name")), "")
    except OSError:
        pass
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[-1].split("\n", 1)[0]
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal"))
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "bf16": [f for f in ("amx_bf16", "avx512_bf16") if f in flags.split()],
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def rank_stats(ranks: list[int | None], langs: list[str]) -> dict[str, Any]:
    """hit@1 / hit@5 overall and per language."""
    out: dict[str, Any] = {}
    for name in ["all", *sorted(set(langs))]:
        sel = [r for r, lang in zip(ranks, langs, strict=True) if name in ("all", lang)]
        if sel:
            out[name] = {
                "n": len(sel),
                "hit@1": round(sum(r == 1 for r in sel) / len(sel), 4),
                "hit@5": round(sum(r is not None and r <= K for r in sel) / len(sel), 4),
            }
    return out


def latency(values: list[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds of seconds ``values``."""
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0}


# --- workers (one subprocess per side and round) -------------------------------------


def worker_ours(work: Path) -> dict[str, Any]:
    """Build our index from the corpus, then answer every question."""
    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
    from rag.indexing.build import update_index
    from rag.pipeline import Pipeline
    from rag.retrieve.search import search
    from rag.text.language import detect_language

    spec = json.loads((work / "spec.json").read_text())
    index_dir = Path(tempfile.mkdtemp(prefix="ours-index-", dir=work))
    settings = Settings.from_env(corpus_dir=work / "corpus", index_dir=index_dir)
    t0 = time.perf_counter()
    embedder = Embedder.from_settings(settings)
    load_s = time.perf_counter() - t0
    embedder.count_tokens("Warmlaufen")
    t0 = time.perf_counter()
    report = update_index(settings, embedder, rebuild=True, progress=False)
    build_s = time.perf_counter() - t0
    rss_after_build = peak_rss_mb()

    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    index = pipeline.index
    questions = [Question(**q) for q in spec["questions"]]
    for q in questions[:5]:  # warm-up
        pipeline.ask(q.question)
    ask_s, retrieve_s, ranks = [], [], []
    for q in questions:
        t = time.perf_counter()
        answer = pipeline.ask(q.question)
        ask_s.append(time.perf_counter() - t)
        ranks.append(first_answering_rank(q, answer.sources))
        t = time.perf_counter()
        text = q.question
        qvec = embedder.encode_queries([text])[0]
        search(index, qvec, text, detect_language(text), K, pipeline.settings.retrieval)
        retrieve_s.append(time.perf_counter() - t)
    result = {
        "side": "ours",
        "model_load_s": round(load_s, 2),
        "build_s": round(build_s, 3),
        "chunks": report.chunks,
        "precision": embedder.precision,
        "faiss_type": index.manifest.faiss_type,
        "ask": latency(ask_s),
        "retrieval": latency(retrieve_s),
        "ranks": ranks,
        "peak_rss_after_build_mb": round(rss_after_build, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    index.close()
    shutil.rmtree(index_dir, ignore_errors=True)
    return result


def worker_langchain(work: Path) -> dict[str, Any]:
    """Build the LangChain FAISS store from our chunks, then run every question."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    spec = json.loads((work / "spec.json").read_text())
    t0 = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(
        model_name=spec["model_dir"],
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "prompt": "passage: "},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": "query: "},
    )
    load_s = time.perf_counter() - t0
    docs = [Document(page_content=c["text"], metadata={"doc_id": c["doc_id"]})
            for c in spec["chunks"]]
    t0 = time.perf_counter()
    store = FAISS.from_documents(docs, embeddings)
    build_s = time.perf_counter() - t0
    rss_after_build = peak_rss_mb()
    questions = [Question(**q) for q in spec["questions"]]
    for q in questions[:5]:
        store.similarity_search(q.question, k=K)
    times, ranks = [], []
    for q in questions:
        t = time.perf_counter()
        found = store.similarity_search(q.question, k=K)
        times.append(time.perf_counter() - t)
        sources = [SimpleNamespace(doc_id=d.metadata["doc_id"], text=d.page_content)
                   for d in found]
        ranks.append(first_answering_rank(q, sources))
    return {
        "side": "langchain",
        "model_load_s": round(load_s, 2),
        "build_s": round(build_s, 3),
        "chunks": len(docs),
        "faiss_type": type(store.index).__name__,
        "query": latency(times),
        "ranks": ranks,
        "peak_rss_after_build_mb": round(rss_after_build, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


# --- main --------------------------------------------------------------------------


def _build(corpus: Path, index_dir: Path, precision: str) -> tuple[np.ndarray, list, list]:
    """Build our index (untimed); returns its vectors, chunk texts and doc ids in id order."""
    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
    from rag.indexing.build import update_index
    from rag.store import vectors as vector_index
    from rag.store.folder import current_version, read_manifest
    from rag.store.index import Index as StoredIndex

    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir, precision=precision)
    update_index(settings, Embedder.from_settings(settings), rebuild=True, progress=False)
    index = StoredIndex(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]
    _, vectors = vector_index.all_vectors(index.vectors)
    texts, docs = list(index.all_texts()), list(index.row_docs)
    index.close()
    shutil.rmtree(index_dir, ignore_errors=True)
    return vectors, texts, docs


def prepare(work: Path, quick: bool, max_questions: int | None) -> dict[str, Any]:
    """Copy the corpus, build our index once in fp32 and once as configured (untimed: the
    chunks for LangChain and the fp32 cosine), and write ``spec.json`` for the workers."""
    from rag.embed.e5.build import ensure_default_model

    corpus = work / "corpus"
    corpus.mkdir(parents=True)
    sources = [SEED_CORPUS] if quick else [XQUAD_CORPUS, SEED_CORPUS]
    for folder in sources:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".txt", ".md"):
                shutil.copy(path, corpus / path.name)
    model_dir = ensure_default_model(Settings.from_env().paths.model_cache_dir)
    fast, texts, docs = _build(corpus, work / "index-fast", Settings.from_env().model.precision)
    exact, texts32, _ = _build(corpus, work / "index-fp32", "fp32")
    if texts32 != texts:
        raise SystemExit("the fp32 build chunked differently")
    cos = np.sum(fast * exact, axis=1)
    cosine = {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5),
              "p01": round(float(np.percentile(cos, 1)), 5), "n": len(cos)}
    qsets = [("seed", SEED_QUESTIONS)] if quick else [("xquad", XQUAD_QUESTIONS)]
    questions = []
    for name, path in qsets:
        for q in load_questions(path):
            if not q.no_answer:
                questions.append({**q.__dict__, "set": name})
    if max_questions:
        questions = questions[:max_questions]
    spec = {
        "model_dir": str(model_dir),
        "corpus": [str(s) for s in sources],
        "chunks": [{"text": t, "doc_id": d} for t, d in zip(texts, docs, strict=True)],
        "questions": [{k: v for k, v in q.items() if k != "set"} for q in questions],
        "question_sets": sorted({q["set"] for q in questions}),
        "cosine_fast_vs_fp32": cosine,
    }
    (work / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return spec


def run_worker(side: str, work: Path) -> dict[str, Any]:
    """Run one side in a fresh subprocess; returns its JSON result."""
    cmd = [sys.executable, __file__, "--worker", side, "--work", str(work)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"worker {side} failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(rounds: list[dict[str, Any]], side: str, langs: list[str]) -> dict[str, Any]:
    """Best build, median latencies, hit@k (identical across rounds), max peak RSS."""
    runs = [r for r in rounds if r["side"] == side]
    out: dict[str, Any] = {
        "build_s_best": min(r["build_s"] for r in runs),
        "build_s_median": round(statistics.median(r["build_s"] for r in runs), 3),
        "build_s_all": [r["build_s"] for r in runs],
        "model_load_s": min(r["model_load_s"] for r in runs),
        "chunks": runs[0]["chunks"],
        "faiss_type": runs[0]["faiss_type"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_rss_after_build_mb": max(r["peak_rss_after_build_mb"] for r in runs),
        "hits": rank_stats(runs[0]["ranks"], langs),
    }
    for key in ("ask", "retrieval", "query"):
        if key in runs[0]:
            out[key] = {m: round(statistics.median(r[key][m] for r in runs), 2)
                        for m in runs[0][key]}
    if side == "ours":
        out["precision"] = runs[0]["precision"]
    return out


def main() -> None:
    """Parse arguments; run the comparison (or, with ``--worker``, one side)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (alternating)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed corpus and questions, 1 round, 20 questions")
    parser.add_argument("--max-questions", type=int, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "vs_langchain.json")
    parser.add_argument("--worker", choices=["ours", "langchain"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if args.worker:
        result = (worker_ours if args.worker == "ours" else worker_langchain)(args.work)
        print(json.dumps(result))
        return

    rounds_n = 1 if args.quick else args.rounds
    max_q = args.max_questions or (20 if args.quick else None)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"load {info['load_avg_1m']}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vs-langchain-", dir=RESULTS))
    try:
        spec = prepare(work, args.quick, max_q)
        langs = [q["lang"] for q in spec["questions"]]
        print(f"corpus: {len(spec['chunks'])} chunks; questions: {len(langs)} "
              f"({', '.join(spec['question_sets'])}); rounds per side: {rounds_n}", flush=True)
        rounds = []
        for r in range(rounds_n):
            for side in ("ours", "langchain"):
                res = run_worker(side, work)
                res["round"] = r
                rounds.append(res)
                extra = (f"ask p50 {res['ask']['p50_ms']} ms" if side == "ours"
                         else f"query p50 {res['query']['p50_ms']} ms")
                print(f"  round {r} {side:9}: build {res['build_s']:7.2f} s, {extra}, "
                      f"peak RSS {res['peak_rss_mb']:.0f} MiB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ours, base = summarize(rounds, "ours", langs), summarize(rounds, "langchain", langs)
    report = {
        "machine": info,
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
        "corpus": spec["corpus"],
        "chunks": len(spec["chunks"]),
        "questions": len(langs),
        "question_sets": spec["question_sets"],
        "rounds_per_side": rounds_n,
        "rss_method": "each side in its own subprocess per round; peak = VmHWM of "
                      "/proc/self/status (model load + build + queries)",
        "ours": ours,
        "langchain": base,
        "build_speedup_best": round(base["build_s_best"] / ours["build_s_best"], 2),
        "build_speedup_median": round(base["build_s_median"] / ours["build_s_median"], 2),
        "latency_ratio_p50_retrieval": round(base["query"]["p50_ms"]
                                             / ours["retrieval"]["p50_ms"], 2),
        "latency_ratio_p50_ask": round(base["query"]["p50_ms"] / ours["ask"]["p50_ms"], 2),
        "cosine_fast_vs_fp32": spec["cosine_fast_vs_fp32"],
        "rounds": [{k: v for k, v in r.items() if k != "ranks"} for r in rounds],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_table(report)
    print(f"written: {args.out}")


def print_table(report: dict[str, Any]) -> None:
    """The comparison as a Markdown table."""
    o, b = report["ours"], report["langchain"]
    rows = [
        ("index build, best (s)", f"{o['build_s_best']:.2f}", f"{b['build_s_best']:.2f}",
         f"{report['build_speedup_best']:.2f}x faster"),
        ("index build, median (s)", f"{o['build_s_median']:.2f}", f"{b['build_s_median']:.2f}",
         f"{report['build_speedup_median']:.2f}x faster"),
        ("query p50 / p95 (ms), retrieval",
         f"{o['retrieval']['p50_ms']:.1f} / {o['retrieval']['p95_ms']:.1f}",
         f"{b['query']['p50_ms']:.1f} / {b['query']['p95_ms']:.1f}",
         f"{report['latency_ratio_p50_retrieval']:.2f}x (p50)"),
        ("query p50 / p95 (ms), ours ask()",
         f"{o['ask']['p50_ms']:.1f} / {o['ask']['p95_ms']:.1f}", "-",
         f"{report['latency_ratio_p50_ask']:.2f}x (p50)"),
    ]
    for lang in o["hits"]:
        oh, bh = o["hits"][lang], b["hits"][lang]
        rows.append((f"hit@1 / hit@5 ({lang}, n={oh['n']})",
                     f"{oh['hit@1']:.3f} / {oh['hit@5']:.3f}",
                     f"{bh['hit@1']:.3f} / {bh['hit@5']:.3f}", ""))
    rows += [
        ("peak RSS (MiB)", f"{o['peak_rss_mb']:.0f}", f"{b['peak_rss_mb']:.0f}", ""),
        ("model load (s)", f"{o['model_load_s']:.1f}", f"{b['model_load_s']:.1f}", ""),
        ("vectors", f"{o['faiss_type']} ({o['precision']})", f"{b['faiss_type']} (fp32)", ""),
    ]
    c = report["cosine_fast_vs_fp32"]
    print(f"\n{report['chunks']} chunks, {report['questions']} questions, "
          f"{report['rounds_per_side']} round(s) per side, load {report['machine']['load_avg_1m']}"
          f" -> {report['load_avg_1m_end']}")
    print("| | ours | LangChain | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"cosine(our vectors, fp32): min {c['min']}, mean {c['mean']} (n={c['n']})")


if __name__ == "__main__":
    main()
