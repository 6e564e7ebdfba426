"""Copies and time with the real model (slow): a wire copy is shown once with "also
published by", a question naming a month says which period it used."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from rag.ingest.add import add_sources

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "unit" / "ingest" / "data"

pytestmark = pytest.mark.slow


def test_copy_shown_once_and_period_named(tmp_path):
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    report = add_sources([str(DATA)], corpus)
    assert len(report.added) == 4
    original = next(corpus.glob("2022-12-19-stadtwerke*.md")).read_text()
    body = original.split("---\n", 2)[2].split("\n", 2)[2]
    (corpus / "ostsee-anzeiger-gas.md").write_text(
        "---\ntitle: Rostock - Gas wird billiger\ndate: 2022-12-20\npublisher: Ostsee-Anzeiger"
        "\n---\nRostock (dpa) - " + body + "\nMehr zum Thema: Energiepreise\n",
        encoding="utf-8")
    pipeline = Pipeline(Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index"))
    pipeline.update_index(progress=False)
    assert pipeline.index.manifest.duplicates == {
        "ostsee-anzeiger-gas.md": "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"}
    answer = pipeline.ask("Wie viele Haushalte in Rostock sind von der Gaspreissenkung im "
                          "Dezember 2022 betroffen?", today=date(2024, 6, 1))
    assert answer.found and "38.000" in answer.text
    docs = [s.doc_id for s in answer.sources]
    assert ("ostsee-anzeiger-gas.md" in docs) != any(d.startswith("2022-12-19") for d in docs)
    first = answer.sources[0]
    assert first.also and first.also[0]["publisher"] in ("Ostsee-Anzeiger", "DER NORDSPIEGEL")
    assert answer.period == "2022-12" and "(Zeitraum: 2022-12)" in answer.text
