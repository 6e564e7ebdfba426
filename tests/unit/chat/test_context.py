"""Resolving a follow-up: mixed query, keywords, language, the "understood as" line."""

from __future__ import annotations

import numpy as np
import pytest

from rag.chat import (
    Turn,
    VectorCache,
    names,
    names_new_topic,
    names_nothing_specific,
    resolve,
    with_understanding,
)
from rag.chat.context import IMPLICIT
from rag.embed.fake import FakeEmbedder
from rag.settings import ChatSettings
from rag.types import Answer

TURNS = [
    Turn("Wer baute die Brücke in Linz?", "Die Firma Bau AG unter Leitung von Eva Roth. [1]"),
    Turn("Wann wurde sie eröffnet?", "Im Mai 1999. [2]"),
]


def test_standalone_question_or_no_history_is_not_resolved():
    params = ChatSettings()
    assert resolve("Wie lang ist die Donau in Österreich?", "de", TURNS, params) is None
    assert resolve("Und wann?", "de", [], params) is None
    assert resolve("Und wann?", "de", TURNS, ChatSettings(context_turns=0)) is None


def test_a_standalone_question_may_still_be_read_as_a_follow_up():
    """``possible=True``: the follow-up reading of a question without a pronoun (a
    definite description, "die Maschine"), for the caller to weigh; never of a question
    that announces a new topic."""
    params = ChatSettings()
    f = resolve("Wer saß in der Maschine?", "de", TURNS, params, possible=True)
    assert f is not None and f.reason == IMPLICIT
    assert f.texts[0] == "Wer saß in der Maschine?" and f.texts[1] == TURNS[-1].question
    assert resolve("Andere Frage: Wer saß in der Maschine?", "de", TURNS, params,
                   possible=True) is None
    assert resolve("Wer saß in der Maschine?", "de", [], params, possible=True) is None
    dependent = resolve("Und wann?", "de", TURNS, params, possible=True)
    assert dependent is not None and dependent.reason != IMPLICIT


def test_an_english_question_that_names_something_new_is_not_a_possible_follow_up():
    """A name or number no earlier turn mentions starts a topic of its own; names the
    conversation has had (Eva Roth, 1999) do not."""
    params = ChatSettings()
    assert resolve("Who built the bridge in Vienna?", "en", TURNS, params,
                   possible=True) is None
    assert resolve("How tall was the bridge in 2005?", "en", TURNS, params,
                   possible=True) is None
    assert resolve("What did Eva Roth build after 1999?", "en", TURNS, params,
                   possible=True) is not None
    assert resolve("How long is the bridge?", "en", TURNS, params, possible=True) is not None
    # a day or a month names a time, not a topic
    assert resolve("How many people protested on Friday?", "en", TURNS, params,
                   possible=True) is not None
    assert resolve("Who visited Vienna in March?", "en", TURNS, params, possible=True) is None


class _Keywords:
    """Document frequencies of a 2000-chunk archive (a keyword store's two methods)."""

    size = 2000
    FREQ = {"alt": 300, "tat": 40, "mensch": 600, "starb": 120, "einwohn": 60, "tokio": 2,
            "sass": 11, "maschin": 52, "flughaf": 15, "land": 90}

    def doc_freq(self, term: str) -> int:
        return self.FREQ.get(term, 0)

    def known(self, term: str) -> bool:
        return term in self.FREQ

    def similar_pool(self, term: str) -> list[str]:
        return list(self.FREQ)


class _Index:
    keywords = _Keywords()


def test_a_question_that_names_nothing_specific():
    """Every known term of the question in at least ``generic_term_chunks`` chunks and
    ``generic_term_share`` of all: it asks about the conversation's topic. One rare term
    ("Tokio") names a topic; unknown terms do not count; English is judged by its names."""
    params = ChatSettings(generic_term_chunks=8, generic_term_share=0.002)  # here: >= 8
    assert names_nothing_specific("Wie alt war der Täter?", "de", _Index(), params)
    assert names_nothing_specific("Wie viele Menschen starben?", "de", _Index(), params)
    assert names_nothing_specific("Wer saß in der Maschine?", "de", _Index(), params)
    assert not names_nothing_specific("Wie viele Einwohner hat Tokio?", "de", _Index(), params)
    assert not names_nothing_specific("Wie hoch ist der Eiffelturm?", "de", _Index(), params)
    # English: no name and no number in a question written with capitals
    assert names_nothing_specific("How old was the attacker?", "en", _Index(), params)
    assert names_nothing_specific("How many of the injured were taken to hospital?", "en",
                                  _Index(), params)
    assert not names_nothing_specific("How old was the attacker in Tokyo?", "en", _Index(),
                                      params)
    assert not names_nothing_specific("How many died in 2002?", "en", _Index(), params)
    assert not names_nothing_specific("how many died in the ebola epidemic", "en", _Index(),
                                      params)
    share = ChatSettings(generic_term_chunks=8, generic_term_share=0.01)  # >= 20 chunks
    assert names_nothing_specific("Wie alt war der Täter?", "de", _Index(), share)
    assert not names_nothing_specific("Wer landete auf dem Flughafen?", "de", _Index(), share)
    # a verb names nothing, however rare ("saß" in 11 chunks); typed in lower case, a
    # question's every word may be a name
    assert names_nothing_specific("Wer saß in der Maschine?", "de", _Index(), share)
    assert not names_nothing_specific("wer saß in der maschine", "de", _Index(), share)
    off = ChatSettings(generic_term_chunks=0)
    assert not names_nothing_specific("Wie alt war der Täter?", "de", _Index(), off)


def test_a_question_that_names_what_the_conversation_has_not():
    """A German question with a term rarer than generic ("Tokio") that no recent turn
    contains starts a topic of its own, also one no article has ("Eiffelturm"), unless it
    is a typo of a known term ("Maschne"); generic terms do not count, nor a term the
    conversation mentioned, nor English (judged by its names in ``resolve``)."""
    params = ChatSettings(generic_term_chunks=8, generic_term_share=0.002)
    assert names_new_topic("Wie viele Einwohner hat Tokio?", "de", TURNS, _Index(), params)
    assert names_new_topic("tokio einwohner", "de", TURNS, _Index(), params)
    assert not names_new_topic("Wer saß in der Maschine?", "de", TURNS, _Index(), params)
    rare_verb = ChatSettings(generic_term_chunks=20)  # "saß" (11 chunks) is no topic
    assert not names_new_topic("Wer saß in der Maschine?", "de", TURNS, _Index(), rare_verb)
    assert names_new_topic("Wie hoch ist der Eiffelturm?", "de", TURNS, _Index(), params)
    assert not names_new_topic("Wer saß in der Maschne?", "de", TURNS, _Index(), rare_verb)
    in_tokio = [*TURNS, Turn("Wo steht die Brücke?", "In Tokio. [1]")]
    assert not names_new_topic("Wie viele Einwohner hat Tokio?", "de", in_tokio, _Index(),
                               params)
    long_ago = ChatSettings(generic_term_chunks=8, context_turns=1)
    assert names_new_topic("Wie viele Einwohner hat Tokio?", "de",
                           [Turn("Wo liegt Tokio?", "In Japan. [1]"), *TURNS], _Index(), long_ago)
    assert not names_new_topic("How many people live in Tokio?", "en", TURNS, _Index(), params)
    assert not names_new_topic("Wie viele Einwohner hat Tokio?", "de", [], _Index(), params)
    off = ChatSettings(generic_term_chunks=0)
    assert not names_new_topic("Wie viele Einwohner hat Tokio?", "de", TURNS, _Index(), off)


def test_follow_up_mixes_earlier_questions_newest_first_with_decay():
    params = ChatSettings(context_turns=3, context_weight=0.5, context_decay=0.5,
                          answer_weight=0.0)
    f = resolve("Und wie viel hat sie gekostet?", "de", TURNS, params)
    assert f is not None
    assert f.texts == ("Und wie viel hat sie gekostet?", TURNS[1].question, TURNS[0].question)
    assert f.weights == (1.0, 0.5, 0.25)
    assert f.search_text.startswith("Und wie viel hat sie gekostet? Wann wurde sie eröffnet?")
    assert f.understood_as == ("Verstanden als: Und wie viel hat sie gekostet? "
                               "(Bezug: Wann wurde sie eröffnet?)")


def test_previous_answer_vector_and_names():
    turns = [TURNS[0]]
    f = resolve("Was studierte sie?", "de", turns, ChatSettings(answer_weight=0.3))
    assert f.texts[-1] == TURNS[0].answer and f.weights[-1] == 0.3
    assert "Eva Roth" in f.search_text
    assert "Eva Roth" in f.understood_as


def test_a_follow_up_remembers_an_earlier_question_that_got_no_answer():
    answered = resolve("Und wann wurde sie eröffnet?", "de", TURNS[:1], ChatSettings())
    assert answered.unanswered == ""
    refused = [Turn("Wer baute die Brücke in Linz?", "")]  # "not found" (or no answer)
    f = resolve("Und wann wurde sie eröffnet?", "de", refused, ChatSettings())
    assert f.unanswered == "Wer baute die Brücke in Linz?" and f.previous_answer == ""


def test_short_question_takes_the_language_of_the_previous_one():
    f = resolve("Warum?", "en", TURNS, ChatSettings(), detect=lambda text: "de")
    assert f.language == "de"
    assert f.understood_as.startswith("Verstanden als: Warum?")
    g = resolve("Why did they do that?", "en", TURNS, ChatSettings(), detect=lambda t: "de")
    assert g.understood_as.startswith("Understood as: Why did they do that? (referring to: ")


def test_query_vector_is_the_normalised_weighted_mix():
    emb = FakeEmbedder(dim=16)
    f = resolve("Und wann?", "de", TURNS, ChatSettings(context_weight=0.5, context_decay=1.0))
    vecs = emb.encode_queries(list(f.texts))
    mixed = f.query_vector(vecs)
    expected = vecs[0] + 0.5 * vecs[1] + 0.5 * vecs[2]
    assert np.allclose(mixed, expected / np.linalg.norm(expected), atol=1e-6)
    assert abs(float(np.linalg.norm(mixed)) - 1.0) < 1e-5


def test_names_skip_articles_and_titles():
    text = "Der Minister Karl Huber traf Präsidentin Maria de Souza. Seit Tagen regnet es."
    assert names(text) == ["Karl Huber", "Maria de Souza"]


@pytest.mark.parametrize(("text", "found"), [
    ("Alle Opfer stammen aus der Umgebung.", []),  # a sentence's determiner and a noun
    ("Weitere Fahrzeuge fuhren auf.", []),
    ("Diese Truppen von Wladimir Putin bleiben.", ["Wladimir Putin"]),
    ("Millionen Peruaner wählten Alan García.", ["Alan García"]),
    ("These Russian Soldiers stayed.", ["Russian Soldiers"]),
    ("Steinzeitmenschen aßen nicht nur Fleisch\nDas ist das Ergebnis.", []),  # two lines
    ("Präsidentin Maria de Souza kam.", ["Maria de Souza"]),
])
def test_names_skip_determiners_and_amounts(text, found):
    """The capitalised word that starts a German sentence ("Alle", "Weitere", "Diese") or
    an amount before a noun ("Millionen") does not make a name of the noun after it: the
    'referring to' line shows names, not "Alle Opfer"."""
    assert names(text) == found


def test_with_understanding_sets_field_and_first_line():
    f = resolve("Und wann?", "de", TURNS, ChatSettings())
    answer = with_understanding(Answer("Und wann?", "de", True, "Im Mai. [1]", []), f)
    assert answer.understood_as == f.understood_as
    assert answer.text.startswith(f.understood_as + "\n\n")
    assert answer.body == "Im Mai. [1]"
    assert answer.to_dict()["understood_as"] == f.understood_as


def test_vector_cache_embeds_each_text_once_and_evicts():
    emb = FakeEmbedder(dim=8)
    cache = VectorCache(size=2)
    first = cache.encode(["a", "b", "a"], emb.encode_queries)
    assert emb.calls == ["a", "b"]
    assert np.allclose(first[0], first[2])
    cache.encode(["b"], emb.encode_queries)
    assert emb.calls == ["a", "b"]
    cache.encode(["c"], emb.encode_queries)  # evicts the least recently used ("a")
    cache.encode(["a"], emb.encode_queries)
    assert emb.calls == ["a", "b", "c", "a"]
