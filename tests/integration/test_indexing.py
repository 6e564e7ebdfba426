"""Indexing with the real model: a build and an incremental update answer correctly, the
``rag index`` command on a corpus with bad files and other encodings, and a damaged or
mismatched index rebuilt and answering right (the detection itself is unit-tested with
the fake embedder: tests/unit/store, tests/unit/indexing)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shared_data import (
    MINSK_VISIT,
    PRIGOSCHIN,
    ROOT,
    SEED,
    SEWASTOPOL,
    small_settings,
    write_artifact,
)

import rag.pipeline
from rag.cli import main as cli_main
from rag.embed import model_signature
from rag.embed.sbert import SentenceTransformerEmbedder
from rag.indexing import chunking_signature, update_index
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store.folder import MANIFEST, current_version
from rag.store.index import CHUNKS, VECTORS, load_index

pytestmark = pytest.mark.slow

TWO = (MINSK_VISIT, SEWASTOPOL)
#: Seed questions answered from the two-article corpus: (question, doc_id, keyword).
TWO_ARTICLE_CHECKS = (
    ("Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?",
     SEWASTOPOL, "Sewastopol"),
    ("Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?", MINSK_VISIT, "Tulpen"),
)
CP1252 = "Die Bäckerei „Süßes Eck“ in Görlitz verkauft ihren Stollen für 25 € das Stück – " \
         "seit 1911.\n\nDer Bäcker heißt Jörg Weiß.\n"
LATIN1 = "Der Förster Jürgen Weiß zählte im Harz 312 Luchse. Das Ergebnis überraschte die " \
         "Behörde.\n"
UTF16 = "Die Fähre nach Rügen legt täglich um 7 Uhr in Stralsund ab. Die Überfahrt dauert " \
        "zwei Stunden.\n"


def _check_two(pipeline: Pipeline) -> None:
    for question, doc_id, keyword in TWO_ARTICLE_CHECKS:
        answer = pipeline.ask(question)
        assert answer.sources[0].doc_id == doc_id and keyword in answer.text, answer.text


def test_build_then_incremental_update_answers(tmp_path: Path,
                                               embedder: SentenceTransformerEmbedder) -> None:
    settings = small_settings(tmp_path, (SEWASTOPOL, PRIGOSCHIN))
    pipeline = Pipeline(settings, embedder=embedder)
    answer = pipeline.ask("Wie nennt Lukaschenko Putin?")  # built on first use
    assert answer.found and "Bruder" in answer.text
    corpus = settings.paths.corpus_dir
    shutil.copy(SEED / MINSK_VISIT, corpus / MINSK_VISIT)
    (corpus / PRIGOSCHIN).write_text(
        (corpus / PRIGOSCHIN).read_text(encoding="utf-8")
        + "\n\nDer Zoo in Minsk hat seit Montag sieben Elefanten.", encoding="utf-8")
    assert pipeline.is_stale()
    report = pipeline.update_index(progress=False)
    assert (report.added, report.changed, report.rebuilt) == ([MINSK_VISIT], [PRIGOSCHIN],
                                                              False)
    _check_two(pipeline)
    answer = pipeline.ask("Wie viele Elefanten hat der Zoo in Minsk?")
    assert answer.sources[0].doc_id == PRIGOSCHIN and "sieben" in answer.text


def test_cli_indexes_good_files_and_lists_bad_ones(tmp_path: Path,
                                                   embedder: SentenceTransformerEmbedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m rag index`` (a real process, real model) on a corpus with bad files:
    exit 3, each bad file named with its reason, every good file (cp1252, latin-1,
    UTF-16) indexed, decoded right and answerable."""
    settings = small_settings(tmp_path, TWO)
    corpus = settings.paths.corpus_dir
    (corpus / "cp1252.txt").write_bytes(CP1252.encode("cp1252"))
    (corpus / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))
    (corpus / "utf16.txt").write_bytes(UTF16.encode("utf-16"))  # with BOM
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256))
    (corpus / "vanished.txt").symlink_to(corpus / "deleted-meanwhile.txt")
    bad = {"empty.txt": "empty", "binary.txt": "NUL", "vanished.txt": "disappeared"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--corpus", str(corpus), "--index",
         str(settings.paths.index_dir), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    seconds = time.perf_counter() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr
    skipped = {line.split(":", 1)[0].removeprefix("  skipped ").strip(): line
               for line in proc.stdout.splitlines() if line.startswith("  skipped ")}
    assert set(skipped) == set(bad), proc.stdout
    for name, word in bad.items():
        assert word in skipped[name], skipped[name]
    assert f"skipped: {len(bad)}" in proc.stdout and "Traceback" not in proc.stderr

    index = load_index(settings.paths.index_dir, model_signature(embedder),
                       chunking_signature(settings))
    good = {*TWO, "cp1252.txt", "latin1.txt", "utf16.txt"}
    assert set(index.docs) == good == set(index.row_docs)
    assert [s["path"] for s in index.manifest.skipped] == sorted(bad)
    texts = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values())
    for text in (CP1252, LATIN1, UTF16):
        assert text.split("\n")[0] in texts  # decoded correctly (no mojibake)
    index.close()

    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    answer = pipeline.ask("Was kostet der Stollen der Bäckerei in Görlitz?")
    assert answer.sources[0].doc_id == "cp1252.txt" and "25 €" in answer.sources[0].text
    answer = pipeline.ask("Wann legt die Fähre nach Rügen ab?")
    assert answer.sources[0].doc_id == "utf16.txt"

    # Once the bad files are gone the exit code is 0 (in-process, with the shared model).
    for name in bad:
        (corpus / name).unlink()
    monkeypatch.setattr(rag.pipeline, "load_embedder", lambda s: embedder)
    assert cli_main(["index", "--corpus", str(corpus), "--index",
                     str(settings.paths.index_dir), "--quiet"]) == 0
    write_artifact("reliability_corpus", {
        "cli_bad_corpus": {"files": len(good) + len(bad), "skipped": sorted(bad),
                           "exit_code": proc.returncode, "seconds": round(seconds, 1)},
    })


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory,
             embedder: SentenceTransformerEmbedder) -> Settings:
    """A two-article corpus and its freshly built index (copied before each damage)."""
    settings = small_settings(tmp_path_factory.mktemp("pristine"), TWO)
    update_index(settings, embedder, progress=False)
    return settings


@pytest.fixture()
def damaged(tmp_path: Path, pristine: Settings) -> Settings:
    shutil.copytree(pristine.paths.corpus_dir, tmp_path / "corpus")
    shutil.copytree(pristine.paths.index_dir, tmp_path / "index")
    return pristine.replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")


def _manifest_counts_wrong(folder: Path) -> None:
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    data["counts"]["chunks"] = 3
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("damage", ["chunk store missing", "vectors truncated",
                                    "manifest count wrong"])
def test_damaged_index_is_rebuilt_and_answers_right(damaged: Settings, damage: str,
                                                    embedder: SentenceTransformerEmbedder,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    folder = current_version(damaged.paths.index_dir)
    if damage == "chunk store missing":
        (folder / CHUNKS).unlink()
    elif damage == "vectors truncated":
        (folder / VECTORS).write_bytes((folder / VECTORS).read_bytes()[:100])
    else:
        _manifest_counts_wrong(folder)
    caplog.set_level(logging.INFO)
    _check_two(Pipeline(damaged, embedder=embedder))
    assert "previous index was damaged" in caplog.text


def test_index_of_other_chunking_is_rebuilt_and_answers_right(
        damaged: Settings, embedder: SentenceTransformerEmbedder,
        caplog: pytest.LogCaptureFixture) -> None:
    other = damaged.replace(chunk_tokens=damaged.chunking.chunk_tokens - 100)
    caplog.set_level(logging.INFO)
    _check_two(Pipeline(other, embedder=embedder))
    assert "Index rebuilt" in caplog.text and "chunking" in caplog.text
