"""Adding files and folders: type by content, safe names from title and date."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.ingest.add import add_sources, article_file, slug, sniff_kind, to_markdown
from rag.ingest.corpus import parse_article, read_corpus

DATA = Path(__file__).parent / "data"


def test_sniff_by_content_not_name():
    html = (DATA / "tagesbericht_meta.html").read_bytes()
    assert sniff_kind(html, "notiz.txt") == ".html"
    assert sniff_kind((DATA / "bahn_presse.pdf").read_bytes(), "x.txt") == ".pdf"
    assert sniff_kind("Nur Text, äöü.".encode(), "a.md") == ".md"
    assert sniff_kind(b'{"text": "x"}\n', "a.jsonl") == ".jsonl"
    for raw, name in ((b"PK\x03\x04zipdata", "artikel.pdf"), (b"MZ\x90\x00exe", "a.html"),
                      (b"\x89PNG\r\n\x1a\n", "bild.txt"), (b"\x1f\x8b\x08gzip", "a.csv")):
        with pytest.raises(CorpusError, match="binary"):
            sniff_kind(raw, name)
    with pytest.raises(CorpusError, match="not a PDF"):
        sniff_kind(b"plain text", "tarnung.pdf")


def test_slug():
    assert slug("Bundestag beschließt Reform des Wahlrechts") == \
        "bundestag-beschliesst-reform-des-wahlrechts"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("   ") == "artikel"
    assert len(slug("Wort " * 50)) <= 60


def test_web_page_becomes_markdown_named_by_date_and_title(tmp_path):
    raw = (DATA / "nordkurier_jsonld.html").read_bytes()
    name, data = article_file(raw, ".html", "../../../tmp/evil name.html")
    assert name == "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md"
    article = parse_article(data, name)  # read back: front matter wins
    assert article.title == "Stadtwerke senken Gaspreis zum Jahreswechsel"
    assert article.date == "2022-12-19"
    assert article.author == "Katrin Weidemann"
    assert article.publisher == "DER NORDSPIEGEL"
    assert article.url.startswith("https://www.nordspiegel.de/wirtschaft/")
    assert "14,2 Cent" in article.text


def test_add_folder_and_files(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for name in ("nordkurier_jsonld.html", "lokalzeitung_wp.html"):
        (src / name).write_bytes((DATA / name).read_bytes())
    (src / "sub" / "presse.pdf").write_bytes((DATA / "bahn_presse.pdf").read_bytes())
    (src / "sub" / "kaputt.html").write_bytes(b"PK\x03\x04 not html")
    (src / ".versteckt.html").write_bytes((DATA / "tagesbericht_meta.html").read_bytes())
    corpus = tmp_path / "corpus"
    report = add_sources([str(src), str(tmp_path / "fehlt.html")], corpus)
    assert sorted(p for _, p in report.added) == [
        "2022-12-19-stadtwerke-senken-gaspreis-zum-jahreswechsel.md",
        "2024-01-05-hochwasser-pegel-der-mosel-steigt-weiter.md",
        "2024-03-12-bahn-modernisiert-1-800-bahnhoefe-bis-2030.md",
    ]
    failed = dict(report.failed)
    assert "binary" in failed[str(src / "sub" / "kaputt.html")]
    assert failed[str(tmp_path / "fehlt.html")] == "no such file or folder"
    articles, skipped = read_corpus(corpus)
    assert len(articles) == 3 and not skipped
    again = add_sources([str(src / "nordkurier_jsonld.html")], corpus)
    assert not again.added and len(again.unchanged) == 1  # same content: not saved twice


def test_markdown_round_trip_keeps_metadata():
    raw = (DATA / "lokalzeitung_wp.html").read_bytes()
    from rag.ingest.html import parse_html

    original = parse_html(raw, "x.html")
    back = parse_article(to_markdown(original).encode(), "x.md")
    for field in ("title", "date", "url", "publisher", "author"):
        assert getattr(back, field) == getattr(original, field), field
