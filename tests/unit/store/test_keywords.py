"""The keyword stores (tantivy segments, bm25s): same ranking, incremental versions,
filters, conversion between backends, nothing half-written on abort."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from shared_data import XQUAD

from rag.embed.fake import FakeEmbedder
from rag.errors import SettingsError
from rag.indexing.build import update_index
from rag.settings import Settings
from rag.store import keywords_tantivy
from rag.store.folder import current_version, read_manifest
from rag.store.index import KEYWORDS_DIR, Index, VersionWriter
from rag.store.keywords import open_store
from rag.text.terms import tokenize

QUERIES = ["Wer gewann den Super Bowl", "Dampfmaschine Druck Zylinder", "Sauerstoff Element",
           "Warschau Hauptstadt Einwohner", "Pest Europa Tote", "Lehrer Schule Schüler"]


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(XQUAD / "corpus", folder)
    return folder


def _build(corpus: Path, index_dir: Path, backend: str) -> Index:
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir, keyword_backend=backend)
    update_index(settings, FakeEmbedder(), progress=False)
    return Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The xquad-de corpus indexed once per backend (fake vectors)."""
    root = tmp_path_factory.mktemp("built")
    corpus = _corpus(root)
    out = {"corpus": corpus}
    for backend in ("tantivy", "bm25s"):
        _build(corpus, root / backend, backend).close()
        out[backend] = root / backend
    return out


@pytest.fixture()
def corpus(built, tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(built["corpus"], folder)
    return folder


def _copy(built: dict[str, Path], backend: str, tmp_path: Path) -> Path:
    index_dir = tmp_path / f"idx-{backend}"
    shutil.copytree(built[backend], index_dir)
    return index_dir


def _open(index_dir: Path) -> Index:
    return Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]


def test_tantivy_ranks_like_bm25s(built) -> None:
    tv, bm = _open(built["tantivy"]), _open(built["bm25s"])
    assert tv.manifest.keyword_backend == "tantivy" and bm.manifest.keyword_backend == "bm25s"
    assert (tv.folder / KEYWORDS_DIR / "meta.json").is_file()
    assert tv.keywords.size == bm.keywords.size == tv.size > 100
    compared = 0
    for q in QUERIES:
        a_ids, a_scores = tv.keywords.search(tokenize(q), 10)
        b_ids, b_scores = bm.keywords.search(tokenize(q), 10)
        assert len(a_ids) == len(b_ids)
        if len(a_ids):
            compared += 1
            assert a_ids[0] == b_ids[0]
            # Same BM25 (tantivy keeps the (k1 + 1) factor; field norms are quantised).
            assert len(set(a_ids[:5]) & set(b_ids[:5])) >= 4
            assert np.all(np.diff(a_scores) <= 1e-6) and np.all(a_scores > 0)
    assert compared >= 3
    tv.close()
    bm.close()


def test_update_links_segments_and_keeps_old_version(built, corpus: Path, tmp_path: Path) -> None:
    index_dir = _copy(built, "tantivy", tmp_path)
    old = _open(index_dir)
    old_files = {p.name: p.stat().st_ino for p in (old.folder / KEYWORDS_DIR).iterdir()}
    removed = sorted(corpus.iterdir())[0]
    removed_doc = removed.name
    removed.unlink()
    (corpus / "zz_neu.txt").write_text(
        "Quokkafest in Kleinhausen\n\nDas Quokkafest lockte 5000 Besucher nach Kleinhausen. "
        "Die Veranstalter zählten mehr Quokkas als je zuvor.\n", encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir,
                                 keyword_backend="tantivy")
    keep = old.folder
    # An older version stays loadable while readers use it: copy it aside first.
    aside = tmp_path / "aside"
    shutil.copytree(keep, aside)
    report = update_index(settings, FakeEmbedder(), progress=False)
    assert report.added == ["zz_neu.txt"] and report.removed == [removed_doc]
    new = Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]
    new_files = {p.name: p.stat().st_ino for p in (new.folder / KEYWORDS_DIR).iterdir()}
    # Unchanged segment files are the same inodes (hard links), not a rebuild.
    shared = [n for n, ino in new_files.items() if old_files.get(n) == ino]
    assert any(n.endswith(".idx") for n in shared), (old_files, new_files)
    ids, _ = new.keywords.search(tokenize("Quokkafest Kleinhausen"), 5)
    assert len(ids) and new.row_docs[int(new.rows_of(ids[:1])[0])] == "zz_neu.txt"
    gone = set(new.row_ids.tolist())
    for q in QUERIES:
        found, _ = new.keywords.search(tokenize(q), 50)
        assert set(found.tolist()) <= gone
    assert new.keywords.size == new.size
    # The previous version (its own links) still answers as before.
    before = open_store(aside, "tantivy", old.row_ids)
    ids_old, _ = before.search(tokenize("Quokkafest Kleinhausen"), 5)
    assert len(ids_old) == 0 and before.size == old.size
    old.close()
    new.close()
    before.close()


@pytest.mark.parametrize("term_set_max", [20_000, 0])
def test_allowed_ids_restrict(built, monkeypatch, term_set_max) -> None:
    monkeypatch.setattr(keywords_tantivy, "_TERM_SET_MAX", term_set_max)
    index = _open(built["tantivy"])
    terms = tokenize(QUERIES[0])
    all_ids, _ = index.keywords.search(terms, 50)
    assert len(all_ids) >= 4
    allowed = np.sort(all_ids[1::2])
    ids, scores = index.keywords.search(terms, 50, allowed)
    assert set(ids.tolist()) == set(allowed.tolist()) and np.all(scores > 0)
    ids, _ = index.keywords.search(terms, 1, allowed)
    assert ids.tolist() == [all_ids[1]]
    assert len(index.keywords.search(terms, 5, np.empty(0, dtype=np.int64))[0]) == 0
    index.close()


def test_backend_change_converts_all_chunks(built, corpus: Path, tmp_path: Path) -> None:
    index_dir = _copy(built, "bm25s", tmp_path)
    (corpus / "zz_neu.txt").write_text("Titel\n\nEin neuer Artikel über Quokkas.\n",
                                       encoding="utf-8")
    index = _build(corpus, index_dir, "tantivy")
    assert index.manifest.keyword_backend == "tantivy"
    assert index.keywords.size == index.size
    assert len(index.keywords.search(tokenize(QUERIES[0]), 5)[0])
    index.close()


def test_auto_switches_to_tantivy_when_the_archive_grows(built, corpus: Path,
                                                         tmp_path: Path) -> None:
    index_dir = tmp_path / "idx-auto"
    size = _open(built["bm25s"]).size
    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir,
                                 keyword_backend="auto", keyword_auto_chunks=size + 1)
    update_index(settings, FakeEmbedder(), progress=False)
    small = _open(index_dir)
    assert small.manifest.keyword_backend == "bm25s" and small.size == size
    small.close()
    (corpus / "zz_neu.txt").write_text(
        "Quokkafest in Kleinhausen\n\nDas Quokkafest lockte 5000 Besucher nach "
        "Kleinhausen.\n", encoding="utf-8")
    update_index(settings, FakeEmbedder(), progress=False)  # one more article: tantivy
    grown = _open(index_dir)
    assert grown.manifest.keyword_backend == "tantivy"
    assert (grown.folder / KEYWORDS_DIR / "meta.json").is_file()
    assert not (grown.folder / "bm25").exists()
    assert grown.keywords.size == grown.size == size + 1
    ids, _ = grown.keywords.search(tokenize("Quokkafest Kleinhausen"), 5)
    assert grown.row_docs[int(grown.rows_of(ids[:1])[0])] == "zz_neu.txt"
    bm = _open(built["bm25s"])
    for q in QUERIES:  # the converted store ranks the old articles as bm25s did
        a, _ = grown.keywords.search(tokenize(q), 5)
        b, _ = bm.keywords.search(tokenize(q), 5)
        assert a[:1].tolist() == b[:1].tolist()
    grown.close()
    bm.close()


def test_abort_leaves_previous_version(built, tmp_path: Path) -> None:
    index_dir = _copy(built, "tantivy", tmp_path)
    base = _open(index_dir)
    before = sorted(p.name for p in (base.folder / KEYWORDS_DIR).iterdir())
    writer = VersionWriter(index_dir, base, base.vectors.d, Settings().index)
    writer.remove_doc(base.row_docs[0])
    writer.add_chunks([(10_000, "x#0", "x", "Quokka Quokka", 0, 13, [[0, 13]],
                        np.zeros((1, base.vectors.d), dtype=np.float32))],
                      np.ones((1, base.vectors.d), dtype=np.float32) / np.sqrt(base.vectors.d))
    writer.abort()
    assert not writer.tmp.exists()
    assert sorted(p.name for p in (base.folder / KEYWORDS_DIR).iterdir()) == before
    reopened = Index(base.folder, base.manifest)
    assert reopened.keywords.size == base.size
    assert all(os.stat(p).st_nlink == 1 for p in (base.folder / KEYWORDS_DIR).iterdir())
    reopened.close()
    base.close()


def test_unknown_backend_is_a_settings_error(tmp_path: Path) -> None:
    settings = Settings.from_env(corpus_dir=tmp_path, index_dir=tmp_path / "idx",
                                 keyword_backend="lucene")
    with pytest.raises(SettingsError, match="keyword backend"):
        update_index(settings, FakeEmbedder(), progress=False)
    assert not (tmp_path / "idx").exists() or not any((tmp_path / "idx").iterdir())


# --- both stores on a few texts (ids are not rows: they start at 100) --------------

TEXTS = [
    "Lukaschenko brachte Putin rote Tulpen zum Flughafen.",
    "Die belarussische Armee hat 62'000 Berufssoldaten.",
    "Putin war aus Sewastopol zugeschaltet.",
    "",  # a chunk without terms is still a chunk
    "Die Soldaten der Armee übten in Belarus.",
]
IDS = np.arange(100, 100 + len(TEXTS), dtype=np.int64)


def _store(backend: str, folder: Path, texts: list[str] = TEXTS):
    from rag.store.keywords import open_writer

    ids = IDS[: len(texts)]
    rows = [(int(i), f"d{k}", t) for k, (i, t) in enumerate(zip(ids, texts))]
    writer = open_writer(folder, backend, None)
    writer.add(rows)
    assert writer.finish(lambda: iter(rows)) == len(texts)
    return open_store(folder, backend, ids)


@pytest.mark.parametrize("backend", ["tantivy", "bm25s"])
def test_search_ranks_matching_chunks(backend: str, tmp_path: Path) -> None:
    store = _store(backend, tmp_path)
    assert store.size == len(TEXTS)
    ids, scores = store.search(tokenize("Wie viele Soldaten hat die Armee?"), 10)
    assert set(ids.tolist()) == {101, 104} and np.all(scores > 0)
    assert list(scores) == sorted(scores, reverse=True)
    ids, _ = store.search(tokenize("62.000 Berufssoldaten"), 10)  # number separators
    assert ids.tolist() == [101]
    ids, _ = store.search(tokenize("Tulpe"), 1)  # stemmed: Tulpe ~ Tulpen
    assert ids.tolist() == [100]


@pytest.mark.parametrize("backend", ["tantivy", "bm25s"])
def test_unknown_terms_and_allowed_ids(backend: str, tmp_path: Path) -> None:
    store = _store(backend, tmp_path / "a")
    ids, scores = store.search(["gibtsnicht"], 5)
    assert ids.size == scores.size == 0
    ids, _ = store.search(tokenize("Soldaten Armee"), 5, np.asarray([104]))
    assert ids.tolist() == [104]
    empty = _store(backend, tmp_path / "b", ["", ""])
    assert empty.search(tokenize("Armee"), 3)[0].size == 0


@pytest.mark.parametrize("backend", ["tantivy", "bm25s"])
def test_reopened_store_answers_the_same(backend: str, tmp_path: Path) -> None:
    store = _store(backend, tmp_path)
    again = open_store(tmp_path, backend, IDS)
    query = tokenize("Putin Sewastopol Tulpen")
    a, b = store.search(query, 5), again.search(query, 5)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])


@pytest.mark.parametrize("damage", ["missing", "meta", "segment"])
def test_damaged_tantivy_store_is_reported(built, tmp_path: Path, damage: str) -> None:
    from rag.errors import IndexCorrupt

    index_dir = _copy(built, "tantivy", tmp_path)
    folder = current_version(index_dir) / KEYWORDS_DIR
    if damage == "missing":
        shutil.rmtree(folder)
    elif damage == "meta":
        (folder / "meta.json").write_text("xx")
    else:
        next(folder.glob("*.term")).write_bytes(b"xx")
    with pytest.raises(IndexCorrupt, match="damaged"):
        _open(index_dir)


@pytest.mark.parametrize("backend", ["tantivy", "bm25s"])
def test_document_frequencies(backend: str, tmp_path: Path) -> None:
    store = _store(backend, tmp_path)
    (armee,) = tokenize("Armee")
    (putin,) = tokenize("Putin")
    (tulpen,) = tokenize("Tulpen")
    assert store.doc_freq(armee) == 2 and store.doc_freq(putin) == 2
    assert store.doc_freq(tulpen) == 1
    assert store.doc_freq("gibtsnicht") == 0
