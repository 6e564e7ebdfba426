"""The fake embedder (rag.embed.fake) the unit tests stand on: deterministic, normalised,
similar for shared words, recording what it embedded, and a valid Embedder."""

from __future__ import annotations

import numpy as np

from rag.embed import Embedder, model_signature
from rag.embed.fake import FakeEmbedder


def test_is_an_embedder_with_a_signature() -> None:
    fake = FakeEmbedder(dim=32, name="f", batch_size=4)
    assert isinstance(fake, Embedder)
    assert model_signature(fake) == {"name": "f", "dim": 32, "query_prompt": "query: ",
                                     "passage_prompt": "passage: "}
    assert fake.batch_size == 4


def test_deterministic_normalised_and_similar_for_shared_words() -> None:
    a, b = FakeEmbedder(), FakeEmbedder()
    texts = ["Putin besucht Minsk.", "Putin besucht Minsk.", "Tulpen am Flughafen", "   "]
    x, y = a.encode_passages(texts), b.encode_queries(texts)
    assert x.dtype == np.float32 and x.shape == (4, 256)
    np.testing.assert_array_equal(x, y)  # same text, same vector, in every instance
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, atol=1e-6)
    assert not x[3].any()  # no words: the zero vector
    q = a.encode_queries(["Wann besucht Putin Minsk?"])[0]
    assert q @ x[0] > q @ x[2] + 0.2
    nfd = a.encode_queries(["Mu\u0308nchen  "])[0]
    np.testing.assert_allclose(nfd, a.encode_queries(["München"])[0])


def test_records_calls_and_counts_tokens() -> None:
    fake = FakeEmbedder()
    fake.encode_passages(["eins", "zwei"])
    fake.encode_queries(["drei"])
    assert fake.calls == ["eins", "zwei", "drei"]
    assert fake.encode_passages([]).shape == (0, 256) and fake.calls[-1] == "drei"
    assert fake.count_tokens("") == 2 and fake.count_tokens("Ein Satz, kurz.") == 2 + 5
