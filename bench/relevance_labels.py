"""Calibrate the "very relevant" level of the web chat's relevance labels.

The labels use the similarity of a source's best sentence to the question, the measure
of the "not found" decision (``min_relevance_<lang>``). This script asks answerable and
unanswerable questions through the real pipeline (seed and seed-more questions over the
seed corpus, an XQuAD-de sample over its corpus; each set also against the other corpus
as unanswerable), takes the best source's relevance, and per language picks the level
that only 1% of the unanswerable questions reach (``--quantile``), on a dev half of the
questions (by a hash of the id); the margin above the not-found level is pooled over
both languages, so a language whose dev questions show no unanswerable one near its
threshold still gets a warning band. It prints the figures for that level on the dev
half and on the held-back half side by side, and for the settings' current levels; the
rows are kept in ``bench/results/relevance_rows.json``.

    python bench/relevance_labels.py [--xquad-sample 300] [--quantile 0.99]
                                     [--shared ../shared] [--reuse]
                                     [--shared ../shared]
"""

from __future__ import annotations

import argparse
import hashlib
import json
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


def pick_margin(rows: list[dict], answer: dict[str, float], quantile: float) -> float:
    """How far above the not-found level (``answer`` per language) only ``1 - quantile``
    of the unanswerable questions of both languages reach (rounded up to 0.005)."""
    excess = [r["best"] - answer[r["lang"]] for r in rows if not r["answerable"]]
    if not excess:
        return 0.0
    return max(0.0, float(np.ceil(np.quantile(excess, quantile) * 200) / 200))


def ask_all(args: argparse.Namespace, out: Path) -> list[dict]:
    """Ask every question set through the pipeline (builds two indexes under ``out``)."""
    shared = args.shared / "eval"
    seed_corpus, xquad_corpus = args.shared / "corpus-seed", shared / "xquad-de" / "corpus"
    seed_q = (load_questions(shared / "seed_questions.jsonl")
              + load_questions(shared / "seed_more_questions.jsonl"))
    xq = load_questions(shared / "xquad-de" / "questions.jsonl")
    random.Random(0).shuffle(xq)
    xq = xq[: args.xquad_sample]
    seed = Pipeline(Settings.from_env(corpus_dir=seed_corpus, index_dir=out / "idx-rel-seed"))
    seed.update_index(progress=False)
    xquad = Pipeline(Settings.from_env(corpus_dir=xquad_corpus, index_dir=out / "idx-rel-xquad"),
                     embedder=seed.embedder)
    xquad.update_index(progress=False)
    rows = collect(seed, seed_q, None)
    rows += collect(seed, xq, False)
    rows += collect(xquad, xq, True)
    rows += collect(xquad, [q for q in seed_q if not q.no_answer], False)
    return rows


def main() -> None:
    """Run the calibration and print dev and held-back figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad-sample", type=int, default=300)
    parser.add_argument("--quantile", type=float, default=0.99,
                        help="share of unanswerable questions kept below the level")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the shared material (eval sets, seed corpus)")
    parser.add_argument("--reuse", action="store_true",
                        help="analyse the rows of the last run instead of asking again")
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    settings = Settings.from_env()
    saved = out / "relevance_rows.json"
    if args.reuse:
        rows = json.loads(saved.read_text(encoding="utf-8"))
    else:
        out.mkdir(parents=True, exist_ok=True)
        rows = ask_all(args, out)
        saved.write_text(json.dumps(rows), encoding="utf-8")
    a = settings.answer
    answer_level = {"de": a.min_relevance_de, "en": a.min_relevance_en}
    margin = pick_margin([r for r in rows if r["dev"]], answer_level, args.quantile)
    print(f"margin above the not-found level (dev, both languages): {margin:.3f}")
    for lang, current in (("de", a.strong_relevance_de), ("en", a.strong_relevance_en)):
        answer = answer_level[lang]
        sub = [r for r in rows if r["lang"] == lang]
        dev = [r for r in sub if r["dev"]]
        held = [r for r in sub if not r["dev"]]
        level = round(answer + margin, 3)
        print(f"\n{lang}: {len(dev)} dev / {len(held)} held-back questions; not-found level "
              f"{answer}; picked 'very relevant' level {level} (settings: {current})")
        for name, part in (("dev", dev), ("held-back", held)):
            print(f"  picked  {name:9s} {figures(part, answer, level)}")
        for name, part in (("dev", dev), ("held-back", held)):
            print(f"  setting {name:9s} {figures(part, answer, current)}")


if __name__ == "__main__":
    main()
