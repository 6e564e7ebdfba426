"""Wikinews-de with the real model: the answering passage is returned (not filtered out
as a "near-duplicate" of its sibling passages), on the HELD-BACK half of the questions,
against plain dense retrieval (whole passages, same model) in the same run.

The corpus is a deterministic 150-article slice of the archive: every article a held-back
question expects, filled up with every n-th other article (building the whole archive
takes too long for a test; bench/tune_retrieval.py measures it whole). On the whole
archive, held-back half, hit@3 went from 0.857 de / 0.786 en to 1.000 / 1.000 (plain
dense: 1.000 / 0.929).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embed import load_embedder
from rag.eval.metrics import first_answering_rank
from rag.eval.questions import load_questions
from rag.eval.run import conversation
from rag.eval.variants import split_half
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.web import archive
from rag.web.service import EXAMPLES, MAX_EXAMPLES, Service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from chat_followups import kinds  # noqa: E402

SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
WIKINEWS = SHARED / "eval" / "wikinews-de"
ARTICLES = 150
#: Own questions about a time that older articles announce (bench/README.md section 21).
ANNOUNCED = ROOT / "bench" / "data" / "time_announced_wikinews.jsonl"
#: Own conversations: follow-ups by a definite description, topic switches (section 25).
DEFINITE = ROOT / "bench" / "data" / "chat_definite_wikinews.jsonl"
#: The article that "Wer saß in der Maschine?" alone finds on the whole archive (a damaged
#: maize harvester), kept in the slice so that the question can go astray there too.
DISTRACTORS = ("wikinews_14074.md",)
#: A rampage in Tokyo (2008) and a robbery whose attackers' ages a question about "the
#: attacker" finds when asked alone.
RAMPAGE, ROBBERY = "wikinews_50777.md", "wikinews_37752.md"
#: An article about a planned search engine, and two about Wikipedia's article counts.
WIKIASARI, MILLIONS = "wikinews_36485.md", ("wikinews_23505.md", "wikinews_60162.md")
#: UNICEF's study on violence against children (2006), with a figure for 2002.
UNICEF = "wikinews_34728.md"
#: A bomb attack on a Russian express train (2007), with the injured taken to hospital.
TRAIN = "wikinews_43568.md"
#: A tanker accident in Kenya whose injured were taken to hospitals.
TANKER = "wikinews_55730.md"
#: The storm Xynthia (2010): its gusts three paragraphs below its name.
XYNTHIA = "wikinews_61440.md"
#: Beate Uhse's results for the business year 2004, reported in March 2005.
RESULTS_2004 = "wikinews_3882.md"
#: Teachers' working-time accounts in Lower Saxony (May 2008): the union GEW's reaction
#: in the article's second passage.
TEACHERS = "wikinews_50016.md"
#: Three emergency landings in Italy (2005), no pilot's age; a hostage-taking in a prison
#: in Suhl (2013) by a 52-year-old.
LANDINGS, HOSTAGE = "wikinews_12611.md", "wikinews_75244.md"
#: Floods in Japan (2018): the evacuation of 3.6 million inhabitants, Tokyo never named.
FLOODS_JAPAN = "wikinews_82520.md"
#: Refugee camps cleared by the police: in Cairo (2005) and near Calais (2009).
CAIRO_CAMP, CALAIS_CAMP = "wikinews_18703.md", "wikinews_58907.md"
#: Italy's new coalition (2019), with the parties' results of the election of 2018.
ITALY_COALITION = "wikinews_83502.md"
#: Germany against Spain at the Women's World Cup (2019).
WORLD_CUP = "wikinews_83133.md"
#: A storm warning for Germany (December 2007): gusts above 800 metres, no temperature.
STORM_2007 = "wikinews_45940.md"
#: The OSCE's final report (September 2008) on Georgia's parliamentary election of May.
GEORGIA_2008 = "wikinews_52796.md"
#: Buddhist monks protesting in Myanmar (2007).
MONKS = "wikinews_44357.md"
#: Amnesty's report of July 2006 on murders of women in Guatemala "im letzten Jahr".
GUATEMALA = "wikinews_30204.md"
#: The Pétanque World Championships in Grenoble (2006), results only; DaimlerChrysler's
#: emergency brake assistant (2006), with its price; German relief for Haiti (2010), a
#: "vierköpfiges" team; Benedict XVI's resignation (2013), with earlier popes' reasons.
PETANQUE, BRAKE = "wikinews_33173.md", "wikinews_45586.md"
HAITI, POPE = "wikinews_60475.md", "wikinews_74899.md"
#: The Nobel Peace Prize for Obama (2009), and a White House spokesman on Iran (2006).
NOBEL_2009, WHITE_HOUSE_2006 = "wikinews_59270.md", "wikinews_27811.md"


@pytest.fixture(scope="module")
def wikinews(tmp_path_factory):
    held = [q for q in load_questions(WIKINEWS / "questions.jsonl")
            if split_half(q.id) == "held" and not q.no_answer]
    announced = load_questions(ANNOUNCED)
    definite = load_questions(DEFINITE)
    wanted = sorted({s for q in held + announced + definite for s in q.expected_sources}
                    | set(DISTRACTORS))
    others = sorted(p.name for p in (WIKINEWS / "corpus").glob("*.md") if p.name not in wanted)
    step = max(1, len(others) // (ARTICLES - len(wanted)))
    chosen = wanted + others[::step][: ARTICLES - len(wanted)]
    corpus = tmp_path_factory.mktemp("wikinews") / "corpus"
    corpus.mkdir()
    for name in chosen:
        shutil.copy(WIKINEWS / "corpus" / name, corpus / name)
    settings = Settings.from_env(corpus_dir=corpus,
                                 index_dir=tmp_path_factory.mktemp("wikinews-index"))
    pipeline = Pipeline(settings, embedder=load_embedder(settings))
    pipeline.update_index(progress=False)
    ids = [int(i) for i in pipeline.index.row_ids]
    chunks = pipeline.index.chunks(ids)
    passages = [chunks[i] for i in ids]
    whole = pipeline.embedder.encode_passages([c.text for c in passages])
    return pipeline, passages, whole, held, announced

#: Twenty articles of an archive beside the ones a test is about.
_FIRST_3S = sorted(p.name for p in (WIKINEWS / "corpus").glob("wikinews_3*.md"))[:20]


def _archive(pipeline: Pipeline, tmp_path: Path, names) -> tuple[Pipeline, Settings]:
    """A pipeline (with the module's model) over a new archive of the Wikinews articles
    ``names``, indexed, and its settings."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in names:
        shutil.copy(WIKINEWS / "corpus" / name, corpus / name)
    settings = pipeline.settings.replace(corpus_dir=str(corpus), index_dir=str(tmp_path / "ix"))
    archive = Pipeline(settings, embedder=pipeline.embedder)
    archive.update_index(progress=False)
    return archive, settings


def _dated(year: str, most: int | None = None) -> list[str]:
    """The Wikinews articles dated in ``year`` (the first ``most`` by name)."""
    return sorted(p.name for p in (WIKINEWS / "corpus").glob("wikinews_*.md")
                  if f"\ndate: {year}" in p.read_text(encoding="utf-8"))[:most]


def _hit(ranks, k):
    return sum(r is not None and r <= k for r in ranks) / len(ranks)


def test_answering_passage_is_returned(wikinews):
    pipeline, passages, whole, held, _ = wikinews
    retriever = Retriever(pipeline.index, pipeline.embedder, pipeline.settings.retrieval)
    for lang in ("de", "en"):
        questions = [q for q in held if q.lang == lang]
        qvecs = pipeline.embedder.encode_queries([q.question for q in questions])
        ours, dense = [], []
        for q, qvec in zip(questions, qvecs):
            hits = retriever.search(q.question, lang, 10, qvec=qvec)
            chunks = pipeline.index.chunks([h.id for h in hits])
            ours.append(first_answering_rank(q, [chunks[h.id] for h in hits]))
            top = np.argsort(-(whole @ qvec))[:10]
            dense.append(first_answering_rank(q, [passages[i] for i in top]))
        print(f"wikinews held {lang} (n={len(questions)}): hit@1/3/5 ours "
              f"{_hit(ours, 1):.3f}/{_hit(ours, 3):.3f}/{_hit(ours, 5):.3f}, plain dense "
              f"{_hit(dense, 1):.3f}/{_hit(dense, 3):.3f}/{_hit(dense, 5):.3f}")
        assert _hit(ours, 3) >= 0.92
        assert _hit(ours, 5) >= _hit(dense, 5)
        assert _hit(ours, 1) >= _hit(dense, 1) - 0.08  # one question of ~14


def test_a_time_planned_in_older_articles_is_found(wikinews):
    """"How long should China's high-speed rail network be by 2020?": the answer is in an
    article of 2012. The date filter keeps the articles dated in the period and adds the
    passages of older ones that write a date in it; with the filter on article dates alone
    none of these 12 questions found its article (hit@3 0.00)."""
    pipeline, *_, announced = wikinews
    ranks = [first_answering_rank(q, pipeline.ask(q.question, 5).sources) for q in announced]
    print(f"announced periods (n={len(announced)}): hit@3 {_hit(ranks, 3):.3f}")
    assert _hit(ranks, 3) >= 0.9


def test_a_follow_up_by_a_definite_description_stays_in_the_conversation(wikinews):
    """"Wer saß in der Maschine?" after a question about a fighter jet's crash has no
    pronoun: alone it finds a damaged maize harvester. What the conversation finds (the
    jet) matches it about as well, so it is read as a follow-up and says so; with the
    rule off (``implicit_followup_margin`` < 0) it is asked alone as before."""
    pipeline, *_ = wikinews
    history = conversation(pipeline, ["Wo ist das spanische Jagdflugzeug im Januar 2006 "
                                      "abgestürzt?"], 5)
    answer = pipeline.ask("Wer saß in der Maschine?", 5, history=history)
    assert answer.understood_as is not None and answer.understood_as.startswith(
        "Verstanden als: Wer saß in der Maschine?")
    assert answer.sources[0].doc_id == "wikinews_20929.md", answer.text
    off = Pipeline(pipeline.settings.replace(implicit_followup_margin=-1),
                   embedder=pipeline.embedder, auto_index=False)
    alone = off.ask("Wer saß in der Maschine?", 5, history=history)
    assert alone.understood_as is None
    assert alone.sources[0].doc_id != "wikinews_20929.md"  # asked alone it goes astray


def test_a_question_that_names_nothing_specific_stays_in_the_conversation(wikinews, tmp_path):
    """"Wie alt war der Täter?" after a question about a rampage names nothing that picks
    out a story: it is read as a follow-up and answered with the rampage's attacker.
    With the rule off it is asked alone and answered about another crime (an archive of
    the articles that name a "Täter")."""
    pipeline, *_ = wikinews
    crimes = sorted({RAMPAGE, ROBBERY} | {
        p.name for p in (WIKINEWS / "corpus").glob("*.md")
        if "Täter" in p.read_text(encoding="utf-8")})
    on, settings = _archive(pipeline, tmp_path, crimes)
    history = conversation(on, ["Was geschah beim Amoklauf in Akihabara?"], 5)
    question = "Wie alt war der Täter?"
    answer = on.ask(question, 5, history=history)
    assert answer.understood_as is not None, answer.text
    assert answer.sources[0].doc_id == RAMPAGE and "25-jährigen" in answer.text, answer.text
    off = Pipeline(settings.replace(generic_term_chunks=0), embedder=pipeline.embedder,
                   auto_index=False)
    alone = off.ask(question, 5, history=history)
    assert alone.understood_as is None and alone.sources[0].doc_id != RAMPAGE, alone.text


def test_an_english_question_that_names_nothing_stays_in_the_conversation(wikinews, tmp_path):
    """"How many of the injured were taken to hospital?" after a question about a bombed
    train names nothing (no name, no number): it is read as a follow-up and answered
    from the train's article. With the rule off (and no margin for the definite-description
    test) it is asked alone and answered about a tanker accident (an archive of the
    articles that name a "Krankenhaus")."""
    pipeline, *_ = wikinews
    hospitals = sorted({TRAIN, TANKER} | {
        p.name for p in (WIKINEWS / "corpus").glob("*.md")
        if "Krankenh" in p.read_text(encoding="utf-8")})
    on, settings = _archive(pipeline, tmp_path, hospitals)
    history = conversation(on, ["What happened to the Russian express train in August 2007?"],
                           5)
    question = "How many of the injured were taken to hospital?"
    answer = on.ask(question, 5, history=history)
    assert answer.understood_as is not None, answer.text
    assert answer.sources[0].doc_id == TRAIN and "38" in answer.text, answer.text
    # on this small archive the margin test alone passes it too; with no margin it
    # needs the rule: without it the question is asked alone
    strict = settings.replace(implicit_followup_margin=0.0)
    kept = Pipeline(strict, embedder=pipeline.embedder, auto_index=False)
    assert kept.ask(question, 5, history=history).sources[0].doc_id == TRAIN
    off = Pipeline(strict.replace(generic_term_chunks=0), embedder=pipeline.embedder,
                   auto_index=False)
    alone = off.ask(question, 5, history=history)
    assert alone.understood_as is None and alone.sources[0].doc_id == TANKER, alone.text


def test_a_follow_up_is_answered_further_down_its_article(wikinews, tmp_path):
    """"Wie stark waren dabei die heftigsten Böen?" after the storm of February 2010: the
    passages found with the conversation start with the storm's name and its wind speeds
    (already said); the gusts ("Orkanböen ... bis zu 200 Kilometern pro Stunde") stand in a
    lower passage of the same article, which names the question's "Böen". Without
    ``followup_naming_more`` the answer repeated the first passage (an archive of the
    articles that name an "Orkan" or a "Sturm")."""
    pipeline, *_ = wikinews
    storms = sorted({XYNTHIA} | {p.name for p in (WIKINEWS / "corpus").glob("*.md")
                                 if re.search("Orkan|Sturm", p.read_text(encoding="utf-8"))})
    on, settings = _archive(pipeline, tmp_path, storms)
    history = conversation(on, ["Welches Orkantief zog Ende Februar 2010 über Südwesteuropa?"],
                           5)
    question = "Wie stark waren dabei die heftigsten Böen?"
    answer = on.ask(question, 5, history=history)
    assert answer.understood_as is not None and answer.sources[0].doc_id == XYNTHIA
    assert "200 Kilometern pro Stunde" in answer.text, answer.text
    off = Pipeline(settings.replace(followup_naming_more=False), embedder=pipeline.embedder,
                   auto_index=False)
    assert "200 Kilometern" not in off.ask(question, 5, history=history).text


def test_a_follow_up_naming_an_abbreviation_is_answered_where_its_article_names_it(
    wikinews, tmp_path,
):
    """"Und wie reagierte die GEW darauf?" after the minister's announcement: the
    conversation finds the article's first passage (the announcement); the union's
    reaction stands in the next one, which names "GEW" - an abbreviation, which now counts
    as a noun the first passage does not name. It repeated the announcement."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (TEACHERS, *_FIRST_3S))
    history = conversation(archive, ["Was hat die niedersächsische Kultusministerin im Mai "
                                     "2008 zu den Lehrerarbeitszeitkonten angekündigt?"], 5)
    answer = archive.ask("Und wie reagierte die GEW darauf?", 5, history=history)
    assert answer.understood_as is not None and answer.sources[0].doc_id == TEACHERS
    assert "nicht zufrieden" in answer.text, answer.text


def test_an_age_question_needs_an_age_in_its_answer(wikinews, tmp_path):
    """"How old was the pilot ...?" about an article that gives no age was answered with
    the landing and its 52 passengers; an answer to "how old" must hold an age. An
    article that gives it still answers."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (LANDINGS, HOSTAGE, *_FIRST_3S))
    unknown = archive.ask("How old was the pilot of the Fokker that landed in Palermo?", 5)
    assert not unknown.found, unknown.text
    known = archive.ask("Wie alt war der Strafgefangene, der im März 2013 in Suhl eine "
                        "Geisel nahm?", 5)
    assert known.found and "52-jähriger" in known.text, known.text


def test_an_answer_comes_from_an_article_that_names_the_asked_place(wikinews, tmp_path):
    """"Wie viele Einwohner hat Tokio?" was answered with the 3.6 million inhabitants
    asked to leave their homes in the floods in Japan, an article that never names Tokyo
    (``place_check`` off: answered)."""
    pipeline, *_ = wikinews
    archive, settings = _archive(pipeline, tmp_path, (FLOODS_JAPAN, *_FIRST_3S))
    off = Pipeline(settings.replace(place_check=False), embedder=pipeline.embedder,
                   auto_index=False)
    for question in ("Wie viele Einwohner hat Tokio?",
                     "Another question: how many people live in Tokyo?"):
        assert not archive.ask(question, 5).found, question
        assert off.ask(question, 5).found, question


def test_an_answer_comes_from_the_first_article_that_names_the_asked_place(wikinews, tmp_path):
    """The best passage for a question about the camp in Cairo is the one about Calais,
    which never names Cairo: the answer comes from the Cairo article below it, not "not
    found" (``place_check`` off: answered from Calais)."""
    pipeline, *_ = wikinews
    archive, settings = _archive(pipeline, tmp_path, (CAIRO_CAMP, CALAIS_CAMP, *_FIRST_3S))
    off = Pipeline(settings.replace(place_check=False), embedder=pipeline.embedder,
                   auto_index=False)
    question = "Where did the police take the refugees after clearing their camp in Cairo?"
    answer = archive.ask(question, 5)
    assert answer.found and {s.doc_id for s in answer.sources} == {CAIRO_CAMP}, answer.text
    assert off.ask(question, 5).sources[0].doc_id == CALAIS_CAMP


def test_a_metadata_question_finds_the_article_about_its_topic(wikinews, tmp_path):
    """"Wann erschien der Artikel über Wikiasari?": articles about Wikipedia's articles
    ("Artikel", "erschien") matched the words that ask for the date better than the one
    article about the search engine; the keyword search now looks for the topic."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (WIKIASARI, *MILLIONS, *_FIRST_3S))
    answer = archive.ask("Wann erschien der Artikel über Wikiasari?", 5)
    assert answer.sources[0].doc_id == WIKIASARI and "24.12.2006" in answer.text, answer.text


def test_a_follow_up_about_a_year_without_articles_is_answered(wikinews, tmp_path):
    """"How many children were murdered in 2002 according to it?" after a question about
    UNICEF's study of 2006: the archive has no article of 2002, so the follow-up searches
    them all (as the question alone does) and quotes the study's figure; it searched none
    and said "not found"."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (UNICEF, *_FIRST_3S))
    history = conversation(archive, ["What did the UNICEF study on violence against children "
                                     "presented in Berlin in November 2006 find?"], 5)
    answer = archive.ask("How many children were murdered in 2002 according to it?", 5,
                         history=history)
    assert answer.understood_as is not None and answer.found, answer.text
    assert answer.sources[0].doc_id == UNICEF and "53.000" in answer.text, answer.text


def test_a_share_needs_a_percentage_in_its_answer(wikinews, tmp_path):
    """The monks in Myanmar protest against a "starke Erhöhung der Benzinpreise": no
    percentage, so "how many percent" is not found (it was answered with that sentence,
    which its passage's "vier Mönche" made an answer to a question for a number)."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (MONKS, *_FIRST_3S))
    for question in ("How many percent more did petrol cost in Myanmar after the increase?",
                     "Wie viel Prozent teurer wurde Benzin in Myanmar?"):
        assert not archive.ask(question, 5).found, question
    count = archive.ask("Wie viele Mönche wurden bei einer anderen Protestveranstaltung in "
                        "Myanmar festgenommen?", 5)
    assert count.found and "vier Mönche" in count.text, count.text


def test_the_world_is_no_place_an_article_must_name(wikinews, tmp_path):
    """"... at the Women's World Cup": CLDR calls the world a region, so the place check
    wanted an article naming "Welt" and refused the question."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (WORLD_CUP, *_FIRST_3S))
    answer = archive.ask("Which German player scored the only goal against Spain at the "
                         "Women's World Cup in 2019?", 5)
    assert answer.found and answer.sources[0].doc_id == WORLD_CUP, answer.text


def test_a_question_naming_what_no_article_names_starts_a_topic_of_its_own(wikinews, tmp_path):
    """"Durch wie viele Länder fließt der Mekong?" after a question about the monks in
    Myanmar: no article names the river, so the question is not read as a follow-up
    about Myanmar (it was, and answered with the protests' numbers); it is asked alone
    and not found."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (MONKS, *_FIRST_3S))
    history = conversation(archive, ["Warum gehen die Mönche in Myanmar auf die Straße?"], 5)
    assert history[-1]["content"] and "nichts gefunden" not in history[-1]["content"]
    answer = archive.ask("Durch wie viele Länder fließt der Mekong?", 5, history=history)
    assert answer.understood_as is None and not answer.found, answer.text


def test_a_follow_up_naming_a_time_its_article_tells_of_is_answered_from_it(
    wikinews, tmp_path,
):
    """"... bei der Wahl 2018" after a question about Italy's coalition of 2019: the
    period kept only the articles of 2018 (none about Italy) and the follow-up was "not
    found"; the passages of the previous answer's article that write 2018 now join them."""
    pipeline, *_ = wikinews
    dated_2018 = _dated("2018")
    assert len(dated_2018) >= 10
    archive, _ = _archive(pipeline, tmp_path, [ITALY_COALITION, *dated_2018])
    history = conversation(archive, ["Welche Parteien bildeten im Sommer 2019 in Italien "
                                     "eine Koalition?"], 5)
    answer = archive.ask("Und welches Ergebnis hatten die beiden bei der Wahl 2018?", 5,
                         history=history)
    assert answer.understood_as is not None and answer.found, answer.text
    assert answer.sources[0].doc_id == ITALY_COALITION and "33 Prozent" in answer.text, \
        answer.text


def test_a_period_looked_back_on_by_a_later_article_is_answered(wikinews, tmp_path):
    """"Warum zahlt Beate Uhse für 2004 keine Dividende?": no article dated 2004 answers,
    the company's results for 2004 were reported in March 2005; that article writes the
    year, so it is searched when the period's own articles answer nothing. It was "not
    found"."""
    pipeline, *_ = wikinews
    dated_2004 = _dated("2004")
    assert len(dated_2004) >= 5
    archive, _ = _archive(pipeline, tmp_path, [RESULTS_2004, *dated_2004])
    answer = archive.ask("Warum zahlt Beate Uhse für 2004 keine Dividende?", 5)
    assert answer.found and answer.sources[0].doc_id == RESULTS_2004, answer.text
    assert "Dividende kann daher nicht bezahlt werden" in answer.text, answer.text
    assert answer.period == "2004"


def test_a_later_article_looking_back_answers_from_its_other_passages(wikinews, tmp_path):
    """The OSCE's report on Georgia's election "am 21. Mai dieses Jahres" came out in
    September 2008: "dieses Jahres" dates the day in the article's year (it was no date),
    and the boycott two paragraphs below is searched with it (only the passage writing
    the date was)."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, [GEORGIA_2008, *_dated("2008-05")])
    answer = archive.ask("Wie protestierte die georgische Opposition gegen den angeblichen "
                         "Wahlbetrug bei der Parlamentswahl im Mai 2008?", 5)
    assert answer.found and answer.sources[0].doc_id == GEORGIA_2008, answer.text
    assert "boykottiert" in answer.text, answer.text


def test_a_year_a_later_article_names_relative_to_its_date_is_looked_back_on(
    wikinews, tmp_path,
):
    """"How many women and girls were murdered in Guatemala in 2005 ...?": the report of
    July 2006 says "im letzten Jahr ... 665 Frauen und Mädchen"; that passage writes no
    2005, but its "im letzten Jahr" is 2005 from the article's date, so it joins the
    look-back (only the article's other passages, which write 2005 about other things,
    did)."""
    pipeline, *_ = wikinews
    dated_2005 = _dated("2005", 40)
    assert len(dated_2005) >= 20
    archive, _ = _archive(pipeline, tmp_path, [GUATEMALA, *dated_2005])
    answer = archive.ask("How many women and girls were murdered in Guatemala in 2005 "
                         "according to Amnesty International?", 5)
    assert answer.found and "665" in answer.text, answer.text
    assert answer.period == "2005"


def test_a_follow_up_about_the_news_stays_in_the_conversation(wikinews, tmp_path):
    """"How did the White House spokesman react to the news?" names the White House,
    which the conversation about the Nobel Peace Prize has not: an English question naming
    something new starts its own topic, and alone it finds a White House spokesman on
    Iran. "The news" is what the conversation just talked about: it is a follow-up, and
    the spokesman's "WOW" is the answer."""
    pipeline, *_ = wikinews
    dated_2009 = _dated("2009", 40)
    archive, _ = _archive(pipeline, tmp_path, sorted({NOBEL_2009, WHITE_HOUSE_2006,
                                                      *dated_2009}))
    history = conversation(archive, ["Who was awarded the Nobel Peace Prize in October "
                                     "2009?"], 5)
    answer = archive.ask("How did the White House spokesman react to the news?", 5,
                         history=history)
    assert answer.understood_as is not None, answer.text
    assert answer.found and "WOW" in answer.text, answer.text
    alone = archive.ask("How did the White House spokesman react to it?", 5)
    assert alone.sources[0].doc_id == WHITE_HOUSE_2006  # the words alone go astray


def test_own_conversations_by_definite_description_and_topic_switches(wikinews):
    """Follow-ups that refer back by a definite description find their article (14 of 15
    on this slice; 12 with the rule off); a switch to another answerable topic is asked
    alone (no "Verstanden als")."""
    pipeline, *_ = wikinews
    questions = [q for q in load_questions(DEFINITE) if not q.no_answer]
    kind = kinds(DEFINITE)
    found, switched = [], []
    for q in questions:
        history = conversation(pipeline, q.history, 5)
        answer = pipeline.ask(q.question, 5, history=history)
        rank = first_answering_rank(q, answer.sources)
        if kind[q.id] == "followup":
            found.append(rank is not None and rank <= 3)
        else:
            switched.append(answer.understood_as is None)
    print(f"definite follow-ups: {sum(found)}/{len(found)} in the top 3; "
          f"switches asked alone: {sum(switched)}/{len(switched)}")
    assert sum(found) >= len(found) - 1
    assert all(switched)


def test_chat_examples_are_headlines_where_the_default_ones_are_not_answered(wikinews):
    """On news the default corpus's examples are not about, the chat offers the newest
    headlines instead (none of those examples is answered there)."""
    service = Service(wikinews[0])
    service.show_index()
    assert service.examples == archive.newest_titles(service.archive, MAX_EXAMPLES)
    assert len(service.examples) == MAX_EXAMPLES and not set(service.examples) & set(EXAMPLES)


def test_a_sum_of_money_needs_a_currency_in_its_answer(wikinews, tmp_path):
    """The championships' article gives results (13:4), no prize money: not found (it was
    answered with the results, whose numbers made them an answer to "how much"); the
    brake assistant's price is answered."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (PETANQUE, BRAKE, *_FIRST_3S))
    prize = archive.ask("How much prize money did the winners of the 2006 Pétanque World "
                        "Championships in Grenoble get?", 5)
    assert not prize.found, prize.text
    price = archive.ask("Was kostet der Notbremsassistent von DaimlerChrysler pro Fahrzeug?", 5)
    assert price.found and "Euro" in price.text, price.text


def test_a_temperature_needs_degrees_in_its_answer(wikinews, tmp_path):
    """"At what temperature does water boil on Mount Everest?" was answered with a storm's
    gusts above 800 metres (a height, no temperature); a temperature asked for now needs
    degrees in its answer."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (STORM_2007, *_FIRST_3S))
    boil = archive.ask("At what temperature does water boil at the top of Mount Everest?", 5)
    assert not boil.found, boil.text
    gusts = archive.ask("How strong were the gusts of the storm in Baden-Württemberg?", 5)
    assert gusts.found and gusts.sources[0].doc_id == STORM_2007, gusts.text


def test_an_aside_starts_a_new_topic_and_the_one_refers_back(wikinews, tmp_path):
    """"By the way, ..." announces a new topic: not read as a follow-up (it was, and
    answered from the brake assistant's article); "the one in 1415" refers back to the
    popes the previous answer named; a "vierköpfiges" team answers "how many"."""
    pipeline, *_ = wikinews
    archive, _ = _archive(pipeline, tmp_path, (BRAKE, HAITI, POPE, *_FIRST_3S))
    history = conversation(archive, ["What does DaimlerChrysler's Active Brake Assist cost?"], 5)
    aside = archive.ask("By the way, how many strings does a violin have?", 5, history=history)
    assert aside.understood_as is None and not aside.found, aside.text
    history = conversation(archive, ["Why did Pope Benedict XVI resign?",
                                     "Which popes had resigned voluntarily before him?"], 5)
    one = archive.ask("Why did the one in 1415 step down?", 5, history=history)
    assert one.understood_as and one.found and "Konstanz" in one.text, one.text
    history = conversation(archive, ["Which German relief agency sent a team to Haiti after "
                                     "the earthquake in January 2010?"], 5)
    team = archive.ask("How many people were on that team?", 5, history=history)
    assert team.found and "vierköpfig" in team.text, team.text
