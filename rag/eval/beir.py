"""Public retrieval benchmarks in the BEIR layout, as a corpus folder and questions.

A BEIR data set is a folder with ``corpus.jsonl`` (``{"_id", "title", "text"}`` per line),
``queries.jsonl`` (``{"_id", "text"}``) and ``qrels/<split>.tsv`` (``query-id``,
``corpus-id``, ``score`` with a header line). :func:`load_beir` reads it;
:func:`write_corpus` writes its documents as Markdown articles (front matter title) into
a corpus folder the product indexes like any other. Every query with a relevant document
(score > 0) in the split becomes an article-level :class:`Question` (no answer keywords).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import EvalFileError
from ..text.language import detect_language
from .questions import Question

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BeirDoc:
    """One document of a BEIR corpus."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirSet:
    """A BEIR data set: documents, and the questions of one split."""

    docs: list[BeirDoc]
    questions: list[Question]


def is_beir(path: str | Path) -> bool:
    """True when ``path`` is a folder in the BEIR layout."""
    path = Path(path)
    return path.is_dir() and (path / "corpus.jsonl").is_file() and (
        path / "queries.jsonl").is_file()


def file_name(doc_id: str) -> str:
    """The corpus file name of a BEIR document id (``.md``; unsafe characters replaced,
    with a short hash of the id so that different ids never share a name)."""
    safe = _SAFE.sub("_", doc_id).strip("._") or "doc"
    if safe != doc_id:
        safe = f"{safe[:80]}_{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}"
    return safe + ".md"


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise EvalFileError(f"{path}: cannot read the file ({exc}).") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalFileError(f"{path}:{number}: invalid JSON ({exc.msg}).") from exc
            if not isinstance(record, dict) or not isinstance(record.get("_id"), str | int):
                raise EvalFileError(f"{path}:{number}: expected an object with an \"_id\".")
            yield number, record


def _qrels(path: Path) -> dict[str, list[str]]:
    relevant: dict[str, list[str]] = {}
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise EvalFileError(
            f"{path}: cannot read the relevance judgements ({exc}). A BEIR folder needs "
            "qrels/<split>.tsv; choose the split with --split.") from exc
    with handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row:
                continue
            if len(row) < 3:
                raise EvalFileError(
                    f"{path}:{number}: expected query-id, corpus-id and score separated by tabs.")
            try:
                score = float(row[2])
            except ValueError:
                if number == 1:
                    continue  # the header line
                raise EvalFileError(f"{path}:{number}: score {row[2]!r} is not a number.") from None
            if score > 0:
                relevant.setdefault(row[0], []).append(row[1])
    return relevant


def load_beir(folder: str | Path, split: str = "test") -> BeirSet:
    """Read a BEIR folder; raises :class:`~rag.errors.EvalFileError` naming the problem."""
    folder = Path(folder)
    if not is_beir(folder):
        raise EvalFileError(
            f"{folder} is not a BEIR data set: it needs corpus.jsonl, queries.jsonl and "
            "qrels/<split>.tsv.")
    docs = [
        BeirDoc(str(r["_id"]), str(r.get("title") or "").strip(), str(r.get("text") or ""))
        for _, r in _jsonl(folder / "corpus.jsonl")
    ]
    known = {d.id for d in docs}
    relevant = _qrels(folder / "qrels" / f"{split}.tsv")
    questions = []
    for number, r in _jsonl(folder / "queries.jsonl"):
        qid, text = str(r["_id"]), str(r.get("text") or "").strip()
        wanted = [d for d in relevant.get(qid, []) if d in known]
        if not wanted:
            continue
        if not text:
            raise EvalFileError(f"{folder / 'queries.jsonl'}:{number}: query {qid!r} is empty.")
        questions.append(Question(qid, detect_language(text), text,
                                  tuple(file_name(d) for d in wanted), ()))
    if not questions:
        raise EvalFileError(
            f"{folder}: no query of split {split!r} has a relevant document in corpus.jsonl.")
    return BeirSet(docs, questions)


def write_corpus(docs: list[BeirDoc], corpus_dir: str | Path) -> int:
    """Write ``docs`` as Markdown articles into ``corpus_dir`` (unchanged files are left
    alone, so an index over the folder is only updated); returns the number written."""
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for doc in docs:
        front = f"---\ntitle: {json.dumps(doc.title, ensure_ascii=False)}\n---\n" if doc.title \
            else ""
        body = f"{doc.title}\n\n{doc.text}\n" if doc.title else f"{doc.text}\n"
        path = corpus_dir / file_name(doc.id)
        content = front + body
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        path.write_text(content, encoding="utf-8")
        written += 1
    return written
