"""How cost grows with the archive: 10k real chunks, then 100k and 1M synthetic ones.

Steps (``--steps``, all by default):

``base``
    A synthetic German corpus of at least ``--base-chunks`` chunks, assembled from the
    shared material: the sentences of the 24 XQuAD-de articles and the 5 seed articles,
    recombined into distinct articles (seeded RNG): each article takes a source article's
    title plus ``- Bericht <n>``; 4-9 paragraphs of 2-6 sentences, each sentence drawn
    (without repetition inside the article) from the source article (80 %) or a random
    other one (20 %), in random order. It is indexed with the product's
    ``update_index(rebuild=True)`` (real embeddings; timed: the full build), into
    ``bench/results/scale/``; the vectors are cached as ``.npy``. A finished index of the
    same corpus is reused (its recorded build time is reported, ``cached: true``).
    Then one more synthetic article is added (``update_index``, timed: incremental add)
    and removed again.
``vectors``
    For every size in ``--sizes``: exact (``IDMap2,Flat``) and the product's approximate
    index (:func:`rag.store.vectors.build_approximate`, ``IVF<nlist>,SQ8``): build time,
    memory, single-query search p50/p95 and recall@10 against exact search, for the
    xquad-de questions' real query vectors. Above the base size the vectors are perturbed
    copies of the real ones: ``normalize(x_b + sigma * g)``, ``g ~ N(0, I)``, copy ``c`` of
    base vector ``b`` for chunk ``c * n_base + b`` (copy 0 is the real vector).
``compare``
    At the largest size: IVF codecs (SQ8, SQfp16, PQ48) sharing one trained coarse
    quantizer, with an nprobe sweep; HNSW32 (flat and SQ8) at ``--hnsw-size``.
``bm25``
    For every size, in a subprocess each (own peak RSS): the product's
    ``Bm25sKeywords.build`` over chunk texts (perturbed copies of the real texts above the
    base size: 12 % of the words replaced by words drawn from the corpus's word frequency,
    2 % by new invented names, so postings and vocabulary grow realistically), save, load,
    and search p50/p95 for the xquad-de questions (depth 50).
``ask``
    A ``--ask-size`` index (default 100k) written with the product's ``VersionWriter``
    from synthetic rows (perturbed vectors, texts, sentence vectors), then ``Pipeline.ask``
    p50/p95 for the xquad-de questions, with the time split over its parts, for each of
    ``--ask-variants``: ``flat``/``ivf`` (index type), ``-faiss1`` / ``-torch1`` (FAISS /
    torch limited to one thread).

    python bench/scale.py --quick              # smoke run: ~400 chunks, small sizes
    python bench/scale.py                      # 10k real, 100k, 1M (an hour on 2 cores)
    python bench/scale.py --steps vectors compare --sizes 1000000

Figures are printed and merged into bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.settings import IndexSettings, Settings  # noqa: E402
from rag.store import vectors as vector_index  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SOURCES = [SHARED / "xquad-de" / "corpus", ROOT / "corpus"]
QUESTIONS = SHARED / "xquad-de" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "scale"
_WORD = re.compile(r"\w+|\W+")


# --- small helpers -----------------------------------------------------------------


def rss_mb() -> float:
    """Current resident set size in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    """Percentile ``q`` of ``values`` (seconds) in milliseconds, rounded."""
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 3) if values else 0.0


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def load_avg() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def machine() -> dict[str, Any]:
    """CPU model, cores, memory."""
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                  if ln.startswith("Model name")), "")
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal"))
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "faiss": faiss.__version__, "faiss_threads": faiss.omp_get_max_threads()}


def fmt_n(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --- the synthetic corpus ----------------------------------------------------------


def source_articles(folders: list[Path] = SOURCES) -> list[tuple[str, list[str]]]:
    """(title, sentences) of every article in ``folders``."""
    from rag.ingest.corpus import read_corpus
    from rag.text.sentences import split_sentences

    out = []
    for folder in folders:
        articles, _ = read_corpus(folder)
        for a in articles:
            body = a.text.split("\n", 1)[1] if a.text.startswith(a.title) else a.text
            sents = [body[s:e].strip() for s, e in split_sentences(body)]
            out.append((a.title, [s for s in sents if len(s) > 20]))
    return out


def synthetic_article(rng: random.Random, sources: list[tuple[str, list[str]]], n: int) -> str:
    """One recombined article (see the module doc)."""
    title, own = sources[rng.randrange(len(sources))]
    used: set[str] = set()
    paragraphs = []
    for _ in range(rng.randint(4, 9)):
        para = []
        for _ in range(rng.randint(2, 6)):
            pool = own if rng.random() < 0.8 else sources[rng.randrange(len(sources))][1]
            for _ in range(5):
                sentence = pool[rng.randrange(len(pool))]
                if sentence not in used:
                    used.add(sentence)
                    para.append(sentence)
                    break
        if para:
            paragraphs.append(" ".join(para))
    return f"{title} - Bericht {n}\n\n" + "\n\n".join(paragraphs) + "\n"


def make_corpus(folder: Path, target_chunks: int, seed: int = 7) -> tuple[int, int]:
    """Write synthetic articles into ``folder`` until the product's chunker (with the
    current settings) makes at least ``target_chunks`` chunks of them.

    Returns (articles, chunks).
    """

    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
    from rag.ingest.chunking import chunk_corpus
    from rag.ingest.corpus import read_article

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = Settings.from_env()
    count = Embedder.from_settings(settings).count_tokens
    options: dict[str, Any] = {"chunk_tokens": settings.chunking.chunk_tokens,
                               "overlap_tokens": settings.chunking.chunk_overlap_tokens,
                               "count_tokens": count,
                               "paragraph_tokens": settings.chunking.paragraph_tokens}
    sources = source_articles()
    rng = random.Random(seed)
    chunks, n = 0, 0
    while chunks < target_chunks:
        path = folder / f"{n:06d}_bericht.txt"
        path.write_text(synthetic_article(rng, sources, n), encoding="utf-8")
        chunks += len(chunk_corpus([read_article(path, folder)], **options))
        n += 1
    (folder / ".target").write_text(f"{target_chunks} {seed}\n")
    return n, chunks


# --- step: base (real embeddings, full build, incremental add) ---------------------


def step_base(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Build (or reuse) the real-embedding index; time an incremental add and removal."""
    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
    from rag.indexing.build import model_signature, update_index
    from rag.pipeline import Pipeline
    from rag.store.folder import current_version, read_manifest

    corpus, index_dir = base_paths(args)
    marker = f"{args.base_chunks} 7\n"
    if not (corpus / ".target").is_file() or (corpus / ".target").read_text() != marker:
        n, c = make_corpus(corpus, args.base_chunks)
        print(f"corpus: {n} synthetic articles, {c} chunks, in {corpus}", flush=True)
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir)
    embedder = Embedder.from_settings(settings)
    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    cached = False
    try:
        manifest = read_manifest(index_dir)
        cached = (not args.rebuild and manifest.model == model_signature(embedder)
                  and not pipeline.is_stale())
    except Exception:  # noqa: BLE001 - no usable index: build it
        cached = False
    load = load_avg()
    if cached:
        build_s = manifest.build_seconds
        chunks = manifest.counts["chunks"]
        print(f"base index reused ({chunks} chunks, built in {build_s:.1f} s)", flush=True)
    else:
        print(f"building the base index (load {load}) ...", flush=True)
        rep, build_s = timed(lambda: update_index(settings, embedder, rebuild=True,
                                                  progress=args.progress))
        chunks = rep.chunks
        manifest = read_manifest(index_dir)
        print(f"  {chunks} chunks in {build_s:.1f} s ({chunks / build_s:.1f} chunks/s)",
              flush=True)
    # Cache the vectors for the synthetic sizes.
    index = pipeline.index
    ids, vectors = vector_index.all_vectors(index.vectors)
    np.save(base_vectors_path(args), vectors)
    index.close()
    pipeline._index = None  # noqa: SLF001 - reopened below

    # Incremental add of one article, then its removal (restores the cached index).
    new = corpus / "zz_neu.txt"
    new.write_text(synthetic_article(random.Random(99), source_articles(), 99_999),
                   encoding="utf-8")
    load_inc = load_avg()
    add, add_s = timed(lambda: update_index(settings, embedder, progress=False))
    new.unlink()
    rem, rem_s = timed(lambda: update_index(settings, embedder, progress=False))
    print(f"  incremental add of 1 article ({add.chunks - rem.chunks} chunks): {add_s:.2f} s "
          f"= {100 * add_s / build_s:.2f} % of the full build; removal {rem_s:.2f} s", flush=True)
    report["base"] = {
        "chunks": chunks,
        "articles": manifest.counts.get("articles"),
        "corpus": str(corpus.relative_to(ROOT)),
        "full_build_s": round(build_s, 2),
        "embed_rate_chunks_per_s": round(chunks / build_s, 2),
        "precision": embedder.precision,
        "cached": cached,
        "load_avg_at_build": None if cached else load,
        "built_at": manifest.built_at,
        "incremental_add_s": round(add_s, 3),
        "incremental_add_chunks": add.chunks - rem.chunks,
        "incremental_add_pct_of_full": round(100 * add_s / build_s, 3),
        "incremental_remove_s": round(rem_s, 3),
        "load_avg_at_incremental": load_inc,
        "version_folder": str(current_version(index_dir)),
    }


def base_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """Corpus and index folders of the base corpus."""
    tag = fmt_n(args.base_chunks)
    return WORK / f"corpus-{tag}", WORK / f"index-{tag}"


def base_vectors_path(args: argparse.Namespace) -> Path:
    """The cached real passage vectors of the base index (id order)."""
    return WORK / f"base-vectors-{fmt_n(args.base_chunks)}.npy"


def read_index_rows(index_dir: Path) -> tuple[list[tuple], list[tuple], dict[str, Any]]:
    """Chunk rows, doc rows and manifest of an index's current version (a whole chunk
    store, as a fresh build writes it; raises SystemExit when there is no index)."""
    from rag.store.folder import current_version

    folder = current_version(index_dir)
    if folder is None:
        raise SystemExit(f"no index in {index_dir}")
    db = sqlite3.connect(folder / "chunks.sqlite")
    rows = db.execute("SELECT id, chunk_id, doc_id, text, start, end, sentences, sent_vecs "
                      "FROM chunks ORDER BY id").fetchall()
    docs = db.execute("SELECT doc_id, content_hash, title, date, url, publisher, author "
                      "FROM docs").fetchall()
    db.close()
    return rows, docs, json.loads((folder / "manifest.json").read_text())


def base_rows(args: argparse.Namespace) -> dict[str, Any]:
    """The base index's chunks: texts, sentence spans, sentence vectors, docs, vectors."""
    _, index_dir = base_paths(args)
    rows, docs, manifest = read_index_rows(index_dir)
    return {"rows": rows, "docs": docs, "manifest": manifest,
            "vectors": np.load(base_vectors_path(args))}


def query_vectors(args: argparse.Namespace) -> tuple[np.ndarray, list[dict]]:
    """Real query vectors of the xquad-de questions (cached as .npy)."""
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line]
    questions = questions[: args.queries]
    path = WORK / f"queries-{len(questions)}.npy"
    if path.is_file():
        return np.load(path), questions
    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder

    embedder = Embedder.from_settings(Settings.from_env())
    vecs = embedder.encode_queries([q["question"] for q in questions])
    np.save(path, vecs)
    return vecs, questions


# --- synthetic data at scale -------------------------------------------------------


def synth_vectors(base: np.ndarray, n: int, sigma: float, seed: int = 11) -> np.ndarray:
    """``n`` unit vectors: the base vectors, then perturbed copies (see the module doc)."""
    nb, dim = base.shape
    out = np.empty((n, dim), dtype=np.float32)
    rng = np.random.default_rng(seed)
    block = 100_000
    for start in range(0, n, block):
        stop = min(n, start + block)
        idx = np.arange(start, stop)
        x = base[idx % nb].copy()
        noisy = idx >= nb
        if noisy.any():
            x[noisy] += sigma * rng.standard_normal((int(noisy.sum()), dim), dtype=np.float32)
        faiss.normalize_L2(x)
        out[start:stop] = x
    return out


class TextPerturber:
    """Perturbed copies of real chunk texts (see the module doc), sentence spans kept."""

    def __init__(self, texts: list[str], seed: int = 5) -> None:
        counts = Counter(w for t in texts for w in re.findall(r"\w{3,}", t))
        self.words = list(counts)
        weights = np.fromiter(counts.values(), dtype=np.float64)
        self.cum = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)
        syll = ["ber", "lin", "ka", "to", "mar", "sen", "dor", "wal", "ri", "zen", "hau",
                "gen", "lo", "ster", "an", "burg", "fel", "mi", "nor", "tal"]
        self.syll = syll

    def name(self) -> str:
        """A new invented name (capitalised, 3-4 syllables: ~200k possibilities)."""
        parts = self.rng.integers(0, len(self.syll), self.rng.integers(3, 5))
        return "".join(self.syll[p] for p in parts).capitalize()

    def perturb_text(self, text: str) -> str:
        """A copy of ``text`` with 12 % frequent-word and 2 % new-name replacements."""
        tokens = _WORD.findall(text)
        r = self.rng.random(len(tokens))
        picks = np.searchsorted(self.cum, self.rng.random(len(tokens)))
        for i, tok in enumerate(tokens):
            if tok[0].isalnum() and len(tok) >= 3:
                if r[i] < 0.02:
                    tokens[i] = self.name()
                elif r[i] < 0.14:
                    tokens[i] = self.words[min(int(picks[i]), len(self.words) - 1)]
        return "".join(tokens)

    def perturb(self, text: str, spans: list[list[int]]) -> tuple[str, list[list[int]]]:
        """``text`` perturbed sentence by sentence (:meth:`perturb_text`), with the new
        sentence spans."""
        pieces, new_spans, pos = [], [], 0
        for s, e in spans:
            sentence = self.perturb_text(text[s:e])
            if pieces:
                pieces.append(" ")
                pos += 1
            pieces.append(sentence)
            new_spans.append([pos, pos + len(sentence)])
            pos += len(sentence)
        return "".join(pieces), new_spans


def synth_texts(base_texts: list[str], base_spans: list[list[list[int]]], n: int,
                seed: int = 5) -> tuple[list[str], list[list[list[int]]]]:
    """``n`` chunk texts: the real ones, then perturbed copies."""
    perturber = TextPerturber(base_texts, seed)
    nb = len(base_texts)
    texts, spans = list(base_texts[: min(n, nb)]), list(base_spans[: min(n, nb)])
    for j in range(nb, n):
        t, s = perturber.perturb(base_texts[j % nb], base_spans[j % nb])
        texts.append(t)
        spans.append(s)
    return texts, spans


# --- step: vectors (exact vs approximate at each size) ------------------------------


def search_latency(index: Any, queries: np.ndarray, k: int = 50) -> dict[str, float]:
    """Single-query search latency (k=50, the retrieval depth), after 5 warm-up queries."""
    for q in queries[:5]:
        index.search(q.reshape(1, -1), k)
    times = []
    for q in queries:
        _, dt = timed(lambda q=q: index.search(q.reshape(1, -1), k))
        times.append(dt)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean share of the exact top-``k`` found in the approximate top-``k``."""
    hits = [len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


def exact_truth(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Exact top-``k`` ids (= rows) by inner product, batched."""
    _, ids = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    return ids


def step_vectors(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Exact vs the product's approximate index at every size."""
    base = np.load(base_vectors_path(args))
    queries, _ = query_vectors(args)
    config = Settings.from_env().index
    out = report.setdefault("vectors", {})
    for n in args.sizes:
        print(f"vectors at {fmt_n(n)} (load {load_avg()}) ...", flush=True)
        vectors = synth_vectors(base, n, args.sigma)
        ids = np.arange(n, dtype=np.int64)
        truth = exact_truth(vectors, queries)
        row: dict[str, Any] = {"n": n, "load_avg": load_avg()}
        if n <= args.max_flat:
            before = rss_mb()
            flat, dt = timed(lambda v=vectors: _flat(v))
            row["flat"] = {"build_s": round(dt, 2),
                           "memory_mb": round(vector_index.memory_bytes(flat) / 2**20, 1),
                           "rss_delta_mb": round(rss_mb() - before, 1),
                           **search_latency(flat, queries[:300])}
            del flat
            gc.collect()
        before = rss_mb()
        ivf, dt = timed(lambda v=vectors, i=ids: vector_index.build_approximate(v, i, config))
        rss_delta = rss_mb() - before
        _, found = ivf.search(queries, 10)
        row["ivf"] = {"type": vector_index.describe(ivf), "nprobe": config.ann_nprobe,
                      "build_s": round(dt, 2),
                      "memory_mb": round(vector_index.memory_bytes(ivf) / 2**20, 1),
                      "rss_delta_mb": round(rss_delta, 1),
                      "recall@10": recall_at(found, truth), **search_latency(ivf, queries[:300])}
        # remove + add one article's worth on the IVF index (what updates do)
        t = time.perf_counter()
        ivf.remove_ids(np.arange(0, 10, dtype=np.int64))
        rm_s = time.perf_counter() - t
        t = time.perf_counter()
        ivf.add_with_ids(vectors[:10], np.arange(n, n + 10, dtype=np.int64))
        add_s = time.perf_counter() - t
        row["ivf"]["remove_10_ms"] = round(rm_s * 1000, 2)
        row["ivf"]["add_10_ms"] = round(add_s * 1000, 2)
        if n > base.shape[0]:
            row["nn_cosine_median"] = nn_cosine(vectors, base.shape[0])
        out[fmt_n(n)] = row
        print("  " + json.dumps(row), flush=True)
        del ivf, vectors
        gc.collect()
        save(report)
    report["sigma"] = args.sigma


def _flat(vectors: np.ndarray) -> faiss.Index:
    index = vector_index.new_exact(vectors.shape[1])
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    return index


def nn_cosine(vectors: np.ndarray, n_base: int, sample: int = 300) -> dict[str, float]:
    """Median cosine to the nearest other vector: real (base) vs synthetic vectors."""
    rng = np.random.default_rng(3)
    real = rng.choice(n_base, min(sample, n_base), replace=False)
    synth = rng.choice(np.arange(n_base, len(vectors)), sample, replace=False)
    out = {}
    for name, rows, pool in (("real_among_real", real, vectors[:n_base]),
                             ("synthetic_among_all", synth, vectors)):
        sims, _ = faiss.knn(vectors[rows], pool, 2, metric=faiss.METRIC_INNER_PRODUCT)
        out[name] = round(float(np.median(sims[:, 1])), 4)
    return out


# --- step: compare index types at the largest size ---------------------------------


def step_compare(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """IVF codecs with a shared coarse quantizer and nprobe sweep; HNSW at a smaller size."""
    base = np.load(base_vectors_path(args))
    queries, _ = query_vectors(args)
    n = max(args.sizes)
    vectors = synth_vectors(base, n, args.sigma)
    truth = exact_truth(vectors, queries)
    nlist = vector_index.nlist_for(n)
    print(f"compare at {fmt_n(n)}: training IVF{nlist} quantizer (load {load_avg()}) ...",
          flush=True)
    config = IndexSettings()
    rng = np.random.default_rng(config.ann_seed)
    sample = vectors[np.sort(rng.choice(n, min(n, nlist * config.ann_train_per_list), False))]
    clus = faiss.Clustering(vectors.shape[1], nlist)
    clus.seed = config.ann_seed
    clus.niter = 10  # as IndexIVF trains its quantizer for inner product:
    clus.spherical = True  # 10 iterations, normalised centroids
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    _, train_s = timed(lambda: clus.train(sample, quantizer))
    _, assign = quantizer.search(vectors, 1)
    assign = np.ascontiguousarray(assign[:, 0])
    ids = np.arange(n, dtype=np.int64)
    rows: dict[str, Any] = {"n": n, "nlist": nlist, "quantizer_train_s": round(train_s, 1)}
    for codec in args.codecs:
        index = faiss.index_factory(vectors.shape[1], f"IVF{nlist},{codec}",
                                    faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.quantizer = quantizer
        ivf.own_fields = False
        _, codec_s = timed(lambda index=index: index.train(sample[:65_536]))
        t = time.perf_counter()
        ivf.add_core(n, faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(assign))
        add_s = time.perf_counter() - t
        entry: dict[str, Any] = {"codec_train_s": round(codec_s, 1), "add_s": round(add_s, 1),
                                 "memory_mb": round(_ivf_bytes(ivf) / 2**20, 1),
                                 "nprobe": {}}
        for nprobe in args.nprobes:
            ivf.nprobe = nprobe
            _, found = index.search(queries, 10)
            entry["nprobe"][str(nprobe)] = {"recall@10": recall_at(found, truth),
                                            **search_latency(index, queries[:300])}
        rows[f"IVF{nlist},{codec}"] = entry
        print(f"  IVF{nlist},{codec}: " + json.dumps(entry), flush=True)
        del index, ivf
        gc.collect()
    del vectors
    gc.collect()
    if args.hnsw_size:
        hv = synth_vectors(base, args.hnsw_size, args.sigma)
        htruth = exact_truth(hv, queries)
        for spec in ("HNSW32", "HNSW32,SQ8"):
            index = faiss.index_factory(hv.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
            index.train(hv[:65_536])
            _, build_s = timed(lambda index=index: index.add(hv))
            entry = {"n": args.hnsw_size, "build_s": round(build_s, 1),
                     "memory_mb": round(faiss.serialize_index(index).nbytes / 2**20, 1),
                     "removal": "not supported", "efSearch": {}}
            for ef in (64, 128):
                faiss.ParameterSpace().set_index_parameter(index, "efSearch", ef)
                _, found = index.search(queries, 10)
                entry["efSearch"][str(ef)] = {"recall@10": recall_at(found, htruth),
                                              **search_latency(index, queries[:300])}
            rows[f"{spec} @ {fmt_n(args.hnsw_size)}"] = entry
            print(f"  {spec} @ {fmt_n(args.hnsw_size)}: " + json.dumps(entry), flush=True)
            del index
    report["compare"] = rows
    save(report)


def _ivf_bytes(ivf: faiss.IndexIVF) -> int:
    """Codes + ids + centroids of an IVF index (what serialising it would write)."""
    lists = ivf.invlists
    total = sum(lists.list_size(i) for i in range(ivf.nlist))
    return int(total * (lists.code_size + 8) + ivf.nlist * ivf.d * 4)


# --- step: bm25 ----------------------------------------------------------------------


def bm25_worker(args: argparse.Namespace) -> None:
    """(Subprocess) build, save, load and search BM25 over ``args.bm25_worker`` chunks."""
    from rag.store.keywords import Bm25sKeywords
    from rag.text.terms import anchor_terms, tokenize

    n = args.bm25_worker
    data = base_rows(args)
    texts = [r[3] for r in data["rows"]]
    spans = [json.loads(r[6]) for r in data["rows"]]
    del data
    texts, _ = synth_texts(texts, spans, n)
    gc.collect()
    rss_texts = rss_mb()
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line]
    questions = questions[: args.queries]
    t = time.perf_counter()
    ids = np.arange(len(texts), dtype=np.int64)
    index = Bm25sKeywords.build(texts, ids)
    build_s = time.perf_counter() - t
    peak_build = peak_rss_mb()
    del texts
    gc.collect()
    folder = WORK / f"bm25-{fmt_n(n)}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _, save_s = timed(lambda: index.save(folder))
    del index
    gc.collect()
    before = rss_mb()
    index, load_s = timed(lambda: Bm25sKeywords.load(folder, ids))
    loaded_mb = rss_mb() - before
    terms = [tokenize(q["question"]) if q["lang"] == "de" else anchor_terms(q["question"])
             for q in questions]
    for t in terms[:5]:
        index.search(t, 50)
    times = [timed(lambda t=t: index.search(t, 50))[1] for t in terms]
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({
        "n": n, "build_s": round(build_s, 2), "save_s": round(save_s, 2),
        "load_s": round(load_s, 3), "vocab": len(index._vocab),  # noqa: SLF001
        "rss_texts_mb": round(rss_texts, 1),
        "peak_rss_build_mb": round(peak_build, 1),
        "build_peak_over_texts_mb": round(peak_build - rss_texts, 1),
        "loaded_mb": round(loaded_mb, 1), "disk_mb": round(disk / 2**20, 1),
        "search_p50_ms": pct(times, 50), "search_p95_ms": pct(times, 95),
        "load_avg": load_avg(),
    }))


def step_bm25(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """BM25 at every size, each in its own subprocess."""
    out = report.setdefault("bm25", {})
    for n in args.sizes:
        print(f"bm25 at {fmt_n(n)} (load {load_avg()}) ...", flush=True)
        cmd = [sys.executable, __file__, "--bm25-worker", str(n),
               "--base-chunks", str(args.base_chunks), "--queries", str(args.queries)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.stderr.write(res.stderr[-3000:])
            out[fmt_n(n)] = {"n": n, "error": res.stderr.strip().splitlines()[-1:]}
            continue
        out[fmt_n(n)] = json.loads(res.stdout.strip().splitlines()[-1])
        print("  " + json.dumps(out[fmt_n(n)]), flush=True)
        save(report)


# --- step: ask at scale --------------------------------------------------------------


def write_synthetic_index(args: argparse.Namespace, n: int, index_dir: Path,
                          threshold: int) -> dict[str, Any]:
    """An ``n``-chunk index written by the product's VersionWriter from synthetic rows
    (approximate when ``n >= threshold``)."""
    from rag.indexing.build import chunking_signature
    from rag.store.folder import remove_stale_versions
    from rag.store.index import VersionWriter
    from rag.store.manifest import Manifest
    from rag.types import DocMeta

    data = base_rows(args)
    rows, nb = data["rows"], len(data["rows"])
    dim = data["vectors"].shape[1]
    vectors = synth_vectors(data["vectors"], n, args.sigma)
    texts, spans = synth_texts([r[3] for r in rows], [json.loads(r[6]) for r in rows], n)
    rng = np.random.default_rng(17)
    shutil.rmtree(index_dir, ignore_errors=True)
    index_dir.mkdir(parents=True)
    settings = Settings.from_env(index_dir=index_dir, ann_threshold=threshold)
    t0 = time.perf_counter()
    writer = VersionWriter(index_dir, None, dim, settings.index)
    docs = {d[0]: d for d in data["docs"]}
    step = 20_000
    for start in range(0, n, step):
        batch = []
        for j in range(start, min(n, start + step)):
            r = rows[j % nb]
            copy = j // nb
            doc_id = r[2] if copy == 0 else f"{r[2]}~{copy}"
            sv = np.frombuffer(r[7], dtype=np.float16).astype(np.float32).reshape(-1, dim)
            if copy:
                sv = sv + args.sigma * rng.standard_normal(sv.shape, dtype=np.float32)
                faiss.normalize_L2(sv)
            batch.append((j, f"{doc_id}#{r[1].rsplit('#', 1)[-1]}", doc_id, texts[j], 0,
                          len(texts[j]), spans[j], sv))
        writer.add_chunks(batch, vectors[start : start + len(batch)])
    for copy in range((n + nb - 1) // nb):
        for doc_id, d in docs.items():
            writer.add_doc(DocMeta(doc_id if copy == 0 else f"{doc_id}~{copy}", *d[2:]), d[1])
    add_s = time.perf_counter() - t0
    m = data["manifest"]
    # The current chunking settings (the base may have been chunked under older ones).
    manifest = Manifest(model=m["model"], chunking=chunking_signature(Settings.from_env()),
                        files={},
                        counts={"articles": len(docs) * ((n + nb - 1) // nb)}, next_id=n)
    final, publish_s = timed(lambda: writer.publish(manifest))
    remove_stale_versions(index_dir, keep=final)
    disk = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    return {"write_rows_s": round(add_s, 1), "publish_s": round(publish_s, 1),
            "disk_mb": round(disk / 2**20, 1)}


class PartTimer:
    """Accumulates seconds per named part of one ``ask()``."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.stack: list[str] = []

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed under ``name`` (time of nested timed calls is not double-counted)."""

        def run(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            self.stack.append(name)
            try:
                return fn(*a, **kw)
            finally:
                self.stack.pop()
                dt = time.perf_counter() - t
                self.parts[name] = self.parts.get(name, 0.0) + dt
                if self.stack:  # subtract from the enclosing part
                    outer = self.stack[-1]
                    self.parts[outer] = self.parts.get(outer, 0.0) - dt

        return run


class _Proxy:
    """Delegates to ``target``; selected methods replaced."""

    def __init__(self, target: Any, **methods: Callable[..., Any]) -> None:
        self._target = target
        self.__dict__.update(methods)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def step_ask(args: argparse.Namespace, report: dict[str, Any]) -> None:
    """``Pipeline.ask`` latency at ``--ask-size`` chunks, split over its parts, for each
    variant: ``flat`` / ``ivf`` (index type), ``-faiss1`` (FAISS limited to one OpenMP
    thread in the asking thread), ``-torch1`` (torch limited to one thread)."""
    import torch

    from rag.embed.sbert import SentenceTransformerEmbedder as Embedder

    n = args.ask_size
    index_dir = WORK / f"index-ask-{fmt_n(n)}"
    embedder = Embedder.from_settings(Settings.from_env())
    _, questions = query_vectors(args)
    questions = questions[: args.ask_questions]
    out = report.setdefault("ask", {})
    out.update({"n": n, "questions": len(questions)})
    written_kind = None
    for variant in args.ask_variants:
        kind = variant.split("-")[0]
        if kind != written_kind:
            print(f"ask at {fmt_n(n)}: writing the {kind} index (load {load_avg()}) ...",
                  flush=True)
            threshold = n if kind == "ivf" else n + 1
            written = write_synthetic_index(args, n, index_dir, threshold)
            print("  " + json.dumps(written), flush=True)
            written_kind = kind
        threads, torch_threads = faiss.omp_get_max_threads(), torch.get_num_threads()
        if "-faiss1" in variant:
            faiss.omp_set_num_threads(1)
        if "-torch1" in variant:
            torch.set_num_threads(1)
        try:
            row = measure_ask(index_dir, embedder, questions)
        finally:
            faiss.omp_set_num_threads(threads)
            torch.set_num_threads(torch_threads)
        row.update(written)
        out[variant] = row
        print(f"  {variant}: " + json.dumps({k: v for k, v in row.items() if k != "parts"}),
              flush=True)
        for k, v in row["parts"].items():
            print(f"    {k:45} mean {v['mean_ms']:8.2f} ms  p50 {v['p50_ms']:8.2f}  "
                  f"p95 {v['p95_ms']:8.2f}", flush=True)
        save(report)
    if not args.keep:
        shutil.rmtree(index_dir, ignore_errors=True)


def measure_ask(index_dir: Path, embedder: Any, questions: list[dict]) -> dict[str, Any]:
    """ask() p50/p95 over ``questions``, then once more with every part timed."""
    import torch

    import rag.answer.extractive as ex
    import rag.pipeline as pl
    import rag.retrieve.retriever as rt

    settings = Settings.from_env(index_dir=index_dir)
    before = rss_mb()
    pipeline = pl.Pipeline(settings, embedder=embedder, auto_index=False)
    index, load_s = timed(lambda: pipeline.index)
    index_mb = rss_mb() - before
    for q in questions[:10]:
        pipeline.ask(q["question"])
    load = load_avg()
    plain = [timed(lambda q=q: pipeline.ask(q["question"]))[1] for q in questions]

    timer = PartTimer()
    # each part where the pipeline looks it up: (module, name, label)
    wrapped = [(pl, "detect_language", "language detection"),
               (rt, "search", "retrieval: fusion + rerank + diversify"),
               (ex, "rank_sentences", "answer extraction"),
               (ex, "choose_statements", "answer extraction"),
               (ex, "write_answer", "answer extraction"),
               (ex, "make_source", "sources")]
    originals = [(module, name, getattr(module, name)) for module, name, _ in wrapped]
    for (module, name, label), (_, _, fn) in zip(wrapped, originals):
        setattr(module, name, timer.wrap(label, fn))
    vectors, keywords = index.vectors, index.keywords
    index.vectors = _Proxy(vectors, search=timer.wrap("dense search (FAISS)", vectors.search),
                           reconstruct=timer.wrap("vector reconstruct", vectors.reconstruct),
                           reconstruct_batch=timer.wrap("vector reconstruct",
                                                        vectors.reconstruct_batch))
    index.keywords = _Proxy(keywords, search=timer.wrap("BM25 search", keywords.search))
    index.chunks = timer.wrap("chunk fetch (SQLite)", index.chunks)  # type: ignore[method-assign]
    encode = embedder.encode_queries
    embedder.encode_queries = timer.wrap("query embedding", encode)
    totals: dict[str, list[float]] = {}
    timed_ask = []
    try:
        for q in questions:
            timer.parts = {}
            _, dt = timed(lambda q=q: pipeline.ask(q["question"]))
            timed_ask.append(dt)
            timer.parts["other (cleaning, filters, result objects)"] = dt - sum(
                timer.parts.values())
            for k, v in timer.parts.items():
                totals.setdefault(k, []).append(v)
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
        index.vectors, index.keywords = vectors, keywords
        del index.chunks
        del embedder.encode_queries
    parts = {k: {"mean_ms": round(float(np.mean(v)) * 1000, 3), "p50_ms": pct(v, 50),
                 "p95_ms": pct(v, 95)}
             for k, v in sorted(totals.items(), key=lambda kv: -np.mean(kv[1]))}
    row = {"faiss_type": index.manifest.faiss_type, "load_avg": load,
           "load_avg_end": load_avg(), "index_load_s": round(load_s, 2),
           "index_rss_mb": round(index_mb, 1), "faiss_threads": faiss.omp_get_max_threads(),
           "torch_threads": torch.get_num_threads(),
           "ask_p50_ms": pct(plain, 50), "ask_p95_ms": pct(plain, 95),
           "ask_mean_ms": round(float(np.mean(plain)) * 1000, 2),
           "timed_ask_p50_ms": pct(timed_ask, 50), "parts": parts}
    index.close()
    return row


# --- main ----------------------------------------------------------------------------

_REPORT_PATH = RESULTS / "scale.json"


def save(report: dict[str, Any]) -> None:
    """Merge ``report`` into bench/results/scale.json."""
    old = json.loads(_REPORT_PATH.read_text()) if _REPORT_PATH.is_file() else {}
    old.update(report)
    _REPORT_PATH.write_text(json.dumps(old, indent=2))


def main() -> None:
    """Parse arguments and run the chosen steps."""
    global _REPORT_PATH
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 400 real chunks, sizes 400/4k/40k, 60 queries")
    parser.add_argument("--steps", nargs="+",
                        default=["base", "vectors", "compare", "bm25", "ask"],
                        choices=["base", "vectors", "compare", "bm25", "ask"])
    parser.add_argument("--base-chunks", type=int, default=10_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1264, help="xquad-de questions used")
    parser.add_argument("--ask-size", type=int, default=100_000)
    parser.add_argument("--ask-questions", type=int, default=300)
    parser.add_argument("--ask-variants", nargs="+",
                        default=["flat", "flat-faiss1", "flat-torch1-faiss1", "ivf",
                                 "ivf-torch1-faiss1"])
    parser.add_argument("--sigma", type=float, default=0.02,
                        help="per-dimension noise of the perturbed vector copies")
    parser.add_argument("--max-flat", type=int, default=1_000_000,
                        help="largest size to also measure the exact index at")
    parser.add_argument("--codecs", nargs="+", default=["SQ8", "SQfp16", "PQ48"])
    parser.add_argument("--nprobes", type=int, nargs="+", default=[16, 32, 48, 64, 96])
    parser.add_argument("--hnsw-size", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the base index")
    parser.add_argument("--keep", action="store_true", help="keep the ask index")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--out", type=Path, default=_REPORT_PATH)
    parser.add_argument("--bm25-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.base_chunks, args.sizes, args.queries = 400, [400, 4_000, 40_000], 60
        args.ask_size, args.ask_questions, args.hnsw_size = 4_000, 30, 4_000
        args.nprobes = [16, 48]
        args.codecs = ["SQ8", "PQ48"]
        if args.out == _REPORT_PATH:
            args.out = RESULTS / "scale-quick.json"
    _REPORT_PATH = args.out
    WORK.mkdir(parents=True, exist_ok=True)
    if args.bm25_worker:
        bm25_worker(args)
        return
    ann = Settings.from_env().index
    report: dict[str, Any] = {"machine": machine(), "load_avg_start": load_avg(),
                              "settings": {"ann_threshold": ann.ann_threshold,
                                           "ann_codec": ann.ann_codec,
                                           "ann_nprobe": ann.ann_nprobe}}
    print(f"machine: {report['machine']}; load {report['load_avg_start']}", flush=True)
    save(report)
    steps = {"base": step_base, "vectors": step_vectors, "compare": step_compare,
             "bm25": step_bm25, "ask": step_ask}
    for name in args.steps:
        steps[name](args, report)
        save(report)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
