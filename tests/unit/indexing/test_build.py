"""Building and updating the index (rag.indexing.build) with the fake embedder: only new or
changed articles are embedded, deleted ones removed, a changed setting or a damaged index
rebuilds (saying why), a failure leaves the previous index, files that vanish or change
while indexing are handled."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from shared_data import (
    BRUDERHILFE,
    EXTRA,
    EXTRA_TEXT,
    MINSK_VISIT,
    PRIGOSCHIN,
    SEED,
    SEED_ARTICLES,
    SEWASTOPOL,
    small_settings,
)

import rag.indexing.build
import rag.ingest.corpus
import rag.store.chunks
from rag.embed import model_signature
from rag.embed.fake import FakeEmbedder
from rag.errors import CorpusError
from rag.indexing import chunking_signature, update_index
from rag.indexing.build import IndexReport, embed_chunks, sentence_texts
from rag.ingest.corpus import read_corpus
from rag.settings import Settings
from rag.store.folder import CURRENT, current_version, read_manifest
from rag.store.index import CHUNKS, load_index
from rag.text.sentences import split_sentences
from rag.types import Chunk, Skipped

TWO = (SEWASTOPOL, PRIGOSCHIN)


def _load(settings: Settings, embedder: FakeEmbedder):
    return load_index(settings.paths.index_dir, model_signature(embedder),
                      chunking_signature(settings))


def _versions(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.paths.index_dir.iterdir() if p.name.startswith("v-"))


def _embedded_docs(calls: list[str], settings: Settings) -> set[str]:
    """The articles whose sentences were embedded (each call is "[headline\\n]sentence")."""
    texts = {a.doc_id: a.text for a in read_corpus(settings.paths.corpus_dir)[0]}
    docs = set()
    for call in calls:
        sentence = call.rsplit("\n", 1)[-1]
        owners = {d for d, t in texts.items() if sentence in t}
        assert owners, f"embedded text from no current article: {call!r}"
        docs |= owners
    return docs


def test_build_then_incremental_update(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, TWO)
    embedder = FakeEmbedder()
    first = update_index(settings, embedder, progress=False)
    assert first.rebuilt and first.reason == "no index yet" and first.articles == 2
    assert first.added == sorted(TWO) and first.chunks > 2
    assert _embedded_docs(embedder.calls, settings) == set(TWO)

    embedder.calls.clear()
    again = update_index(settings, embedder, progress=False)
    assert again.up_to_date and again.chunks == first.chunks and embedder.calls == []
    assert "Index is up to date." in again.summary()

    # add one, change one, delete one: only the added and the changed one are embedded
    corpus = settings.paths.corpus_dir
    shutil.copy(SEED / MINSK_VISIT, corpus / MINSK_VISIT)
    changed = corpus / PRIGOSCHIN
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nEin neuer Absatz über Minsk.",
                       encoding="utf-8")
    (corpus / SEWASTOPOL).unlink()
    report = update_index(settings, embedder, progress=False)
    assert not report.rebuilt and report.reason == ""
    assert (report.added, report.changed, report.removed) == ([MINSK_VISIT], [PRIGOSCHIN],
                                                              [SEWASTOPOL])
    assert _embedded_docs(embedder.calls, settings) == {MINSK_VISIT, PRIGOSCHIN}
    assert "Index updated." in report.summary() and "removed: 1" in report.summary()

    index = _load(settings, embedder)
    assert set(index.docs) == {MINSK_VISIT, PRIGOSCHIN} == set(index.row_docs)
    assert index.vectors.ntotal == index.size == index.keywords.size == report.chunks
    texts = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values())
    assert "Ein neuer Absatz über Minsk." in texts and "Sewastopol" not in texts
    assert len(set(index.row_ids.tolist())) == index.size  # ids never reused
    assert _versions(settings) == [current_version(settings.paths.index_dir).name]
    index.close()


def test_changed_settings_rebuild_everything(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, TWO)
    embedder = FakeEmbedder()
    update_index(settings, embedder, progress=False)
    embedder.calls.clear()
    other = settings.replace(chunk_tokens=settings.chunking.chunk_tokens + 50)
    report = update_index(other, embedder, progress=False)
    assert report.rebuilt and "chunking" in report.reason
    assert _embedded_docs(embedder.calls, settings) == set(TWO)

    report = update_index(other, FakeEmbedder(name="fake-2"), progress=False)
    assert report.rebuilt and "fake-2" in report.reason
    report = update_index(other, FakeEmbedder(name="fake-2"), progress=False, rebuild=True)
    assert report.rebuilt and report.reason == "--rebuild"
    assert "Index rebuilt (--rebuild)." in report.summary()
    assert len(_versions(settings)) == 1


def test_damaged_index_is_rebuilt_saying_why(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    settings = small_settings(tmp_path, TWO)
    embedder = FakeEmbedder()
    update_index(settings, embedder, progress=False)
    (current_version(settings.paths.index_dir) / CHUNKS).write_bytes(b"garbage" * 100)
    caplog.set_level(logging.WARNING)
    report = update_index(settings, embedder, progress=False)
    assert report.rebuilt and report.reason == "the previous index was damaged"
    assert "rag index --rebuild" in caplog.text
    _load(settings, embedder).close()


def test_failed_build_leaves_previous_index(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = small_settings(tmp_path, TWO)
    embedder = FakeEmbedder()
    update_index(settings, embedder, progress=False)
    index_dir = settings.paths.index_dir
    before = (index_dir / CURRENT).read_text()
    (settings.paths.corpus_dir / "new.txt").write_text("Ein ganz neuer Artikel über Minsk.",
                                                       encoding="utf-8")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated crash while writing")

    monkeypatch.setattr(rag.store.chunks.ChunkWriter, "add_chunks", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        update_index(settings, embedder, progress=False)
    assert (index_dir / CURRENT).read_text() == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".building-")]
    monkeypatch.undo()
    index = _load(settings, embedder)
    assert "new.txt" not in index.docs
    index.close()
    assert update_index(settings, embedder, progress=False).added == ["new.txt"]


def test_a_corpus_without_articles_says_so_and_keeps_the_index(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, TWO)
    embedder = FakeEmbedder()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="holds no article"):
        update_index(settings.replace(corpus_dir=tmp_path / "empty"), embedder)
    update_index(settings, embedder, progress=False)
    before = (settings.paths.index_dir / CURRENT).read_text()
    for path in settings.paths.corpus_dir.iterdir():
        path.unlink()
    (settings.paths.corpus_dir / "notes.bin").write_bytes(b"\x00\x01")  # not an article
    with pytest.raises(CorpusError, match="holds no article.*index again"):
        update_index(settings, embedder, progress=False)
    assert (settings.paths.index_dir / CURRENT).read_text() == before


def test_file_vanishes_during_indexing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file deleted between listing and reading is reported; the rest is indexed."""
    settings = small_settings(tmp_path, TWO)
    victim = settings.paths.corpus_dir / "zz_vanishing.txt"
    victim.write_text("Ein Artikel, der gleich gelöscht wird.", encoding="utf-8")
    real = rag.ingest.corpus._read_bytes

    def read_bytes(path: Path, doc_id: str) -> bytes:
        if doc_id == victim.name:
            path.unlink()  # deleted by someone else right now
        return real(path, doc_id)

    monkeypatch.setattr(rag.ingest.corpus, "_read_bytes", read_bytes)
    report = update_index(settings, FakeEmbedder(), progress=False)
    assert [s.path for s in report.skipped] == [victim.name]
    assert "disappeared" in report.skipped[0].reason
    assert sorted(report.added) == sorted(TWO)
    assert read_manifest(settings.paths.index_dir).skipped == [
        {"path": victim.name, "reason": report.skipped[0].reason}]


def test_file_changes_during_indexing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed while the index is built: the index holds the version that was read
    (text and hash agree); the next run notices the change and indexes it."""
    settings = small_settings(tmp_path, TWO)
    path = settings.paths.corpus_dir / "zz_changing.txt"
    path.write_text("Die alte Fassung: Der Zoo in Minsk hat drei Elefanten.", encoding="utf-8")
    real = rag.indexing.build.embed_chunks

    def embed_chunks(*args: Any, **kwargs: Any) -> Any:
        path.write_text("Die neue Fassung: Der Zoo in Minsk hat sieben Elefanten.",
                        encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(rag.indexing.build, "embed_chunks", embed_chunks)
    embedder = FakeEmbedder()
    update_index(settings, embedder, progress=False)
    monkeypatch.undo()
    index = _load(settings, embedder)
    text = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values()
                    if c.doc_id == path.name)
    assert "drei Elefanten" in text and "sieben" not in text
    index.close()
    report = update_index(settings, embedder, progress=False)
    assert report.changed == [path.name] and report.added == []
    index = _load(settings, embedder)
    text = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values()
                    if c.doc_id == path.name)
    assert "sieben Elefanten" in text and "drei" not in text
    index.close()


def test_progress_callback_and_headlines(tmp_path: Path) -> None:
    """``on_progress(done, total)`` counts chunks up to the total; sentences are embedded
    under their article's real headline only (``embed_titles``)."""
    settings = small_settings(tmp_path, (MINSK_VISIT, BRUDERHILFE))
    (settings.paths.corpus_dir / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    embedder = FakeEmbedder(batch_size=1)  # groups of 8 chunks: several progress calls
    seen: list[tuple[int, int]] = []
    report = update_index(settings, embedder, progress=False,
                          on_progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 2 and seen[-1] == (report.chunks, report.chunks)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    articles = {a.doc_id: a for a in read_corpus(settings.paths.corpus_dir)[0]}
    headline = articles[EXTRA].title  # a heading line: a real headline
    assert articles[EXTRA].headline and not articles[BRUDERHILFE].headline
    index = _load(settings, embedder)
    extra = [c for c in index.chunks(index.row_ids.tolist()).values() if c.doc_id == EXTRA]
    index.close()
    under = [c for c in embedder.calls if c.startswith(headline + "\n")]
    assert len(under) == sum(len(c.sentences) for c in extra) > 0  # every sentence of it
    # the first sentence of an article without a headline is not put above its sentences
    assert not any(c.startswith(articles[BRUDERHILFE].title[:40]) and "\n" in c
                   for c in embedder.calls)

    plain = FakeEmbedder()
    update_index(settings.replace(embed_titles=False), plain, progress=False)
    assert not any(c.startswith(headline + "\n") for c in plain.calls)


def test_sentence_texts() -> None:
    chunk = Chunk("a#0", "a", "T", None, "Erster Satz. Zweiter Satz.", 0, 26,
                  ((0, 12), (13, 26)))
    assert sentence_texts(chunk) == ["Erster Satz.", "Zweiter Satz."]
    assert sentence_texts(chunk, "Kurz") == ["Kurz\nErster Satz.", "Kurz\nZweiter Satz."]
    long = "Ein sehr langer Titel " * 10
    prefix = sentence_texts(chunk, long)[0].split("\n")[0]
    assert prefix.endswith(" …") and len(prefix) <= 62 and long.startswith(prefix[:-2])
    bare = Chunk("a#0", "a", "T", None, "Ohne Spannen", 0, 12, ())
    assert sentence_texts(bare) == ["Ohne Spannen"]


def test_a_sentence_pointing_back_is_embedded_after_the_one_before() -> None:
    text = ("Der Motor fiel aus. Daraufhin landete der Pilot in Palermo. Alle lebten.\n\n"
            "Er schwieg.")
    chunk = Chunk("a#0", "a", "T", None, text, 0, len(text), tuple(split_sentences(text)))
    assert sentence_texts(chunk, "Kurz") == [
        "Kurz\nDer Motor fiel aus.",
        "Kurz\nDer Motor fiel aus. Daraufhin landete der Pilot in Palermo.",
        "Kurz\nAlle lebten.",
        "Kurz\nEr schwieg.",  # a new paragraph: not after the one before
    ]


def test_embed_chunks_vectors_are_normalised_means() -> None:
    import numpy as np

    chunk = Chunk("a#0", "a", "T", None, "Erster Satz. Zweiter Satz.", 0, 26,
                  ((0, 12), (13, 26)))
    embedder = FakeEmbedder()
    vectors, sentence_vectors = embed_chunks(embedder, [chunk, chunk], progress=False)
    assert vectors.shape == (2, embedder.dim) and len(sentence_vectors) == 2
    assert sentence_vectors[0].shape == (2, embedder.dim)
    mean = sentence_vectors[0].mean(axis=0)
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert embed_chunks(embedder, [], progress=False)[0].shape == (0, embedder.dim)


def test_report_summary_lists_skipped_files() -> None:
    report = IndexReport(articles=3, chunks=9, added=["a"], rebuilt=True, reason="no index yet",
                         skipped=[Skipped("x.txt", "x.txt: the file is empty.")])
    text = report.summary()
    assert text.startswith("Index rebuilt (no index yet).")
    assert "articles: 3, chunks: 9" in text and "skipped: 1" in text
    assert "  skipped x.txt: x.txt: the file is empty." in text


def test_seed_corpus_builds(fake_settings: Settings, fake_embedder: FakeEmbedder) -> None:
    report = update_index(fake_settings, fake_embedder, progress=False)
    assert report.added == sorted(SEED_ARTICLES) and report.skipped == []
    assert report.chunks == read_manifest(fake_settings.paths.index_dir).counts["chunks"]
