"""Incremental updates of a large chunk store (rag.store.chunks): the base file is hard
linked into the new version and a delta holds what changed. The same corpus changes
applied through the delta path and through the whole-copy path give the same index, row
for row; a grown delta is merged into a new base; the previous version stays readable."""

from __future__ import annotations

import shutil
from pathlib import Path

from shared_data import EXTRA, EXTRA_TEXT, SEED, SEED_ARTICLES, small_settings

from rag.embed.fake import FakeEmbedder
from rag.indexing import update_index
from rag.pipeline import Pipeline
from rag.store.chunks import BASE, DELTA
from rag.store.folder import current_version, read_manifest
from rag.store.index import Index


def _snapshot(settings) -> dict:
    """Everything a reader of the current version sees."""
    folder = current_version(settings.paths.index_dir)
    index = Index(folder, read_manifest(settings.paths.index_dir))  # type: ignore[arg-type]
    ids = index.row_ids.tolist()
    chunks = index.chunks(ids)
    out = {
        "ids": ids,
        "row_docs": list(index.row_docs),
        "docs": {k: v for k, v in sorted(index.docs.items())},
        "chunks": {i: (c.chunk_id, c.doc_id, c.text, c.start, c.end, c.sentences,
                       c.sentence_vectors.round(3).tolist()) for i, c in chunks.items()},
        "texts": list(index.all_texts()),
        "keywords": index.keywords.size,
        "inode": (folder / BASE).stat().st_ino,
        "delta": (folder / DELTA).is_file(),
    }
    index.close()
    return out


def _same(a: dict, b: dict) -> None:
    for key in ("ids", "row_docs", "docs", "chunks", "texts", "keywords"):
        assert a[key] == b[key], key


def test_delta_updates_equal_whole_copies(tmp_path: Path) -> None:
    delta = small_settings(tmp_path / "d", chunk_delta_min_mb=0, chunk_delta_share=10.0)
    copy = small_settings(tmp_path / "c")
    embedder = FakeEmbedder()
    first, second, third = SEED_ARTICLES[:3]

    def step(change) -> tuple[dict, dict]:
        for settings in (delta, copy):
            change(settings.paths.corpus_dir)
            update_index(settings, embedder, progress=False)
        return _snapshot(delta), _snapshot(copy)

    d0, c0 = step(lambda corpus: None)
    _same(d0, c0)
    assert not d0["delta"]  # a first build writes a whole store

    steps = [
        lambda corpus: (corpus / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8"),  # added
        lambda corpus: (corpus / first).write_text(  # changed
            (corpus / first).read_text(encoding="utf-8") + "\n\nNachtrag: Ein neuer Absatz "
            "über die Verhandlungen in Minsk.", encoding="utf-8"),
        lambda corpus: (corpus / second).unlink(),  # removed
        lambda corpus: shutil.copy(SEED / second, corpus / second),  # back again
        lambda corpus: (corpus / third).unlink(),
    ]
    for change in steps:
        d, c = step(change)
        _same(d, c)
        assert d["delta"] and d["inode"] == d0["inode"]  # the base is linked, not copied
        assert c["inode"] != d0["inode"] or not c["delta"]

    # the same answers through both
    question = "Wie nennt Lukaschenko Putin?"
    a = Pipeline(delta, embedder=embedder).ask(question)
    b = Pipeline(copy, embedder=embedder).ask(question)
    assert (a.text, [s.doc_id for s in a.sources]) == (b.text, [s.doc_id for s in b.sources])

    # a delta past its share of the base is merged into a new base
    merging = delta.replace(chunk_delta_share=0.01)
    (merging.paths.corpus_dir / third).write_text(
        (SEED / third).read_text(encoding="utf-8"), encoding="utf-8")
    (copy.paths.corpus_dir / third).write_text(
        (SEED / third).read_text(encoding="utf-8"), encoding="utf-8")
    update_index(merging, embedder, progress=False)
    update_index(copy, embedder, progress=False)
    merged, copied = _snapshot(merging), _snapshot(copy)
    _same(merged, copied)
    assert not merged["delta"] and merged["inode"] != d0["inode"]


def test_previous_version_stays_readable_while_the_next_is_written(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, chunk_delta_min_mb=0)
    embedder = FakeEmbedder()
    update_index(settings, embedder, progress=False)
    (settings.paths.corpus_dir / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    update_index(settings, embedder, progress=False)  # version 2: base linked + delta
    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    old = pipeline.index
    before = sorted(old.docs)
    (settings.paths.corpus_dir / SEED_ARTICLES[0]).unlink()
    update_index(settings, embedder, progress=False)  # version 3 while version 2 is open
    assert sorted(old.docs) == before and EXTRA in old.docs
    assert len(old.chunks(old.row_ids.tolist())) == old.size
    fresh = Pipeline(settings, embedder=embedder, auto_index=False).index
    assert SEED_ARTICLES[0] not in fresh.docs and EXTRA in fresh.docs
    assert fresh.size == len(fresh.chunks(fresh.row_ids.tolist()))


def test_reader_orders_ids_across_base_and_delta(tmp_path: Path) -> None:
    import numpy as np

    from rag.store.chunks import ChunkReader, ChunkWriter
    from rag.types import DocMeta

    def row(i: int, doc: str) -> tuple:
        return (i, f"{doc}#{i}", doc, f"Text {i}.", 0, 8, [[0, 8]], np.ones((1, 4), np.float32))

    base = ChunkWriter(tmp_path / BASE)
    base.add_doc(DocMeta("a", "A", None, None, None, None), "h")
    base.add_chunks([row(10, "a"), row(11, "a"), row(12, "a")])
    base.commit()
    base.close()
    delta = ChunkWriter(tmp_path / DELTA, base=tmp_path / BASE)
    delta.add_doc(DocMeta("b", "B", "2024", None, None, None), "h")
    delta.add_chunks([row(5, "b")])  # a lower id than the base's (not how ids are given)
    assert delta.doc_chunk_ids("a") == [10, 11, 12]
    delta.remove_doc("a")
    delta.add_doc(DocMeta("a", "A2", None, None, None, None), "h2")
    delta.add_chunks([row(13, "a")])
    assert delta.commit() == 2
    assert [r[0] for r in delta.keyword_rows()] == [5, 13]
    delta.close()
    reader = ChunkReader(tmp_path / BASE, 4)
    assert reader.ids.tolist() == [5, 13] and reader.doc_ids == ["b", "a"]
    assert reader.docs["a"].title == "A2" and set(reader.docs) == {"a", "b"}
    assert set(reader.chunks([5, 13, 10])) == {5, 13}  # a removed base row is not served
    assert list(reader.texts()) == ["Text 5.", "Text 13."]
    reader.close()
