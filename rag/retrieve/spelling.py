"""Query terms corrected against the corpus vocabulary (typos in real queries).

Real queries carry typos ("Lukascchenko", "Telefnoat") and English spellings of German
names ("Lukashenko"). A stemmed query term that is not in the keyword index is replaced
by the index terms within a small edit distance (optimal string alignment: a swap of two
letters is one edit), so that BM25 still finds the passages. Missing umlauts need no
correction: the German Snowball stemmer folds ä/ö/ü/ß already.
"""

from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..store.keywords import KeywordStore
from ..text.names import german_forms

#: Terms shorter than this are never corrected (too many near neighbours).
MIN_LENGTH = 5
#: Corrections kept per unknown term.
MAX_CANDIDATES = 3


def max_edits(term: str) -> int:
    """Edits allowed for a term: 1 up to 7 letters, 2 from 8 letters on."""
    return 1 if len(term) < 8 else 2


def correct_terms(terms: list[str], index: KeywordStore) -> list[str]:
    """``terms`` with each unknown term (not in ``index``, at least :data:`MIN_LENGTH`
    letters, no digits) replaced by up to :data:`MAX_CANDIDATES` index terms within
    :func:`max_edits` edits, looked for among ``index.similar_pool(term)``; unknown terms
    without a close index term are kept."""
    out: list[str] = []
    for term in terms:
        if len(term) < MIN_LENGTH or any(c.isdigit() for c in term) or index.known(term):
            out.append(term)
            continue
        matches = process.extract(term, index.similar_pool(term), scorer=OSA.distance,
                                  score_cutoff=max_edits(term), limit=MAX_CANDIDATES)
        out.extend(m[0] for m in matches) if matches else out.append(term)
    return out


def term_forms(term: str, index: KeywordStore, lang: str) -> list[str]:
    """The forms in which articles may write the question term ``term``: itself or its
    :func:`correct_terms` corrections, and for an English question also its German forms
    (:func:`~rag.text.names.german_forms`: "switzerland" -> "schweiz")."""
    forms = correct_terms([term], index)
    return [*forms, *german_forms(term)] if lang != "de" else forms
