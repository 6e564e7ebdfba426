"""Does a question depend on the conversation? A deliberate, rule-based decision.

A question *depends* on the earlier turns when it refers back to them: a personal or
demonstrative pronoun or adverb without its referent ("Wie ist er gestorben?", "Where
was Putin when it happened?", "Und wann war das?"), "the news" / "die Nachricht" of what
was just said ("How did the White House react to the news?"), a leading conjunction that
continues the previous question ("Und wie viele ...?", "And why?"), or too few content
words and no name or noun of its own to stand alone ("Why?", "Warum genau?"). A
possessive after a name of the question points at that name ("Was sagte Merkel in ihrer
Rede?"), not back. It starts a *new topic* when it says so ("Andere Frage: ...", "Different
topic: ...", "Off topic: ...", or an aside, "Übrigens, ..." / "By the way, ...", whose rest
does not refer back): then the conversation is not used at all, so a new topic never inherits
the old answer. A question with none of these signs *stands alone* by its words (so does
one that asks only what happened in a period: "Was passierte gestern?"); it may still
refer back by a definite description ("Wer saß in der Maschine?"), which the pipeline
decides by what each reading finds (:meth:`rag.pipeline.Pipeline.ask`,
``implicit_followup_margin``), or by its words when it names nothing specific
(:func:`rag.chat.context.names_nothing_specific`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..answer.digest import asks_what_happened
from ..retrieve.timefilter import without_period

#: A word; hyphenated compounds ("deutsch-österreichische") are one word.
_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)

#: Words that point back to something said before (lower case; German ``sie``/``es``
#: and ``das``/``that``/``this`` need context and are handled in :func:`decide`).
_ANAPHORA = frozenset({
    # German personal/possessive/demonstrative pronouns and pronominal adverbs
    "er", "ihm", "ihn", "ihnen", "ihr", "ihre", "ihren", "ihrem", "ihrer", "ihres",
    "sein", "seine", "seinen", "seinem", "seiner", "seines", "dessen", "deren",
    "dies", "diese", "dieser", "dieses", "diesem", "diesen", "jene", "jener", "jenes",
    "jenem", "jenen", "derselbe", "dieselbe", "dasselbe", "dort", "dorthin", "dorther",
    "damals", "dabei", "dafür", "dagegen", "daher", "davon", "dazu", "darüber", "darauf",
    "daran", "darin", "danach", "davor", "deshalb", "deswegen", "dadurch", "daraus",
    "darunter", "dahinter", "daneben", "dazwischen",
    # English personal/possessive/demonstrative pronouns and adverbs
    "he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "hers",
    "theirs", "these", "those", "there", "then", "former", "latter",
})
#: A question that starts with one of these continues the previous one.
_CONTINUATIONS = frozenset({
    "und", "aber", "also", "oder", "sondern", "außerdem", "sonst", "auch", "dann",
    "and", "but", "so", "or", "then",
})
#: Words after which English "that"/"this" starts a clause, i.e. is not a pronoun.
_CLAUSE_STARTS = frozenset({
    "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "his", "her", "their",
    "its", "there", "this", "that", "these", "those", "some", "all", "no", "every",
})
#: Question words and fillers that carry no topic (a question of only these and at most
#: two other words cannot stand alone).
_NON_CONTENT = frozenset({
    "wer", "wen", "wem", "wessen", "was", "wann", "wo", "woher", "wohin", "wie", "warum",
    "wieso", "weshalb", "weswegen", "welche", "welcher", "welches", "welchen", "welchem",
    "viele", "viel", "ist", "war", "sind", "waren", "hat", "hatte", "wird", "wurde", "denn",
    "genau", "noch", "eigentlich", "bitte", "und", "dann", "der", "die", "das", "den", "dem",
    "ein", "eine", "es", "sie",
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which", "many", "much",
    "is", "are", "were", "did", "does", "do", "has", "had", "and", "the", "a", "an",
    "exactly", "then", "so", "of", "about", "please", "really",
    # English auxiliaries and function words ("How many people had to be evacuated?")
    "as", "at", "be", "been", "being", "by", "can", "could", "for", "have", "if",
    "in", "into", "may", "might", "must", "on", "shall", "should", "to", "will",
    "with", "would",
})
#: Explicit announcements of a new topic.
_NEW_TOPIC = re.compile(
    r"\b(ganz\s+)?(andere[rsn]?|neue[rsn]?)\s+(frage|thema|themas)\b"
    r"|\bthemenwechsel\b|\bunabhängig\s+davon\b|\betwas\s+(ganz\s+)?anderes\b"
    r"|\b(ganz\s+)?was\s+(ganz\s+)?anderes\s*[:,;!.–-]"
    r"|\b(a\s+)?(different|other|another|new|unrelated|separate)\s+(topic|question|subject)\b"
    r"|\bchang(e|ing)\s+(of\s+)?(the\s+)?(topic|subject)\b|\bsomething\s+else\b"
    r"|\bon\s+another\s+note\b|\boff[\s-]topic\b|^\W*(?:completely\s+|totally\s+)?unrelated\b",
    re.IGNORECASE,
)
#: An aside at the start ("By the way, ...", "Übrigens, ..."): a new topic unless the rest
#: refers back ("Übrigens, wann ist er zurückgetreten?").
_ASIDE = re.compile(
    r"^\W*(?:(?:ach|oh|and|und)\s+)?(?:by\s+the\s+way|btw|incidentally|übrigens|nebenbei"
    r"(?:\s+(?:gefragt|bemerkt))?)\b[\s,.:;!–-]*",
    re.IGNORECASE,
)
#: "The news" / "die Nachricht" of a conversation is what it just talked about ("How did
#: the White House react to the news?", "Wie reagierte Merkel auf die Nachricht?"; not
#: "the news about Borgward", which names its own topic).
_THE_NEWS = re.compile(r"\b(?:(?:the|this|that)\s+news|(?:die|der)\s+nachricht(?:en)?)\b"
                       r"(?!\s+(?:about|on|regarding|concerning|über|zu|zum|zur)\b)",
                       re.IGNORECASE)
#: "Es" in "gibt es"/"es gibt" is not a pronoun.
_EXPLETIVE_ES = frozenset({"gibt", "gab"})
#: Possessive pronouns, which often point at a name earlier in the same question
#: ("Was kündigte Putin in seinem Telegramm an?"; not "ihr" or "her", also personal).
_POSSESSIVE = frozenset({
    "sein", "seine", "seinen", "seinem", "seiner", "seines", "ihre", "ihren", "ihrem",
    "ihrer", "ihres", "his", "its", "their",
})
#: A capitalised word right after one of these is not a possessive's owner ("to Moscow").
_PREPOSITIONS = frozenset({
    "in", "im", "ins", "an", "am", "auf", "aus", "bei", "beim", "mit", "nach", "von", "vom",
    "vor", "zu", "zum", "zur", "über", "unter", "für", "gegen", "durch", "um", "seit", "bis",
    "to", "from", "at", "on", "of", "for", "with", "by", "into", "near", "about", "after",
    "before", "since", "until",
})
#: "but" / "aber" right after an announcement ("Unrelated, but how ...?").
_BUT = re.compile(r"^(?:but|aber)\b[\s,]*", re.IGNORECASE)
#: "it" with no referent: "how long does it take (for a duck egg) to hatch".
_IT_TAKES = re.compile(r"(?:take|takes|took|taken)\b.*\b(?:to|for)\b")
#: "There" next to a form of "to be" ("were there", "there is") is not a place.
_BE = frozenset({"is", "are", "was", "were", "be", "been", "will", "'s"})


#: Endings of an inflected German adjective ("das neue ...", "das deutsch-österreichische ...").
_ADJECTIVE_ENDINGS = ("e", "en", "er", "es", "em")
#: Words after "das" that make it a pronoun although they end like an adjective.
_NOT_ADJECTIVES = frozenset({
    "ein", "eine", "einen", "einem", "einer", "eines", "kein", "keine", "keinen", "keinem",
    "keiner", "keines", "denn", "schon", "wieder", "immer", "eher", "sehr", "aber", "oder",
    "später", "früher", "wer", "wie", "wo", "was",
})


def _before_noun(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` (an article such as "das") is followed by its noun: a
    capitalised word, directly or after inflected adjectives ("das neue Stadion")."""
    for word in words[i + 1 : i + 4]:
        if word[:1].isupper():
            return True
        low = word.lower()
        if low in _NOT_ADJECTIVES or not low.endswith(_ADJECTIVE_ENDINGS):
            return False
    return False


#: :attr:`Decision.reason` of a question with too few words of its own.
_TOO_SHORT = "too short to stand alone"
#: :attr:`Decision.reason` of a question with no sign of referring back that does not
#: announce a new topic either.
STANDS_ALONE = "stands alone"


@dataclass(frozen=True)
class Decision:
    """Whether a question depends on the conversation, and why (for logs and tests)."""

    dependent: bool
    reason: str


def without_announcement(question: str) -> str:
    """``question`` without a leading new-topic announcement ("Andere Frage: Wer ...?" ->
    "Wer ...?"); unchanged when it has none or nothing would be left."""
    match = _NEW_TOPIC.search(question) or _ASIDE.search(question)
    if not match or question[: match.start()].strip(" ,.:;-–!"):
        return question
    rest = _BUT.sub("", question[match.end():].lstrip(" ,.:;-–!"))
    return rest[:1].upper() + rest[1:] if any(c.isalnum() for c in rest) else question


def content_words(question: str) -> list[str]:
    """The words of ``question`` that can carry its topic."""
    return [w for w in _WORD.findall(question) if w.lower() not in _NON_CONTENT]


def _owner_before(words: list[str], lower: list[str], i: int) -> bool:
    """Whether a word before the possessive ``words[i]`` is capitalised (not the
    question's first word) and not the object of a preposition: its owner ("Putin in
    seinem Telegramm", "die EU ... ihren Ausstoß"; not "to Moscow did his")."""
    return any(words[j][:1].isupper() and lower[j - 1] not in _PREPOSITIONS
               for j in range(1, i))


def decide(question: str) -> Decision:
    """Whether ``question`` refers back to earlier turns (see the module docstring)."""
    if _NEW_TOPIC.search(question):
        return Decision(False, "announces a new topic")
    if aside := _ASIDE.search(question):
        rest = question[aside.end():]
        decision = decide(rest)  # a few words of its own are enough after an aside
        if decision.dependent and not (decision.reason == _TOO_SHORT and content_words(rest)):
            return decision
        return Decision(False, "announces a new topic")
    words = _WORD.findall(question)
    if not words:
        return Decision(False, "no words")
    lower = [w.lower() for w in words]
    if lower[0] in _CONTINUATIONS or " ".join(lower[:2]) in ("what about", "how about",
                                                             "was ist mit", "wie ist es mit"):
        return Decision(True, f"continues the previous question ({words[0]!r})")
    for i, (word, low) in enumerate(zip(words, lower)):
        following = words[i + 1] if i + 1 < len(words) else None
        if low == "there" and _BE & set(lower[max(0, i - 1): i + 2]):
            continue
        if low in _POSSESSIVE and _owner_before(words, lower, i):
            continue  # its owner named before it in the question: the words decide
        if low == "it" and _IT_TAKES.match(" ".join(lower[i + 1:])):
            continue  # "How long does it take to ...": no referent
        if low in ("one", "ones") and i and lower[i - 1] in ("the", "that", "this", "those"):
            return Decision(True, f"refers back ({words[i - 1]} {word!r})")  # "the one in 1415"
        if low in _ANAPHORA:
            return Decision(True, f"refers back ({word!r})")
        if word == "sie":  # lower-case "sie" (she/they); capitalised "Sie" is formal "you"
            return Decision(True, "refers back ('sie')")
        if low == "es" and not _EXPLETIVE_ES & set(lower[max(0, i - 1): i + 2]):
            return Decision(True, "refers back ('es')")
        if low == "das" and not _before_noun(words, i):
            return Decision(True, "refers back ('das' without a noun)")
        if low in ("that", "this") and (following is None
                                         or following.lower() not in _CLAUSE_STARTS):
            return Decision(True, f"refers back ({word!r})")
    if news := _THE_NEWS.search(question):
        return Decision(True, f"refers back ({news.group(0)!r})")
    undated = without_period(question)
    if undated != question and asks_what_happened(undated):
        return Decision(False, "asks what happened in a period")
    content = content_words(question)
    named = any(w[:1].isupper() or w[:1].isdigit() for w in content if w != words[0])
    if len(content) <= 2 and not named:
        return Decision(True, _TOO_SHORT)
    return Decision(False, STANDS_ALONE)


#: Ordinal words (German stems, English words) and the list position they name (-1: last).
_ORDINALS = {
    "erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "fünft": 5, "sechst": 6, "siebt": 7,
    "acht": 8, "neunt": 9, "zehnt": 10, "letzt": -1,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}
_ITEM = (r"(?:artikel|bericht|beitrag|meldung|eintrag|punkt|quelle|text|link|one|article|"
         r"story|report|item|source|piece|result)\w*")
#: "das erste", "im zweiten Artikel", "beim letzten" - not "der erste Mensch" (a noun).
_ORDINAL_DE = re.compile(
    r"\b(?:de[rnms]|das|die|im|zum|vom|beim)\s+(erst|zweit|dritt|viert|fünft|sechst|siebt|"
    rf"acht|neunt|zehnt|letzt)(?:e[nmrs]?)\b(?:\s+{_ITEM}\b)?(?!\s+(?-i:[A-ZÄÖÜ]))",
    re.IGNORECASE)
#: "the first one", "the second article", "the last?" - not "the first man" (a noun).
_ORDINAL_EN = re.compile(
    r"\bthe\s+(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\b"
    rf"(?:\s+{_ITEM}\b|(?=\s*(?:[?.!,;:]|$|(?:about|say|says|said|mean|cover|covers|"
    r"report|reports)\b)))", re.IGNORECASE)
#: "Nummer 2", "Nr. 2", "number 2", "#2", "[2]", "Artikel 2", "article 2".
_NUMBERED = re.compile(
    r"(?:\b(?:nummer|nr\.?|number|no\.|artikel|article|quelle|source|eintrag|item)\s*|#|\[)"
    r"(\d{1,2})\]?", re.IGNORECASE)


def ordinal_reference(question: str) -> tuple[int, str] | None:
    """The position in a list that ``question`` points at ("Erzähl mir mehr über das
    erste" -> 1, "Was steht im letzten Artikel?" -> -1, "Tell me more about number 3" ->
    3) and the question without those words; ``None`` when it names none. Only meaningful
    after an answer that listed articles (:func:`rag.chat.context.listed_articles`)."""
    for pattern in (_ORDINAL_DE, _ORDINAL_EN, _NUMBERED):
        match = pattern.search(question)
        if match:
            word = match.group(1).lower()
            n = int(word) if word.isdigit() else _ORDINALS[word]
            rest = " ".join((question[: match.start()] + " " + question[match.end():]).split())
            return (n, rest) if n else None
    return None


#: Words of a question that asks only for more about an article ("Erzähl mir mehr über das
#: erste", "Worum geht es im zweiten?", "Tell me more about the third one").
_MORE = frozenset({
    "erzähl", "erzähle", "erzählen", "mir", "uns", "mehr", "über", "dazu", "davon", "darüber",
    "was", "steht", "stand", "drin", "darin", "in", "im", "worum", "geht", "ging", "es",
    "genau", "bitte", "fasse", "fass", "zusammen", "zusammenfassung", "details", "einzelheiten",
    "zeig", "zeige", "den", "die", "das", "der", "dem", "und", "noch", "ist", "sagt", "inhalt",
    "tell", "me", "us", "more", "about", "what", "does", "did", "say", "says", "is", "it",
    "summarize", "summarise", "summary", "please", "the", "on", "and", "show", "give",
    "of", "its", "content", "contents", "with", "go", "into", "detail", "zu", "zum",
})


def asks_for_more(question: str) -> bool:
    """Whether ``question`` (without its list position) asks only for more about the
    article, nothing in particular."""
    return all(w.lower() in _MORE for w in _WORD.findall(question))
