"""Time in questions (periods, relative to today) and in articles (relative to their date)."""

from __future__ import annotations

from datetime import date

import pytest

from rag.retrieve.timefilter import (
    annotate_answer,
    annotate_in_article,
    announces_period,
    apply_time,
    by_date,
    in_period,
    parse_time,
    recalls_period,
    resolve_in_article,
    without_annotations,
    without_period,
)
from rag.types import Hit

TODAY = date(2024, 5, 15)  # a Wednesday


@pytest.mark.parametrize("question, lo, hi, label", [
    ("Was geschah im Dezember 2022?", "2022-12-01", "2022-12-31", "2022-12"),
    ("What did Lukashenko say in March 2011?", "2011-03-01", "2011-03-31", "2011-03"),
    ("Wer gewann 2021 die Wahl?", "2021-01-01", "2021-12-31", "2021"),
    ("Was passierte am 19.12.2022 in Minsk?", "2022-12-19", "2022-12-19", "2022-12-19"),
    ("What happened on December 19, 2022?", "2022-12-19", "2022-12-19", "2022-12-19"),
    ("Wie entwickelten sich die Preise seit 2020?", "2020-01-01", "2024-05-15",
     "seit 2020 (bis 2024-05-15)"),
    ("Was war vor 2020 los?", None, "2019-12-31", "bis 2019-12-31"),
    # "until": every article up to the end of that year or month
    ("Was wurde bis 2006 gebaut?", None, "2006-12-31", "bis 2006-12-31"),
    ("Umbauarbeiten am Speicher bis Frühjahr 2006", None, "2006-12-31", "bis 2006-12-31"),
    ("What will be finished until the end of 2006?", None, "2006-12-31", "bis 2006-12-31"),
    ("Wie viele Wale darf Island bis August 2007 jagen?", None, "2007-08-31",
     "bis 2007-08-31"),
    ("Was geschah zwischen 2019 und 2021?", "2019-01-01", "2021-12-31", "2019–2021"),
    ("What did Lukashenko say last year?", "2023-01-01", "2023-12-31", "2023"),
    ("Was sagte er letztes Jahr?", "2023-01-01", "2023-12-31", "2023"),
    ("Was geschah gestern?", "2024-05-14", "2024-05-14", "2024-05-14"),
    ("Was war letzte Woche?", "2024-05-06", "2024-05-12", "2024-05-06 – 2024-05-12"),
    ("What happened last month?", "2024-04-01", "2024-04-30", "2024-04"),
    ("Was passierte vor zwei Jahren?", "2022-01-01", "2022-12-31", "2022"),
    ("Was geschah in den letzten 30 Tagen?", "2024-04-15", "2024-05-15",
     "2024-04-15 – 2024-05-15"),
    # a decade, and a winter or a season across two years
    ("Was geschah in den 1990er Jahren mit der Werft?", "1990-01-01", "1999-12-31",
     "1990–1999"),
    ("What happened to the shipyard in the 1990s?", "1990-01-01", "1999-12-31", "1990–1999"),
    ("Wie kalt war der Winter 2005/2006?", "2005-01-01", "2006-12-31", "2005–2006"),
    ("Wer wurde in der Saison 2005/06 Meister?", "2005-01-01", "2006-12-31", "2005–2006"),
    ("Neunzehnter Spieltag der Bundesliga 2007-08", "2007-01-01", "2008-12-31", "2007–2008"),
    ("Die Saison 2010–11 der NHL", "2010-01-01", "2011-12-31", "2010–2011"),
    # a season of a year: its three months (a winter is left to the years)
    ("Was war im Sommer 2010 los?", "2010-06-01", "2010-08-31", "2010-06-01 – 2010-08-31"),
    ("Was war im Sommer des Jahres 2010 los?", "2010-06-01", "2010-08-31",
     "2010-06-01 – 2010-08-31"),
    # the first, middle or last third of a month or a year
    ("Was geschah Ende Juni 2006?", "2006-06-21", "2006-06-30", "2006-06-21 – 2006-06-30"),
    ("Was geschah Anfang Februar 2009?", "2009-02-01", "2009-02-10",
     "2009-02-01 – 2009-02-10"),
    ("What happened in mid-2010?", "2010-05-01", "2010-08-31", "2010-05-01 – 2010-08-31"),
    ("What happened in early 2008?", "2008-01-01", "2008-04-30", "2008-01-01 – 2008-04-30"),
    ("Was geschah am Ende des Jahres 2006?", "2006-09-01", "2006-12-31",
     "2006-09-01 – 2006-12-31"),
    ("What happened in the autumn of 2008?", "2008-09-01", "2008-11-30",
     "2008-09-01 – 2008-11-30"),
    ("Wer kam im Frühjahr 2006 nach Minsk?", "2006-03-01", "2006-05-31",
     "2006-03-01 – 2006-05-31"),
    ("Where did he go in the fall of 2009?", "2009-09-01", "2009-11-30",
     "2009-09-01 – 2009-11-30"),
    # a day in ISO form, and two years that do not follow each other, are not a season
    ("Was geschah am 2007-08-15?", "2007-08-15", "2007-08-15", "2007-08-15"),
    ("Was kostete es 2007-09?", "2007-01-01", "2007-12-31", "2007"),
])
def test_periods(question, lo, hi, label):
    intent = parse_time(question, TODAY)
    assert (intent.lo, intent.hi, intent.label) == (lo, hi, label)


@pytest.mark.parametrize("question", [
    "Wie viele Soldaten hat die Armee? 62'000?", "Sind es 2.000 oder 3.000 Menschen?",
    "Wie hoch ist die Zahl 20215?", "Was kostet das Projekt mit 1.800 Bahnhöfen?",
])
def test_numbers_are_not_years(question):
    assert not parse_time(question, TODAY).period


def test_latest_and_timeline():
    assert parse_time("Wie ist der neueste Stand beim Gaspreis?", TODAY).latest
    assert parse_time("What is the latest on the Wahlrecht?", TODAY).latest
    assert parse_time("Wie hat sich der Gaspreis entwickelt?", TODAY).timeline
    assert parse_time("Give me a timeline of the floods", TODAY).timeline
    plain = parse_time("Wer ist Oberbürgermeister von Trier?", TODAY)
    assert not (plain.latest or plain.timeline or plain.period)


def test_in_period_with_partial_dates_and_slack():
    intent = parse_time("im Dezember 2022", TODAY)
    assert in_period("2022-12-19", intent) and in_period("2022", intent)
    assert in_period("2022-12", intent) and not in_period(None, intent)
    assert not in_period("2023-01-02", intent)
    assert in_period("2023-01-02", intent, slack_days=31)


@pytest.mark.parametrize("question, until", [
    ("Wie viel Geld hatte Obama bis April 2008 gesammelt?", True),
    ("How much did he raise until the end of 2008?", True),
    ("Was war vor 2020 los?", False), ("Was geschah im April 2008?", False),
    ("Was geschah von 2005 bis 2007?", False), ("Wie geht es seit 2020?", False),
])
def test_a_report_of_until_comes_months_later(question, until):
    """What is counted "until" a time is reported after it: half a year of slack."""
    intent = parse_time(question, TODAY)
    assert intent.until is until
    assert intent.slack(31) == (183 if until else 31)
    if until:  # two months after the end: in, as a month after the end of any period
        assert in_period("2008-06-21", intent, intent.slack(31))
        assert not in_period("2009-12-01", intent, intent.slack(31))


def test_boost_prefers_period_and_recency():
    hits = [Hit(1, 1, "alt", 1.0, 1, 0), Hit(2, 2, "dez", 0.95, 1, 0), Hit(3, 3, "neu", 0.9, 1, 0)]
    dates = {"alt": "2021-05-01", "dez": "2022-12-19", "neu": "2024-05-01"}
    boosted = apply_time(hits, dates, parse_time("im Dezember 2022", TODAY), boost=0.1,
                         recency=0.05, slack_days=0)
    assert [h.doc_id for h in boosted] == ["dez", "alt", "neu"]
    latest = apply_time(hits, dates, parse_time("neueste Meldung", TODAY), boost=0.1,
                        recency=0.2, slack_days=0)
    assert latest[0].doc_id == "neu"
    assert apply_time(hits, dates, parse_time("ohne Zeit", TODAY), boost=1, recency=1,
                      slack_days=0) == hits


def test_relative_dates_in_articles_use_the_articles_date():
    text = ("Gestern hatten Versorger am Samstag Senkungen angekündigt, am kommenden Montag "
            "folgt mehr.")
    resolved = [iso for _, _, iso in resolve_in_article(text, "2022-12-19")]  # a Monday
    assert resolved == ["2022-12-18", "2022-12-17", "2022-12-26"]
    assert annotate_in_article(text, "2022-12-19").startswith("Gestern (18.12.2022) hatten")
    assert resolve_in_article(text, "2022-12") == []  # no day: nothing resolved
    assert resolve_in_article(text, None) == []


def test_the_added_dates_can_be_taken_out_again():
    """An answer is compared with its sources (what a follow-up's previous answer said)
    without the dates the answer added; a date the text writes itself stays."""
    text = "Gestern hatten Versorger am Samstag (ab 1.1.2023) Senkungen angekündigt."
    dated = annotate_in_article(text, "2022-12-19")
    assert dated != text and without_annotations(dated) == text


def test_a_day_named_by_an_adjective_is_dated():
    text = ("Am gestrigen Vormittag korrigierte Amazon den Fehler; am heutigen Sonntag, "
            "dem 14. Januar, und am morgigen Samstag wird weiter verkauft, wie in der "
            "heutigen Zeit üblich.")
    assert annotate_in_article(text, "2007-01-12") == (
        "Am gestrigen Vormittag (11.1.2007) korrigierte Amazon den Fehler; am heutigen "
        "Sonntag, dem 14. Januar, und am morgigen Samstag (13.1.2007) wird weiter verkauft, "
        "wie in der heutigen Zeit üblich.")


def test_an_anniversary_is_dated_that_many_years_back():
    text = "Auf der Funkausstellung wurde er gestern vor 75 Jahren vorgestellt."
    assert annotate_in_article(text, "2008-08-19") == (
        "Auf der Funkausstellung wurde er gestern vor 75 Jahren (18.8.1933) vorgestellt.")
    later = [iso for _, _, iso in resolve_in_article(
        "Heute vor einem Jahr und am Montag vor zwei Wochen, heute vor drei Monaten.",
        "2008-02-29")]  # a Friday in a leap year
    assert later == ["2007-02-28", "2008-02-11", "2007-11-29"]


@pytest.mark.parametrize("text, resolved", [
    ("Am Morgen wurden in Mainz zwei Personen festgenommen.", []),  # the morning
    ("Er kam heute Morgen an, gestern Morgen war er in Bonn.", ["2005-10-04", "2005-10-03"]),
    ("Morgen beginnt der Prozess.", ["2005-10-05"]),  # tomorrow, at a sentence's start
    ("Prozess gegen Kluncker\n\nMorgen beginnt er.", ["2005-10-05"]),
    ("Er sagte: „Morgen beginnt der Prozess.“", ["2005-10-05"]),
    ("Der Prozess beginnt morgen, am Morgen danach das Urteil.", ["2005-10-05"]),
])
def test_the_morning_is_not_tomorrow(text, resolved):
    assert [iso for _, _, iso in resolve_in_article(text, "2005-10-04")] == resolved


@pytest.mark.parametrize("text", [
    "Am Freitag, den 16. September 2005 protestierten Schüler.",  # weeks before the article
    "Er wurde am Mittwoch, dem 5. Dezember 1945 geboren.",
    "Das Urteil fiel gestern, am 3. März 2006.",
    "Am Montag, 19. Dezember begann der Prozess.",
    "The vote was on Friday, September 16, in Berlin.",
    "It happened on Friday the 16th.",
])
def test_a_day_the_text_dates_itself_is_not_dated_again(text):
    assert resolve_in_article(text, "2005-10-04") == []
    assert annotate_in_article(text, "2005-10-04") == text


def test_timeline_order():
    items = [("b", "2023-01-02"), ("c", None), ("a", "2021")]
    assert [x for x, _ in by_date(items, lambda t: t[1])] == ["a", "b", "c"]


def test_answer_lines_dated_by_the_cited_article():
    text = ("Die Stadtwerke teilten das gestern mit. [1]\n- Am Samstag stieg der Pegel. [2]\n"
            "- Heute beides. [1] [2]\nGestern hier. [1] Heute dort. [3]")
    out = annotate_answer(text, {1: "2022-12-19", 2: "2024-01-05", 3: "2022-12-19"})
    assert "gestern (18.12.2022) mit. [1]" in out
    assert "Am Samstag (30.12.2023) stieg" in out  # 2024-01-05 is a Friday
    assert "Heute beides. [1] [2]" in out  # two dates: left as it is
    # two passages of one article (or two articles of one day)
    assert "Gestern (18.12.2022) hier. [1] Heute (19.12.2022) dort. [3]" in out


@pytest.mark.parametrize("question, text, expected", [
    # a year asked for: any date, month or year written inside it
    ("Was plant China 2007?", "Der Start ist für das Jahr 2007 vorgesehen.", True),
    ("Was plant China 2007?", "Am 12.10.2007 soll die Rakete starten.", True),
    ("Was plant China 2007?", "Seit 2005 wird geplant, 2008 soll es losgehen.", False),
    # a month asked for: that month or a day of it, not just the year
    ("Was geschah im Januar 2007?", "Im Januar 2007 tritt er zurück.", True),
    ("Was geschah im Januar 2007?", "Er tritt am 31. Januar 2007 zurück.", True),
    ("Was geschah im Januar 2007?", "Er tritt (31.1.2007) zurück.", True),
    ("Was geschah im Januar 2007?", "Er tritt 2007 zurück.", False),
    ("Was geschah im Januar 2007?", "Er tritt im Februar 2007 zurück.", False),
    ("What happened in March 2011?", "On 11 March 2011 the vote is held.", True),
    # open periods, and numbers that are not years
    ("Was ist seit 2020 passiert?", "Im Jahr 2021 beginnt der Bau.", True),
    ("Was ist seit 2020 passiert?", "Im Jahr 2019 begann der Bau.", False),
    ("Was geschah 2007?", "Es kostet 2007,50 Euro und 12.2007 Tonnen.", False),
    ("Was geschah 2007?", "Nichts mit Jahreszahlen.", False),
    # a day without a year: its next occurrence after the article (of 12 August 2005),
    # up to half a year ahead
    ("Was geschah im September 2005?", "Vom 5. bis zum 9. September tagt er.", True),
    ("Was geschah im Januar 2006?", "Am 9. Januar tagt er.", True),
    ("Was geschah im August 2006?", "Am 3. August tagte er.", False),
    ("Was geschah im Januar 2006?", "Am 9. Januar 2005 tagte er.", False),
])
def test_article_before_the_period_announcing_it(question, text, expected):
    assert announces_period(text, "2005-08-12", parse_time(question, TODAY)) is expected


@pytest.mark.parametrize("doc_date", ["2007-03-01", "2008-01-05", "2007", None])
def test_only_articles_dated_before_the_period_announce_it(doc_date):
    # reports during and after the period are the date filter's; undated ones never count
    intent = parse_time("Was geschah 2007?", TODAY)
    assert not announces_period("Im Jahr 2007 wird gebaut.", doc_date, intent)
    assert announces_period("Im Jahr 2007 wird gebaut.", "2006-12", intent)


@pytest.mark.parametrize("question, text, doc_date, expected", [
    # a later article that writes the period looks back on it
    ("Warum gab es für 2004 keine Dividende?", "Der Gewinn im Geschäftsjahr 2004 sank.",
     "2005-03-11", True),
    ("Was geschah im Juni 2006?", "Am 20. Juni 2006 wurde er überstellt.", "2007-01-02", True),
    # not the period, not written with its year, not later, or undated
    ("Was geschah im Juni 2006?", "Im Jahr 2006 wurde er überstellt.", "2007-01-02", False),
    ("Warum gab es für 2004 keine Dividende?", "Am 20. Juni wurde er überstellt.",
     "2005-03-11", False),
    ("Warum gab es für 2004 keine Dividende?", "Der Gewinn 2004 sank.", "2004-12-11", False),
    ("Warum gab es für 2004 keine Dividende?", "Der Gewinn 2004 sank.", None, False),
    ("Was ist neu?", "Der Gewinn 2004 sank.", "2005-03-11", False),
    # a period the article names relative to its own date
    ("How many were murdered in 2005?", "Im letzten Jahr wurden 665 ermordet.", "2006-07-19",
     True),
    ("Was geschah im Juni 2006?", "Vor zwei Jahren wurde er überstellt.", "2008-06-20", False),
    ("Was geschah 2006?", "Vor zwei Jahren wurde er überstellt.", "2008-06-20", True),
    ("Was geschah 2006?", "Vor zwei Jahren wurde er überstellt.", None, False),
    # a day or month "of this year": the article's year, also before the article's date
    ("Wer gewann die Wahl im Mai 2008?", "Die Wahl fand am 21. Mai dieses Jahres statt.",
     "2008-09-10", True),
    ("Wer gewann die Wahl im Mai 2008?", "Die Wahl fand im Mai diesen Jahres statt.",
     "2008-09-10", True),
    ("Who won the election in May 2008?", "The vote was held in May this year.",
     "2008-09-10", True),
    ("Wer gewann die Wahl im Mai 2008?", "Die Wahl fand am 21. Mai dieses Jahres statt.",
     "2009-09-10", False),
])
def test_article_after_the_period_looking_back(question, text, doc_date, expected):
    assert recalls_period(text, doc_date, parse_time(question, TODAY)) is expected


def test_announcing_needs_a_period():
    assert not announces_period("Im Jahr 2007.", "2005-01-01", parse_time("Was ist neu?", TODAY))


@pytest.mark.parametrize("question, rest", [
    ("What was the inflation rate in Germany in 2023?", "What was the inflation rate in Germany?"),
    ("Was geschah im Dezember 2022 in Minsk?", "Was geschah in Minsk?"),
    ("Was passierte am 19.12.2022 in Minsk?", "Was passierte in Minsk?"),
    ("What happened on December 19, 2022 in Minsk?", "What happened in Minsk?"),
    ("Wer gewann 2021 die Wahl?", "Wer gewann die Wahl?"),
    ("Was geschah zwischen 2019 und 2021 in Minsk?", "Was geschah in Minsk?"),
    ("Wie viele Soldaten hat die Armee?", "Wie viele Soldaten hat die Armee?"),
    ("2023?", "2023?"),  # nothing would be left
    ("Was geschah in den 1990er Jahren in Minsk?", "Was geschah in Minsk?"),
    ("Wer wurde in der Saison 2005/06 Meister?", "Wer wurde in der Saison Meister?"),
    ("Wer führte die Bundesliga 2007-08 an?", "Wer führte die Bundesliga an?"),
    ("Was geschah im Sommer 2010 in Minsk?", "Was geschah in Minsk?"),
    ("Zeig mir Artikel über Minsk aus dem Jahr 2007", "Zeig mir Artikel über Minsk"),
    ("Was passierte im Monat Mai 2006 in Minsk?", "Was passierte in Minsk?"),
    ("Articles from the year 2007 about Minsk", "Articles about Minsk"),
    ("Was geschah Ende Februar 2010 in Minsk?", "Was geschah in Minsk?"),
    ("Was war Mitte 2010 in Minsk los?", "Was war in Minsk los?"),
    ("What happened in Minsk in early 2008?", "What happened in Minsk?"),
    ("What happened in Minsk in mid-2010?", "What happened in Minsk?"),
    ("What happened in Minsk at the end of June 2006?", "What happened in Minsk?"),
    ("Was geschah im Sommer des Jahres 2006 in Minsk?", "Was geschah in Minsk?"),
    ("Was passierte gestern in Minsk?", "Was passierte in Minsk?"),
    ("What happened last week in Minsk?", "What happened in Minsk?"),
    ("Gestern?", "Gestern?"),
])
def test_without_period(question: str, rest: str) -> None:
    assert without_period(question) == rest
