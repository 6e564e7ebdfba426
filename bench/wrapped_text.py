"""Hard-wrapped articles: are their sentences read whole?

Every article of the chosen corpora is hard-wrapped at ``--width`` columns (each
paragraph with :func:`textwrap.fill`, as wire copy and plain-text archives are), read
with the product's reader, and its sentences are compared with those of the article as
stored: printed are the sentences of the wrapped articles that are not a sentence of the
original (fragments), with the reader's line joining and without it.

    python bench/wrapped_text.py --width 72
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.ingest import corpus  # noqa: E402
from rag.text.sentences import sentences  # noqa: E402

SHARED_ROOT = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
CORPORA = {
    "seed": SHARED_ROOT / "corpus-seed",
    "xquad": SHARED_ROOT / "eval" / "xquad-de" / "corpus",
    "wikinews": SHARED_ROOT / "eval" / "wikinews-de" / "corpus",
}


def wrapped(text: str, width: int) -> str:
    """``text`` (front matter kept) with every paragraph wrapped at ``width`` columns."""
    front = ""
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4) + 5
        front, text = text[:end], text[end:]
    return front + "\n\n".join(
        textwrap.fill(p, width, break_on_hyphens=False, break_long_words=False)
        if p.strip() else p for p in text.split("\n\n"))


def main() -> None:
    """Print the fragments per corpus, with and without joining."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=72)
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    args = parser.parse_args()
    for name in args.corpora:
        files = sorted(p for p in CORPORA[name].iterdir() if p.suffix in (".txt", ".md"))
        counts = {"joined": 0, "not joined": 0}
        total = 0
        for path in files:
            raw = path.read_bytes()
            original = {" ".join(s.split()) for s in sentences(
                corpus.parse_article(raw, path.name).text)}
            text = wrapped(raw.decode("utf-8"), args.width).encode("utf-8")
            for label in counts:
                if label == "joined":
                    article = corpus.parse_article(text, path.name)
                else:
                    with mock.patch.object(corpus, "_unwrap", lambda t: t):
                        article = corpus.parse_article(text, path.name)
                got = [" ".join(s.split()) for s in sentences(article.text)]
                counts[label] += sum(s not in original for s in got)
                total += len(got) if label == "joined" else 0
        print(f"{name:9s} {len(files):5d} articles at {args.width} columns: sentences that are "
              f"not the original's: joined {counts['joined']} of {total}, "
              f"not joined {counts['not joined']}", flush=True)


if __name__ == "__main__":
    main()
