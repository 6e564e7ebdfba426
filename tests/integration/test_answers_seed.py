"""Answers with the real model on the seed corpus: questions about an article's author,
publisher and date are answered from its metadata and cited; the shared seed questions
keep their figures. Held-back seed_more metadata questions (dsq001, dsq002) plus
questions of our own (not in the shared files)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from rag.embed import load_embedder
from rag.eval.metrics import answers_question, first_answering_rank
from rag.eval.questions import load_questions, parse_question
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.web.service import EXAMPLES, Service

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))

OWN = [  # (question, expected source, keyword): written for this test
    ("Who wrote the report about Putin asking Lukashenko for help in Minsk?",
     "002_b32e619577f15ed7.txt", "Paul Flückiger"),
    ("Wer hat den Artikel über die Videokonferenz aus Sewastopol verfasst?",
     "003_13b114440d0760a9.txt", "Silke Bigalke"),
    ("Wann ist der Artikel über Putins Besuch in Minsk erschienen?",
     "002_b32e619577f15ed7.txt", "19.12.2022"),
    ("Which website published the article about the love-hate relationship between "
     "Putin and Lukashenko in August 2020?", "001_ed4b800cc64d86f5.txt", "zeit.de"),
    # the article named by its author (without the byline filter: "not found")
    ("Wann ist Silke Bigalkes Bericht über Lukaschenko erschienen?",
     "003_13b114440d0760a9.txt", "2021-11"),
    # named by its author, no topic: answered from the record although the text does
    # not match the question (before: "not found")
    ("Wann ist Paul Flückigers Bericht erschienen?", "002_b32e619577f15ed7.txt",
     "19.12.2022"),
    # a picture's credit line (before: the caption's neighbours, without the credit)
    ("Von wem stammt das Foto von Putin und Lukaschenko in Minsk?",
     "002_b32e619577f15ed7.txt", "Pavel Bednyakov"),
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    settings = Settings.from_env(corpus_dir=SHARED / "corpus-seed",
                                 index_dir=tmp_path_factory.mktemp("seed-index"))
    p = Pipeline(settings, embedder=load_embedder(settings))
    p.update_index(progress=False)
    return p


def _metadata_question(name: str):
    if name.startswith("own"):
        text, doc, kw = OWN[int(name[3:])]
        return parse_question({"id": name, "lang": "de", "question": text,
                               "expected_sources": [doc], "answer_keywords": [kw]})
    shared = load_questions(SHARED / "eval" / "seed_more_questions.jsonl")
    return next(q for q in shared if q.id == name)


@pytest.mark.parametrize("name", ["dsq001", "dsq002", *(f"own{i}" for i in range(len(OWN)))])
def test_metadata_questions_answered_from_the_record(pipeline, name):
    """Author, publisher, date, link and picture credit of an article."""
    question = _metadata_question(name)
    answer = pipeline.ask(question.question)
    assert answer.found
    assert answers_question(answer.text, question.answer_keywords), answer.text
    assert first_answering_rank(question, answer.sources) == 1
    assert answer.sources[0].doc_id in question.expected_sources


def test_seed_questions_keep_their_figures_and_speed(pipeline):
    questions = load_questions(SHARED / "eval" / "seed_questions.jsonl")
    pipeline.ask(questions[0].question)  # warm-up
    ranks, hits, refused_ok, latencies = [], [], 0, []
    for q in questions:
        t0 = time.perf_counter()
        answer = pipeline.ask(q.question, 10)
        latencies.append((time.perf_counter() - t0) * 1000)
        if q.no_answer:
            refused_ok += not answer.found
            continue
        ranks.append(first_answering_rank(q, answer.sources))
        hits.append(answer.found and answers_question(answer.text, q.answer_keywords))
    print(f"seed: hit@3 {sum(r is not None and r <= 3 for r in ranks) / len(ranks):.3f}, "
          f"answer_hit {sum(hits) / len(hits):.3f}, p50 {statistics.median(latencies):.1f} ms")
    # the issue-11 target (hit@3 >= 0.95): one miss of 20 is tolerated (int8 vectors vary)
    assert sum(r is not None and r <= 3 for r in ranks) / len(ranks) >= 0.95, ranks
    assert sum(hits) / len(hits) >= 0.9
    assert refused_ok == sum(q.no_answer for q in questions)


def test_sources_that_date_the_union_differently_are_both_shown(pipeline):
    """The seed articles date the Russian-Belarusian union 1996 and 1997: both are shown,
    each cited (the issue's example of disagreeing sources)."""
    answer = pipeline.ask("Wann wurde die Union zwischen Russland und Belarus beschlossen?")
    assert answer.found
    assert answer.text.startswith("Die Quellen machen dazu unterschiedliche Angaben:")
    assert "1996" in answer.text and "1997" in answer.text
    cited = {s.doc_id for s in answer.sources if f"[{s.n}]" in answer.text}
    assert cited == {"001_ed4b800cc64d86f5.txt", "002_b32e619577f15ed7.txt"}



def test_an_answer_quotes_the_article_s_next_passage_when_it_answers_almost_as_well(
    pipeline,
):
    """"What has Lukashenko made available to Russia ...?": the best sentence is the
    teaser of the article's first passage, the answer ("... als Aufmarschgebiet nutzen
    können") stands in its next passage, scored within ``sibling_margin``: both are
    quoted, each with its citation, not as disagreeing sources; with the setting off only
    the teaser is."""
    question = "What has Lukashenko made available to Russia for its war against Ukraine?"
    answer = pipeline.ask(question)
    assert answer.found and "Aufmarschgebiet" in answer.text, answer.text
    cited = [s for s in answer.sources if f"[{s.n}]" in answer.text]
    assert len(cited) == 2 and {s.doc_id for s in cited} == {"002_b32e619577f15ed7.txt"}
    assert all(s.highlights for s in cited)
    assert not answer.text.startswith(("Die Quellen", "The sources"))
    off = Pipeline(pipeline.settings.replace(sibling_margin=0.0), embedder=pipeline.embedder,
                   auto_index=False)
    assert "Aufmarschgebiet" not in off.ask(question).text


def test_the_chat_examples_are_answered_from_highly_relevant_sources(pipeline):
    """The web chat's examples about the default corpus: all shown, since the product
    answers each of them from a "highly relevant" source."""
    service = Service(pipeline)
    service.show_index()
    assert service.examples == list(EXAMPLES)


@pytest.mark.parametrize("question", [
    "Wieso gab die Präsidentenwahl im August 2020 dem Kreml ein Druckmittel gegen "
    "Lukaschenko in die Hand?",
    "Why did the August 2020 election give the Kremlin new leverage over Lukashenko?",
])
def test_a_later_article_looking_back_answers_when_it_matches_better(pipeline, question):
    """The article of August 2020 matches these questions well enough to answer (that
    the Kremlin hoped for a weakened Lukashenko); the report of December 2022, which
    writes "im August 2020", says why: it was searched only when the period's own
    article answered nothing, now also when it matches better."""
    answer = pipeline.ask(question, 5)
    assert answer.found and answer.sources[0].doc_id == "002_b32e619577f15ed7.txt", answer.text
    assert "nur mit Russlands Hilfe" in answer.text, answer.text
    assert answer.period == "2020-08"
