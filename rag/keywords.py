"""German-aware keyword search: BM25 (bm25s) over Snowball-stemmed German tokens.

English questions over German text share few words with it; what survives translation
are names and numbers (:func:`anchor_terms`), so the retrieval layer searches those.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

log = logging.getLogger(__name__)

_STEMMER = Stemmer.Stemmer("german")
_DE_STOP = frozenset(STOPWORDS_GERMAN) | {
    "wurde", "wurden", "worden", "würde", "würden", "hatte", "hatten", "habe", "haben",
    "hat", "ist", "sind", "war", "waren", "wird", "werden", "sei", "seien", "sagte",
}
_EN_STOP = frozenset(STOPWORDS_EN) | {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did", "does",
    "do", "many", "much", "according", "name", "called", "year", "years",
}
# Digit-group separators inside numbers: 62'000 = 62’000 = 62.000 = 62 000 -> 62000.
_NUMBER_GROUP = re.compile(r"(?<=\d)['’.\u202f\u2009\u00a0 ](?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def normalize_numbers(text: str) -> str:
    """Remove digit-group separators so that 62'000, 62.000 and 62 000 compare equal."""
    return _NUMBER_GROUP.sub("", text)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed German terms of ``text`` without stopwords."""
    words = [w for w in _TOKEN.findall(normalize_numbers(text).lower()) if w not in _DE_STOP]
    return [s for s in _STEMMER.stemWords(words) if len(s) > 1 or s.isdigit()]


def anchor_terms(question: str) -> list[str]:
    """Terms of an English question that survive translation: numbers and names.

    A name is a capitalised word that is not the question's first word and not an
    English function word; numbers are kept whole (separators normalised).
    """
    words = _TOKEN.findall(normalize_numbers(question))
    keep = [
        w for i, w in enumerate(words)
        if any(c.isdigit() for c in w)
        or (i > 0 and w[:1].isupper() and w.lower() not in _EN_STOP)
    ]
    return tokenize(" ".join(keep))


class KeywordIndex:
    """A BM25 index whose rows are aligned with the caller's chunk rows."""

    def __init__(self, bm25: bm25s.BM25) -> None:
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict or {}
        self.size = int(bm25.scores.get("num_docs", 0)) if bm25.scores else 0

    @classmethod
    def build(cls, texts: list[str]) -> KeywordIndex:
        """Index ``texts`` (row i of the index is ``texts[i]``)."""
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus_tokens = [tokenize(t) or ["\x00"] for t in texts]
        bm25.index(corpus_tokens, show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Load an index written by :meth:`save`."""
        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0))

    def search(
        self, terms: list[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for ``terms`` as (rows, scores); rows with score 0 are dropped.

        ``mask`` (bool per row) restricts the search to allowed rows.
        """
        terms = [t for t in terms if t in self._vocab]
        if not terms or self.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        k = min(k, self.size)
        weight_mask = None if mask is None else mask.astype(np.float32)
        rows, scores = self._bm25.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, weight_mask=weight_mask
        )
        rows, scores = rows[0].astype(np.int64), scores[0].astype(np.float32)
        keep = scores > 0
        return rows[keep], scores[keep]
