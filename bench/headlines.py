"""Real news headlines as questions: is the article found? Ours vs plain dense retrieval.

A journalist's headline is a short, dense statement of what an article is about, the
way many people search a news archive. The articles are indexed *without* their
headline (front matter ``title`` and the headline line removed, so the task is not a
string match), each headline is asked, and the article-level ranks are compared for

* ``ours``: the sources of :meth:`rag.pipeline.Pipeline.ask` (the whole product: hybrid
  search, reranking; as in ``rag eval``, the sources count when the answer is "not
  found" too, and the refusals are counted apart), and
* ``dense``: plain dense retrieval with the same model over the same passages, each
  embedded whole as bare text (the LangChain tutorial pipeline), exact top 10,

per half (:func:`rag.eval.variants.split_half`: tune / held) in the same run.

    python bench/headlines.py --corpus ../shared/eval/wikinews-de/corpus --work /tmp/hl
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tune_retrieval import dense_passages, hits_at  # noqa: E402

from rag.eval.variants import split_half  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

SHARED_ROOT = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
_FRONT_MATTER = re.compile(r"---\n(.*?)\n---\n", re.DOTALL)
KS = (1, 3, 10)


def strip_headlines(corpus: Path, out: Path) -> dict[str, str]:
    """Copy the Markdown articles of ``corpus`` to ``out`` without their headline (the
    front matter's title and a first body line equal to it); ``{file name: headline}``."""
    out.mkdir(parents=True, exist_ok=True)
    headlines = {}
    for path in sorted(corpus.glob("*.md")):
        match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        front = yaml.safe_load(match.group(1)) if match else None
        if not isinstance(front, dict) or not front.get("title"):
            continue
        title = str(front.pop("title")).strip()
        lines = match.string[match.end():].lstrip("\n").split("\n")
        if lines and lines[0].strip() == title:
            lines = lines[1:]
        header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        (out / path.name).write_text(f"---\n{header}---\n" + "\n".join(lines).lstrip("\n"),
                                     encoding="utf-8")
        headlines[path.name] = title
    return headlines


def _article_rank(doc_ids: list[str], expected: str) -> int | None:
    return next((i + 1 for i, d in enumerate(doc_ids) if d == expected), None)


def main() -> None:
    """Build the headline-less index, ask every headline, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path,
                        default=SHARED_ROOT / "eval" / "wikinews-de" / "corpus")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-headlines"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings overrides for ours (flat field names)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    headlines = strip_headlines(args.corpus, args.work / "corpus")
    overrides = dict(item.split("=", 1) for item in args.set)
    settings = Settings.from_env(corpus_dir=args.work / "corpus",
                                 index_dir=args.work / "index", **overrides)
    pipeline = Pipeline(settings)
    passages, whole = dense_passages(  # cached per index version
        pipeline, args.work / f"dense-{pipeline.index.folder.name}.npy")
    names = sorted(headlines)
    groups: dict[str, dict[str, list]] = {}
    misses = []
    for name in names:
        answer = pipeline.ask(headlines[name], 10)
        # one question at a time, as ask() embeds it (int8 activation scales are per batch)
        qvec = pipeline.embedder.encode_queries([headlines[name]])[0]
        ours = _article_rank([s.doc_id for s in answer.sources], name)
        dense_docs: list[str] = []
        for i in np.argsort(-(whole @ qvec)):
            if passages[i].doc_id not in dense_docs:
                dense_docs.append(passages[i].doc_id)
            if len(dense_docs) == 10:
                break
        dense = _article_rank(dense_docs, name)
        g = groups.setdefault(split_half(name), {"ours": [], "dense": []})
        g["ours"].append(ours)
        g["dense"].append(dense)
        if ours != 1 or not answer.found:
            misses.append({"doc": name, "headline": headlines[name], "ours": ours,
                           "dense": dense, "found": answer.found,
                           "top": answer.sources[0].doc_id if answer.sources else None})
    report = {half: {"n": len(g["ours"]), "ours": hits_at(g["ours"], KS),
                     "dense": hits_at(g["dense"], KS)} for half, g in sorted(groups.items())}
    for half, r in report.items():
        o, d = r["ours"], r["dense"]
        print(f"{half:5s} n={r['n']:4d}  ours hit@1/3/10 {o['hit@1']:.3f}/{o['hit@3']:.3f}/"
              f"{o['hit@10']:.3f}  dense {d['hit@1']:.3f}/{d['hit@3']:.3f}/{d['hit@10']:.3f}")
    refused = sum(1 for m in misses if not m["found"])
    print(f"answered 'not found': {refused} of {len(names)}")
    out = ROOT / "bench" / "results" / "headlines.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"report": report, "misses": misses}, indent=1,
                              ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
