"""The data that flows through the product, step by step (no storage or model imports).

``Article`` (read from the corpus) -> ``Chunk`` (a passage) -> ``StoredChunk`` (as the
index returns it, with sentence vectors) -> ``Hit`` (retrieved, with scores) ->
``Source`` (a numbered citation) -> ``Answer``. ``Message`` is one chat turn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np


@dataclass(frozen=True)
class Article:
    """One article of the corpus: its body text and metadata."""

    #: Path relative to the corpus folder, POSIX style (``"sub/002_x.txt"``).
    doc_id: str
    title: str
    #: ``"2022-12-19"``, ``"2021-11"`` or ``"2020"``: as precise as the source says.
    date: str | None
    url: str | None
    #: The URL's host without ``www.`` (``"zeit.de"``), or front matter's ``publisher``.
    publisher: str | None
    author: str | None
    #: The body: metadata lines removed, NFC, ``\n`` line ends, no trailing whitespace.
    text: str
    #: SHA-256 (hex) of the file's raw bytes.
    content_hash: str
    #: True when ``title`` is a real headline (front matter, a heading line), False when
    #: it is only the shortened first sentence.
    headline: bool = False


@dataclass
class Skipped:
    """A corpus file that was not read, and why (with what to do about it)."""

    path: str
    reason: str
    #: SHA-256 of the file's bytes when they could be read (the content was the problem).
    content_hash: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of an article, with exact character offsets into ``Article.text``."""

    #: ``f"{doc_id}#{i}"``, ``i`` counting from 0 within the article.
    chunk_id: str
    doc_id: str
    title: str
    date: str | None
    text: str
    start: int
    end: int
    #: Sentence spans ``(start, end)`` relative to ``text``.
    sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class DocMeta:
    """Metadata of one indexed article."""

    doc_id: str
    title: str
    date: str | None
    url: str | None
    publisher: str | None
    author: str | None


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store, with its sentence vectors."""

    id: int
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    sentences: list[tuple[int, int]]
    sentence_vectors: np.ndarray


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its scores."""

    id: int
    row: int
    doc_id: str
    score: float
    dense: float
    keyword: float
    #: Similarity of the passage's best-matching sentence (0 when not reranked).
    sentence: float = 0.0


@dataclass
class Source:
    """A passage that the answer cites (``n`` is its citation number)."""

    n: int
    doc_id: str
    title: str
    date: str | None
    url: str | None
    publisher: str | None
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)
    #: Similarity of the passage's best sentence to the question: the scale of the
    #: "not found" decision (``min_relevance_<lang>``); ``None`` when not measured.
    relevance: float | None = None
    #: Copies of this article elsewhere ("also published by"): dicts with doc_id,
    #: title, publisher, date, url.
    also: list[dict[str, str | None]] = field(default_factory=list)


@dataclass
class Answer:
    """The answer to one question."""

    question: str
    language: str
    found: bool
    text: str
    sources: list[Source]
    #: How a follow-up question was understood ("Verstanden als: ..."), also the first
    #: line of ``text``; ``None`` when the question was answered on its own.
    understood_as: str | None = None

    @property
    def body(self) -> str:
        """``text`` without the "understood as" line: the answer itself."""
        if self.understood_as and self.text.startswith(self.understood_as):
            return self.text[len(self.understood_as):].lstrip("\n")
        return self.text
    #: The period the question named and retrieval used (``"2022-12"``), if any.
    period: str | None = None
    #: True when ``text`` was written by an LLM (only its sentences that the citation
    #: check found supported), False for the extractive answer.
    generated: bool = False
    #: The LLM's model name, when one was asked.
    model: str | None = None
    #: Generated sentences the citation check dropped: ``{"text": ..., "reason": ...}``.
    dropped: list[dict[str, str]] = field(default_factory=list)
    #: The extractive answer (quoted evidence) beside a generated one.
    extractive: str | None = None
    #: A short note for the user, e.g. why the extractive answer is shown instead.
    notice: str | None = None
    #: LLM timing in seconds: ``first_token``, ``total``.
    timing: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (highlights as [start, end] lists)."""
        data = asdict(self)
        for s in data["sources"]:
            s["highlights"] = [list(h) for h in s["highlights"]]
        return data


class Message(TypedDict):
    """One turn of a conversation, in the OpenAI/Gradio messages format."""

    role: Literal["user", "assistant"]
    content: str
