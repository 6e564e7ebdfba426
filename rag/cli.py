"""Command line: ``rag index | add | ask | chat | eval | serve`` (also ``python -m rag ...``).

Heavy modules (torch, faiss, gradio) are imported by the command that needs them, so
``rag --help`` answers at once. Every :class:`~rag.errors.RagError` is shown as a one-line
message (exit code 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RagError, SettingsError
from .settings import Settings

if TYPE_CHECKING:
    from .types import Answer

log = logging.getLogger("rag")

_NOISY = ("httpx", "sentence_transformers", "transformers", "bm25s", "urllib3", "faiss")


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", help="corpus folder (default: corpus/, or $RAG_CORPUS_DIR)")
    p.add_argument("--index", help="index folder (default: index/, or $RAG_INDEX_DIR)")
    p.add_argument("--model", help="sentence-transformers model name or path "
                   "(default: multilingual-e5-small, built offline; or $RAG_MODEL)")


_LLM_FLAGS = ("llm_base_url", "llm_model", "llm_api_key", "llm_timeout", "llm_max_tokens",
              "llm_temperature")


def _add_llm(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generated answers (any OpenAI-compatible server; off unless "
                             "a base URL and a model are set)")
    g.add_argument("--llm-base-url", help="API root, e.g. http://localhost:11434/v1 "
                   "(or $RAG_LLM_BASE_URL)")
    g.add_argument("--llm-model", help="model name on that server (or $RAG_LLM_MODEL)")
    g.add_argument("--llm-api-key", help="API key, if the server needs one (better: "
                   "$RAG_LLM_API_KEY)")
    g.add_argument("--llm-timeout", type=float, help="seconds for a whole answer (default 60)")
    g.add_argument("--llm-max-tokens", type=int, help="most tokens an answer may have "
                   "(default 400)")
    g.add_argument("--llm-temperature", type=float, help="sampling temperature (default 0.1)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the command's flags."""
    return Settings.from_env(
        corpus_dir=getattr(args, "corpus", None), index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None), data_dir=getattr(args, "data", None),
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        **{name: getattr(args, name, None) for name in _LLM_FLAGS},
        ray_address=getattr(args, "ray", None),
    )


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
        if s.also:
            label = "also published by" if answer.language == "en" else "auch erschienen bei"
            copies = ", ".join(
                f"{c.get('publisher') or c.get('doc_id')}"
                + (f" ({c['date']})" if c.get("date") else "") for c in s.also)
            lines.append(f"    {label}: {copies}")
    if answer.dropped:
        lines.append("")
        lines.append("Not supported by the sources (dropped):" if answer.language == "en"
                     else "Nicht durch die Quellen belegt (entfernt):")
        lines += [f"  - {d['text']}  ({d['reason']})" for d in answer.dropped]
    if answer.notice:
        lines += ["", answer.notice]
    return "\n".join(lines)


def _cmd_index(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    pipeline = Pipeline(settings_from(args), auto_index=False)
    report = pipeline.update_index(rebuild=args.rebuild, progress=not args.quiet)
    print(report.summary())
    return 3 if report.skipped else 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    answer = pipeline.ask(args.question, args.k, date_from=args.date_from,
                          date_to=args.date_to, doc_ids=args.doc or None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


#: Lines that end the conversation (``rag chat``) or start a new one.
_QUIT = ("/quit", "/exit", "/q")
_NEW = ("/new", "/neu")
#: Messages of the conversation kept for follow-ups (the most recent ones).
_KEEP_MESSAGES = 20


def _cmd_chat(args: argparse.Namespace) -> int:
    from .errors import QuestionError
    from .pipeline import Pipeline
    from .types import Message

    pipeline = Pipeline(settings_from(args))
    pipeline.index  # noqa: B018 - build/load before the first question, not during it
    interactive = sys.stdin.isatty()
    if interactive:
        print("Fragen Sie auf Deutsch oder Englisch; Folgefragen beziehen sich auf das "
              "Gespräch. /new: neues Gespräch, /quit: beenden.\n"
              "Ask in German or English; follow-ups refer to the conversation. "
              "/new: new conversation, /quit: exit.")
    history: list[Message] = []
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            return 0
        question = line.strip()
        if not question:
            continue
        if question.lower() in _QUIT:
            return 0
        if question.lower() in _NEW:
            history = []
            print("(neues Gespräch / new conversation)\n")
            continue
        try:
            answer = pipeline.ask(question, args.k, history=history or None)
        except QuestionError as exc:
            print(f"error: {exc}\n", file=sys.stderr)
            continue
        print(format_answer(answer) + "\n", flush=True)
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answer.text}]
        history = history[-_KEEP_MESSAGES:]
def _cmd_add(args: argparse.Namespace) -> int:
    from .ingest.add import add_sources

    settings = settings_from(args)
    if args.allow_private:
        settings = settings.replace(fetch_allow_private=True)
    report = add_sources(args.sources, settings.paths.corpus_dir, settings.ingest)
    print(report.summary())
    if report.added and not args.no_index:
        from .pipeline import Pipeline

        index_report = Pipeline(settings, auto_index=False).update_index(progress=not args.quiet)
        print(index_report.summary())
    return 3 if report.failed else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline
    from .web.service import Service, check_port

    settings = settings_from(args)
    if args.allow_uploads:
        settings = settings.replace(uploads_enabled=True)
    check_port(settings.web.host, settings.web.port)
    # The model and index load (and the warm-up question runs) in a background thread
    # while gradio, the slowest import (~2.9 s CPU), loads here: the two use both cores.
    service = Service(Pipeline(settings, auto_index=False))
    service.start()
    from .web.layout import serve

    serve(settings, service=service)
    return 0


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cmd_eval(args: argparse.Namespace) -> int:
    from .errors import QuestionError
    from .eval import report as out
    from .eval.beir import is_beir, load_beir, write_corpus
    from .eval.metrics import MRR_CUTOFF
    from .eval.questions import load_questions
    from .eval.run import evaluate
    from .pipeline import Pipeline

    settings = settings_from(args)
    if args.llm and not settings.llm.enabled:
        raise SettingsError("--llm needs an LLM server: set --llm-base-url and --llm-model "
                            "(or RAG_LLM_BASE_URL and RAG_LLM_MODEL).")
    if not args.llm:
        settings = settings.replace(llm_base_url="")  # the extractive answers, comparable
    if is_beir(args.questions):
        # A BEIR folder: its documents become a corpus of their own (never the product's).
        beir = load_beir(args.questions, args.split)
        work = settings.paths.data_dir / "beir" / Path(args.questions).resolve().name
        settings = settings.replace(corpus_dir=args.corpus or work / "corpus",
                                    index_dir=args.index or work / "index")
        written = write_corpus(beir.docs, settings.paths.corpus_dir)
        log.info("BEIR: %d documents (%d written) in %s, %d questions of split %s",
                 len(beir.docs), written, settings.paths.corpus_dir, len(beir.questions),
                 args.split)
        questions = beir.questions
    else:
        questions = load_questions(args.questions)
    baseline = out.load_report(args.baseline) if args.baseline else None
    most = settings.retrieval.max_top_k
    if not 1 <= args.k <= most:
        raise QuestionError(f"--k must be between 1 and {most} (got {args.k})")
    if args.limit is not None and args.limit < 1:
        raise QuestionError(f"--limit must be at least 1 (got {args.limit})")
    if args.k < MRR_CUTOFF:
        log.warning("--k %d < %d: hit@k for k > %d counts only the %d returned sources.",
                    args.k, MRR_CUTOFF, args.k, args.k)
    if args.limit:
        questions = questions[: args.limit]

    pipeline = Pipeline(settings)
    index_report = pipeline.update_index(progress=not args.quiet)
    for skipped in index_report.skipped:
        log.warning("Corpus file skipped: %s (%s)", skipped.path, skipped.reason)
    report = evaluate(pipeline, questions, k=args.k, progress=not args.quiet)
    report.config["questions_file"] = {
        "path": str(args.questions), "n": len(questions),
        **({"split": args.split} if is_beir(args.questions)
           else {"sha256": _file_digest(Path(args.questions))}),
    }

    print(out.format_metrics_table(report.metrics, baseline["metrics"] if baseline else None))
    if "llm" in report.metrics:
        from .eval.llm_metrics import format_llm_metrics

        print(format_llm_metrics(report.metrics["llm"]))
    if baseline:
        for note in out.config_differences(report.to_dict(), baseline):
            print(f"note: {note}")
    writers = (
        (args.out, lambda path: out.write_json(report, path)),
        (args.csv, lambda path: out.write_csv(report, path)),
        (args.markdown, lambda path: out.write_markdown(report, path, baseline=baseline)),
    )
    for path, write in writers:
        if not path:
            continue
        try:
            write(path)
        except OSError as exc:
            print(f"error: cannot write {path}: {exc}", file=sys.stderr)
            return 1
        log.info("Wrote %s", path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rag`` / ``python -m rag``."""
    parser = argparse.ArgumentParser(
        prog="rag", description="Questions and answers with citations over German news "
        "articles (German or English questions).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index (only changed articles)")
    _add_paths(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="chunk and embed on a Ray cluster: its address (auto, HOST:PORT, "
                   "ray://HOST:10001), or no address to start a local cluster for the build "
                   "(or $RAG_RAY_ADDRESS); needs requirements-ray.txt")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("ask", help="answer a question")
    p.add_argument("question")
    _add_paths(p)
    p.add_argument("--k", type=int, default=None, help="number of sources (default 5, "
                   "or $RAG_TOP_K)")
    p.add_argument("--date-from", help="only articles from this date (2022, 2022-12, 2022-12-19)")
    p.add_argument("--date-to", help="only articles up to this date")
    p.add_argument("--doc", action="append", help="only this article (doc_id); repeatable")
    p.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    _add_llm(p)
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser(
        "chat", help="a conversation in the terminal (follow-up questions understood)",
        description="Ask questions one per line; a follow-up ('Und wann war das?') is "
        "answered in the context of the conversation. /new starts a new conversation, "
        "/quit (or end of input) ends it. Reads questions from a pipe too.",
    )
    _add_paths(p)
    p.add_argument("--k", type=int, default=None, help="number of sources (default 5, "
                   "or $RAG_TOP_K)")
    p.set_defaults(func=_cmd_chat)

    p = sub.add_parser(
        "eval", help="evaluate the product on a question file (metrics per language)",
        description="Run every question of a JSON Lines question file through the "
        "pipeline and report hit@k, mrr, answer_hit, no-answer precision/recall and "
        "latency, overall and per language (definitions: shared/eval/README.md).",
    )
    p.add_argument("questions", help="question file (JSON Lines), or a folder in the BEIR "
                   "layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv; its documents are "
                   "indexed under data/beir/<name>/ unless --corpus/--index say where)")
    _add_paths(p)
    p.add_argument("--split", default="test", help="BEIR split: qrels/<split>.tsv (default test)")
    p.add_argument("--k", type=int, default=10, help="sources per question (default 10)")
    p.add_argument("--out", help="write the full report as JSON")
    p.add_argument("--csv", help="write one row per question as CSV")
    p.add_argument("--markdown", help="write a readable report (metrics, failed questions)")
    p.add_argument("--baseline", help="an earlier report.json to compare the metrics with")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--llm", action="store_true", help="answer with the configured LLM and add "
                   "citation precision, fallback share, answer language and LLM timings")
    _add_llm(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "add", help="add web pages (URLs), files or folders to the corpus and update the index",
        description="Fetch each URL (http/https; public addresses only) or read each file "
        "or folder (.html, .htm, .pdf, .txt, .md, .jsonl, .csv), save it into the corpus "
        "(web pages and PDFs as Markdown with front matter: title, date, url, publisher, "
        "author) and update the index incrementally. A failed input is reported with its "
        "reason; the others still go in (exit code 3 when any failed).",
    )
    p.add_argument("sources", nargs="+", metavar="URL|FILE|DIR")
    _add_paths(p)
    p.add_argument("--no-index", action="store_true", help="only save into the corpus")
    p.add_argument("--allow-private", action="store_true",
                   help="allow URLs on loopback/private/link-local addresses (trusted "
                   "networks only; or $RAG_FETCH_ALLOW_PRIVATE)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser("serve", help="start the web chat (also: python app.py)")
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1, or "
                   "$GRADIO_SERVER_NAME / $RAG_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860, or $GRADIO_SERVER_PORT / "
                   "$RAG_PORT)")
    _add_paths(p)
    p.add_argument("--data", help="folder for feedback.jsonl (default: data/, or $RAG_DATA_DIR)")
    p.add_argument("--allow-uploads", action="store_true",
                   help="let users add files and URLs to the corpus from the chat (off by "
                   "default: only on a trusted network; or $RAG_UPLOADS_ENABLED)")
    _add_llm(p)
    p.set_defaults(func=_cmd_serve)
    return parser


def setup_logging(verbose: bool) -> None:
    """Log what happened to stderr (``-v``: debug); quiet third-party loggers."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbose:
        return
    # A filter on the handler, not logger levels: some libraries (bm25s) set their own
    # logger's level when they are imported, which happens after this (lazily).
    for handler in logging.getLogger().handlers:
        handler.addFilter(
            lambda r: r.levelno >= logging.WARNING or not r.name.startswith(_NOISY)
        )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2: usage or input error)."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous index is unchanged.", file=sys.stderr)
        return 130


def main_exit() -> None:
    """Entry point of the ``rag`` console script."""
    sys.exit(main())
