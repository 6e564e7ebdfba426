"""Sentence vectors of the index build: separate passes or pooled from one pass (logic)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from rag.embed.fake import FakeEmbedder
from rag.errors import SettingsError
from rag.indexing.build import embed_chunks, passage_with_spans, sentence_texts
from rag.types import Chunk

TEXT = "Erster Satz über Minsk. Zweiter Satz über Moskau! Dritter Satz."
SPANS = ((0, 23), (24, 49), (50, 63))


def chunk(text: str = TEXT, spans=SPANS, doc: str = "a.txt") -> Chunk:
    return Chunk(chunk_id=f"{doc}#0", doc_id=doc, title="T", date=None, text=text, start=0,
                 end=len(text), sentences=spans)


def test_passage_with_spans_keeps_sentences() -> None:
    text, spans = passage_with_spans(chunk(), "Eine Schlagzeile")
    assert text.startswith("Eine Schlagzeile\n")
    assert [text[a:b] for a, b in spans] == [TEXT[a:b] for a, b in SPANS]
    bare, bare_spans = passage_with_spans(chunk())
    assert bare == TEXT and bare_spans == list(SPANS)


def test_passage_with_spans_normalises_nfd_and_maps_spans() -> None:
    nfd = unicodedata.normalize("NFD", "Grüße aus Köln. Schöne Straße.")
    spans = ((0, nfd.index(".") + 1), (nfd.index(".") + 2, len(nfd)))
    text, out = passage_with_spans(chunk(nfd, spans), "Überschrift")
    assert unicodedata.is_normalized("NFC", text)
    assert [text[a:b] for a, b in out] == ["Grüße aus Köln.", "Schöne Straße."]


def test_long_headline_is_cut_the_same_way_in_both_schemes() -> None:
    head = "Ein sehr langer Titel " * 6
    first = sentence_texts(chunk(), head)[0]
    text, _ = passage_with_spans(chunk(), head)
    assert first.split("\n")[0] == text.split("\n")[0] and first.split("\n")[0].endswith("…")


@pytest.mark.parametrize("scheme", ["separate", "pooled"])
def test_embed_chunks_shapes_and_passage_mean(scheme: str) -> None:
    fake = FakeEmbedder(dim=32)
    chunks = [chunk(), chunk(doc="b.txt", spans=())]
    vectors, sentences = embed_chunks(fake, chunks, {"a.txt": "Kopf"}, sentence_vectors=scheme,
                                      progress=False)
    assert vectors.shape == (2, 32) and [s.shape for s in sentences] == [(3, 32), (1, 32)]
    mean = sentences[0].mean(axis=0)
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_pooled_is_one_pass_per_chunk_separate_one_per_sentence() -> None:
    separate, pooled = FakeEmbedder(), FakeEmbedder()
    embed_chunks(separate, [chunk()], {"a.txt": "Kopf"}, progress=False)
    embed_chunks(pooled, [chunk()], {"a.txt": "Kopf"}, sentence_vectors="pooled",
                 progress=False)
    assert separate.calls == [f"Kopf\n{TEXT[a:b]}" for a, b in SPANS]
    assert pooled.calls[0] == f"Kopf\n{TEXT}"  # the passage once (the fake then pools
    # by embedding each span's text: a stand-in for token pooling)


def test_bad_scheme_and_embedder_without_spans() -> None:
    with pytest.raises(SettingsError, match="must be one of separate, pooled"):
        embed_chunks(FakeEmbedder(), [chunk()], sentence_vectors="tokens", progress=False)

    class NoSpans:
        name, dim, batch_size = "x", 8, 4
        query_prompt = passage_prompt = ""

        def count_tokens(self, text):
            return 1

        def encode_queries(self, texts):
            return np.zeros((len(texts), 8), np.float32)

        encode_passages = encode_queries

    with pytest.raises(SettingsError, match="RAG_SENTENCE_VECTORS=separate"):
        embed_chunks(NoSpans(), [chunk()], sentence_vectors="pooled", progress=False)
