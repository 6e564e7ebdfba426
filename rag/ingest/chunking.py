"""Splitting articles into chunks of at most ``chunk_tokens`` model tokens.

langchain's ``RecursiveCharacterTextSplitter`` splits at paragraphs, then lines, then
German-aware sentence boundaries (the rules of :mod:`rag.text.sentences`), then clauses, then
words, and merges the pieces up to the token budget, with ``overlap_tokens`` of overlap
between neighbouring pieces of the same level (sentences of a long paragraph, say; a
chunk that ends at a paragraph break repeats only whole trailing paragraphs that fit in
the overlap). Lengths are measured with ``count_tokens`` (the embedding model's, prompt and
special tokens included). Every chunk is then checked with ``count_tokens``; a chunk over
the limit (a "word" longer than a chunk, a 20 MB line without spaces) is cut by a
token-bounded binary search, so no chunk ever exceeds ``chunk_tokens``.

Chunks are exact slices of ``Article.text``: ``article.text[c.start:c.end] == c.text``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ..text.sentences import SENTENCE_BOUNDARY_REGEX, split_sentences
from ..types import Article, Chunk

__all__ = ["SEPARATORS", "Chunk", "chunk_article", "chunk_corpus"]

log = logging.getLogger(__name__)

#: Separators, coarsest first (regular expressions without capturing groups).
SEPARATORS: list[str] = [
    r"\n[^\S\n]*\n\s*",  # paragraph break
    r"\n\s*",  # line break
    SENTENCE_BOUNDARY_REGEX,  # German-aware sentence boundary
    r"(?<=[,;:–—])\s+",  # clause
    r"\s+",  # word
]

#: A piece longer than ``chars_per_token * budget`` characters is treated as too long
#: without asking the tokenizer (it is split further; keeps 20 MB inputs fast).
_MAX_CHARS_PER_TOKEN = 32


class _Budget:
    """Token counting with the prompt/special-token overhead taken out."""

    def __init__(self, count_tokens: Callable[[str], int], chunk_tokens: int) -> None:
        self.count_tokens = count_tokens
        self.chunk_tokens = chunk_tokens
        self.overhead = count_tokens("")
        self.limit = chunk_tokens - self.overhead  # tokens left for the text itself
        self.max_chars = max(self.limit, 1) * _MAX_CHARS_PER_TOKEN
        self._cache: dict[str, int] = {}

    def length(self, text: str) -> int:
        """Tokens of ``text`` without the overhead (what langchain adds up), cached:
        langchain measures the same pieces several times."""
        if not text:
            return 0
        if len(text) > self.max_chars:
            return self.limit + len(text)  # certainly too long; never tokenized
        n = self._cache.get(text)
        if n is None:
            if len(self._cache) >= 20_000:
                self._cache.clear()
            n = self._cache[text] = self.count_tokens(text) - self.overhead
        return n

    def fits(self, text: str) -> bool:
        """True when ``text`` as a whole is within ``chunk_tokens`` (not cached)."""
        return len(text) <= self.max_chars and self.count_tokens(text) <= self.chunk_tokens


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _longest_fitting_prefix(text: str, pos: int, rest: int, guess: int, budget: _Budget) -> int:
    """Length of a long prefix of ``text[pos:pos + rest]`` that fits (verified), searching
    outward from ``guess`` then bisecting; 1 if not even one character fits."""

    def fits(n: int) -> bool:
        return budget.fits(text[pos:pos + n])

    guess = max(1, min(guess, rest))
    step = 1
    if fits(guess):
        lo = guess
        while lo < rest:
            hi = min(rest, lo + step)
            if not fits(hi):
                break
            lo, step = hi, step * 2
        else:
            return lo
    else:
        hi = guess
        while True:
            lo = max(1, hi - step)
            if lo == 1 or fits(lo):
                break
            hi, step = lo, step * 2
    while hi - lo > 1:  # fits(lo) (or lo == 1), not fits(hi)
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _hard_split(text: str, start: int, end: int, budget: _Budget) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into spans that each fit the budget, preferring to cut at a
    sentence end or whitespace. Only prefixes verified with ``count_tokens`` are emitted."""
    spans: list[tuple[int, int]] = []
    pos = start
    guess = max(budget.limit, 1) * 4
    while True:
        pos, end = _strip_span(text, pos, end)
        if pos >= end:
            return spans
        rest = end - pos
        if rest <= budget.max_chars and budget.fits(text[pos:end]):
            spans.append((pos, end))
            return spans
        n = _longest_fitting_prefix(text, pos, rest, guess, budget)
        guess = n
        cut = pos + n
        if n == 1 and not budget.fits(text[pos:cut]):
            log.warning("%r alone exceeds the chunk budget of %d tokens; kept as a chunk",
                        text[pos], budget.chunk_tokens)
        # Prefer a sentence end, then whitespace, in the second half of the prefix.
        window = text[pos + n // 2: cut]
        nice = None
        for pattern in (r"[.!?…][\"'“”»«’)]*\s", r"\s"):
            found = [m.end() for m in re.finditer(pattern, window)]
            if found:
                nice = pos + n // 2 + found[-1]
                break
        if cut < end and nice is not None and nice < cut and budget.fits(text[pos:nice]):
            cut = nice
        a, b = _strip_span(text, pos, cut)
        if a < b:
            spans.append((a, b))
        pos = cut


def _locate(text: str, pieces: Iterable[str]) -> list[tuple[int, int]]:
    """Offsets of the splitter's pieces (contiguous slices of ``text``, in order)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = text.find(piece, cursor)
        if at < 0:  # cannot happen with keep_separator; be safe rather than wrong
            at = text.find(piece)
            if at < 0:
                raise RuntimeError("chunk text not found in the article text")
        spans.append((at, at + len(piece)))
        cursor = at + 1
    return spans


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _paragraph_groups(text: str, budget: _Budget, min_tokens: int) -> list[tuple[int, int]]:
    """Spans of consecutive paragraphs, each group closed once it has ``min_tokens``.

    Chunks never cross a group boundary, so a paragraph of a reasonable size is never
    merged with its neighbours (which mixes topics); only short paragraphs are joined.
    ``min_tokens`` 0 makes the whole text one group.
    """
    if min_tokens <= 0:
        return [(0, len(text))]
    groups: list[tuple[int, int]] = []
    start = pos = 0
    for m in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        if m is None or budget.length(text[start:end]) >= min_tokens:
            if text[start:end].strip():
                groups.append((start, end))
            start = m.end() if m else end
        pos = end
    del pos
    return groups


def chunk_article(
    article: Article,
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    count_tokens: Callable[[str], int],
    paragraph_tokens: int = 0,
) -> list[Chunk]:
    """Split ``article.text`` into :class:`Chunk` s of at most ``chunk_tokens`` tokens.

    ``count_tokens(text)`` is the model's token count for a passage, prompt and special
    tokens included (so ``count_tokens("")`` is the fixed overhead); ``overlap_tokens`` is
    the overlap between consecutive chunks (at sentence/clause/word level, see the module
    docstring). With ``paragraph_tokens`` > 0, paragraphs are kept apart once a group of
    them has that many tokens (see :func:`_paragraph_groups`). Raises ``ValueError`` for a
    budget that leaves no room for text.
    """
    budget = _Budget(count_tokens, chunk_tokens)
    if budget.limit < 1:
        raise ValueError(f"chunk_tokens={chunk_tokens} leaves no room for text: the prompt "
                         f"and special tokens alone take {budget.overhead} tokens")
    if not 0 <= overlap_tokens < budget.limit:
        raise ValueError(f"overlap_tokens={overlap_tokens} must be >= 0 and smaller than the "
                         f"{budget.limit} tokens a chunk has for text")
    text = article.text
    if not text.strip():
        return []
    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=budget.limit,
        chunk_overlap=overlap_tokens,
        length_function=budget.length,
        strip_whitespace=True,
    )
    spans: list[tuple[int, int]] = []
    for g0, g1 in _paragraph_groups(text, budget, paragraph_tokens):
        for a, b in _locate(text[g0:g1], splitter.split_text(text[g0:g1])):
            a, b = a + g0, b + g0
            if budget.fits(text[a:b]):
                spans.append((a, b))
            else:
                spans.extend(_hard_split(text, a, b, budget))
    chunks = []
    for i, (a, b) in enumerate(spans):
        piece = text[a:b]
        chunks.append(Chunk(
            chunk_id=f"{article.doc_id}#{i}",
            doc_id=article.doc_id,
            title=article.title,
            date=article.date,
            text=piece,
            start=a,
            end=b,
            sentences=tuple(split_sentences(piece)),
        ))
    return chunks


def chunk_corpus(
    articles: Iterable[Article],
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    count_tokens: Callable[[str], int],
    paragraph_tokens: int = 0,
) -> list[Chunk]:
    """:func:`chunk_article` for each article, concatenated in order."""
    out: list[Chunk] = []
    for article in articles:
        out.extend(chunk_article(article, chunk_tokens=chunk_tokens,
                                 overlap_tokens=overlap_tokens, count_tokens=count_tokens,
                                 paragraph_tokens=paragraph_tokens))
    return out
