"""German-aware sentence splitting (rag.text.sentences)."""

from __future__ import annotations

import re
import time

import pytest
from shared_data import SEED, XQUAD

from rag.ingest.corpus import read_corpus
from rag.text.sentences import (
    SENTENCE_BOUNDARY_RE,
    SENTENCE_BOUNDARY_REGEX,
    sentences,
    split_sentences,
)

XQUAD_CORPUS = XQUAD / "corpus"

CASES = [
    # dates, numbers, ordinals
    ("Er kam am 19.12.2022 an. Dann ging er.", ["Er kam am 19.12.2022 an.", "Dann ging er."]),
    ("Am 19. Dezember kam er. Der 3. Liga-Verein spielte.",
     ["Am 19. Dezember kam er.", "Der 3. Liga-Verein spielte."]),
    ("Er hat 62'000 Soldaten. Dazu 344'000 Reservisten.",
     ["Er hat 62'000 Soldaten.", "Dazu 344'000 Reservisten."]),
    ("Die Quote stieg auf 3.5 Prozent. Das ist viel.",
     ["Die Quote stieg auf 3.5 Prozent.", "Das ist viel."]),
    ("Das war im Jahr 2013. Grönland folgte.", ["Das war im Jahr 2013.", "Grönland folgte."]),
    ("Wasser enthält Sauerstoff-18. Meereslebewesen binden ihn.",
     ["Wasser enthält Sauerstoff-18.", "Meereslebewesen binden ihn."]),
    # German abbreviations
    ("Der Schaden: 5 Mio. Euro bzw. 2 Mrd. Franken. Das ist viel.",
     ["Der Schaden: 5 Mio. Euro bzw. 2 Mrd. Franken.", "Das ist viel."]),
    ("Es gibt z. B. Äpfel, u. a. Birnen, d. h. Obst. Neuer Satz.",
     ["Es gibt z. B. Äpfel, u. a. Birnen, d. h. Obst.", "Neuer Satz."]),
    ("Er reiste nach St. Petersburg. Dr. Müller kam mit. Nr. 5 auch.",
     ["Er reiste nach St. Petersburg.", "Dr. Müller kam mit.", "Nr. 5 auch."]),
    ("Es kamen ca. 500 Leute. Vgl. Kapitel drei.",
     ["Es kamen ca. 500 Leute.", "Vgl. Kapitel drei."]),
    ("Es gilt Art. 5 GG. Eine neue Art. Die Sache.",
     ["Es gilt Art. 5 GG.", "Eine neue Art.", "Die Sache."]),
    ("Hunde, Katzen usw. sind Tiere. Äpfel, Birnen etc. wachsen. Hunde usw. Dann kam der Rest.",
     ["Hunde, Katzen usw. sind Tiere.", "Äpfel, Birnen etc. wachsen.", "Hunde usw.",
      "Dann kam der Rest."]),
    ("Er starb 1048 n. Chr. Danach kam der Rest.",
     ["Er starb 1048 n. Chr.", "Danach kam der Rest."]),
    # initials, English abbreviations, URLs
    ("Wladimir W. Putin sprach. Er schwieg.", ["Wladimir W. Putin sprach.", "Er schwieg."]),
    ("Then Mr. Smith came, e.g. with Bob. The U.S. Army followed.",
     ["Then Mr. Smith came, e.g. with Bob.", "The U.S. Army followed."]),
    ("Siehe https://www.zeit.de/a.b?c=1. Danach kam er.",
     ["Siehe https://www.zeit.de/a.b?c=1.", "Danach kam er."]),
    # quotes, brackets, other end marks
    ('Er sagte: "Ja." Dann ging er.', ['Er sagte: "Ja."', "Dann ging er."]),
    ("»Nein!« Sie lachte. „Wirklich?“ Ja. (Das stimmt.) Gut… Weiter so.",
     ["»Nein!«", "Sie lachte.", "„Wirklich?“", "Ja.", "(Das stimmt.)", "Gut…", "Weiter so."]),
    ("«Das sind stupide Behauptungen», sagte Peskow. Er lachte.",
     ["«Das sind stupide Behauptungen», sagte Peskow.", "Er lachte."]),
    ('"Hast du einen PCR-Test machen lassen?", fragt Putin. Er lacht.',
     ['"Hast du einen PCR-Test machen lassen?", fragt Putin.', "Er lacht."]),
    ("Was nun? Wir warten! Und dann?", ["Was nun?", "Wir warten!", "Und dann?"]),
    # sentences glued together without a space (real news text); not abbreviations,
    # initials, dates or names with dots
    ("Die Leiche war an die Oberfläche gekommen.Bereits am Freitag kam er.",
     ["Die Leiche war an die Oberfläche gekommen.", "Bereits am Freitag kam er."]),
    ("„Wir müssen“, sagte Merkel.Als Antwort kam nichts. Wirklich?Ja.",
     ["„Wir müssen“, sagte Merkel.", "Als Antwort kam nichts.", "Wirklich?", "Ja."]),
    ("Es gibt z.B.Äpfel bzw.Birnen. Er kam am 19.12.2022 an.Dann ging er.",
     ["Es gibt z.B.Äpfel bzw.Birnen.", "Er kam am 19.12.2022 an.Dann ging er."]),
    # paragraph and line breaks
    ("Überschrift ohne Punkt\nErster Satz. Zweiter Satz.\n\n  Dritter.  ",
     ["Überschrift ohne Punkt", "Erster Satz.", "Zweiter Satz.", "Dritter."]),
    ("", []),
    ("   \n\n ", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_spans_are_trimmed_ordered_and_exact(text: str, expected: list[str]) -> None:
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == expected
    for (_, b), (c, _) in zip(spans, spans[1:], strict=False):
        assert b <= c
    for a, b in spans:
        assert not text[a].isspace() and not text[b - 1].isspace()


def test_boundary_regex_is_a_plain_separator() -> None:
    # usable with re.split / langchain: no capturing groups, matches only whitespace (or
    # nothing between glued sentences)
    assert re.compile(SENTENCE_BOUNDARY_REGEX).groups == 0
    text = "Erster Satz. Zweiter Satz! Dritter?Vierter Satz."
    assert [m.group() for m in SENTENCE_BOUNDARY_RE.finditer(text)] == [" ", " ", ""]
    assert re.split(SENTENCE_BOUNDARY_REGEX, text) == ["Erster Satz.", "Zweiter Satz!",
                                                       "Dritter?", "Vierter Satz."]


def test_seed_articles() -> None:
    articles = {a.doc_id: a for a in read_corpus(SEED)[0]}
    sents = {doc_id: sentences(a.text) for doc_id, a in articles.items()}
    assert ("Jahrelang war Wladimir Putin nicht mehr in Minsk, stattdessen reiste Lukaschenko "
            "jeweils nach Moskau, St. Petersburg und Sotschi, um dort seine Bitten wie ein "
            "Schuljunge vorzutragen.") in sents["002_b32e619577f15ed7.txt"]
    assert ("Verdächtig mutet auch die von Lukaschenko plötzlich befohlene Prüfung der "
            "Gefechtsbereitschaft seines 62'000 Berufssoldaten umfassenden Heeres an."
            ) in sents["002_b32e619577f15ed7.txt"]
    assert sents["000_0bd7be33f238eff5.txt"][0] == (
        'Ein fester Händedruck, eine freundliche Umarmung, ein Platz an einem Mini-Tisch: '
        '"Hast du einen PCR-Test machen lassen?", fragt Wladimir Putin lachend, bevor er '
        'den belarussischen Machthaber Alexander Lukaschenko fest in die Arme schließt.')
    assert ("„Er hat sich uns als Vermittler angeboten, schließlich kennt er Prigoschin schon "
            "seit mehr als 20 Jahren persönlich“, versuchte Kremlsprecher Dmitri Peskow am "
            "späten Abend die Rolle Lukaschenkos während der höchst dramatischen Stunden "
            "herunterzuspielen.") in sents["004_ab217624b5cd6cf3.txt"]
    for doc_sents in sents.values():
        for s in doc_sents:  # no sentence ends in an abbreviation
            assert not re.search(r"\b(?:St|Dr|Mio|Mrd|bzw|ca|z\. B)\.$", s), s


@pytest.mark.skipif(not XQUAD_CORPUS.is_dir(), reason="shared xquad-de corpus not present")
def test_xquad_articles() -> None:
    articles = {a.doc_id: a for a in read_corpus(XQUAD_CORPUS)[0]}
    museum = sentences(articles["23_Victoria_and_Albert_Museum.txt"].text)
    assert any("z. B." in s and not s.endswith("z. B.") for s in museum)
    tesla = sentences(articles["03_Nikola_Tesla.txt"].text)
    assert "Tesla starb am 7. Januar 1943." in tesla
    for article in articles.values():
        for a, b in split_sentences(article.text):
            assert "\n" not in article.text[a:b]


def test_fast_on_a_megabyte() -> None:
    text = ("Am 19. Dezember sagte Dr. Müller in St. Petersburg, es gehe um ca. 5 Mio. Euro. "
            "„Das ist z. B. viel“, sagte er.\n") * 8000
    started = time.perf_counter()
    spans = split_sentences(text)
    assert time.perf_counter() - started < 2.0
    assert len(spans) == 16000
