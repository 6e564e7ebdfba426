"""Web pages of three German news-site layouts: main text and metadata, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.ingest.corpus import parse_file
from rag.ingest.html import parse_html

DATA = Path(__file__).parent / "data"

#: file -> (title, date, author, publisher, url)
EXPECTED = {
    # news magazine: JSON-LD NewsArticle, lead in the article header, comments, teasers
    "nordkurier_jsonld.html": (
        "Stadtwerke senken Gaspreis zum Jahreswechsel", "2022-12-19", "Katrin Weidemann",
        "DER NORDSPIEGEL",
        "https://www.nordspiegel.de/wirtschaft/energiekrise-stadtwerke-senken-gaspreis-"
        "a-7f3c2e91.html"),
    # public broadcaster: meta tags only (author with desk, date, og:site_name), no JSON-LD
    "tagesbericht_meta.html": (
        "Bundestag beschließt Reform des Wahlrechts", "2023-03-17", "Jonas Albrecht",
        "tagesbericht.de",
        "https://www.tagesbericht.de/inland/innenpolitik/wahlrechtsreform-bundestag-"
        "beschluss-101.html"),
    # regional paper on WordPress: <time>, vcard author, sidebar widgets, comment form
    "lokalzeitung_wp.html": (
        "Hochwasser: Pegel der Mosel steigt weiter", "2024-01-05", "Martina Hoffmann",
        "Trierer Volksblatt",
        "https://www.trierer-volksblatt.de/region/2024/01/05/hochwasser-pegel-mosel-steigt/"),
}

#: Sentences of the article that must be in the text (first and last paragraph, lead).
CONTENT = {
    "nordkurier_jsonld.html": [
        "Nach monatelangen Erhöhungen geben die Stadtwerke Rostock sinkende",
        "von 18,9 auf 14,2 Cent pro Kilowattstunde",
        "Verbraucherschützer bleiben skeptisch",
        "die erst im Laufe des Jahres auslaufen.",
    ],
    "tagesbericht_meta.html": [
        "Der Bundestag wird deutlich kleiner",
        "Für den Gesetzentwurf stimmten 400 Abgeordnete, 261 votierten dagegen",
        "Die neue Regel soll erstmals bei der nächsten Bundestagswahl gelten.",
    ],
    "lokalzeitung_wp.html": [
        "Der Pegel der Mosel in Trier ist in der Nacht auf Freitag auf 8,40 Meter gestiegen.",
        "„Wir sind gut vorbereitet“, sagte Oberbürgermeister Wolfram Leibe.",
        "wenn der Regen im Einzugsgebiet wie vorhergesagt nachlässt.",
    ],
}

#: Boilerplate of each page that must not become article text.
BOILERPLATE = {
    "nordkurier_jsonld.html": [
        "Cookies", "Zustimmung", "142 Partner", "Hauptnavigation", "Anmelden", "Startseite",
        "Lesen Sie auch", "Heizöl wird wieder günstiger", "LNG-Terminal", "Ostseeblick64",
        "Wurde auch Zeit", "Güstrow", "Newsletter", "Impressum", "Teilen", "Alle Rechte",
    ],
    "tagesbericht_meta.html": [
        "Cookies", "Alle akzeptieren", "Zum Inhalt springen", "Faktenfinder", "Suchbegriff",
        "FAQ: Was die Reform", "Ampel einigt sich", "Wahlkreise neu zugeschnitten",
        "WhatsApp", "Impressum", "Barrierefreiheit", "Mehr zu diesem Thema",
    ],
    "lokalzeitung_wp.html": [
        "Datenschutzeinstellungen", "essenzielle Cookies", "Traueranzeigen", "E-Paper",
        "Leinpfad", "Gerd aus Pfalzel", "Danke an alle Helfer", "Kommentar abschicken",
        "Weihnachtshochwasser", "Ehrang: Ein Jahr danach", "Eintracht Trier",
        "Newsletter", "Schlagwörter", "Teilen mit", "Impressum",
    ],
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def page(request):
    name = request.param
    return name, parse_html((DATA / name).read_bytes(), name)


def test_metadata_field_by_field(page):
    name, article = page
    title, date, author, publisher, url = EXPECTED[name]
    assert article.title == title
    assert article.headline is True
    assert article.date == date
    assert article.author == author
    assert article.publisher == publisher
    assert article.url == url
    assert article.doc_id == name


def test_main_text_kept(page):
    name, article = page
    for sentence in CONTENT[name]:
        assert sentence in article.text, sentence


def test_boilerplate_left_out(page):
    name, article = page
    for phrase in BOILERPLATE[name]:
        assert phrase not in article.text, phrase


def test_paragraphs_are_separated(page):
    _, article = page
    assert article.text.count("\n\n") >= 3
    assert "  " not in article.text


def test_corpus_reader_dispatches_on_suffix():
    raw = (DATA / "lokalzeitung_wp.html").read_bytes()
    [article] = parse_file(raw, "sub/seite.htm")
    assert article.publisher == "Trierer Volksblatt"


def test_page_without_article_is_a_clear_error():
    raw = (b"<html><head><title>Login</title></head><body><nav><a href='/'>Start</a></nav>"
           b"</body></html>")
    with pytest.raises(CorpusError, match="no article text"):
        parse_html(raw, "login.html")


def test_empty_page():
    with pytest.raises(CorpusError, match="empty"):
        parse_html(b"  \n", "leer.html")


def test_url_of_the_fetch_is_the_fallback_url():
    raw = (b"<html><head><title>Kurz</title></head><body><article><p>"
           + "Ein ganz gewöhnlicher Satz über die Stadtratssitzung am Abend. ".encode() * 8
           + b"</p></article></body></html>")
    article = parse_html(raw, "x.html", url="https://www.beispiel-zeitung.de/a/1")
    assert article.url == "https://www.beispiel-zeitung.de/a/1"
    assert article.publisher == "beispiel-zeitung.de"
