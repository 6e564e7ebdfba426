"""PDFs: a real multi-page press release (printed by Chromium), bounded bombs, bad files."""

from __future__ import annotations

import io
import time
import zlib
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

from rag.errors import CorpusError
from rag.ingest.pdf import parse_pdf

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def release():
    return parse_pdf((DATA / "bahn_presse.pdf").read_bytes(), "bahn_presse.pdf")


def test_metadata_field_by_field(release):
    assert release.title == "Bahn modernisiert 1.800 Bahnhöfe bis 2030"  # PDF info /Title
    # the date line on the first page wins over the info's creation date (2024-03-14)
    assert release.date == "2024-03-12"
    assert release.author == "Deutsche Bahn AG, Konzernkommunikation"
    assert release.url is None and release.publisher is None
    assert release.headline is True


def test_text_of_every_page_in_paragraphs(release):
    text = release.text
    assert "will bis 2030 rund 1.800 Bahnhöfe modernisieren" in text  # page 1
    assert "Als erste sollen die Bahnhöfe in Cottbus, Gera und Stendal" in text  # page 2
    assert "Täglich nutzen etwa 20 Millionen Menschen die Stationen." in text  # page 3
    # line breaks inside paragraphs are undone, paragraphs kept apart
    assert "Infrastrukturvorständin Berit Lenz" in text
    assert "\n\nFür das Programm stehen" in text
    assert "Berlin, 12. März 2024" not in text  # the date line is metadata


def _pdf(pages: list[bytes], info: dict | None = None) -> bytes:
    """A PDF whose pages have the given raw content streams (Helvetica text)."""
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for content in pages:
        page = writer.add_blank_page(595, 842)
        stream = DecodedStreamObject()
        stream.set_data(content)
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject("/F1"): writer._add_object(font)})})
    if info:
        writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text(*lines: str) -> bytes:
    ops = [b"BT /F1 11 Tf 72 770 Td 14 TL"]
    ops += [b"(" + line.encode("latin-1") + b") '" for line in lines]
    return b"\n".join(ops + [b"ET"])


def test_generated_multi_page_pdf_without_info_title():
    raw = _pdf([_text("Stadtrat beschließt Haushalt", "Köln, 3. Februar 2021",
                      "Der Stadtrat hat am Donnerstag den Haushalt beschlossen."),
                _text("Die Opposition stimmte dagegen.")],
               {"/Author": "Stadt Köln", "/Title": "Microsoft Word - haushalt.docx"})
    article = parse_pdf(raw, "haushalt.pdf")
    assert article.title == "Stadtrat beschließt Haushalt"  # not the tool's file name
    assert article.date == "2021-02-03"
    assert article.author == "Stadt Köln"
    assert "Die Opposition stimmte dagegen." in article.text


def test_scan_without_text_layer():
    with pytest.raises(CorpusError, match="no text layer"):
        parse_pdf(_pdf([b"", b""]), "scan.pdf")


def test_not_a_pdf():
    with pytest.raises(CorpusError, match="not a PDF"):
        parse_pdf(b"<html>no</html>", "fake.pdf")


def test_damaged_pdf():
    raw = (DATA / "bahn_presse.pdf").read_bytes()
    with pytest.raises(CorpusError, match="cannot be read|no text layer"):
        parse_pdf(raw[:2000], "kaputt.pdf")


def test_page_bomb_reads_only_max_pages():
    raw = _pdf([_text(f"Seite {i} mit etwas Text.") for i in range(40)])
    start = time.perf_counter()
    article = parse_pdf(raw, "viele.pdf", max_pages=5)
    assert time.perf_counter() - start < 10
    assert "Seite 4 mit" in article.text and "Seite 5 mit" not in article.text


def test_decompression_bomb_is_bounded():
    """A content stream that inflates from ~100 KB to 100 MB: refused or cut, quickly."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    bomb = StreamObject()
    bomb._data = zlib.compress(b"0 0 m " * (100_000_000 // 6), 9)
    bomb[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(bomb)
    out = io.BytesIO()
    writer.write(out)
    raw = out.getvalue()
    assert len(raw) < 1_000_000
    start = time.perf_counter()
    with pytest.raises(CorpusError):
        parse_pdf(raw, "bombe.pdf")
    assert time.perf_counter() - start < 30


def test_encrypted_pdf():
    writer = PdfWriter(clone_from=io.BytesIO(_pdf([_text("Geheim.")])))
    writer.encrypt("geheim")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(CorpusError, match="encrypted"):
        parse_pdf(out.getvalue(), "geheim.pdf")
