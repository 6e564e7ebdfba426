"""Chunking with the product model's own tokenizer: every chunk within the token limit for
the seed articles, tricky text, and a 20 MB article (read and chunked, not embedded)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from shared_data import SEED, write_artifact

from rag.embed.sbert import SentenceTransformerEmbedder
from rag.ingest.chunking import chunk_article, chunk_corpus
from rag.ingest.corpus import read_corpus
from rag.settings import Settings
from rag.types import Article

pytestmark = pytest.mark.slow

TRICKY = (
    "Am 19. Dezember 2022 traf Wladimir W. Putin in Minsk ein. "
    "Es ging um ca. 5 Mio. Euro bzw. 2 Mrd. Rubel, z. B. für Gas, u. a. für Öl. "
    "Dr. Müller aus St. Petersburg sprach über Nr. 5 der Liste, vgl. den Bericht. "
    "Mr. Smith from the U.S. Army said so, e.g. on https://www.example.com/a.b?c=1 yesterday. "
)


def _article(text: str) -> Article:
    return Article("t.txt", "Titel", None, None, None, None, text, "0" * 64)


def test_chunks_fit_the_model(embedder: SentenceTransformerEmbedder) -> None:
    count = embedder.count_tokens
    articles = [*read_corpus(SEED)[0], _article(TRICKY * 20),
                _article("Ein Satz. " + "Größe" * 3000 + " Ende.")]
    for article in articles:
        for limit, overlap in ((64, 12), (200, 40), (300, 50)):
            chunks = chunk_article(article, chunk_tokens=limit, overlap_tokens=overlap,
                                   count_tokens=count)
            assert chunks
            for c in chunks:
                assert article.text[c.start:c.end] == c.text
                assert count(c.text) <= limit, (count(c.text), limit)


def big_article_text(target_bytes: int, seed: int = 7) -> str:
    """``target_bytes`` of German news text: numbered seed paragraphs in random order, plus
    one 200 kB line without any whitespace (a pasted blob) in the middle."""
    paragraphs = [p for path in sorted(SEED.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < target_bytes:
        if len(out) == 5000:
            out.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzäöüß0123456789")
                               for _ in range(200_000)))
        out.append(f"Absatz {len(out)}: {rng.choice(paragraphs)}")
        size += len(out[-1].encode("utf-8")) + 2
    return "\n\n".join(out)


def test_20_mb_article_is_read_and_chunked_within_the_limit(
        tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    """A 20 MB article: read and chunked with the model's real token counter (not embedded:
    that takes over ten minutes on 2 cores); every chunk within the limit, no text lost."""
    settings = Settings()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.txt").write_text(big_article_text(20_000_000), encoding="utf-8")
    size = (corpus / "big.txt").stat().st_size

    t0 = time.perf_counter()
    articles, skipped = read_corpus(corpus)
    t1 = time.perf_counter()
    chunks = chunk_corpus(articles, chunk_tokens=settings.chunking.chunk_tokens,
                          overlap_tokens=settings.chunking.chunk_overlap_tokens,
                          count_tokens=embedder.count_tokens,
                          paragraph_tokens=settings.chunking.paragraph_tokens)
    t2 = time.perf_counter()
    tokens = [embedder.count_tokens(c.text) for c in chunks]
    t3 = time.perf_counter()

    assert skipped == [] and len(articles) == 1 and size >= 20_000_000
    text = articles[0].text
    assert max(tokens) <= settings.chunking.chunk_tokens
    assert all(text[c.start:c.end] == c.text for c in chunks[:: max(1, len(chunks) // 2000)])
    end = 0  # between and around the chunks there is only whitespace
    for c in sorted(chunks, key=lambda c: c.start):
        assert c.start <= end or not text[end:c.start].strip(), (end, c.start)
        end = max(end, c.end)
    assert not text[end:].strip()
    write_artifact("reliability_corpus", {"article_20mb": {
        "bytes": size, "chunks": len(chunks), "max_tokens": max(tokens),
        "chunk_tokens": settings.chunking.chunk_tokens, "read_s": round(t1 - t0, 2),
        "chunk_s": round(t2 - t1, 2), "verify_tokens_s": round(t3 - t2, 2),
    }})
