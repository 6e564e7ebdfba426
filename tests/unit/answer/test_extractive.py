"""The extractive answerer (rag.answer.extractive) without the model: composing answers
with citations and highlights, disagreeing sources, question types."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from shared_data import SEED

from rag.answer import NOT_FOUND, Evidence
from rag.answer.extractive import (
    Candidate,
    ExtractiveAnswerer,
    asks_number,
    asks_year,
    compose,
    is_credit,
    lacks_asked_type,
    make_source,
    names_places,
    naming_more,
    rank_sentences,
)
from rag.pipeline import Pipeline
from rag.settings import AnswerSettings
from rag.text.names import named_places
from rag.text.sentences import split_sentences
from rag.types import Source, StoredChunk

SENT_1997 = "1997 wurde die Union besiegelt."
SENT_1996 = "bereits 1996 beschlossenen «Unionsstaat Weissrussland-Russland»"


def _source(n: int, doc_id: str, needle: str) -> tuple[Source, tuple[int, int]]:
    """A source holding the real paragraph of a seed article that contains ``needle``."""
    text = (SEED / doc_id).read_text(encoding="utf-8")
    para = next(p for p in text.split("\n\n") if needle in p)
    span = next((a, b) for a, b in split_sentences(para) if needle in para[a:b])
    return Source(n, doc_id, doc_id, None, None, None, para, 1.0), span


def test_disagreeing_years_are_both_shown_with_citations():
    s1, span1 = _source(1, "001_ed4b800cc64d86f5.txt", SENT_1997)
    s2, span2 = _source(2, "002_b32e619577f15ed7.txt", SENT_1996)
    question = "Wann wurde die Union zwischen Russland und Belarus beschlossen?"
    candidates = [
        Candidate(0, span1, s1.text[span1[0]:span1[1]], 1.95),
        Candidate(1, span2, s2.text[span2[0]:span2[1]], 1.90, primary=False),
    ]
    text = compose(question, candidates, [s1, s2], "de", _params())
    assert text.startswith("Die Quellen machen dazu unterschiedliche Angaben:")
    assert "1997" in text and "[1]" in text and "1996" in text and "[2]" in text
    assert s1.highlights == [span1] and s2.highlights == [span2]


def test_same_year_or_other_topic_is_no_disagreement():
    s1, span1 = _source(1, "001_ed4b800cc64d86f5.txt", SENT_1997)
    s2, span2 = _source(2, "004_ab217624b5cd6cf3.txt", "Präsidentschaftswahlen 2020")
    question = "Wann wurde die Union zwischen Russland und Belarus beschlossen?"
    candidates = [
        Candidate(0, span1, s1.text[span1[0]:span1[1]], 1.95),
        Candidate(1, span2, s2.text[span2[0]:span2[1]], 1.94, primary=False),
    ]
    text = compose(question, candidates, [s1, s2], "de", _params())
    assert text.endswith("[1]") and "[2]" not in text and "2020" not in text


@pytest.mark.parametrize(("question", "credit"), [
    ("What happened at Minsk airport?", False),
    ("Who took the photo of Putin at Minsk airport?", True),
])
def test_a_picture_credit_joins_the_answer_only_when_asked_for(question, credit):
    """A credit line that scores as well as the best sentence (every sentence scores
    alike when nothing answers well) is no part of an answer about the text."""
    para = ("Tritt als Bittsteller in Minsk auf: Putin zu Gast bei Lukaschenko. "
            "Pavel Bednyakov / AP")
    spans = split_sentences(para)
    source = Source(1, "a.md", "a", None, None, None, para, 1.0)
    candidates = [Candidate(0, span, para[span[0]:span[1]], 1.9 - n / 1000)
                  for n, span in enumerate(spans)]
    assert len(spans) == 2 and is_credit(candidates[1].text)
    text = compose(question, candidates, [source], "en", _params())
    assert ("Bednyakov" in text) is credit, text


@pytest.mark.parametrize(("question", "lang", "other", "disagree"), [
    # the two share only a word about time, or one the question does not ask about
    ("When was the stock exchange founded?", "en",
     "Das Netz wurde erstmals im Jahr 1971 vorgestellt.", False),
    ("When was the stock exchange founded?", "en",
     "Das Theater am Theaterplatz brannte 1939 ab.", False),
    # the same thing, dated differently
    ("Wann wurde die Börse in Warschau gegründet?", "de",
     "Die Warschauer Börse entstand erst 1820.", True),
])
def test_disagreement_needs_a_shared_term_the_question_asks_about(question, lang, other,
                                                                 disagree):
    said = "Die erste Warschauer Börse wurde 1817 am Theaterplatz gegründet."
    first = Source(1, "a.md", "a", None, None, None, said, 1.0)
    second = Source(2, "b.md", "b", None, None, None, other, 1.0)
    candidates = [Candidate(0, (0, len(said)), said, 2.0),
                  Candidate(1, (0, len(other)), other, 1.99, primary=False)]
    text = compose(question, candidates, [first, second], lang, _params())
    assert text.startswith(("Die Quellen", "The sources")) is disagree, text


@pytest.mark.parametrize(("other", "disagree"), [
    ("Das Kraftwerk war erst im Juli 2008 wieder am Netz.", True),  # the same restart
    # decades away: another event at a plant, not another date of the restart
    ("Bereits zwei Jahre nach der Fertigstellung des Kraftwerks, 1978, trat Dampf aus dem "
     "Kraftwerk aus.", False),
])
def test_disagreement_needs_years_near_each_other(other, disagree):
    said = "Dennoch war das Kraftwerk am 19. Juni 2009 wieder ans Netz gegangen."
    first = Source(1, "a.md", "a", None, None, None, said, 1.0)
    second = Source(2, "b.md", "b", None, None, None, other, 1.0)
    candidates = [Candidate(0, (0, len(said)), said, 2.0),
                  Candidate(1, (0, len(other)), other, 1.99, primary=False)]
    text = compose("Wann ging das Kraftwerk wieder ans Netz?", candidates, [first, second],
                   "de", _params())
    assert text.startswith("Die Quellen") is disagree, text


def test_best_sentence_joined_by_close_neighbours_in_text_order():
    s1, span1 = _source(1, "004_ab217624b5cd6cf3.txt", "Gewinner des 24-Stunden-Putsches")
    first = split_sentences(s1.text)[0]
    candidates = [
        Candidate(0, span1, s1.text[span1[0]:span1[1]], 2.0),
        Candidate(0, first, s1.text[first[0]:first[1]], 1.95),
    ]
    text = compose("Warum gilt Lukaschenko als Gewinner?", candidates, [s1], "de", _params())
    assert text.index(s1.text[first[0]:first[1]]) < text.index("Gewinner des 24")
    assert text.endswith("[1]") and s1.highlights == sorted([span1, first])


def test_asks_year_and_not_found_texts():
    assert asks_year("Wann wurde die Union besiegelt?")
    assert asks_year("In which year was it signed?")
    assert not asks_year("Wie nennt Lukaschenko Putin?")
    assert set(NOT_FOUND) == {"de", "en"}


@pytest.mark.parametrize("question", [
    "When did the union come about?", "And when was that?", "Since when has he ruled?",
    "Do you know when the plane crashed?", "Can you tell me when it opened?",
    "What year did it open?", "Seit wann regiert Lukaschenko?", "Welches Jahr?",
    # the day, the date or the month
    "On what date did she announce it?", "On which day of the week did they sign it?",
    "Which month was it?", "An welchem Tag fand die Wahl statt?",
    "Für welches Datum setzte er die Neuwahl an?", "In welchem Monat begann der Prozess?",
    "Welcher Tag war das?",
])
def test_asks_when(question: str) -> None:
    assert asks_year(question) and asks_number(question)


@pytest.mark.parametrize("question", [
    # "when" as a conjunction, a year that only dates the event: not asking for a time
    "Which countries abstained when the Security Council voted?",
    "Where was Putin when it happened?",
    "Wer gewann im Jahr 2006 die Wahl?",
    "Who won the election last year?",
])
def test_a_when_clause_does_not_ask_when(question: str) -> None:
    assert not asks_year(question)


def _params(**changes) -> AnswerSettings:
    return AnswerSettings(**changes)


def test_asks_number() -> None:
    assert asks_number("Wie viele Berufssoldaten hat die belarussische Armee?")
    assert asks_number("How many professional soldiers does the army have?")
    assert asks_number("Seit wann regiert Lukaschenko?")
    assert not asks_number("Wer ist Prigoschin?")
    # shares and measures are numbers too
    assert asks_number("What share of the vote did she win?")
    assert asks_number("Welchen Anteil hat die Kohle am Strommix?")
    assert asks_number("How high was the damage?")
    assert asks_number("Wie stark waren die Böen?")
    assert not asks_number("How did the White House react?")
    # "wieviel(e)" written as one word, as typed into a search box
    assert asks_number("sauerland gruppe prozess wieviele zeugen")
    assert asks_number("Wieviel kostet das Ticket?")
    assert lacks_asked_type("wieviele zeugen im prozess", "Der Prozess begann heute.")
    assert not lacks_asked_type("wieviele zeugen im prozess", "Es sagten 62 Zeugen aus.")
    # a price
    for question in ("Was kostete er?", "Was kosten die Tickets?", "What did the ticket cost?"):
        assert asks_number(question), question
    assert not asks_number("Was ist der Preis der Freiheit?")
    # English "how tall" is German "wie groß"; the other measures in both languages
    for question in ("How tall is the man the police are looking for?",
                     "How deep is the lake?", "How fast was the train?",
                     "Wie breit ist der Fluss?", "Wie schnell fuhr der Zug?",
                     "Wie heiß wird es?"):
        assert asks_number(question), question


class _Background:
    """A retriever stand-in that reports a fixed background similarity."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.asked = 0

    def background(self, qvec, rank, depth, allowed_rows=None) -> float:
        self.asked += 1
        return self.value


@pytest.mark.parametrize("background, expected", [(0.777, 0.80), (0.817, 0.82), (0.737, 0.78)])
def test_the_english_threshold_moves_with_the_background(background, expected) -> None:
    """A question that resembles much of the archive needs a closer match, one about a
    specific matter less (min_relevance_en 0.80 at the reference background 0.777)."""
    params = replace(AnswerSettings(), background_weight_en=0.5, background_ref_en=0.777)
    evidence = Evidence("Who visited Minsk?", "en", np.zeros(4, np.float32), [], 5)
    retriever = _Background(background)
    threshold = ExtractiveAnswerer(params)._threshold(evidence, retriever)
    assert threshold == pytest.approx(expected)
    assert retriever.asked == 1


def test_german_questions_and_follow_ups_keep_the_fixed_threshold() -> None:
    params = replace(AnswerSettings(), background_weight_en=0.5)
    answerer = ExtractiveAnswerer(params)
    retriever = _Background(0.9)
    german = Evidence("Wer besuchte Minsk?", "de", np.zeros(4, np.float32), [], 5)
    follow_up = Evidence("Why?", "en", np.zeros(4, np.float32), [], 5, with_context=True)
    assert answerer._threshold(german, retriever) == params.min_relevance_de
    assert answerer._threshold(follow_up, retriever) == params.min_relevance_en
    off = ExtractiveAnswerer(replace(params, background_weight_en=0.0))
    assert off._threshold(Evidence("Who?", "en", np.zeros(4), [], 5), retriever) == 0.80
    assert retriever.asked == 0


def test_a_period_that_chose_the_passages_is_no_sign_that_they_answer() -> None:
    """The "not found" decision of a question whose period filtered the passages is taken
    on the question without it (``Evidence.topic``): a sentence that resembles the
    question only through the year it shares with it does not answer."""
    from types import SimpleNamespace

    from rag.types import DocMeta, Hit

    dated, undated = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    sentence = (dated * 0.9 + undated * 0.1) / np.linalg.norm([0.9, 0.1])  # shares the year
    chunk = StoredChunk(7, "a#0", "a.md", "Manöver für 2023.", 0, 17, [(0, 17)],
                        sentence[None, :])
    index = SimpleNamespace(chunks=lambda ids: {7: chunk},
                            docs={"a.md": DocMeta("a.md", "Manöver", "2022-12-19", None,
                                                  None, None)},
                            keywords=None)
    retriever = SimpleNamespace(index=index)
    hit = Hit(7, 0, "a.md", 1.0, 0.99, 0.0, sentence=float(sentence @ dated))
    answerer = ExtractiveAnswerer(replace(AnswerSettings(), min_term_support_de=0.0))
    question = "Wie entwickelte sich die Inflation 2023?"
    plain = Evidence(question, "de", dated, [hit], 5)
    assert answerer.answer(plain, retriever).found
    topic = Evidence(question, "de", dated, [hit], 5,
                     topic=("Wie entwickelte sich die Inflation?", undated))
    assert not answerer.answer(topic, retriever).found


def _alike(text: str, start: int = 100) -> tuple[StoredChunk, np.ndarray]:
    """A chunk of ``text`` at ``start`` (0: the article's first line) whose sentences all
    have the same vector, and that vector as the question's: only the bonuses and
    penalties of :func:`rank_sentences` tell them apart."""
    spans = split_sentences(text)
    q = np.zeros(4, dtype=np.float32)
    q[0] = 1.0
    chunk = StoredChunk(0, f"a#{int(start > 0)}", "a.md", text, start, start + len(text),
                        spans, np.tile(q, (len(spans), 1)))
    return chunk, q


def _chunk(n: int, doc_id: str, start: int, vec: list[float]) -> StoredChunk:
    text = f"Satz {n}."
    return StoredChunk(n, f"{doc_id}#{n}", doc_id, text, start, start + len(text),
                       [(0, len(text))], np.asarray([vec], dtype=np.float32))


def test_a_german_answer_may_come_from_a_lower_passage_of_the_best_article() -> None:
    """The best passage's article is searched for the answer within the first
    ``same_article_depth`` passages; other articles' passages only for disagreement."""
    q = np.asarray([1.0, 0.0], dtype=np.float32)
    chunks = [_chunk(0, "a.md", 100, [0.5, 0.87]), _chunk(1, "b.md", 100, [0.95, 0.3]),
              _chunk(2, "a.md", 900, [0.9, 0.44]), _chunk(3, "a.md", 1800, [0.99, 0.1])]
    scores = [2.3, 2.29, 2.28, 2.27]
    params = AnswerSettings(passages_de=1, same_article_depth=3)
    ranked = rank_sentences(q, "Wie lang ist es?", "de", chunks, scores, params)
    primary = [c.source for c in ranked if c.primary]
    assert primary == [2, 0]  # the sibling within depth 3 leads; b.md and a.md#3 do not
    assert ranked[0].source == 3 and not ranked[0].primary
    off = rank_sentences(q, "Wie lang ist es?", "de", chunks, scores,
                         replace(params, same_article_depth=0))
    assert [c.source for c in off if c.primary] == [0]
    # fewer passages looked at (a follow-up: none; a cross-check's extra ones: not them)
    cut = rank_sentences(q, "Wie lang ist es?", "de", chunks, scores, params, same_article=2)
    assert [c.source for c in cut if c.primary] == [0]


def test_a_followup_is_answered_from_the_best_article_only() -> None:
    """English answers come from the first ``passages_en`` passages; a follow-up's only
    from those of the first passage's article (another article matching the follow-up's
    own words is about something else)."""
    q = np.asarray([1.0, 0.0], dtype=np.float32)
    chunks = [_chunk(0, "a.md", 100, [0.5, 0.87]), _chunk(1, "b.md", 100, [0.99, 0.1]),
              _chunk(2, "a.md", 900, [0.9, 0.44]), _chunk(3, "c.md", 100, [0.99, 0.1])]
    scores = [2.3, 2.29, 2.28, 2.27]
    params = AnswerSettings(passages_en=3)
    alone = rank_sentences(q, "Why?", "en", chunks, scores, params, same_article=0)
    assert alone[0].source == 1 and alone[0].primary
    assert sorted(c.source for c in alone if c.primary) == [0, 1, 2]
    followup = rank_sentences(q, "Why?", "en", chunks, scores, params, same_article=0,
                              one_article=True)
    assert sorted(c.source for c in followup if c.primary) == [0, 2]


def _text_chunk(n: int, doc_id: str, text: str) -> StoredChunk:
    return StoredChunk(n, f"{doc_id}#{n}", doc_id, text, 100 * n, 100 * n + len(text),
                       [(0, len(text))], np.zeros((1, 2), dtype=np.float32))


def test_a_follow_up_may_be_answered_further_down_its_article() -> None:
    """Passages of the best passage's article (within the depth) that name a noun of
    the follow-up the best passage lacks, also inside a compound ("Böen" in
    "Orkanböen"); not a month, a weekday or a word for an article, not another
    article's passage, not one that names only what the best passage names."""
    chunks = [
        _text_chunk(0, "a.md", "Das Orkantief Xynthia zog mit 150 km/h über Spanien."),
        _text_chunk(1, "b.md", "Die heftigsten Böen erreichten 120 km/h."),
        _text_chunk(2, "a.md", "Die Orkanböen erreichten bis zu 200 km/h."),
        _text_chunk(3, "a.md", "Im Februar zog es über Frankreich, wie der Bericht sagt."),
        _text_chunk(4, "a.md", "Das Orkantief zog über Spanien."),
    ]
    assert naming_more("Wie stark waren dabei die heftigsten Böen?", chunks, 5) == {2}
    assert naming_more("Wie stark waren die Böen?", chunks, 2) == set()  # beyond the depth
    assert naming_more("Was sagt der Bericht vom Februar?", chunks, 5) == set()
    assert naming_more("Wie schnell zog das Orkantief?", chunks, 5) == set()
    assert naming_more("Und warum?", chunks, 5) == set()
    assert naming_more("Und Frankreich?", [], 5) == set()


def test_a_follow_up_naming_an_abbreviation_is_answered_where_the_article_names_it() -> None:
    """An abbreviation ("GEW") counts like a noun; the first passage naming it does not
    send the answer further down."""
    chunks = [
        _text_chunk(0, "a.md", "Die Ministerin kündigte eine Änderung des Entwurfs an."),
        _text_chunk(1, "a.md", "Die GEW zeigte sich damit noch nicht zufrieden."),
    ]
    assert naming_more("Und wie reagierte die GEW darauf?", chunks, 5) == {1}
    assert naming_more("Und wie reagierte die GEW darauf?", chunks[1:], 5) == set()
    assert naming_more("Und wie reagierte sie darauf?", chunks, 5) == set()


@pytest.mark.parametrize(("question", "answer", "lacks"), [
    ("How many inhabitants does the city have?", "In der Stadt tagte der Rat. [1]", True),
    ("How many inhabitants does the city have?", "Die Stadt hat 2 Millionen Einwohner. [1]",
     False),
    ("Wie viele Staaten?", "Staaten in vier Nationen tragen den Namen. [2]", False),
    ("Wie viele Opfer gab es?", "Mehrere Tausend Menschen starben. [1]", False),
    ("Wie viele Spiele gab es in Leipzig?", "Das Turnier fand in Leipzig statt. [3]", True),
    ("How many people came?", "Twenty-five people came. [1]", False),
    ("How many members does the party have?", "The party's authority grew. [1]", True),
    ("In which year was he elected?", "Er wurde zum Präsidenten gewählt. [1]", True),
    ("In welchem Jahr wurde er gewählt?", "Er wurde am 10. Juli 1994 gewählt. [1]", False),
    ("Wann wurde er gewählt?", "Er wurde nach der Krise gewählt. [1]", False),  # not a year
    ("Wie viele Menschen starben?", "Die Quellen machen dazu unterschiedliche Angaben:\n"
     "- Es starben 90 Menschen. [1]\n- Es starben 95 Menschen. [2]", False),
    ("Who won?", "Der Verein gewann. [1]", False),
    ("How much gas does the country buy?", "Das Land kauft Gas aus Russland. [1]", True),
    ("Wie viel kostet das Ticket?", "Das Ticket kostet zwölf Euro. [1]", False),
    ("Wie hoch ist der Schaden?", "Der Schaden beträgt 3 Millionen Euro. [1]", False),
    ("How high is the tower?", "Der Turm steht im Zentrum. [1]", True),
    ("Wie teuer war der Umbau?", "Der Umbau kostete zwölf Millionen Euro. [1]", False),
    # a share needs a percentage or a fraction, a span of years a number of years
    ("By what percentage did prices rise?", "Die Preise stiegen, vier Mönche protestierten. "
     "[1]", True),
    ("Welchen Anteil erhielt die Partei?", "Sie erhielt 33 Prozent. [1]", False),
    ("What share of the vote did she win?", "Sie gewann die Hälfte der Stimmen. [1]", False),
    ("How many years does he have to serve?", "Er muss die Haft antreten; die beiden "
     "anderen haben Bewährung. [1]", True),
    ("Wie viele Jahre muss er in Haft?", "Er wurde zu drei Jahren Haft verurteilt. [1]", False),
    ("Wie viele Tage dauerte der Streik?", "Der Streik endete nach 12 Tagen. [1]", False),
    ("How many months did the talks last?", "Sie verhandelten zehn Monate lang. [1]", False),
    ("How many people were in the team?", "Ein vierköpfiges Team reiste ab. [1]", False),
    ("Wie viele Tage dauerte die Messe?", "Die dreitägige Messe endete. [1]", False),
    # a sum of money needs a currency (or a percentage); a count of prizes does not
    ("How much prize money did the winner get?", "Schweden siegte mit 13:4. [1]", True),
    ("Wie viel verdienen die Piloten?", "Die 300 Piloten streiken. [1]", True),
    ("What price does the town pay for water?", "Wasser ist dort billiger. [1]", True),
    ("Wie viel kostet die Karte?", "Die Karte kostet sieben Franken. [1]", False),
    # the perfect tense ("gekostet", "gezahlt", "ausgegeben") asks for money too
    ("Wie viel hat die Wahl den Steuerzahler gekostet?", "Die Wahl war vorgezogen. [1]", True),
    ("Wie viel hat die Wahl gekostet?", "Sie kostete 63 Millionen Euro. [1]", False),
    ("Wie viel hat der Verein gezahlt?", "Der Verein zahlte 40 Spielern. [1]", True),
    ("Wie viel wurde für Werbung ausgegeben?", "Die Werbung lief 3 Wochen. [1]", True),
    ("How much did the fuel price rise?", "Benzin wurde um 500 Prozent teurer. [1]", False),
    ("Wie viele Preise gewann der Film?", "Der Film gewann 3 Preise. [1]", False),
    ("How much did the loans amount to?", "Er gewährte ihm Milliardenkredite. [1]", True),
    # a temperature needs degrees; "wie heißt" asks for a name
    ("At what temperature does water boil on Everest?",
     "Oberhalb von 800 Metern könnten Orkanböen auftreten. [1]", True),
    ("What is the boiling point of water in Fahrenheit?", "Das Wasser stieg um 2 Meter. [1]",
     True),
    ("Wie kalt war es in Moskau?", "In Moskau fielen 30 Zentimeter Schnee. [1]", True),
    ("Wie kalt war es in Moskau?", "In Moskau war es minus 25 Grad kalt. [1]", False),
    ("What is the approximate condenser temperature in a turbine?",
     "Sie liegt normalerweise bei 565 °C. [1]", False),
    ("Wie heißt der Chauffeur?", "Der Chauffeur heißt Adriano De Souza. [1]", False),
    # the question's own word is no answer to it
    ("Wie hoch waren die Milliardenkredite?", "Er gewährte ihm Milliardenkredite. [1]", True),
    ("How old was the pilot?", "Die Maschine mit 52 Passagieren landete 2005. [1]", True),
    ("Wie alt ist er?", "Er leitet die Studie in Oslo. [1]", True),
    ("Wie alt ist der Täter?", "Ein 79-jähriger Autofahrer raste in die Menge. [1]", False),
    ("Wie alt soll der Täter sein?", "Er soll 18 bis 25 Jahre alt sein. [1]", False),
    ("How old was Manning?", "Manning war mit 39 Jahren der älteste Spieler. [1]", False),
    ("Wie alt sind die Fossilien?", "Sie sind 515 Millionen Jahre alt. [1]", False),
    ("Wie alt ist Anton Geiser?", "Anton Geiser (84) lebt in Ohio. [1]", False),
    ("Wie alt ist der Elfjährige?", "Der Elfjährige starb. [1]", False),
    ("How old is the bridge?", "Die Brücke wurde 1905 erbaut. [1]", False),
    ("Wie alt ist er?", "Im Alter von 3 Jahren zog er nach Berlin. [1]", False),
    ("Wie hieß der Kleinbusfahrer, der verletzt wurde?",
     "Der Fahrer eines Kleinbusses wurde leicht verletzt. [1]", True),
    ("Wie hieß der Partner von Ed Stafford?", "Ed Stafford erreichte Südamerika. [1]", True),
    ("What was the name of the mayor who was honoured?", "Gäste kamen aus Havanna. [1]",
     True),
    ("Wie heißt der Chauffeur, der Phil Spector belastet?",
     "Spector wird durch seinen Fahrer Adriano De Souza belastet. [1]", False),
    ("What is the name of the spiritual teacher in Hinduism?",
     "Im Hinduismus werden spirituelle Lehrer Guru genannt. [1]", False),
    ("Wie heißt die jüngste Epoche?", "Das Holozän ist die jüngste Epoche. [1]", False),
    ("What was the man's name?", "Der Mann sprang aus dem Flugzeug. [1]", True),
    ("What is that right-wing extremist's name?", "Er stellte die Liste online. [1]", True),
    ("What is this company's name?", "Die Firma stellt Drohnen her. [1]", False),
    ("Wie hieß das Opfer?", "Das Opfer, Anna Kowalski, war 34 Jahre alt. [1]", False),
])
def test_an_answer_without_the_asked_number_or_year_is_none(question, answer, lacks) -> None:
    """A count question needs a number, a year question a year, an age question an age
    (years, "-jährig", an age in brackets, "Alter", born or built), a question for a
    person's name a name (or a sentence saying what someone is called; not for the name of
    a thing); citations do not count."""
    assert lacks_asked_type(question, answer) is lacks


def test_an_amount_in_words_counts_as_a_number_for_how_many_not_for_when() -> None:
    """"Wie viele" prefers a sentence with the amount written out over an equally similar
    one without; "wann" does not (a date is written in digits)."""
    text = "Der Player ist neu. Er fasst rund eintausend Lieder."
    chunk, q = _alike(text)  # not the first line: no penalty
    params = _params()
    count = rank_sentences(q, "Wie viele Lieder passen darauf?", "en", [chunk], [1.0], params)
    assert "eintausend" in count[0].text and count[0].score > count[1].score
    when = rank_sentences(q, "Wann kam der Player?", "en", [chunk], [1.0], params)
    assert when[0].score == when[1].score


@pytest.mark.parametrize("question", ["On what date did she announce it?",
                                      "An welchem Tag kündigte sie es an?"])
def test_a_question_for_a_day_prefers_a_day_to_a_year(question) -> None:
    """"On what date" is answered by a day of a month (or a weekday), not by a sentence
    with a year alone; "when" takes either."""
    text = "Sie sitzt seit 2005 im Bundestag. Sie hat am 20. Juli 2016 ihren Rücktritt angekündigt."
    chunk, q = _alike(text)
    params = _params()
    day = rank_sentences(q, question, "en", [chunk], [1.0], params)
    assert "20. Juli" in day[0].text and day[0].score > day[1].score
    when = rank_sentences(q, "When did she announce it?", "en", [chunk], [1.0], params)
    assert when[0].score == when[1].score


@pytest.mark.parametrize("asking", ["Neue Soldaten für Putins Krieg?",
                                    "''Wikinews'': Wie stehen Sie zur Rasterfahndung?",
                                    "Wer hatte damals keinen Kassettenrekorder?»"])
def test_a_sentence_that_asks_is_not_an_answer(asking) -> None:
    """An article's own question (a subheading, an interviewer's, a rhetorical one) comes
    after every sentence that states something, however alike they are."""
    text = f"{asking} Die Rasterfahndung wurde 2002 ausgesetzt."
    chunk, q = _alike(text)
    ranked = rank_sentences(q, "Wie steht sie zur Rasterfahndung?", "de", [chunk], [1.0],
                            _params())
    assert ranked[0].text.startswith("Die Rasterfahndung")
    assert ranked[1].score <= ranked[0].score - _params().question_penalty


@pytest.mark.parametrize("dated", ["Das ZDF zeigt den Film am 13. Februar 2006.",
                                   "Der Film läuft am 13.2.2006 um 15:15 Uhr.",
                                   "The film is shown on February 13, 2006."])
def test_a_date_is_not_an_amount(dated) -> None:
    """"Wie groß" / "how many" prefer a sentence with an amount over an equally similar
    one whose only digits are a date or a clock time."""
    text = f"{dated} Die Fläche umfasst 450.000 Quadratkilometer."
    chunk, q = _alike(text)
    for question in ("Wie groß ist das Gebiet?", "How many square kilometres is it?"):
        ranked = rank_sentences(q, question, "en", [chunk], [1.0], _params())
        assert "450.000" in ranked[0].text and ranked[0].score > ranked[1].score


@pytest.mark.parametrize("dated", ["Er tritt am 28. Februar zurück.",
                                   "Er trat am Dienstagabend zurück.",
                                   "Er trat 2013 zurück.",
                                   # a time relative to the article answers "when" too
                                   "In circa zehn bis fünfzehn Jahren tritt er zurück.",
                                   "Er tritt innerhalb von zwei Wochen zurück.",
                                   "He resigned after three months."])
def test_a_when_question_prefers_a_date_to_any_number(dated) -> None:
    text = f"Das Recht sieht den Rücktritt im Kanon 332 vor. {dated}"
    chunk, q = _alike(text)
    ranked = rank_sentences(q, "Wann trat er zurück?", "en", [chunk], [1.0], _params())
    assert ranked[0].text == dated and ranked[0].score > ranked[1].score


def test_a_german_noun_counts_in_its_compound() -> None:
    """Keyword overlap finds the question's noun as the head of a compound ("Böen" in
    "Orkanböen"), so that sentence wins over one that shares only the topic."""
    text = ("Das Tief zog mit 80 bis 150 Kilometern pro Stunde über Europa. "
            "Die Orkanböen erreichten bis zu 200 Kilometer pro Stunde.")
    chunk, q = _alike(text)
    ranked = rank_sentences(q, "Wie stark waren die Böen?", "de", [chunk], [1.0], _params())
    assert ranked[0].text.startswith("Die Orkanböen") and ranked[0].score > ranked[1].score


@pytest.mark.parametrize(("first", "joins"), [
    ("Schwammberger gestorben", False),                   # a headline line
    ("Zieht der Kreml Minsk in den Krieg?", False),
    ("Der Kommandant starb im Gefängnis.", True),          # a lead sentence
])
def test_a_headline_does_not_join_the_answer_as_a_neighbour(first, joins) -> None:
    """The best sentence is joined by close ones of its passage, but not by the article's
    headline line: it says nothing the body does not, and a quote that starts with it
    reads as one run-on sentence. A first sentence that is a sentence still may."""
    text = f"{first}\nDer Mann starb mit 92 Jahren. Zuletzt saß er in Mannheim ein."
    chunk, q = _alike(text, start=0)
    source = Source(1, "a.md", first, None, None, None, text, 1.0)
    ranked = rank_sentences(q, "Wo saß er ein?", "en", [chunk], [1.0], _params())
    answer = compose("Wo saß er ein?", ranked, [source], "en", _params())
    assert answer.endswith("[1]") and "92 Jahren" in answer and "Mannheim" in answer
    assert (first in answer) is joins, answer


def test_a_headline_in_an_answer_ends_its_own_line() -> None:
    """A headline that answers (a search-box query: "turing begnadigung") is not run
    into the next sentence: it has no full stop, so it ends its own line."""
    text = "Postume Begnadigung für Alan Turing\n\nTuring war 1952 verurteilt worden."
    spans = split_sentences(text)
    source = Source(1, "a.md", "a", None, None, None, text, 1.0)
    head = Candidate(0, spans[0], text[slice(*spans[0])], 2.0, heading=True)
    body = Candidate(0, spans[1], text[slice(*spans[1])], 1.95)
    answer = compose("turing begnadigung", [head, body], [source], "de", _params())
    assert answer == ("Postume Begnadigung für Alan Turing\nTuring war 1952 verurteilt "
                      "worden. [1]")


def _sentences(text: str) -> list[Candidate]:
    spans = split_sentences(text)
    return [Candidate(0, s, text[s[0]:s[1]], 1.0 - 0.2 * i) for i, s in enumerate(spans)]


@pytest.mark.parametrize(("text", "said", "joined"), [
    ("Die Firma Nordbau plant den Hafen. Dieses Unternehmen baut ab 2008. Mehr folgt.", "",
     True),
    ("Die Firma Nordbau plant den Hafen.\n\nDieses Unternehmen baut ab 2008. Mehr folgt.", "",
     False),  # another paragraph: no antecedent looked for
    ("Die Firma Nordbau plant den Hafen. Dieses Unternehmen baut ab 2008. Mehr folgt.",
     "Die Firma Nordbau plant den Hafen. [1]", False),  # the previous answer said it
    ("Die Firma Nordbau plant den Hafen. Das Unternehmen baut ab 2008. Mehr folgt.", "",
     False),  # an article, not a pointer back
    ("Die Firma Nordbau baut ab 2008 den Hafen. Das berichtet die Zeitung. Mehr folgt.", "",
     True),  # "Das" as a demonstrative before its verb
    ("Die Firma Nordbau plant den Hafen. Das neue Werk baut ab 2008. Mehr folgt.", "",
     False),  # "Das" before an adjective: an article
])
def test_an_answer_that_points_back_brings_the_sentence_before(text, said, joined) -> None:
    """"Dieses Unternehmen baut ..." alone does not say which company: the sentence before
    joins the answer (and its highlights), in text order."""
    source = Source(1, "a.md", "a", None, None, None, text, 1.0)
    first, second, third = _sentences(text)
    best = replace(second, score=2.0)
    answer = compose("Wer baut ab 2008?", [best, first, third], [source], "de",
                     _params(max_sentences=1), said)
    assert answer.endswith("[1]") and best.text in answer
    assert (first.text in answer) is joined
    assert (first.span in source.highlights) is joined
    if joined:
        assert answer.index(first.text) < answer.index(best.text)


@pytest.mark.parametrize(("sentence", "credit"), [
    ("Jana Beispiel / Reuters", True),
    ("Foto: dpa", True),
    ("Der Minister besucht die Werft (Bild: Jan Muster).", True),
    ("Der Preis stieg um 3 / 4 Prozent.", False),
    ("Krieg und Frieden / Roman", False),
    ("Er sagte: Das Foto zeigt die Werft.", False),
])
def test_a_picture_credit(sentence: str, credit: bool) -> None:
    assert is_credit(sentence) is credit


@pytest.mark.parametrize(("question", "credited"), [
    ("Who took the photo of the minister?", True),
    ("Von wem stammt das Bild des Ministers?", True),
    ("Wer hat das Foto gemacht?", True),
    ("Which photographer was there?", True),
    ("Wer ist auf dem Foto zu sehen?", False),  # who is in it, not who took it
    ("Wer besuchte die Werft?", False),
])
def test_who_took_the_picture_is_answered_by_its_credit(question: str, credited: bool) -> None:
    """The credit line of a caption answers who took the picture, together with the
    caption before it (which picture); other questions do not prefer it."""
    text = ("Der Minister besucht die Werft. Der Minister lacht beim Besuch der Werft. "
            "Jana Beispiel / Reuters")
    chunk, q = _alike(text)
    ranked = rank_sentences(q, question, "en", [chunk], [1.0], _params(max_sentences=1))
    assert (ranked[0].text == "Jana Beispiel / Reuters") is credited
    source = Source(1, "a.md", "a", None, None, None, text, 1.0)
    answer = compose(question, ranked, [source], "en", _params(max_sentences=1))
    if credited:
        assert answer == "Der Minister lacht beim Besuch der Werft. Jana Beispiel / Reuters [1]"


def _two_passages(doc_2: str, gap: float) -> tuple[list[Candidate], list[Source]]:
    """The best sentence (passage 1 of article ``a.md``) and one of passage 2 (of
    ``doc_2``) scoring ``gap`` below it."""
    s1 = Source(1, "a.md", "A", None, None, None, "Der Fahrer wurde eingeklemmt.", 2.3)
    s2 = Source(2, doc_2, "B", None, None, None, "Er erlitt zwei Schnittverletzungen.", 2.2)
    candidates = [Candidate(0, (0, len(s1.text)), s1.text, 2.0),
                  Candidate(1, (0, len(s2.text)), s2.text, 2.0 - gap)]
    return candidates, [s1, s2]


def test_another_passage_of_the_article_that_answers_almost_as_well_is_quoted_too() -> None:
    """Where an article was cut into passages says nothing about where its answer is: the
    best sentence of its next answer passage within ``sibling_margin`` follows as a
    statement of its own, cited and highlighted; not another article's, not further
    below, not when set to 0, not one the previous answer quoted."""
    question = "Wie wurde der Fahrer verletzt?"
    candidates, sources = _two_passages("a.md", 0.01)
    text = compose(question, candidates, sources, "de", _params())
    assert text == "Der Fahrer wurde eingeklemmt. [1] Er erlitt zwei Schnittverletzungen. [2]"
    assert sources[1].highlights == [(0, len(sources[1].text))]
    for doc_2, gap, params, said in (("b.md", 0.01, _params(), ""),
                                     ("a.md", 0.03, _params(), ""),
                                     ("a.md", 0.01, _params(sibling_margin=0.0), ""),
                                     ("a.md", 0.01, _params(), sources[1].text)):
        candidates, sources = _two_passages(doc_2, gap)
        text = compose(question, candidates, sources, "de", params, said)
        assert text == "Der Fahrer wurde eingeklemmt. [1]"
        assert sources[1].highlights == []


def test_a_quoted_sibling_does_not_give_the_answer_the_kind_asked_for() -> None:
    """Whether the answer has the number a "wie viel" question asks for is judged on its
    best statement: a sentence of another passage quoted beside it does not turn a
    sentence without a number into an answer."""
    from types import SimpleNamespace

    from rag.types import DocMeta, Hit

    q = np.asarray([1.0, 0.0], dtype=np.float32)
    texts = ["Er brachte Kartoffeln und Käse mit.", "Das Treffen dauerte 3 Stunden."]
    vecs = [[1.0, 0.0], [0.96, 0.28]]  # with the number bonus, 0.01 below the best
    chunks = {i: StoredChunk(i, f"a.md#{i}", "a.md", t, 500 * i + 100, 500 * i + 100 + len(t),
                             [(0, len(t))], np.asarray([v], dtype=np.float32))
              for i, (t, v) in enumerate(zip(texts, vecs))}
    doc = DocMeta("a.md", "Besuch", None, None, None, None)
    index = SimpleNamespace(chunks=lambda ids: {i: chunks[i] for i in ids},
                            docs={"a.md": doc}, keywords=None)
    hits = [Hit(i, i, "a.md", 1.0, 0.9, 0.0, sentence=float(chunks[i].sentence_vectors[0] @ q))
            for i in chunks]
    params = replace(AnswerSettings(), min_term_support_de=0.0, lexical_weight_de=0.0)
    question = "Wie viel kostete das, was er mitbrachte?"
    ranked = rank_sentences(q, question, "de", list(chunks.values()), [1.0, 1.0], params)
    sources = [make_source(n, chunks[i], doc, 1.0) for n, i in enumerate(chunks, start=1)]
    assert compose(question, ranked, sources, "de", params).endswith("3 Stunden. [2]")
    answer = ExtractiveAnswerer(params).answer(Evidence(question, "de", q, hits, 5),
                                               SimpleNamespace(index=index))
    assert not answer.found


def test_an_answer_s_article_names_the_places_its_question_names(shared_fake_pipeline) -> None:
    """Minsk is named in four seed articles, not in the one about the Kremlin visit;
    "Moscow" is named as "Moskau"; Tokyo in none."""
    index = shared_fake_pipeline.index
    minsk = [d for d in index.docs if not d.startswith("000_")][0]
    kremlin = next(d for d in index.docs if d.startswith("000_"))

    def names(question: str, lang: str, doc_id: str) -> bool:
        return names_places(named_places(question, lang), index, doc_id)

    assert names("Was sagte Lukaschenko in Minsk?", "de", minsk)
    assert not names("Was sagte Lukaschenko in Minsk?", "de", kremlin)
    assert names("What did Putin say in Moscow?", "en", kremlin)
    assert not names("How many people live in Tokyo?", "en", kremlin)
    assert names("Who is Putin?", "en", kremlin)  # no place named


def test_an_answer_comes_from_the_first_article_that_names_the_asked_place(
        shared_fake_pipeline) -> None:
    """The best passage is from the Kremlin article, which never names Minsk: the answer
    comes from the next article that does, and its sources are that article's; with only
    the Kremlin article found, nothing is. Below an article that names it, the Kremlin
    article's passages are no sources either."""
    from types import SimpleNamespace

    from rag.retrieve import article_chunks
    from rag.types import Hit

    index = shared_fake_pipeline.index
    kremlin = next(d for d in index.docs if d.startswith("000_"))
    minsk = [d for d in index.docs if not d.startswith("000_")][0]
    question = "Was sagte Lukaschenko in Minsk?"
    qvec = shared_fake_pipeline.embedder.encode_queries([question])[0]
    hits = [Hit(c.id, 0, d, 1.0, 0.9, 0.0, sentence=0.9)
            for d in (kremlin, minsk) for c in article_chunks(index, [d])[:1]]
    answerer = ExtractiveAnswerer(replace(AnswerSettings(), min_relevance_de=0.0))
    retriever = SimpleNamespace(index=index)
    answer = answerer.answer(Evidence(question, "de", qvec, hits, 5), retriever)
    assert answer.found and [s.doc_id for s in answer.sources] == [minsk]
    assert not answerer.answer(Evidence(question, "de", qvec, hits[:1], 5), retriever).found
    below = answerer.answer(Evidence(question, "de", qvec, hits[::-1], 5), retriever)
    assert below.found and [s.doc_id for s in below.sources] == [minsk]


def test_a_place_no_article_names_is_not_found(answering_fake_pipeline) -> None:
    """With every threshold and the term check 0 anything is an answer, but not about a
    place the article never names (``place_check`` off: answered)."""
    settings = answering_fake_pipeline.settings.replace(min_term_support_de=0)
    question = "Was sagte Lukaschenko in Tokio?"
    for check in (True, False):
        pipeline = Pipeline(settings.replace(place_check=check),
                            embedder=answering_fake_pipeline.embedder, auto_index=False)
        assert pipeline.ask(question).found is not check


