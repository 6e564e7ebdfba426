"""The citation check on recorded answers (pure function; hash embeddings for the
meaning part, the real model's cross-lingual check is in tests/integration)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.citecheck import Passage, check_answer, citations, claim, split_answer
from rag.embed.fake import FakeEmbedder
from rag.text.facts import extract_facts
from rag.text.sentences import split_sentences

ARMY = (
    "Die belarussische Armee hat nach Angaben von Präsident Alexander Lukaschenko rund "
    "62'000 Berufssoldaten. Am 19. Dezember 2022 traf Wladimir Putin in Minsk ein. "
    "Die Ausgaben stiegen auf 1,2 Milliarden Euro."
)
WEATHER = "In Zürich regnete es am Montag den ganzen Tag. Die Temperaturen lagen bei 8 Grad."
EMB = FakeEmbedder(dim=256)


def _passage(n: int, text: str, meta: str = "") -> Passage:
    spans = split_sentences(text)
    return Passage(n, text, spans, EMB.encode_passages([text[a:b] for a, b in spans]), meta)


PASSAGES = {1: _passage(1, ARMY, "Belarus und Russland (2022-12-20)"), 2: _passage(2, WEATHER)}


def check(text: str, lang: str = "de", threshold: float = 0.3):
    return check_answer(text, PASSAGES, EMB.encode_queries, lang=lang, threshold=threshold)


def test_supported_sentence_is_kept_with_its_marker():
    result = check("Die belarussische Armee hat rund 62.000 Berufssoldaten [1].")
    assert [v.supported for v in result.verdicts] == [True]
    assert result.text == "Die belarussische Armee hat rund 62.000 Berufssoldaten [1]."
    (n, (a, b)), = result.verdicts[0].evidence
    assert n == 1 and "62'000 Berufssoldaten" in ARMY[a:b]
    assert result.precision == 1.0


@pytest.mark.parametrize("sentence, reason", [
    ("Die belarussische Armee hat rund 65.000 Berufssoldaten [1].", "number 65000"),
    ("Am 19. Dezember 2021 traf Wladimir Putin in Minsk ein [1].", "year 2021"),
    ("Am 18. Dezember 2022 traf Wladimir Putin in Minsk ein [1].", "date 12-18"),
    ("Am 19. Dezember 2022 traf Olaf Scholz in Minsk ein [1].", "name"),
    ("Die belarussische Armee hat rund 62.000 Berufssoldaten [2].", "number 62000"),
    ("Die belarussische Armee hat rund 62.000 Berufssoldaten [7].", "does not exist [7]"),
    ("Die belarussische Armee hat rund 62.000 Berufssoldaten.", "cites no source"),
    ("Die Ausgaben stiegen auf 1,5 Milliarden Euro [1].", "number 1.5"),
])
def test_wrong_fact_or_source_is_dropped(sentence, reason):
    result = check("Die belarussische Armee hat rund 62'000 Berufssoldaten [1]. " + sentence)
    assert [v.supported for v in result.verdicts] == [True, False]
    assert reason in result.dropped[0].reason
    assert result.text.startswith("Die belarussische Armee") and sentence not in result.text
    assert result.precision == 0.5


def test_invented_sentence_without_facts_is_dropped_by_meaning():
    result = check("Es gab viel zu essen und alle waren sehr zufrieden damit [2].")
    assert not result.verdicts[0].supported
    assert "not close enough in meaning" in result.verdicts[0].reason


def test_english_sentence_against_german_source_facts():
    # English number/date formats against the German passage; names across spellings.
    text = ("The Belarusian army has about 62,000 professional soldiers, according to "
            "Lukashenko [1]. Putin arrived in Minsk on December 19, 2022 [1]. "
            "Spending rose to 1.2 billion euros [1]. Putin arrived on December 19, 2021 [1].")
    result = check_answer(text, PASSAGES, EMB.encode_queries, lang="en", threshold=-1.0)
    assert [v.supported for v in result.verdicts] == [True, True, True, False]
    assert "year 2021" in result.dropped[0].reason


def test_facts_from_the_title_and_date_line_count():
    result = check("Der Bericht stammt vom 20. Dezember 2022 [1].", threshold=-1.0)
    assert result.verdicts[0].supported


def test_markers_after_the_full_stop_and_combined_markers():
    parts = split_answer(
        "Erster Satz mit 62'000 Soldaten. [1] Zweiter Satz. [1][2]\n- Dritter [2]."
    )
    assert parts == ["Erster Satz mit 62'000 Soldaten [1].", "Zweiter Satz [1] [2].",
                     "Dritter [2]."]
    assert citations("A [1, 3] b [3] c [2].") == (1, 3, 2)
    assert claim("Zweiter Satz [1] [2].") == "Zweiter Satz."


def test_number_and_date_normalisation():
    de = extract_facts("Am 19.12.2022 kamen 62'000 (62 000) Menschen, drei Minister.", "de")
    en = extract_facts("On December 19, 2022, 62,000 people came, 3 ministers.", "en")
    assert {"62000", "2022", "3"} <= de.numbers and {"62000", "2022", "3"} <= en.numbers
    assert {"12-19", "2022"} <= de.dates == en.dates
    assert "1.5" in extract_facts("Die Quote lag bei 1,5 Prozent.", "de").numbers
    assert "1.5" in extract_facts("The rate was 1.5 percent.", "en").numbers


def test_empty_answer():
    result = check("")
    assert result.verdicts == () and result.text == "" and result.precision == 1.0
    assert np.isfinite(result.precision)
