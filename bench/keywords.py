"""Keyword store options side by side: tantivy segments vs bm25s rebuilt on every update.

Steps (``--steps``):

``quality``
    For each real index given with ``--index NAME=DIR:QUESTIONS.jsonl`` (built by the
    product with real embeddings): a copy converted to each backend (the product's
    ``VersionWriter`` refills the keyword store from the chunk store; vectors and chunks
    stay identical), then German hit@1 of the keyword search alone (top chunk's article
    in ``expected_sources``) and hit@1 of the fused ranking (``Pipeline.ask``'s first
    source) per language, over the set's answerable questions.
``scale``
    For every size in ``--sizes`` and each backend, in a subprocess (own peak RSS): chunk
    texts (the real chunks of a synthetic 10k-chunk German corpus, as in
    ``bench/scale.py``: the xquad-de and seed sentences recombined into articles and cut
    by the product's chunker; above 10k perturbed copies: 12 % of the words replaced by
    corpus words, 2 % by invented names), a full build with the product's writer (peak
    RSS of the whole process; tantivy streams the texts, bm25s holds them all, as in the
    product), disk size, open time and RSS, search p50/p95 for the 1264 xquad-de
    questions' terms (depth 50), and the update of one article (remove the chunks of one
    article, add 7 new ones, publish: what ``update_index`` does to the keyword store).

    python bench/keywords.py --steps quality \
        --index xquad=INDEX_DIR:../shared/eval/xquad-de/questions.jsonl
    python bench/keywords.py --steps scale --sizes 100000 1000000

Prints figures and merges them into bench/results/keywords.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale import TextPerturber, source_articles, synthetic_article  # noqa: E402

from rag.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared")) / "eval"
QUESTIONS = SHARED / "xquad-de" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "keywords"
BACKENDS = ("tantivy", "bm25s")


def rss_mb() -> float:
    """Resident memory of this process (MB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): ``VmHWM`` (``ru_maxrss`` would carry the
    parent's peak across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    """Percentile ``q`` of seconds, in ms."""
    return round(float(np.percentile(values, q)) * 1000, 3)


def load_avg() -> float:
    """1-minute load average."""
    return round(os.getloadavg()[0], 2)


def fmt_n(n: int) -> str:
    """100000 -> 100k."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# --- quality on the shared sets ------------------------------------------------------


def step_quality(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """hit@1 of keyword search alone and of the fused ranking, per backend and set."""
    from rag.embed import load_embedder
    from rag.pipeline import Pipeline
    from rag.retrieve.search import keyword_terms
    from rag.store.folder import current_version, read_manifest
    from rag.store.index import Index, VersionWriter
    from rag.store.manifest import Manifest

    embedder = load_embedder(Settings.from_env())
    out = report.setdefault("quality", {})
    for spec in args.index:
        name, rest = spec.split("=", 1)
        src, qfile = rest.rsplit(":", 1)
        questions = [json.loads(x) for x in Path(qfile).read_text().splitlines() if x]
        questions = [q for q in questions if q.get("expected_sources")]
        row: dict[str, Any] = {"questions": len(questions)}
        for backend in BACKENDS:
            index_dir = WORK / f"quality-{name}-{backend}"
            shutil.rmtree(index_dir, ignore_errors=True)
            shutil.copytree(src, index_dir)
            settings = Settings.from_env(index_dir=index_dir, keyword_backend=backend)
            base = Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]
            if base.manifest.keyword_backend != backend:
                writer = VersionWriter(index_dir, base, base.vectors.d, settings.index)
                manifest = Manifest(**{**base.manifest.__dict__})
                writer.publish(manifest)
            base.close()
            pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
            index = pipeline.index
            assert index.manifest.keyword_backend == backend
            kw_hits = {"de": [], "en": []}
            fused = {"de": [], "en": []}
            for q in questions:
                ids, _ = index.keywords.search(keyword_terms(q["question"], q["lang"]), 1)
                doc = index.row_docs[int(index.rows_of(ids[:1])[0])] if len(ids) else None
                kw_hits[q["lang"]].append(doc in q["expected_sources"])
                answer = pipeline.ask(q["question"])
                top = answer.sources[0].doc_id if answer.sources else None
                fused[q["lang"]].append(top in q["expected_sources"])
            row[backend] = {
                "keywords_hit1_de": round(float(np.mean(kw_hits["de"])), 4) if kw_hits["de"]
                else None,
                "fused_hit1_de": round(float(np.mean(fused["de"])), 4) if fused["de"] else None,
                "fused_hit1_en": round(float(np.mean(fused["en"])), 4) if fused["en"] else None,
                "n_de": len(fused["de"]), "n_en": len(fused["en"]),
            }
            shutil.rmtree(index_dir, ignore_errors=True)
        out[name] = row
        print(f"quality {name}: {json.dumps(row)}", flush=True)
        save(report)


# --- synthetic texts at scale ----------------------------------------------------------


def base_texts(n_base: int) -> list[tuple[str, str]]:
    """(doc id, chunk text) of the 10k-chunk synthetic corpus, cached as JSON."""
    path = WORK / f"base-texts-{fmt_n(n_base)}.json"
    if path.is_file():
        return [tuple(x) for x in json.loads(path.read_text())]
    from rag.embed import load_embedder
    from rag.ingest.chunking import chunk_article
    from rag.ingest.corpus import read_article

    settings = Settings.from_env()
    count = load_embedder(settings).count_tokens
    c = settings.chunking
    folder = WORK / "corpus-tmp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources, rng = source_articles(), random.Random(7)
    out: list[tuple[str, str]] = []
    n = 0
    while len(out) < n_base:
        p = folder / f"{n:06d}_bericht.txt"
        p.write_text(synthetic_article(rng, sources, n), encoding="utf-8")
        for ch in chunk_article(read_article(p, folder), chunk_tokens=c.chunk_tokens,
                                overlap_tokens=c.chunk_overlap_tokens, count_tokens=count,
                                paragraph_tokens=c.paragraph_tokens):
            out.append((ch.doc_id, ch.text))
        n += 1
    shutil.rmtree(folder, ignore_errors=True)
    path.write_text(json.dumps(out, ensure_ascii=False))
    return out


def texts_at(n: int, base: list[tuple[str, str]]) -> Iterator[tuple[int, str, str]]:
    """(chunk id, doc id, text) of ``n`` chunks: the base, then perturbed copies."""
    perturber = TextPerturber([t for _, t in base])
    nb = len(base)
    for j in range(n):
        doc, text = base[j % nb]
        copy = j // nb
        yield (j, doc if copy == 0 else f"{doc}~{copy}",
               text if copy == 0 else perturber.perturb_text(text))


def scale_worker(args: argparse.Namespace) -> None:
    """(Subprocess) one backend at one size: build, open, search, update one article."""
    from rag.store.keywords import open_store, open_writer
    from rag.text.terms import anchor_terms, tokenize

    n, backend = args.worker_n, args.worker_backend
    base = base_texts(args.base_chunks)
    questions = [json.loads(x) for x in QUESTIONS.read_text().splitlines() if x]
    terms = [tokenize(q["question"]) if q["lang"] == "de" else anchor_terms(q["question"])
             for q in questions]
    gc.collect()
    rss_start = rss_mb()
    root = WORK / f"scale-{backend}-{fmt_n(n)}"
    shutil.rmtree(root, ignore_errors=True)
    v1 = root / "v1"
    v1.mkdir(parents=True)
    ids = np.arange(n, dtype=np.int64)
    t0 = time.perf_counter()
    writer = open_writer(v1, backend, None, heap_bytes=Settings().index.keyword_writer_mb * 10**6)
    if backend == "tantivy":  # streamed, as VersionWriter.add_chunks feeds it
        batch: list[tuple[int, str, str]] = []
        for row in texts_at(n, base):
            batch.append(row)
            if len(batch) == 20_000:
                writer.add(batch)
                batch = []
        writer.add(batch)
        count = writer.finish(lambda: iter(()))
    else:  # the product's bm25s writer reads every text at publish time
        count = writer.finish(lambda: texts_at(n, base))
    build_s = time.perf_counter() - t0
    peak_build = peak_rss_mb()
    assert count == n, (count, n)
    del writer
    gc.collect()
    disk = sum(p.stat().st_size for p in v1.rglob("*") if p.is_file())
    before = rss_mb()
    t0 = time.perf_counter()
    store = open_store(v1, backend, ids)
    open_s = time.perf_counter() - t0
    opened_mb = rss_mb() - before
    for t in terms[:20]:
        store.search(t, 50)
    times = []
    for t in terms:
        t0 = time.perf_counter()
        store.search(t, 50)
        times.append(time.perf_counter() - t0)
    rss_searched = rss_mb() - before
    segments = getattr(store, "segments", None)
    store.close()
    # Update one article: remove the chunks of one, add 7 new ones, publish.
    victim_doc = f"{base[0][0]}~1" if n > len(base) else base[0][0]
    removed = sum(1 for d, _ in base if d == base[0][0])
    new_rows = [(n + i, "zz_neu.txt", f"Quokkafest {base[i][1]}") for i in range(7)]
    v2 = root / "v2"
    v2.mkdir()
    t0 = time.perf_counter()
    upd = open_writer(v2, backend, v1, heap_bytes=Settings().index.keyword_writer_mb * 10**6)
    upd.remove_doc(victim_doc)
    upd.add(new_rows)
    if backend == "tantivy":
        count2 = upd.finish(lambda: iter(()))
    else:
        def rows() -> Iterator[tuple[int, str, str]]:
            yield from (r for r in texts_at(n, base) if r[1] != victim_doc)
            yield from new_rows
        count2 = upd.finish(rows)
    update_s = time.perf_counter() - t0
    after = open_store(v2, backend, np.arange(n + 7, dtype=np.int64))
    found, _ = after.search(tokenize("Quokkafest"), 10)
    after.close()
    shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({
        "n": n, "backend": backend, "build_s": round(build_s, 2),
        "rss_start_mb": round(rss_start, 1), "peak_rss_build_mb": round(peak_build, 1),
        "disk_mb": round(disk / 2**20, 1), "open_s": round(open_s, 3),
        "opened_rss_mb": round(opened_mb, 1), "rss_after_search_mb": round(rss_searched, 1),
        "segments": segments, "search_p50_ms": pct(times, 50),
        "search_p95_ms": pct(times, 95), "update_one_article_s": round(update_s, 3),
        "after_update_docs": count2,
        "removed_chunks": removed,
        "new_article_found": sorted(found.tolist()) == list(range(n, n + 7)),
        "load_avg": load_avg(),
    }), flush=True)


def step_scale(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Each backend at each size, in its own subprocess."""
    base_texts(args.base_chunks)  # cache it once
    out = report.setdefault("scale", {})
    for n in args.sizes:
        for backend in args.backends:
            print(f"{backend} at {fmt_n(n)} (load {load_avg()}) ...", flush=True)
            cmd = [sys.executable, __file__, "--worker-n", str(n), "--worker-backend", backend,
                   "--base-chunks", str(args.base_chunks)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            key = f"{backend}-{fmt_n(n)}"
            if res.returncode != 0:
                sys.stderr.write(res.stderr[-3000:])
                out[key] = {"n": n, "backend": backend,
                            "error": res.stderr.strip().splitlines()[-1:]}
            else:
                out[key] = json.loads(res.stdout.strip().splitlines()[-1])
            print("  " + json.dumps(out[key]), flush=True)
            save(report)


def save(report: dict[str, Any]) -> None:
    """Merge ``report`` into bench/results/keywords.json."""
    path = RESULTS / "keywords.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    for k, v in report.items():
        old[k] = {**old.get(k, {}), **v} if isinstance(v, dict) else v
    path.write_text(json.dumps(old, indent=2))


def main() -> None:
    """Parse arguments and run the chosen steps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", nargs="+", default=["quality", "scale"])
    parser.add_argument("--index", action="append", default=[],
                        help="NAME=INDEX_DIR:QUESTIONS.jsonl (quality step; repeatable)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--base-chunks", type=int, default=10_000)
    parser.add_argument("--worker-n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-backend", help=argparse.SUPPRESS)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.worker_n:
        scale_worker(args)
        return
    report: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "load_avg": load_avg()}}
    if "quality" in args.steps:
        step_quality(args, report)
    if "scale" in args.steps:
        step_scale(args, report)


if __name__ == "__main__":
    main()
