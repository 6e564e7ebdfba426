"""Hybrid retrieval: dense (FAISS) and keyword (BM25) search, fused per question.

BM25 over German text is strong for German questions but adds noise for English ones,
whose words mostly do not occur in the articles. The fusion therefore weighs the keyword
signal by language: German questions use all their stemmed terms (typos corrected against
the corpus vocabulary, :mod:`.spelling`); English questions only the terms that survive
translation (names, numbers), with a smaller weight.

Passages of one article are not near-duplicates of each other: every sentence is embedded
under the article's headline, so sibling passages have very similar vectors although
they say different things. Only passages that overlap in the text (or are the same text
in two articles) count as duplicates; measured on Wikinews this returns the answering
passage that a vector-similarity filter dropped (bench/tune_retrieval.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..settings import RetrievalSettings
from ..store.index import Index
from ..text.terms import anchor_terms, tokenize
from ..types import Hit, StoredChunk
from .spelling import correct_terms


def keyword_terms(
    question: str, lang: str, index: Index | None = None, correct: bool = True
) -> list[str]:
    """The BM25 query terms for a question in ``lang`` (German terms corrected against
    ``index``'s vocabulary when ``correct``)."""
    if lang != "de":
        return anchor_terms(question)
    terms = tokenize(question)
    return correct_terms(terms, index.keywords) if correct and index is not None else terms


def search(
    index: Index,
    qvec: np.ndarray,
    question: str,
    lang: str,
    k: int,
    params: RetrievalSettings,
    allowed_rows: np.ndarray | None = None,
) -> list[Hit]:
    """The top ``k`` diverse chunks for a question (``qvec``: its normalised vector)."""
    if index.size == 0 or (allowed_rows is not None and len(allowed_rows) == 0):
        return []
    depth = min(max(params.depth, 4 * k), index.size)
    q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
    allowed_ids = None if allowed_rows is None else index.row_ids[allowed_rows]
    dense_scores, dense_ids = index.vectors.search(q, depth, allowed=allowed_ids)
    dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0]) if i >= 0}

    terms = keyword_terms(question, lang, index, params.correct_spelling)
    kw_ids, kw_scores = index.keywords.search(terms, depth, allowed_ids)
    keyword: dict[int, float] = {}
    if len(kw_ids):
        top = float(kw_scores.max())
        keyword = {int(i): float(s) / top for i, s in zip(kw_ids, kw_scores)}

    missing = [i for i in keyword if i not in dense]
    if missing:
        vecs = index.vectors.reconstruct_batch(np.asarray(missing, dtype=np.int64))
        dense.update({i: float(v @ q[0]) for i, v in zip(missing, vecs)})

    weight = params.keyword_weight_de if lang == "de" else params.keyword_weight_en
    ids = np.fromiter(dense.keys(), dtype=np.int64, count=len(dense))
    row_of = index.rows_of(ids)
    hits = [
        Hit(int(i), int(r), index.row_docs[r], dense[int(i)] + weight * keyword.get(int(i), 0.0),
            dense[int(i)], keyword.get(int(i), 0.0))
        for i, r in zip(ids, row_of)
    ]
    hits.sort(key=lambda h: -h.score)
    if params.sentence_weight and hits:
        hits = rerank_by_sentences(index, qvec, hits, params)
    return diversify(index, hits, k, params)


def sentence_relevance(chunk: StoredChunk, qvec: np.ndarray) -> float:
    """Similarity of the chunk's best-matching sentence to the question (the measure of
    the "not found" decision; ``Hit.sentence`` for reranked hits)."""
    vecs = chunk.sentence_vectors
    return float((vecs @ qvec).max()) if len(vecs) else 0.0


def background_similarity(
    index: Index, qvec: np.ndarray, rank: int, depth: int,
    allowed_rows: np.ndarray | None = None,
) -> float:
    """How similar the archive is to the question in general: the ``rank``-th highest
    best-sentence similarity among the ``depth`` passages nearest to ``qvec`` (fewer
    passages: the lowest of them; none: 0). A question that resembles many passages
    (a common topic, generic wording) has a high background, one about a specific
    matter a low one; the "not found" decision of English questions moves with it."""
    if index.size == 0 or (allowed_rows is not None and len(allowed_rows) == 0):
        return 0.0
    allowed_ids = None if allowed_rows is None else index.row_ids[allowed_rows]
    q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
    _, ids = index.vectors.search(q, min(depth, index.size), allowed=allowed_ids)
    chunks = index.chunks([int(i) for i in ids[0] if i >= 0])
    best = sorted((sentence_relevance(c, qvec) for c in chunks.values()
                   if len(c.sentence_vectors)), reverse=True)
    return best[min(rank, len(best)) - 1] if best else 0.0


def rerank_by_sentences(
    index: Index, qvec: np.ndarray, hits: list[Hit], params: RetrievalSettings
) -> list[Hit]:
    """Add the best sentence match of each top candidate to its score.

    A passage that contains one sentence matching the question closely is a better
    answer than one that is only about the same topic.
    """
    top = hits[: params.rerank_depth]
    chunks = index.chunks([h.id for h in top])
    rescored = []
    for h in top:
        vecs = chunks[h.id].sentence_vectors
        best = float((vecs @ qvec).max()) if len(vecs) else h.dense
        rescored.append(replace(h, score=h.score + params.sentence_weight * best, sentence=best))
    rescored.sort(key=lambda h: -h.score)
    floor = rescored[-1].score if rescored else 0.0
    rest = [replace(h, score=min(h.score + params.sentence_weight * h.dense, floor))
            for h in hits[params.rerank_depth :]]
    return rescored + rest


def diversify(index: Index, hits: list[Hit], k: int, params: RetrievalSettings) -> list[Hit]:
    """At most ``max_per_doc`` passages per article unless it dominates; no duplicates
    (passages of one article overlapping by more than ``duplicate_overlap`` of the shorter
    one, or the same text in two articles)."""
    chosen: list[Hit] = []
    per_doc: dict[str, int] = {}
    spans: dict[int, tuple[int, int]] = {}
    texts: dict[int, str] = {}
    if hits:
        meta = index.chunks([h.id for h in hits[: 4 * k]])
        spans = {i: (c.start, c.end) for i, c in meta.items()}
        texts = {i: " ".join(c.text.split()).casefold() for i, c in meta.items()}

    def duplicate(h: Hit) -> bool:
        for c in chosen:
            if c.doc_id == h.doc_id and h.id in spans and c.id in spans:
                (a0, a1), (b0, b1) = spans[h.id], spans[c.id]
                overlap = max(0, min(a1, b1) - max(a0, b0))
                if overlap > params.duplicate_overlap * min(a1 - a0, b1 - b0):
                    return True
            elif h.id in texts and texts.get(c.id) == texts[h.id]:
                return True
        return False

    pending = list(hits[: 4 * k])
    deferred: list[Hit] = []
    while pending and len(chosen) < k:
        h = pending.pop(0)
        if duplicate(h):
            continue
        if per_doc.get(h.doc_id, 0) >= params.max_per_doc:
            others = [o.score for o in pending if per_doc.get(o.doc_id, 0) < params.max_per_doc]
            if others and max(others) > h.score - params.dominance_margin:
                deferred.append(h)
                continue
            # Over the cap with no other article close: better deferred passages go first.
            while deferred and deferred[0].score > h.score and len(chosen) < k:
                d = deferred.pop(0)
                if not duplicate(d):
                    chosen.append(d)
                    per_doc[d.doc_id] = per_doc.get(d.doc_id, 0) + 1
            if len(chosen) >= k:
                break
        chosen.append(h)
        per_doc[h.doc_id] = per_doc.get(h.doc_id, 0) + 1
    for h in deferred:
        if len(chosen) >= k:
            break
        if not duplicate(h):
            chosen.append(h)
    return sorted(chosen, key=lambda h: -h.score)
