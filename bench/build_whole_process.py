"""Index build as a whole process: ``rag index --rebuild`` vs the LangChain tutorial.

Each side is one fresh process, timed from start to exit (imports, model load, reading,
splitting, embedding, writing the store), in alternating rounds on the same corpus:

* ours: ``python -m rag index --rebuild`` with the product defaults, and optionally
  other settings (``--variant NAME:ENV=VALUE,...``, e.g. ``today:RAG_EMBED_BACKEND=torch``);
* LangChain (the RAG tutorial's indexing part): ``TextLoader`` per file,
  ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``,
  ``HuggingFaceEmbeddings`` (same model folder, ``passage:`` prompt, normalised),
  ``FAISS.from_documents`` + ``save_local``.

Reported per side: wall seconds (best of the rounds) and CPU seconds (user + system of
the child, from ``wait4``). On a machine shared with other jobs the CPU seconds are the
steadier figure; the ratios of both are printed.

    python bench/build_whole_process.py --corpus xquad+seed --rounds 2
    python bench/build_whole_process.py --corpus wikinews --rounds 1

Writes bench/results/build_whole_process-<corpus>.json. Needs requirements-bench.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
CORPORA = {
    "xquad+seed": [SHARED / "eval" / "xquad-de" / "corpus", SHARED / "corpus-seed"],
    "wikinews": [SHARED / "eval" / "wikinews-de" / "corpus"],
    "seed": [SHARED / "corpus-seed"],
}
RESULTS = ROOT / "bench" / "results"

LANGCHAIN = """
import sys
from pathlib import Path
from langchain_community.document_loaders import TextLoader
from langchain_community.vectorstores import FAISS
from langchain_huggingface import HuggingFaceEmbeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

corpus, model_dir, out = sys.argv[1:4]
docs = []
for path in sorted(Path(corpus).iterdir()):
    if path.suffix in (".txt", ".md"):
        docs.extend(TextLoader(str(path), encoding="utf-8").load())
splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
embeddings = HuggingFaceEmbeddings(
    model_name=model_dir, model_kwargs={"device": "cpu", "local_files_only": True},
    encode_kwargs={"normalize_embeddings": True, "prompt": "passage: "},
)
FAISS.from_documents(splits, embeddings).save_local(out)
print(f"chunks={len(splits)}")
"""


def run(cmd: list[str], env: dict) -> dict:
    """Run ``cmd`` to completion: wall seconds, CPU seconds (user + sys), last output."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{out[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_avg": os.getloadavg()[0],
            "tail": out.strip().splitlines()[-3:]}


def main() -> None:
    """Alternate the sides for ``--rounds`` and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=list(CORPORA), default="xquad+seed")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[],
                        help="extra side of ours: NAME:ENV=VALUE[,ENV=VALUE]")
    parser.add_argument("--no-langchain", action="store_true")
    parser.add_argument("--only", nargs="+", help="run only these sides (e.g. langchain)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rag.embed.e5 import ensure_default_model
    from rag.settings import Settings

    model_dir = ensure_default_model(Settings.from_env().paths.model_cache_dir)
    work = Path(tempfile.mkdtemp(prefix="whole-build-"))
    corpus = work / "corpus"
    corpus.mkdir()
    for folder in CORPORA[args.corpus]:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".txt", ".md"):
                shutil.copy(path, corpus / path.name)
    base_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    sides: dict[str, tuple[list[str], dict]] = {
        "ours": ([sys.executable, "-m", "rag", "index", "--rebuild", "--quiet", "--corpus",
                  str(corpus), "--index", str(work / "index-ours")], base_env),
    }
    for spec in args.variant:
        name, _, assignments = spec.partition(":")
        env = {**base_env, **dict(a.split("=", 1) for a in assignments.split(",") if a)}
        sides[name] = ([sys.executable, "-m", "rag", "index", "--rebuild", "--quiet",
                        "--corpus", str(corpus), "--index", str(work / f"index-{name}")], env)
    if not args.no_langchain:
        sides["langchain"] = ([sys.executable, "-c", LANGCHAIN, str(corpus), str(model_dir),
                               str(work / "index-langchain")], base_env)
    if args.only:
        sides = {k: v for k, v in sides.items() if k in args.only}
    else:  # untimed warm-up: the ONNX export (once per model) and the file cache
        subprocess.run(sides["ours"][0], cwd=ROOT, env=sides["ours"][1], check=True,
                       capture_output=True)
    rounds: dict[str, list[dict]] = {name: [] for name in sides}
    try:
        for r in range(args.rounds):
            for name, (cmd, env) in sides.items():
                result = run(cmd, env)
                rounds[name].append(result)
                print(f"round {r + 1} {name}: {result}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = {n: {"wall_s": min(x["wall_s"] for x in v), "cpu_s": min(x["cpu_s"] for x in v),
                "peak_rss_mb": max(x["peak_rss_mb"] for x in v)} for n, v in rounds.items()}
    ref = best.get("langchain")
    print(f"\n| {args.corpus}: whole process | wall s (best of {args.rounds}) | CPU s (best) "
          "| peak RSS MB | LangChain / this, wall | LangChain / this, CPU |")
    print("|---|---|---|---|---|---|")
    for name, b in best.items():
        ratio_w = f"{ref['wall_s'] / b['wall_s']:.2f}x" if ref else ""
        ratio_c = f"{ref['cpu_s'] / b['cpu_s']:.2f}x" if ref else ""
        print(f"| {name} | {b['wall_s']} | {b['cpu_s']} | {b['peak_rss_mb']} | {ratio_w} "
              f"| {ratio_c} |")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"build_whole_process-{args.corpus}.json").write_text(
        json.dumps({"rounds": rounds, "best": best}, indent=1))


if __name__ == "__main__":
    main()
