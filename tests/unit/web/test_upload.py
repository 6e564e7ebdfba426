"""Adding articles from the chat (rag.web.upload): stored under ``uploads/``, indexed in a
thread, and then shown everywhere the page lists the corpus (status line counts, article
filter, archive, removable articles). A real pipeline with the fake embedder."""

from __future__ import annotations

from pathlib import Path

from rag.embed.fake import FakeEmbedder
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.web.service import Service
from rag.web.upload import Uploads

ARTICLE = """---
title: "Neue Brücke über die Elbe eröffnet"
date: 2024-02-01
---
Die neue Brücke über die Elbe ist am Donnerstag für den Verkehr freigegeben worden.
Sie ist 420 Meter lang und hat 38 Millionen Euro gekostet.
"""


def _indexed(uploads: Uploads) -> None:
    uploads.kick()
    assert uploads._worker is not None
    uploads._worker.join(120)
    assert uploads.state == "idle", uploads.error


def test_an_upload_is_listed_everywhere_once_indexed(fake_settings: Settings,
                                                     tmp_path: Path) -> None:
    settings = fake_settings.replace(uploads_enabled=True)
    service = Service(Pipeline(settings, embedder=FakeEmbedder(), auto_index=False))
    service.start().join(60)
    before = service.status("de")[1]
    assert before.startswith("Bereit · 5 Artikel")
    upload = tmp_path / "bruecke.md"
    upload.write_text(ARTICLE, encoding="utf-8")
    uploads = Uploads(service, settings)
    lines = uploads.add_files([str(upload)])
    assert len(lines) == 1 and lines[0].startswith("✓ bruecke.md → uploads/"), lines
    _indexed(uploads)

    doc_id = lines[0].split("→ ", 1)[1]
    assert uploads.version == 1
    assert service.status("de")[1].startswith("Bereit · 6 Artikel")
    assert service.status("en")[1].startswith("Ready · 6 articles")
    assert doc_id in [d for _, d in service.doc_choices]
    assert doc_id in [e.doc_id for e in service.archive]
    assert [d for _, d in uploads.uploaded()] == [doc_id]
    status, *_ = uploads.refresh(0)  # the page had seen version 0: everything refreshes
    assert "Suchbar / Searchable" not in status  # nothing submitted through the form

    uploads.remove([doc_id, "001.txt"])
    assert "removed / entfernt" in uploads.results[0]
    assert "only articles added here" in uploads.results[1]
    _indexed(uploads)
    assert service.status("de")[1].startswith("Bereit · 5 Artikel")
    assert doc_id not in [e.doc_id for e in service.archive]
