"""Chunking (rag.ingest.chunking): exact offsets, token limits, sentence-aware cuts, overlap.

Token counts come from deterministic stand-ins and a small real tokenizer trained here;
the product model's own tokenizer is checked in ``tests/integration/test_chunking_model.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from shared_data import SEED

from rag.ingest.chunking import chunk_article, chunk_corpus
from rag.ingest.corpus import read_corpus
from rag.text.sentences import split_sentences
from rag.types import Article, Chunk

_PIECES = re.compile(r"\w{1,6}|[^\w\s]")


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a subword tokenizer: words in pieces of up to six
    characters, each punctuation mark one token, plus a prompt token and two specials."""
    return len(_PIECES.findall(text)) + 3


def byte_tokens(text: str) -> int:
    """Cheap enough for 20 MB: one token per four UTF-8 bytes, plus three."""
    return len(text.encode("utf-8")) // 4 + 3


@pytest.fixture(scope="module")
def seed() -> list[Article]:
    return read_corpus(SEED)[0]


def _article(text: str, doc_id: str = "t.txt") -> Article:
    return Article(doc_id, "Titel", "2022-12-19", None, None, None, text, "0" * 64)


def _check(article: Article, chunks: list[Chunk], limit: int,
           count: Callable[[str], int] = count_tokens) -> None:
    """Exact offsets, limit, ids, metadata, order, coverage, sentence spans."""
    assert chunks, "no chunks"
    covered = [False] * len(article.text)
    for i, c in enumerate(chunks):
        assert c.chunk_id == f"{article.doc_id}#{i}"
        assert (c.doc_id, c.title, c.date) == (article.doc_id, article.title, article.date)
        assert article.text[c.start:c.end] == c.text
        assert c.text == c.text.strip() and c.text
        assert count(c.text) <= limit, (count(c.text), limit)
        assert c.sentences == tuple(split_sentences(c.text))
        for k in range(c.start, c.end):
            covered[k] = True
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.start < b.start and a.end < b.end
    missing = [ch for ch, cov in zip(article.text, covered, strict=True) if not cov]
    assert all(ch.isspace() for ch in missing)


@pytest.mark.parametrize("limit", [48, 96, 200, 512])
def test_seed_articles(seed: list[Article], limit: int) -> None:
    for article in seed:
        chunks = chunk_article(article, chunk_tokens=limit, overlap_tokens=limit // 5,
                               count_tokens=count_tokens)
        _check(article, chunks, limit)


def test_seed_chunks_end_at_sentence_ends(seed: list[Article]) -> None:
    for article in seed:
        ends = {b for _, b in split_sentences(article.text)}
        starts = {a for a, _ in split_sentences(article.text)}
        for c in chunk_article(article, chunk_tokens=120, overlap_tokens=24,
                               count_tokens=count_tokens):
            assert c.start in starts and c.end in ends, c.text


TRICKY = (
    "Am 19. Dezember 2022 traf Wladimir W. Putin in Minsk ein. "
    "Es ging um ca. 5 Mio. Euro bzw. 2 Mrd. Rubel, z. B. für Gas, u. a. für Öl, d. h. für Energie. "
    "Dr. Müller aus St. Petersburg sprach über Nr. 5 der Liste, vgl. den Bericht vom 19.12.2022. "
    "Der 3. Liga-Verein hat 62'000 Mitglieder und 3.5 Prozent Wachstum. "
    "Mr. Smith from the U.S. Army said so, e.g. on https://www.example.com/a.b?c=1 yesterday. "
    "Hunde, Katzen usw. sind Tiere, Äpfel, Birnen etc. wachsen. "
)


def test_abbreviations_and_numbers_are_not_cut() -> None:
    article = _article(TRICKY * 30)
    sentence_spans = split_sentences(article.text)
    assert len(sentence_spans) == 6 * 30
    starts, ends = {a for a, _ in sentence_spans}, {b for _, b in sentence_spans}
    for limit in (60, 90, 150):
        chunks = chunk_article(article, chunk_tokens=limit, overlap_tokens=20,
                               count_tokens=count_tokens)
        _check(article, chunks, limit)
        for c in chunks:
            assert c.start in starts and c.end in ends, c.text


def test_overlap_is_present_and_bounded(seed: list[Article]) -> None:
    article = next(a for a in seed if a.doc_id.startswith("001"))  # one long paragraph
    chunks = chunk_article(article, chunk_tokens=120, overlap_tokens=30,
                           count_tokens=count_tokens)
    assert len(chunks) >= 5
    overlapping = 0
    for a, b in zip(chunks, chunks[1:], strict=False):
        if b.start < a.end:
            overlapping += 1
            assert count_tokens(article.text[b.start:a.end]) - 3 <= 30
        else:  # overlap is in whole sentences: only when the last one is longer than it
            s, e = a.sentences[-1]
            assert count_tokens(a.text[s:e]) - 3 > 30
    assert overlapping >= len(chunks) // 2
    none = chunk_article(article, chunk_tokens=120, overlap_tokens=0, count_tokens=count_tokens)
    for a, b in zip(none, none[1:], strict=False):
        assert b.start >= a.end


def test_paragraphs_are_kept_together_when_they_fit(seed: list[Article]) -> None:
    article = next(a for a in seed if a.doc_id.startswith("004"))
    paragraphs = {p for p in article.text.split("\n\n")}
    chunks = chunk_article(article, chunk_tokens=512, overlap_tokens=0,
                           count_tokens=count_tokens)
    for c in chunks:
        assert set(c.text.split("\n\n")) <= paragraphs


def test_long_word_and_huge_text_without_spaces() -> None:
    long_word = "https://example.com/" + "a1b2c3" * 2000
    article = _article(f"Ein Satz davor. {long_word} Ein Satz danach.\n\nNoch ein Absatz.")
    _check(article, chunk_article(article, chunk_tokens=64, overlap_tokens=8,
                                  count_tokens=count_tokens), 64)
    huge = _article("x" * 5_000_000)  # (20 MB with the real tokenizer: tests/integration)
    chunks = chunk_article(huge, chunk_tokens=200, overlap_tokens=40, count_tokens=byte_tokens)
    assert chunks[0].start == 0 and chunks[-1].end == len(huge.text)
    assert all(b.start == a.end for a, b in zip(chunks, chunks[1:], strict=False))
    assert max(byte_tokens(c.text) for c in chunks) <= 200
    assert len(chunks) == -(-5_000_000 // 791)  # 791 // 4 + 3 == 200


def test_bad_budgets_and_empty_text() -> None:
    article = _article("Ein Satz.")
    with pytest.raises(ValueError, match="no room"):
        chunk_article(article, chunk_tokens=3, overlap_tokens=0, count_tokens=count_tokens)
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_article(article, chunk_tokens=20, overlap_tokens=17, count_tokens=count_tokens)
    assert chunk_article(_article(""), chunk_tokens=20, overlap_tokens=0,
                         count_tokens=count_tokens) == []
    one = chunk_article(article, chunk_tokens=20, overlap_tokens=0, count_tokens=count_tokens)
    assert [(c.chunk_id, c.text, c.start, c.end, c.sentences) for c in one] == [
        ("t.txt#0", "Ein Satz.", 0, 9, ((0, 9),))]


def test_chunk_corpus(seed: list[Article]) -> None:
    chunks = chunk_corpus(seed, chunk_tokens=128, overlap_tokens=16, count_tokens=count_tokens)
    per_doc = [chunk_article(a, chunk_tokens=128, overlap_tokens=16, count_tokens=count_tokens)
               for a in seed]
    assert chunks == [c for cs in per_doc for c in cs]
    assert [c.doc_id for c in chunks] == sorted(c.doc_id for c in chunks)


# --------------------------------------------------------------------------- real tokenizers


def _trained_tokenizer(texts: list[str]):
    """A real (small) SentencePiece-style Unigram tokenizer with <s>/</s>, trained here."""
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.Unigram())
    tok.normalizer = tokenizers.normalizers.NFKC()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Metaspace()
    trainer = tokenizers.trainers.UnigramTrainer(
        vocab_size=600, special_tokens=["<s>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)])
    return tok


def test_trained_tokenizer(seed: list[Article]) -> None:
    tok = _trained_tokenizer([a.text for a in seed])

    def count(text: str) -> int:
        return len(tok.encode("passage: " + text).ids)

    assert count("") >= 3
    long_word = _article("Ein Satz. " + "Größe" * 3000 + " Ende.")
    for article in [*seed, _article(TRICKY * 5), long_word]:
        for limit, overlap in ((64, 12), (200, 40)):
            chunks = chunk_article(article, chunk_tokens=limit, overlap_tokens=overlap,
                                   count_tokens=count)
            _check(article, chunks, limit, count)
