"""Calibrate the "very relevant" level of the web chat's relevance labels.

The labels use the similarity of a source's best sentence to the question, the measure
of the "not found" decision (``min_relevance_<lang>``). This script asks answerable and
unanswerable questions through the real pipeline (seed and seed-more questions over the
seed corpus, an XQuAD-de sample over its corpus; each set also against the other corpus
as unanswerable), takes the best source's relevance, and per language picks the level
that only 1% of the unanswerable questions reach (``--quantile``), on a dev half of the
questions (by a hash of the id). It prints the figures for that level on the dev half and
on the held-back half side by side, and for the settings' current levels.

    python bench/relevance_labels.py [--xquad-sample 300] [--quantile 0.99]
                                     [--shared ../shared]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.eval.questions import load_questions  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402


def dev_half(qid: str) -> bool:
    """Stable split of the questions: True for the dev half."""
    return hashlib.sha1(qid.encode()).digest()[0] % 2 == 0


def collect(pipeline: Pipeline, questions, answerable: bool | None) -> list[dict]:
    """Best source relevance of each question (``answerable=None``: from the file)."""
    rows = []
    for q in questions:
        answer = pipeline.ask(q.question)
        rel = [s.relevance for s in answer.sources if s.relevance is not None]
        rows.append({
            "id": q.id, "lang": q.lang, "found": answer.found, "dev": dev_half(q.id),
            "answerable": (not q.no_answer) if answerable is None else answerable,
            "best": max(rel) if rel else 0.0,
        })
    return rows


def figures(rows: list[dict], answer: float, strong: float) -> str:
    """Share of unanswerable among "very relevant", answerable labelled so, and the
    warning band (answered, but best source below ``strong``)."""
    high = [r for r in rows if r["best"] >= strong]
    band = [r for r in rows if answer <= r["best"] < strong]
    pos = [r for r in rows if r["answerable"]]
    bad = sum(not r["answerable"] for r in high)
    return (f"unanswerable among 'very relevant' {bad}/{len(high)}"
            f" ({bad / max(1, len(high)):.3f}); answerable labelled 'very relevant' "
            f"{sum(r['answerable'] for r in high)}/{len(pos)}; warning band: "
            f"{sum(r['answerable'] for r in band)} answerable, "
            f"{sum(not r['answerable'] for r in band)} unanswerable")


def pick(rows: list[dict], answer: float, quantile: float) -> float:
    """The level that only ``1 - quantile`` of the unanswerable questions reach (their
    best source's relevance quantile, rounded up to 0.005), at least ``answer``."""
    neg = [r["best"] for r in rows if not r["answerable"]]
    if not neg:
        return answer
    level = float(np.quantile(neg, quantile))
    return round(max(answer, float(np.ceil(level * 200) / 200)), 3)


def main() -> None:
    """Run the calibration and print dev and held-back figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad-sample", type=int, default=300)
    parser.add_argument("--quantile", type=float, default=0.99,
                        help="share of unanswerable questions kept below the level")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the shared material (eval sets, seed corpus)")
    args = parser.parse_args()
    shared = args.shared / "eval"
    seed_corpus, xquad_corpus = args.shared / "corpus-seed", shared / "xquad-de" / "corpus"
    out = ROOT / "bench" / "results"
    seed_q = (load_questions(shared / "seed_questions.jsonl")
              + load_questions(shared / "seed_more_questions.jsonl"))
    xq = load_questions(shared / "xquad-de" / "questions.jsonl")
    random.Random(0).shuffle(xq)
    xq = xq[: args.xquad_sample]
    settings = Settings.from_env()
    seed = Pipeline(Settings.from_env(corpus_dir=seed_corpus, index_dir=out / "idx-rel-seed"))
    seed.update_index(progress=False)
    xquad = Pipeline(Settings.from_env(corpus_dir=xquad_corpus, index_dir=out / "idx-rel-xquad"),
                     embedder=seed.embedder)
    xquad.update_index(progress=False)
    rows = collect(seed, seed_q, None)
    rows += collect(seed, xq, False)
    rows += collect(xquad, xq, True)
    rows += collect(xquad, [q for q in seed_q if not q.no_answer], False)

    a = settings.answer
    for lang, answer, current in (("de", a.min_relevance_de, a.strong_relevance_de),
                                  ("en", a.min_relevance_en, a.strong_relevance_en)):
        sub = [r for r in rows if r["lang"] == lang]
        dev = [r for r in sub if r["dev"]]
        held = [r for r in sub if not r["dev"]]
        level = pick(dev, answer, args.quantile)
        print(f"\n{lang}: {len(dev)} dev / {len(held)} held-back questions; not-found level "
              f"{answer}; picked 'very relevant' level {level} (settings: {current})")
        for name, part in (("dev", dev), ("held-back", held)):
            print(f"  picked  {name:9s} {figures(part, answer, level)}")
        for name, part in (("dev", dev), ("held-back", held)):
            print(f"  setting {name:9s} {figures(part, answer, current)}")


if __name__ == "__main__":
    main()
