"""Hybrid retrieval (rag.retrieve.search, rag.retrieve.retriever): dense + keyword fusion
per question language, sentence re-ranking, diversification (at most ``max_per_doc``
passages per article unless it dominates, no duplicate texts or overlapping spans), filters.

Synthetic index versions with hand-made vectors (no model), and the fake-embedder seed
index for the whole step.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from shared_data import MINSK_VISIT, SEWASTOPOL
from synthetic import DIM, add_docs, clustered, load, publish, topic_centers

from rag.retrieve import Retriever, allowed_rows
from rag.retrieve.search import (
    background_similarity,
    diversify,
    keyword_terms,
    rerank_by_sentences,
    search,
)
from rag.settings import IndexSettings, RetrievalSettings
from rag.store.index import Index, VersionWriter
from rag.types import DocMeta, Hit

#: The cap mechanism is tested with a cap of 2 (the default is 3).
PARAMS = replace(RetrievalSettings(), max_per_doc=2)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    """Three articles ``a``, ``b``, ``c`` of six chunks each (disjoint spans, nearly
    orthogonal random vectors); chunk 17 is a near-duplicate of chunk 6 (article ``b``)
    by vector, chunk 16 the same text as chunk 4 (article ``a``)."""
    folder = tmp_path_factory.mktemp("small")
    vectors = _unit(np.random.default_rng(7), 18)
    vectors[17] = vectors[6] + 0.01 * vectors[5]
    vectors[17] /= np.linalg.norm(vectors[17])
    writer = VersionWriter(folder, None, DIM)
    rows = []
    for i in range(18):
        doc = "abc"[i // 6]
        k = i % 6
        text = f"Absatz {k} von {doc}." if i != 16 else "Absatz 4 von a."
        rows.append((i, f"{doc}#{k}", doc, text, 100 * k, 100 * k + 50, [[0, len(text)]],
                     vectors[i : i + 1]))
    writer.add_chunks(rows, vectors)
    for doc in "abc":
        writer.add_doc(DocMeta(doc, doc.upper(), None, None, None, None), "h")
    publish(writer, 18)
    index = load(folder)
    yield index
    index.close()


def _hits(index: Index, scored: dict[int, float]) -> list[Hit]:
    hits = [Hit(i, int(index.rows_of(np.asarray([i]))[0]), index.row_docs[i], s, s, 0.0)
            for i, s in scored.items()]
    return sorted(hits, key=lambda h: -h.score)


def test_at_most_max_per_doc_when_others_are_close(small_index: Index) -> None:
    scores = {0: 1.00, 1: 0.99, 2: 0.98, 3: 0.97, 6: 0.97, 12: 0.96, 13: 0.95}
    chosen = diversify(small_index, _hits(small_index, scores), 5, PARAMS)
    docs = [h.doc_id for h in chosen]
    assert docs.count("a") == PARAMS.max_per_doc == 2
    assert [h.id for h in chosen] == [0, 1, 6, 12, 13]
    assert [h.score for h in chosen] == sorted((h.score for h in chosen), reverse=True)


def test_a_dominant_article_may_exceed_the_cap(small_index: Index) -> None:
    """Article ``a``'s third passage scores well above every other article's best
    remaining passage (more than ``dominance_margin``): it is taken."""
    scores = {0: 1.00, 1: 0.99, 2: 0.98, 6: 0.50, 12: 0.40}
    chosen = diversify(small_index, _hits(small_index, scores), 4, PARAMS)
    assert [h.id for h in chosen] == [0, 1, 2, 6]
    tight = replace(PARAMS, dominance_margin=0.6)  # now 0.50 counts as close
    chosen = diversify(small_index, _hits(small_index, scores), 4, tight)
    assert [h.id for h in chosen] == [0, 1, 6, 12]


def test_deferred_passages_fill_up_when_nothing_else_is_left(small_index: Index) -> None:
    """Article ``a``'s third passage (0.98) is deferred while ``b`` (0.975) is close; once
    only ``a`` is left, the best of its remaining passages fills the last place."""
    scores = {0: 1.0, 1: 0.99, 2: 0.98, 3: 0.97, 6: 0.975}
    chosen = diversify(small_index, _hits(small_index, scores), 4, PARAMS)
    assert sorted(h.id for h in chosen) == [0, 1, 2, 6]


def test_duplicate_texts_and_overlapping_spans_are_dropped(small_index: Index) -> None:
    scores = {4: 1.0, 16: 0.99, 12: 0.5}  # 16 has the same text as 4 (another article)
    assert [h.id for h in diversify(small_index, _hits(small_index, scores), 3, PARAMS)] == \
        [4, 12]
    wide = replace(PARAMS, duplicate_overlap=-1.0)  # every span of the same article overlaps
    scores = {0: 1.0, 1: 0.9, 6: 0.5}
    assert [h.id for h in diversify(small_index, _hits(small_index, scores), 3, wide)] == \
        [0, 6]


def test_similar_vectors_with_other_text_are_kept(small_index: Index) -> None:
    """Passages under one headline have similar vectors but say different things: only
    the text decides what is a duplicate (measured on Wikinews: the answering passage was
    dropped as a "near-duplicate" of its sibling)."""
    scores = {6: 1.0, 17: 0.99, 12: 0.5}  # 17's vector is a near-copy of 6's
    assert [h.id for h in diversify(small_index, _hits(small_index, scores), 3, PARAMS)] == \
        [6, 17, 12]


def test_rerank_by_sentences(small_index: Index) -> None:
    """The best sentence's similarity is added to the top ``rerank_depth`` candidates; the
    rest may not overtake them."""
    q = small_index.vectors.reconstruct(4)
    hits = _hits(small_index, {0: 0.9, 4: 0.2, 12: 0.1})
    params = replace(PARAMS, rerank_depth=2, sentence_weight=1.5)
    out = rerank_by_sentences(small_index, q, hits, params)
    assert out[0].id == 4 and out[0].sentence == pytest.approx(1.0, abs=1e-2)
    assert out[-1].id == 12 and out[-1].score <= min(h.score for h in out[:2])


def test_search_finds_the_chunk_and_respects_filters(small_index: Index) -> None:
    q = small_index.vectors.reconstruct(8)
    hits = search(small_index, q, "Absatz von b", "de", 3, PARAMS)
    assert hits[0].id == 8 and hits[0].doc_id == "b" and len(hits) == 3
    assert hits[0].score >= hits[0].dense
    rows = allowed_rows(small_index, None, None, ["c"])
    hits = search(small_index, q, "Absatz", "de", 3, PARAMS, rows)
    assert hits and {h.doc_id for h in hits} == {"c"}
    assert search(small_index, q, "Absatz", "de", 3, PARAMS, np.empty(0, np.int64)) == []


def test_background_similarity(small_index: Index) -> None:
    """The ``rank``-th best sentence match among the ``depth`` nearest passages (here one
    sentence per passage, its vector the passage's)."""
    q = small_index.vectors.reconstruct(8)
    sims = np.sort(np.stack([small_index.vectors.reconstruct(i) for i in range(18)]) @ q)[::-1]
    assert background_similarity(small_index, q, 1, 20) == pytest.approx(sims[0], abs=1e-3)
    assert background_similarity(small_index, q, 3, 18) == pytest.approx(sims[2], abs=1e-3)
    # fewer passages than the rank: the lowest of them
    assert background_similarity(small_index, q, 10, 4) == pytest.approx(sims[3], abs=1e-3)
    rows = allowed_rows(small_index, None, None, ["c"])
    own = np.sort(np.stack([small_index.vectors.reconstruct(i) for i in range(12, 18)]) @ q)
    assert background_similarity(small_index, q, 2, 20, rows) == pytest.approx(own[-2], abs=1e-3)
    assert background_similarity(small_index, q, 2, 20, np.empty(0, np.int64)) == 0.0


def test_keyword_terms_by_language() -> None:
    assert keyword_terms("Wie viele Soldaten hat die Armee?", "de") == ["viel", "soldat", "arme"]
    # English: only what survives translation (names, numbers), stemmed like German text
    assert keyword_terms("How many soldiers does Lukashenko's army have in 2022?", "en") == [
        "lukashenko", "2022"]
    assert keyword_terms("What did he bring?", "en") == []


def test_keyword_only_matches_are_scored_densely(shared_fake_pipeline) -> None:
    """A chunk found by BM25 alone gets its dense score from its stored vector, and the
    keyword weight of the question's language."""
    pipeline = shared_fake_pipeline
    index = pipeline.index
    retriever = Retriever(index, pipeline.embedder, pipeline.settings.retrieval)
    question = "Sewastopol Krim Videokonferenz"
    de = retriever.search(question, "de", 3)
    assert de[0].doc_id == SEWASTOPOL and de[0].keyword == 1.0
    params = pipeline.settings.retrieval
    qvec = retriever.embed(question)
    assert de[0].score == pytest.approx(
        de[0].dense + params.keyword_weight_de + params.sentence_weight * de[0].sentence,
        abs=1e-4)
    assert [h.id for h in search(index, qvec, question, "de", 3, params)] == \
        [h.id for h in de]


def test_retriever_over_the_seed_index(shared_fake_pipeline) -> None:
    pipeline = shared_fake_pipeline
    index = pipeline.index
    retriever = Retriever(index, pipeline.embedder, pipeline.settings.retrieval)
    hits = retriever.search("Tulpen Flughafen Lukaschenko Gast", "de", 5)
    assert hits[0].doc_id == MINSK_VISIT and len(hits) == 5
    per_doc = [h.doc_id for h in hits]
    assert all(per_doc.count(d) <= 2 for d in per_doc) or hits[2].doc_id == hits[0].doc_id
    assert len({h.id for h in hits}) == 5


def test_hybrid_search_on_an_approximate_index(tmp_path: Path) -> None:
    """Hybrid retrieval works unchanged on IVF, filters included."""
    centers = topic_centers()
    vectors = clustered(3_000, 5, centers)
    writer = VersionWriter(tmp_path, None, DIM, IndexSettings(ann_threshold=2_500,
                                                              ann_nprobe=8))
    add_docs(writer, vectors, 0, "d")
    publish(writer, 3_000)
    index = load(tmp_path)
    hits = search(index, vectors[42], "Meldung 42 Berlin", "de", 5, PARAMS)
    assert hits and hits[0].id == 42
    allowed = np.arange(1_500, 1_530, dtype=np.int64)
    rows = index.rows_of(allowed)
    hits = search(index, vectors[42], "Meldung Berlin", "de", 5, PARAMS, rows)
    assert hits and {h.id for h in hits} <= set(allowed)
    index.close()
