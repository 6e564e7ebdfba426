"""Archive exports: one article per record, stable ids, configurable field names."""

from __future__ import annotations

import json

import pytest

from rag.errors import CorpusError
from rag.ingest.archive import parse_archive
from rag.ingest.corpus import read_corpus, scan_corpus
from rag.settings import IngestSettings

RECORDS = [
    {"id": "dpa-1001", "title": "Fähre läuft vor Borkum auf Grund", "date": "2023-09-04",
     "url": "https://www.kuestenbote.de/region/faehre-borkum", "author": "Jan Peters",
     "text": "Eine Fähre ist am Montag vor Borkum auf Grund gelaufen.\n\nVerletzt wurde "
             "niemand, die 212 Passagiere wurden mit Rettungsbooten an Land gebracht."},
    {"id": "dpa-1002", "title": "Museum zeigt Funde aus der Römerzeit",
     "date": "2023-09-05T08:30:00+02:00", "publisher": "Rheinblatt",
     "text": "Das Landesmuseum zeigt ab Freitag 300 Fundstücke aus einer römischen Villa."},
    {"id": "dpa-1003", "title": "Ohne Text", "text": ""},
]


def _jsonl(records) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()


def test_jsonl_records_field_by_field():
    skipped = []
    first, second = parse_archive(_jsonl(RECORDS), "exporte/archiv.jsonl", skipped=skipped)
    assert first.doc_id == "exporte/archiv.jsonl#dpa-1001"
    assert first.title == "Fähre läuft vor Borkum auf Grund"
    assert first.date == "2023-09-04"
    assert first.url == "https://www.kuestenbote.de/region/faehre-borkum"
    assert first.publisher == "kuestenbote.de"  # from the URL
    assert first.author == "Jan Peters"
    assert first.text.split("\n\n")[1].startswith("Verletzt wurde niemand")
    assert second.date == "2023-09-05"  # a timestamp's day
    assert second.publisher == "Rheinblatt" and second.author is None and second.url is None
    assert [s.path for s in skipped] == ["exporte/archiv.jsonl#dpa-1003"]


def test_ids_are_stable_and_hashes_per_record():
    a = {x.doc_id: x.content_hash for x in parse_archive(_jsonl(RECORDS[:2]), "a.jsonl")}
    changed = [dict(RECORDS[0], text="Korrigiert: Die Fähre lief vor Juist auf Grund."),
               RECORDS[1], {"id": "dpa-1004", "title": "Neu", "text": "Ein neuer Text."}]
    b = {x.doc_id: x.content_hash for x in parse_archive(_jsonl(changed), "a.jsonl")}
    assert a["a.jsonl#dpa-1002"] == b["a.jsonl#dpa-1002"]  # untouched record: same hash
    assert a["a.jsonl#dpa-1001"] != b["a.jsonl#dpa-1001"]
    assert "a.jsonl#dpa-1004" in b


def test_csv_with_configured_field_names(tmp_path):
    csv_text = ("Kennung;Ueberschrift;Datum;Link;Inhalt\n"
                "7;Stadt baut Radweg;19.12.2022;https://www.stadtanzeiger.de/7;\"Der Radweg "
                "wird 4,2 Kilometer lang; er kostet 1,1 Millionen Euro.\"\n"
                "8;Schule saniert;2022-11;;Die Sanierung dauert zwei Jahre.\n")
    (tmp_path / "export.csv").write_text(csv_text, encoding="cp1252")
    opts = IngestSettings(archive_id_field="kennung", archive_title_field="ueberschrift",
                          archive_date_field="datum", archive_url_field="link",
                          archive_text_field="inhalt")
    articles, skipped = read_corpus(tmp_path, opts)
    assert not skipped
    assert [a.doc_id for a in articles] == ["export.csv#7", "export.csv#8"]
    assert articles[0].title == "Stadt baut Radweg"
    assert articles[0].date == "2022-12-19"
    assert articles[0].text == "Der Radweg wird 4,2 Kilometer lang; er kostet 1,1 Millionen Euro."
    assert articles[1].date == "2022-11"
    assert scan_corpus(tmp_path, opts) == {a.doc_id: a.content_hash for a in articles}


def test_missing_text_field_says_which_setting():
    with pytest.raises(CorpusError, match="RAG_ARCHIVE_TEXT_FIELD"):
        parse_archive(_jsonl([{"id": 1, "body": "x"}]), "x.jsonl")


def test_broken_json_line():
    with pytest.raises(CorpusError, match="line 2 is not valid JSON"):
        parse_archive(b'{"text": "a"}\n{"text": \n', "x.jsonl")


def test_record_without_id_uses_line_number():
    [a] = parse_archive(b'\n{"text": "Nur Text."}\n', "x.jsonl")
    assert a.doc_id == "x.jsonl#2"
