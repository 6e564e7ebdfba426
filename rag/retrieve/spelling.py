"""Query terms corrected against the corpus vocabulary (typos in real queries).

Real queries carry typos ("Lukascchenko", "Telefnoat") and English spellings of German
names ("Lukashenko"). A stemmed query term that is not in the keyword index is replaced
by the index terms within a small edit distance (optimal string alignment: a swap of two
letters is one edit), so that BM25 still finds the passages. Missing umlauts need no
correction: the German Snowball stemmer folds ä/ö/ü/ß already.
"""

from __future__ import annotations

import threading
import weakref

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..store.keywords import Bm25sKeywords, KeywordStore

#: Terms shorter than this are never corrected (too many near neighbours).
MIN_LENGTH = 5
#: Corrections kept per unknown term.
MAX_CANDIDATES = 3

_words: weakref.WeakKeyDictionary[Bm25sKeywords, list[str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _candidates(index: Bm25sKeywords) -> list[str]:
    with _lock:
        words = _words.get(index)
        if words is None:
            words = [t for t in index.vocabulary if len(t) >= MIN_LENGTH - 1
                     and not any(c.isdigit() for c in t)]
            _words[index] = words
        return words


def max_edits(term: str) -> int:
    """Edits allowed for a term: 1 up to 7 letters, 2 from 8 letters on."""
    return 1 if len(term) < 8 else 2


def correct_terms(terms: list[str], index: KeywordStore) -> list[str]:
    """``terms`` with each unknown term (not in ``index``, at least :data:`MIN_LENGTH`
    letters, no digits) replaced by up to :data:`MAX_CANDIDATES` index terms within
    :func:`max_edits` edits; unknown terms without a close index term are kept.
    A store without a vocabulary (tantivy) gets the terms unchanged."""
    if not isinstance(index, Bm25sKeywords):
        return terms
    vocabulary = index.vocabulary
    out: list[str] = []
    for term in terms:
        if term in vocabulary or len(term) < MIN_LENGTH or any(c.isdigit() for c in term):
            out.append(term)
            continue
        matches = process.extract(term, _candidates(index), scorer=OSA.distance,
                                  score_cutoff=max_edits(term), limit=MAX_CANDIDATES)
        out.extend(m[0] for m in matches) if matches else out.append(term)
    return out
