"""Command line: ``python -m rag index | ask | eval``."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .answer import Answer
from .corpus import CorpusError
from .index import IndexError_
from .pipeline import Pipeline, QuestionError
from .settings import Settings

log = logging.getLogger("rag")


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", help="corpus folder (default: corpus/, or $RAG_CORPUS_DIR)")
    p.add_argument("--index", help="index folder (default: index/, or $RAG_INDEX_DIR)")
    p.add_argument("--model", help="sentence-transformers model name or path "
                   "(default: multilingual-e5-small, built offline)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command's flags."""
    return Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, model=args.model)


def format_answer(answer: Answer) -> str:
    """A readable answer with its numbered sources."""
    lines = [answer.text, ""]
    if not answer.found and answer.sources:
        lines.append("Possibly related:" if answer.language == "en" else "Möglicherweise verwandt:")
    for s in answer.sources:
        meta = ", ".join(x for x in (s.publisher, s.date) if x)
        meta = f" ({meta})" if meta else ""
        lines.append(f"[{s.n}] {s.title}{meta}  score {s.score:.3f}")
        if s.url:
            lines.append(f"    {s.url}")
        lines.append(f"    {s.doc_id}")
    return "\n".join(lines)


def _cmd_index(args: argparse.Namespace) -> int:
    pipeline = Pipeline(settings_from(args), auto_index=False)
    report = pipeline.update_index(rebuild=args.rebuild, progress=not args.quiet)
    print(report.summary())
    return 3 if report.skipped else 0


def _cmd_ask(args: argparse.Namespace) -> int:
    pipeline = Pipeline(settings_from(args))
    answer = pipeline.ask(args.question, args.k, date_from=args.date_from,
                          date_to=args.date_to, doc_ids=args.doc or None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rag``."""
    parser = argparse.ArgumentParser(prog="python -m rag", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index (only changed articles)")
    _add_paths(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("ask", help="answer a question")
    p.add_argument("question")
    _add_paths(p)
    p.add_argument("--k", type=int, default=None, help="number of sources (default 5)")
    p.add_argument("--date-from", help="only articles from this date (2022, 2022-12, 2022-12-19)")
    p.add_argument("--date-to", help="only articles up to this date")
    p.add_argument("--doc", action="append", help="only this article (doc_id); repeatable")
    p.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    p.set_defaults(func=_cmd_ask)

    from .evaluation import add_eval_parser

    add_eval_parser(sub, _add_paths)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2: usage or input error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "sentence_transformers", "transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (QuestionError, CorpusError, IndexError_) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous index is unchanged.", file=sys.stderr)
        return 130
