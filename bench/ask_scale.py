"""``ask()`` end to end (hybrid search + answer) on a synthetic index of N chunks.

The index is grown from a real index built by the product (``--base``, e.g. the 997
Wikinews articles: real chunk texts, real passage and sentence vectors) and written with
the product's ``VersionWriter`` (so with the configured keyword store and, from
``ann_threshold`` chunks, the IVF vector index): copy 0 is the real chunks, copy c >= 1
of chunk b gets vectors ``normalize(x_b + sigma * g)`` (passage and each sentence, g ~
N(0, I), seeded) and its text perturbed sentence by sentence (12 % of the words replaced
by corpus words, 2 % by invented names, as in bench/keywords.py), under the article id
``<doc>~c``. To write 1M chunks in minutes on 2 cores, copy c takes text variant
``(c - 1) % --variants`` of its base chunk (vectors stay distinct per copy), and the
German term analysis is memoised per distinct text in this process: the keyword store
gets exactly the documents the product would write for these texts.
Then ``Pipeline.ask`` for every question of ``--questions`` (``--passes``
times, after 10 warm-up questions), timed one by one as a user sees it: query embedding,
language detection, dense + keyword search, fusion, sentence rerank, diversification,
SQLite fetches and answer extraction.

    python bench/ask_scale.py --base index-wikinews/ --size 1000000 \\
        --questions ../shared/eval/wikinews-de/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from keywords import fmt_n, load_avg, pct, peak_rss_mb, rss_mb  # noqa: E402
from scale import TextPerturber, read_index_rows  # noqa: E402

from rag.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def write_index(base: Path, n: int, index_dir: Path, sigma: float,
                variants: int) -> dict[str, Any]:
    """An ``n``-chunk index grown from ``base`` (see the module doc)."""
    import functools

    import faiss

    from rag.store import keywords_tantivy

    keywords_tantivy.tokenize = functools.lru_cache(maxsize=None)(keywords_tantivy.tokenize)

    from rag.store.folder import current_version, remove_stale_versions
    from rag.store.index import VersionWriter
    from rag.store.manifest import Manifest
    from rag.store.vectors import all_vectors, read

    rows, docs, manifest = read_index_rows(base)
    nb, dim = len(rows), int(manifest["model"]["dim"])
    ids, vecs = all_vectors(read(current_version(base) / "vectors.faiss"))
    base_vecs = vecs[np.argsort(ids)]
    perturber = TextPerturber([r[3] for r in rows])
    pool: dict[tuple[int, int], tuple[str, list[list[int]]]] = {}
    spans_of = [json.loads(r[6]) for r in rows]
    rng = np.random.default_rng(11)
    shutil.rmtree(index_dir, ignore_errors=True)
    index_dir.mkdir(parents=True)
    settings = Settings.from_env(index_dir=index_dir)
    t0 = time.perf_counter()
    writer = VersionWriter(index_dir, None, dim, settings.index)
    step = 10_000
    for start in range(0, n, step):
        batch, vectors = [], np.empty((min(n, start + step) - start, dim), dtype=np.float32)
        for k, j in enumerate(range(start, min(n, start + step))):
            r = rows[j % nb]
            copy = j // nb
            spans = spans_of[j % nb]
            sv = np.frombuffer(r[7], dtype=np.float16).astype(np.float32).reshape(-1, dim)
            v = base_vecs[j % nb].copy()
            text = r[3]
            doc_id = r[2]
            if copy:
                doc_id = f"{r[2]}~{copy}"
                key = (j % nb, (copy - 1) % variants)
                if key not in pool:
                    pool[key] = perturber.perturb(text, spans)
                text, spans = pool[key]
                sv = sv + sigma * rng.standard_normal(sv.shape, dtype=np.float32)
                faiss.normalize_L2(sv)
                v = v + sigma * rng.standard_normal(dim, dtype=np.float32)
                v /= np.linalg.norm(v)
            vectors[k] = v
            batch.append((j, f"{doc_id}#{r[1].rsplit('#', 1)[-1]}", doc_id, text, 0,
                          len(text), spans, sv))
        writer.add_chunks(batch, vectors)
        if start % 100_000 == 0:
            print(f"  {start + len(batch)} rows written ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    copies = (n + nb - 1) // nb
    from rag.types import DocMeta

    for copy in range(copies):
        for d in docs:
            writer.add_doc(DocMeta(d[0] if copy == 0 else f"{d[0]}~{copy}", *d[2:]), d[1])
    rows_s = time.perf_counter() - t0
    m = Manifest(model=manifest["model"], chunking=manifest["chunking"], files={},
                 counts={"articles": len(docs) * copies}, next_id=n)
    t1 = time.perf_counter()
    final = writer.publish(m)
    publish_s = time.perf_counter() - t1
    remove_stale_versions(index_dir, keep=final)
    disk = {p.name: round(sum(f.stat().st_size for f in ([p] if p.is_file() else p.rglob("*"))
                              if f.is_file()) / 2**20, 1) for p in final.iterdir()}
    return {"base_chunks": nb, "write_rows_s": round(rows_s, 1),
            "publish_s": round(publish_s, 1), "disk_mb": disk,
            "faiss_type": m.faiss_type, "keyword_backend": m.keyword_backend,
            "writer_peak_rss_mb": round(peak_rss_mb(), 1)}


def measure(index_dir: Path, questions: list[dict], passes: int) -> dict[str, Any]:
    """ask() latency over ``questions`` x ``passes`` after 10 warm-up questions."""
    from rag.embed import load_embedder
    from rag.pipeline import Pipeline

    settings = Settings.from_env(index_dir=index_dir)
    embedder = load_embedder(settings)
    before = rss_mb()
    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    t0 = time.perf_counter()
    index = pipeline.index
    load_s = time.perf_counter() - t0
    index_mb = rss_mb() - before
    for q in questions[-10:]:  # warm-up: the last ten, measured again at the end
        pipeline.ask(q["question"])
    load = load_avg()
    times, found = [], 0
    per_lang: dict[str, list[float]] = {}
    # The query embedding inside each ask, timed where it runs (the rest of the ask is
    # search + answer: what the index size changes).
    spent: list[float] = []
    encode = embedder.encode_queries

    def timed_encode(texts: list[str]) -> np.ndarray:
        t = time.perf_counter()
        try:
            return encode(texts)
        finally:
            spent.append(time.perf_counter() - t)

    embedder.encode_queries = timed_encode  # type: ignore[method-assign]
    rest = []
    for _ in range(passes):
        for q in questions:
            spent.clear()
            t = time.perf_counter()
            answer = pipeline.ask(q["question"])
            dt = time.perf_counter() - t
            times.append(dt)
            rest.append(dt - sum(spent))
            per_lang.setdefault(q["lang"], []).append(dt)
            found += bool(answer.sources and q.get("expected_sources")
                          and answer.sources[0].doc_id.split("~")[0] in q["expected_sources"])
    del embedder.encode_queries
    return {"chunks": index.size, "faiss_type": index.manifest.faiss_type,
            "keyword_backend": index.manifest.keyword_backend,
            "index_load_s": round(load_s, 2), "index_rss_mb": round(index_mb, 1),
            "asks": len(times), "ask_p50_ms": pct(times, 50), "ask_p95_ms": pct(times, 95),
            "ask_mean_ms": round(float(np.mean(times)) * 1000, 2),
            "by_lang_p50_ms": {k: pct(v, 50) for k, v in per_lang.items()},
            "without_query_embedding_p50_ms": pct(rest, 50),
            "without_query_embedding_p95_ms": pct(rest, 95),
            "top1_original_article_share": round(found / len(times), 3),
            "load_avg_start": load, "load_avg_end": load_avg()}


def update_one_article(index_dir: Path) -> dict[str, Any]:
    """The product's update path for one changed article, without embedding: remove an
    article's chunks and add 7 new ones (``VersionWriter``: chunk store copy, vector
    remove/add, keyword store on top of the previous segments, publish), timed by part."""
    from rag.store.folder import current_version, read_manifest, remove_stale_versions
    from rag.store.index import Index, VersionWriter

    settings = Settings.from_env(index_dir=index_dir)
    base = Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]
    victim = base.row_docs[len(base.row_docs) // 2]
    some = base.chunks(base.row_ids[:7].tolist())
    t0 = time.perf_counter()
    writer = VersionWriter(index_dir, base, base.vectors.d, settings.index)
    opened = time.perf_counter()
    writer.remove_doc(victim)
    nid = base.manifest.next_id
    rows = [(nid + i, f"zz_neu.txt#{i}", "zz_neu.txt", c.text, c.start, c.end,
             [list(x) for x in c.sentences], c.sentence_vectors)
            for i, c in enumerate(some.values())]
    writer.add_chunks(rows, np.stack([base.vectors.reconstruct(int(i)) for i in some]))
    from rag.types import DocMeta

    writer.add_doc(DocMeta("zz_neu.txt", "Neu", None, None, None, None), "0" * 64)
    changed = time.perf_counter()
    manifest = base.manifest
    manifest.next_id = nid + len(rows)
    final = writer.publish(manifest)
    done = time.perf_counter()
    base.close()
    remove_stale_versions(index_dir, keep=final)
    after = Index(final, read_manifest(index_dir))
    size = after.size
    after.close()
    return {"total_s": round(done - t0, 2), "open_copy_s": round(opened - t0, 2),
            "remove_add_s": round(changed - opened, 2), "publish_s": round(done - changed, 2),
            "chunks_after": size, "load_avg": load_avg()}


def main() -> None:
    """Parse arguments, write the index (unless --reuse), measure, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="a real index folder")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--questions", type=Path, nargs="+", required=True,
                        help="question files (distinct questions: the pipeline caches the "
                        "vector of a question it has seen)")
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--sigma", type=float, default=0.02)
    parser.add_argument("--variants", type=int, default=8, help="text variants per chunk")
    parser.add_argument("--work", type=Path, default=RESULTS / "ask-scale")
    parser.add_argument("--reuse", action="store_true", help="measure an index written before")
    parser.add_argument("--keep", action="store_true", help="keep the written index")
    parser.add_argument("--update", action="store_true",
                        help="then time the update of one article (product path, no model)")
    args = parser.parse_args()
    index_dir = args.work / f"index-{fmt_n(args.size)}"
    out: dict[str, Any] = {"size": args.size, "cores": os.cpu_count()}
    if not args.reuse:
        print(f"writing {fmt_n(args.size)} chunks (load {load_avg()}) ...", flush=True)
        out["written"] = write_index(args.base, args.size, index_dir, args.sigma, args.variants)
        out["written"]["text_variants"] = args.variants
        print("  " + json.dumps(out["written"]), flush=True)
    questions, seen = [], set()
    for path in args.questions:
        for line in path.read_text().splitlines():
            q = json.loads(line) if line else None
            if q and q["question"] not in seen:
                seen.add(q["question"])
                questions.append(q)
    if args.passes:
        out["ask"] = measure(index_dir, questions, args.passes)
        print(json.dumps(out["ask"], indent=2), flush=True)
    if args.update:
        out["update_one_article"] = update_one_article(index_dir)
        print(json.dumps(out["update_one_article"]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "ask_scale.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    old[fmt_n(args.size)] = {**old.get(fmt_n(args.size), {}), **out}
    path.write_text(json.dumps(old, indent=2))
    if not args.keep:
        shutil.rmtree(index_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
