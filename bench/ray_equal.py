"""A Ray build against a local build of the same corpus: chunks, vectors, answers.

Builds ``--corpus`` locally and with ``rag index --ray`` (a local Ray cluster with
``--workers`` embedding actors), then compares: chunk rows (ids, texts, offsets,
sentence spans), passage and sentence vectors (cosine), and for every question of
``--questions`` the answer text and the list of cited articles.

    python bench/ray_equal.py --corpus ../shared/eval/xquad-de/corpus \\
        --questions ../shared/eval/xquad-de/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.settings import Settings  # noqa: E402


def main() -> None:
    """Build twice, compare, print a JSON summary (and save it in bench/results)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from rag.embed import load_embedder
    from rag.indexing.build import update_index
    from rag.pipeline import Pipeline
    from rag.store.folder import current_version, read_manifest
    from rag.store.index import Index
    from rag.store.vectors import all_vectors

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    root = Path(tempfile.mkdtemp(prefix="rayequal-"))
    local = Settings.from_env(corpus_dir=args.corpus, index_dir=root / "local")
    on_ray = local.replace(index_dir=root / "ray", ray_address="local",
                           ray_workers=args.workers, ray_batch_articles=2)
    embedder = load_embedder(local)
    update_index(local, embedder, progress=False)
    update_index(on_ray, embedder, progress=False)
    a, b = (Index(current_version(s.paths.index_dir), read_manifest(s.paths.index_dir))
            for s in (local, on_ray))

    def rows(index: Index) -> list[tuple]:
        return sorted((c.id, c.chunk_id, c.doc_id, c.text, c.start, c.end, c.sentences)
                      for c in index.chunks(index.row_ids.tolist()).values())

    ids_a, va = all_vectors(a.vectors.raw)
    ids_b, vb = all_vectors(b.vectors.raw)
    va, vb = va[np.argsort(ids_a)], vb[np.argsort(ids_b)]
    sent = []
    for i in a.row_ids.tolist():
        sa, sb = a.chunks([i])[i].sentence_vectors, b.chunks([i])[i].sentence_vectors
        sent.extend(np.sum(sa * sb, axis=1).tolist())
    out = {"corpus": str(args.corpus), "chunks": a.size,
           "same_chunks": rows(a) == rows(b),
           "same_ids": bool(np.array_equal(np.sort(ids_a), np.sort(ids_b))),
           "passage_cosine_min": round(float(np.sum(va * vb, axis=1).min()), 6),
           "sentence_cosine_min": round(float(min(sent)), 6)}
    a.close()
    b.close()
    questions = [json.loads(x) for x in args.questions.read_text().splitlines() if x]
    pa = Pipeline(local, embedder=embedder, auto_index=False)
    pb = Pipeline(on_ray, embedder=embedder, auto_index=False)
    from rag.eval.metrics import answers_question

    same_text = same_sources = 0
    hits = {"local": [0, 0], "ray": [0, 0]}  # hit@1, answer contains a keyword
    answerable = [q for q in questions if q.get("expected_sources")]
    for q in questions:
        x, y = pa.ask(q["question"]), pb.ask(q["question"])
        same_text += x.text == y.text
        same_sources += [s.doc_id for s in x.sources] == [s.doc_id for s in y.sources]
        if q.get("expected_sources"):
            for name, ans in (("local", x), ("ray", y)):
                hits[name][0] += bool(ans.sources) and ans.sources[0].doc_id in \
                    q["expected_sources"]
                hits[name][1] += ans.found and answers_question(ans.text,
                                                                q["answer_keywords"])
    out.update({"questions": len(questions), "same_answer_text": same_text,
                "same_cited_articles": same_sources,
                **{f"{k}_hit1": round(v[0] / max(1, len(answerable)), 4)
                   for k, v in hits.items()},
                **{f"{k}_answer_hit": round(v[1] / max(1, len(answerable)), 4)
                   for k, v in hits.items()}})
    shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / "ray_equal.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    old[args.corpus.name if args.corpus.name != "corpus" else args.corpus.parent.name] = out
    path.write_text(json.dumps(old, indent=2))


if __name__ == "__main__":
    main()
