"""Whether a question depends on the conversation (rule-based, no model)."""

from __future__ import annotations

import pytest

from rag.chat import asks_for_more, decide, ordinal_reference, without_announcement


@pytest.mark.parametrize(
    "question",
    [
        "Und wie viele Zuschauer kamen?",          # leading conjunction
        "And what happened next?",
        "Warum hat sie abgesagt?",                 # lower-case sie
        "Wann wurde er gewählt?",
        "What did they decide?",
        "Where was his office?",
        "Ist das bestätigt?",                      # das without a noun
        "Und was bedeutet das faktisch?",
        "Warum war das eine gute Idee?",           # das, then an article: a pronoun
        "Wie lange hat das gedauert?",
        "Was bedeutet dies für die Bauern?",
        "Why did the mayor say that?",             # that at the end
        "How was that decision received?",         # that + noun
        "Wie ging es weiter?",                     # es as a pronoun
        "Warum?",                                  # too short
        "Why exactly?",
        "What about the second team?",
        "Wer war damals Bürgermeister?",           # pronominal adverb
        "How many people had to be evacuated?",    # no topic of its own
        "Who had to pay the bill?",
        "Was geschah dort gestern?",               # a period, but it points back
        "Was geschah dann?",
        "Wie viele starben bei seinem Angriff?",   # nothing named before the possessive
        "How close to Berlin did his troops get?",  # a preposition's object owns nothing
        "Wie nah kamen seine Truppen an Berlin heran?",  # the possessive before the name
        "How did the Graz city council react to the news?",  # the news: what was said
        "Wie reagierte die Stadt Graz auf die Nachricht?",
        "Was sagte der Bürgermeister von Graz nach der Nachricht vom Brand?",
        "Why did the one from Kiel lose?",         # "the one": of those just named
        "Übrigens, wann ist sie zurückgetreten?",  # an aside that still refers back
        "By the way, why?",
        "How long did it take?",                   # "it" with no "to"/"for" after it
    ],
)
def test_follow_ups_depend_on_the_conversation(question):
    assert decide(question).dependent


@pytest.mark.parametrize(
    "question",
    [
        "Wer gewann 2014 die Wahl in Hamburg?",
        "How many people live in Graz?",
        "Gibt es in Bremen eine U-Bahn?",          # expletive es
        "Was ist das Ziel der Reform?",            # das + noun
        "Wer streifte 2006 durch das deutsch-österreichische Grenzgebiet?",  # das + adj + noun
        "Was kostete das neue große Stadion?",
        "Who said that the bridge is unsafe?",     # that starts a clause
        "Wie hoch ist der Fernsehturm?",           # short, but names its topic
        "Sie haben eine Frage: Wie alt ist der Kölner Dom?",  # formal Sie
        "Neues Thema: Wer ist Bürgermeister von Graz?",
        "Ganz andere Frage: wie viele Einwohner hat er?",   # announced new topic wins
        "Different topic: who won the cup?",
        "On another note, what is the capital of Peru?",
        "How many ferries were there in Kiel in 2005?",  # existential there
        "How many people had to leave Kiel?",      # names its topic
        "Was passierte gestern?",                  # asks what happened in a period
        "What happened last week?",
        "Was war im Sommer 2010 los?",
        "Was sagte Merkel in ihrer Rede in Graz?",  # the possessive's owner named before it
        "Welche Geschenke brachte Obama seinem Gastgeber mit?",
        "Why did Obama cancel his trip to Graz?",
        "Was schreibt die Polizei in ihrem Bericht?",
        "Um wie viel Prozent will die Stadt Graz ihren Verbrauch senken?",
        "What was the news about the Graz city council in 2005?",  # news naming its topic
        "Was war die Nachricht über den Brand in Graz?",
        "Übrigens, wie viele Brücken hat Venedig?",  # an aside: a new topic
        "By the way, how tall is the tower in Graz?",
        "By the way, how many strings does a violin have?",  # few words, but its own
        "Off-topic: who won the cup?",
        "Unrelated, but when was the bridge in Kiel built?",
        "How long does it take to fly from Kiel to Graz?",  # "it" with no referent
    ],
)
def test_standalone_questions_and_new_topics_do_not(question):
    assert not decide(question).dependent


def test_reason_is_given():
    assert "Und" in decide("Und wann?").reason
    assert decide("Andere Frage: Wo liegt Graz?").reason == "announces a new topic"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Ganz andere Frage: wie alt ist der Kölner Dom?", "Wie alt ist der Kölner Dom?"),
        ("Different topic - who won the cup?", "Who won the cup?"),
        ("Wer gewann? Andere Frage", "Wer gewann? Andere Frage"),  # not leading
        ("Neues Thema!", "Neues Thema!"),                          # nothing left
        ("Übrigens, wie alt ist der Kölner Dom?", "Wie alt ist der Kölner Dom?"),
        ("Unrelated, but who won the cup?", "Who won the cup?"),
        ("Off topic: who won the cup?", "Who won the cup?"),
        ("Wer gewann den Pokal?", "Wer gewann den Pokal?"),
        # spoken "was" for "etwas", as an announcement (not "what else ...?")
        ("Ganz was anderes: Wie hoch ist die Zugspitze?", "Wie hoch ist die Zugspitze?"),
        ("Was anderes hat er gesagt?", "Was anderes hat er gesagt?"),
    ],
)
def test_a_leading_new_topic_announcement_is_removed(question, expected):
    assert without_announcement(question) == expected


@pytest.mark.parametrize("question, position, rest", [
    ("Erzähl mir mehr über das erste", 1, "Erzähl mir mehr über"),
    ("Was steht im zweiten Artikel?", 2, "Was steht ?"),
    ("Und das dritte?", 3, "Und ?"),
    ("Worum geht es im letzten?", -1, "Worum geht es ?"),
    ("Wie viele Menschen starben beim zweiten?", 2, "Wie viele Menschen starben ?"),
    ("Tell me more about the first one", 1, "Tell me more about"),
    ("What does the second article say?", 2, "What does say?"),
    ("What about the last?", -1, "What about ?"),
    ("Mehr zu Nummer 4", 4, "Mehr zu"),
    ("Tell me about [2]", 2, "Tell me about"),
])
def test_a_position_in_a_list(question, position, rest):
    assert ordinal_reference(question) == (position, rest)


@pytest.mark.parametrize("question", [
    "Wer war der erste Mensch auf dem Mond?",  # an ordinal before a noun
    "Was war das erste Tor?",
    "Who was the first man on the moon?",
    "When was the last election?",
    "Wie viele Menschen starben?",
])
def test_no_position_in_a_list(question):
    assert ordinal_reference(question) is None


def test_asks_only_for_more():
    assert asks_for_more("Erzähl mir mehr über") and asks_for_more("Tell me more about")
    assert asks_for_more("Und ?") and asks_for_more("")
    assert not asks_for_more("Wie viele Menschen starben ?")
    assert not asks_for_more("Who was arrested?")
