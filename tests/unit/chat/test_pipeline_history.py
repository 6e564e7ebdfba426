"""ask(history=...) through the real pipeline with the fake embedder (logic, not quality)."""

from __future__ import annotations

import pytest

from rag.embed.fake import FakeEmbedder
from rag.errors import QuestionError
from rag.pipeline import Pipeline
from rag.settings import Settings

ARTICLES = {
    "bruecke.txt": "Die neue Brücke in Linz wurde von der Firma Bau AG gebaut. Sie wurde im "
                   "Mai 1999 eröffnet. Der Bau kostete 40 Millionen Euro.\n",
    "zoo.txt": "Der Zoo in Graz hat drei Elefanten. Die Elefanten kamen 2010 aus Indien. "
               "Der Zoo zählt jährlich 200'000 Besucher.\n",
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings.from_env(corpus_dir=str(corpus),
                                 index_dir=str(tmp_path_factory.mktemp("index")))
    p = Pipeline(settings, embedder=FakeEmbedder(dim=64))
    p.update_index(progress=False)
    return p


def conversation(*pairs: str) -> list[dict]:
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(pairs)]


def test_empty_history_and_new_topics_are_answered_as_without_history(pipeline):
    alone = pipeline.ask("Wie viele Elefanten hat der Zoo in Graz?", 2)
    assert pipeline.ask("Wie viele Elefanten hat der Zoo in Graz?", 2, history=[]) == alone
    history = conversation("Wann wurde die Brücke in Linz eröffnet?", "Im Mai 1999. [1]")
    with_history = pipeline.ask("Wie viele Elefanten hat der Zoo in Graz?", 2, history=history)
    assert with_history == alone
    assert with_history.understood_as is None


def test_follow_up_is_retrieved_with_the_earlier_turn(pipeline):
    history = conversation("Wann wurde die Brücke in Linz eröffnet?",
                           "Sie wurde im Mai 1999 eröffnet. [1]")
    answer = pipeline.ask("Und was kostete sie?", 2, history=history)
    assert answer.understood_as == ("Verstanden als: Und was kostete sie? "
                                    "(Bezug: Wann wurde die Brücke in Linz eröffnet?)")
    assert answer.text.startswith(answer.understood_as + "\n\n")
    assert answer.sources[0].doc_id == "bruecke.txt"
    assert answer.to_dict()["understood_as"] == answer.understood_as


def test_earlier_questions_are_not_embedded_again(pipeline):
    embedder = pipeline.embedder
    pipeline.ask("Woher kamen die Elefanten in Graz?", 2)
    before = len(embedder.calls)
    history = conversation("Woher kamen die Elefanten in Graz?", "Aus Indien. [1]")
    pipeline.ask("Und wann kamen sie?", 2, history=history)
    assert embedder.calls[before:] == ["Und wann kamen sie?"]


@pytest.mark.parametrize("history", ["Wer?", [{"role": "bot", "content": "x"}],
                                     [{"role": "user"}], [1, 2]])
def test_malformed_history_is_rejected_with_a_clear_error(pipeline, history):
    with pytest.raises(QuestionError, match="history"):
        pipeline.ask("Und wann?", 2, history=history)


def test_too_long_history_is_rejected(pipeline):
    p = Pipeline(pipeline.settings.replace(max_history_messages=2),
                 embedder=pipeline.embedder, auto_index=False)
    with pytest.raises(QuestionError, match="at most 2"):
        p.ask("Und wann?", 2, history=conversation("a?", "b", "c?"))


def test_announced_new_topic_is_asked_without_the_announcement(pipeline):
    alone = pipeline.ask("Wie viele Elefanten hat der Zoo in Graz?", 2)
    history = conversation("Wann wurde die Brücke in Linz eröffnet?", "Im Mai 1999. [1]")
    switched = pipeline.ask("Andere Frage: wie viele Elefanten hat der Zoo in Graz?", 2,
                            history=history)
    assert switched == alone


def test_quoted_articles_are_found_by_their_sentences(pipeline):
    from rag.chat import quoted_articles

    index = pipeline.index
    assert quoted_articles(index, "Die Elefanten kamen 2010 aus Indien.") == ["zoo.txt"]
    assert quoted_articles(index, "Sie wurde im Mai 1999 eröffnet. Die Elefanten kamen "
                                  "2010 aus Indien.") in (["bruecke.txt", "zoo.txt"],
                                                          ["zoo.txt", "bruecke.txt"])
    assert quoted_articles(index, "Ein Satz, der in keinem Artikel vorkommt, gar keiner.") == []
    assert quoted_articles(index, "Kurz.") == []


def test_articles_an_answer_listed_are_found_by_their_headlines(tmp_path):
    """A list of articles ("- 1999-05-02: Neue Brücke in Linz eröffnet [1]") quotes no
    sentence; its items are the articles' headlines, which need not be in their text."""
    from rag.chat import answer_context, quoted_articles

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bruecke.md").write_text(
        "---\ntitle: Neue Brücke in Linz eröffnet\ndate: 1999-05-02\n---\n"
        "Die Firma Bau AG baute sie in zwei Jahren. Der Bau kostete 40 Millionen Euro.\n",
        encoding="utf-8")
    (corpus / "zoo.md").write_text(
        "---\ntitle: Drei Elefanten für den Zoo in Graz\ndate: 2010-03-01\n---\n"
        "Die Tiere kamen aus Indien. Der Zoo zählt jährlich 200'000 Besucher.\n",
        encoding="utf-8")
    p = Pipeline(Settings.from_env(corpus_dir=str(corpus), index_dir=str(tmp_path / "ix")),
                 embedder=FakeEmbedder(dim=64))
    p.update_index(progress=False)
    listed = ("Artikel zu „Linz“:\n- 1999-05-02: Neue Brücke in Linz eröffnet [1]\n\n"
              "(Zeitraum: 1999)")
    assert quoted_articles(p.index, answer_context(listed)) == ["bruecke.md"]
    assert quoted_articles(p.index, "Neue Brücke") == []  # too short to tell


@pytest.fixture(scope="module")
def titled(tmp_path_factory):
    """Three articles with headlines (front matter) that are not in their text."""
    corpus = tmp_path_factory.mktemp("titled")
    for name, title, date, text in (
        ("bruecke.md", "Neue Brücke in Linz eröffnet", "1999-05-02",
         "Die Firma Bau AG baute sie in zwei Jahren. Der Bau kostete 40 Millionen Euro. "
         "Zur Eröffnung kamen 3000 Gäste."),
        ("zoo.md", "Drei Elefanten für den Zoo in Graz", "2010-03-01",
         "Die Tiere kamen aus Indien. Der Zoo zählt jährlich 200'000 Besucher."),
        ("herten.md", "Müll aus Neapel wird in Herten verbrannt", "2008-04-01",
         "Die Stadt Herten nimmt Müll aus Neapel ab. Die Anlage hat freie Kapazitäten."),
        ("herta.md", "Nobelpreis für Herta Müller", "2009-10-08",
         "Die Schriftstellerin Herta Müller erhält den Nobelpreis für Literatur."),
    ):
        (corpus / name).write_text(f"---\ntitle: {title}\ndate: {date}\n---\n{text}\n",
                                   encoding="utf-8")
    p = Pipeline(Settings.from_env(corpus_dir=str(corpus),  # any sentence passes the gate
                                   index_dir=str(tmp_path_factory.mktemp("titled-ix")),
                                   min_relevance_de=0.0, min_relevance_en=0.0),
                 embedder=FakeEmbedder(dim=64))
    p.update_index(progress=False)
    return p


LISTED = ("Die neuesten Artikel (3 von 3):\n- 2010-03-01: Drei Elefanten für den Zoo in Graz "
          "[1]\n- 2008-04-01: Müll aus Neapel wird in Herten verbrannt [2]\n- 1999-05-02: Neue "
          "Brücke in Linz eröffnet [3]")


def test_articles_an_answer_listed_are_found_in_its_order(titled):
    from rag.chat import answer_context, listed_articles

    assert listed_articles(titled.index, answer_context(LISTED)) == [
        "zoo.md", "herten.md", "bruecke.md"]
    assert listed_articles(titled.index, "Die Firma Bau AG baute sie in zwei Jahren.") == []


def test_a_listed_article_by_its_position(titled):
    """"Erzähl mir mehr über das erste" after a list: that article's lead, cited, said
    how it was understood; a question about the last one is asked of that article
    alone; the position of a list two answers back still counts."""
    history = conversation("Was gibt es Neues?", LISTED)
    more = titled.ask("Erzähl mir mehr über das erste", 3, history=history)
    assert more.understood_as == ("Verstanden als: Erzähl mir mehr über das erste "
                                  "(Bezug: „Drei Elefanten für den Zoo in Graz“)")
    assert [s.doc_id for s in more.sources] == ["zoo.md"]
    assert more.text.endswith("Die Tiere kamen aus Indien. Der Zoo zählt jährlich 200'000 "
                              "Besucher. [1]")
    cost = titled.ask("Wie viel kostete der Bau beim letzten?", 3,
                      history=history + conversation("Erzähl mir mehr über das erste",
                                                     more.text))
    assert cost.understood_as is not None and "Neue Brücke in Linz" in cost.understood_as
    assert {s.doc_id for s in cost.sources} == {"bruecke.md"}
    assert "40 Millionen Euro" in cost.text
    # a field of its record
    date = titled.ask("Wann ist der erste Artikel erschienen?", 3, history=history)
    assert date.text.endswith("Der Artikel „Drei Elefanten für den Zoo in Graz“ ist am "
                              "01.03.2010 (2010-03-01) erschienen [1].")
    link = titled.ask("Gib mir den Link zum zweiten Artikel", 3, history=history)
    assert link.text.endswith("Zum Artikel „Müll aus Neapel wird in Herten verbrannt“ ist "
                              "kein Link erfasst [1].")
    headline = titled.ask("What's the headline of the second one?", 3, history=history)
    assert headline.text.endswith("The archive lists the article under the title “Müll aus "
                                  "Neapel wird in Herten verbrannt” [1].")
    author = titled.ask("Who wrote the last one?", 3, history=history)
    assert author.understood_as == ("Understood as: Who wrote the last one? (referring to: "
                                    "“Neue Brücke in Linz eröffnet”)")
    assert author.text.endswith(
        "The archive records no author for the article “Neue Brücke in Linz eröffnet” [1].")
    # no list before: the position means nothing
    plain = titled.ask("Erzähl mir mehr über das erste", 3,
                       history=conversation("Wer baute die Brücke?", "Die Firma Bau AG. [1]"))
    assert plain.understood_as is None or "Bezug: „" not in plain.understood_as


def test_a_topic_list_names_only_articles_that_name_it(titled):
    """"Herten" is no "Herta": a topic's term counts in a longer word that starts with it
    (a compound, an inflection), not in a shorter one."""
    answer = titled.ask("Welche Artikel gibt es über Herta Müller?", 3)
    assert answer.text.startswith("Artikel zu „Herta Müller“:")
    assert [s.doc_id for s in answer.sources] == ["herta.md"]


def test_previous_article_bonus_ranks_the_quoted_article_first(pipeline):
    p = Pipeline(pipeline.settings.replace(previous_article_bonus=5.0),
                 embedder=pipeline.embedder, auto_index=False)
    history = conversation("Welche Tiere hat der Zoo?", "Der Zoo in Graz hat drei Elefanten.")
    answer = p.ask("Und was kostete die Brücke in Linz dort?", 2, history=history)
    assert answer.understood_as is not None
    assert answer.sources[0].doc_id == "zoo.txt"
    assert len(answer.sources) <= 2


def test_follow_up_is_answered_with_something_not_said_before(pipeline):
    p = Pipeline(pipeline.settings.replace(min_relevance_de=-1.0, min_term_support_de=0.0,
                                           max_sentences=1),
                 embedder=pipeline.embedder, auto_index=False)
    question = "Wann wurde die Brücke in Linz eröffnet?"
    fresh = p.ask("Und was noch?", 2, history=conversation(question, "Weiß ich nicht."))
    said = fresh.body.rsplit(" [", 1)[0]
    assert fresh.found and said
    again = p.ask("Und was noch?", 2, history=conversation(question, fresh.body))
    assert again.understood_as is not None and again.found
    assert said not in again.body
    assert again.sources[0].doc_id == fresh.sources[0].doc_id


def test_not_said_first_keeps_the_order_otherwise():
    from rag.answer.extractive import Candidate, not_said_first

    cands = [Candidate(0, (0, 5), t, s) for t, s in (("A  ist eins.", 0.9), ("B zwei.", 0.8),
                                                   ("C drei.", 0.7))]
    out = not_said_first(cands, "Schon gesagt: A ist\neins. [1]")
    assert [c.text for c in out] == ["B zwei.", "C drei.", "A  ist eins."]
    assert not_said_first(cands, "") == cands


def test_a_sentence_said_before_loses_only_the_penalty():
    """With a finite penalty a said sentence that answers clearly better still leads; one
    that is only a little better goes behind the new one."""
    from rag.answer.extractive import Candidate, not_said_first

    said = "A ist eins. [1]"
    cands = [Candidate(0, (0, 5), t, s) for t, s in (("A ist eins.", 0.90), ("B zwei.", 0.89),
                                                   ("C drei.", 0.80))]
    assert [c.text for c in not_said_first(cands, said, 0.02)] == [
        "B zwei.", "A ist eins.", "C drei."]
    assert [c.text for c in not_said_first(cands, said, 0.005)] == [
        "A ist eins.", "B zwei.", "C drei."]
    assert [c.text for c in not_said_first(cands, said)][-1] == "A ist eins."  # inf


def test_a_sentence_said_with_its_day_dated_counts_as_said():
    """The previous answer dated "am Montag" ("am Montag (3.4.2006)"): the sentence it
    quoted is still recognised as said (it was not, and follow-ups repeated it)."""
    from rag.answer.extractive import Candidate, not_said_first
    from rag.chat import answer_context

    cands = [Candidate(0, (0, 5), t, s) for t, s in (
        ("Die Polizei verhaftete am Montag einen Mann.", 0.9), ("Er schweigt.", 0.8))]
    said = answer_context("Die Polizei verhaftete am Montag (3.4.2006) einen Mann. [1]")
    assert [c.text for c in not_said_first(cands, said)] == [
        "Er schweigt.", "Die Polizei verhaftete am Montag einen Mann."]


def test_a_follow_up_goes_further_down_the_article_when_all_was_said():
    """"Wie viele Flüchtlinge hatten dort protestiert?": the best passage holds only what
    the previous answer said, so the article's next passages answer (not another
    article's, not beyond the depth)."""
    from rag.answer.extractive import Candidate, beyond_what_was_said

    said = "Zehn Flüchtlinge starben. [1]"
    cands = [Candidate(0, (0, 5), "Zehn Flüchtlinge starben.", 0.9),
             Candidate(2, (0, 5), "Etwa 3.000 hatten protestiert.", 0.95, primary=False),
             Candidate(1, (0, 5), "Andere Zeitung.", 0.97, primary=False),
             Candidate(4, (0, 5), "Tief unten.", 0.96, primary=False)]
    docs = ["a.md", "b.md", "a.md", "a.md", "a.md"]
    out = beyond_what_was_said(cands, said, docs, depth=3)
    assert [c.primary for c in out] == [True, True, False, False]
    assert beyond_what_was_said(cands, "Etwas anderes. [1]", docs, 3) == cands  # not all said
    assert beyond_what_was_said(cands, "", docs, 3) == cands


def test_a_headline_line_does_not_lead_a_follow_ups_answer():
    """"Und Steffi Nerius?": everything else about the javelin final was said, and the
    headline ("Deutsche Speerwerferinnen gewinnen ...") only names the topic."""
    from rag.answer.extractive import Candidate, not_said_first

    cands = [Candidate(0, (0, 5), "Speerwerferinnen gewinnen Silber", 0.9, heading=True),
             Candidate(0, (6, 9), "Nerius wurde Dritte.", 0.8)]
    assert [c.text for c in not_said_first(cands, "Etwas anderes. [1]")] == [
        "Nerius wurde Dritte.", "Speerwerferinnen gewinnen Silber"]


def test_a_sentence_said_only_as_context_counts_as_not_said():
    """The previous answer "A. Dieses B." quoted A only because B points back at it."""
    from rag.answer.extractive import Candidate, not_said_first

    cands = [Candidate(0, (0, 5), t, s) for t, s in (("Dieses Amt hat er.", 0.9),
                                                   ("Lena wurde Ministerin.", 0.8),
                                                   ("Sie ist 40.", 0.7))]
    said = "Lena wurde Ministerin. Dieses Amt hat er. [1]"
    assert [c.text for c in not_said_first(cands, said)] == [
        "Lena wurde Ministerin.", "Sie ist 40.", "Dieses Amt hat er."]
    said = "Lena wurde Ministerin. Mehr nicht. [1]"
    assert [c.text for c in not_said_first(cands, said)][-1] == "Lena wurde Ministerin."
