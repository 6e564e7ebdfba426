"""The extractive answerer: the sentence(s) of the retrieved passages that answer, quoted
exactly with their citation numbers, both statements when sources disagree."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from ..retrieve import Retriever, article_chunks
from ..retrieve.search import sentence_relevance
from ..retrieve.spelling import term_forms
from ..settings import AnswerSettings
from ..store.index import Index
from ..store.keywords import KeywordStore
from ..text.facts import MONTHS, WEEKDAYS
from ..text.names import named_places
from ..text.persons import names_person
from ..text.sentences import POINTS_BACK_IN_ANSWER
from ..text.terms import (
    ARTICLE_WORDS,
    acronyms,
    anchor_terms,
    compound_terms,
    nouns,
    occurs,
    question_terms,
    tokenize,
)
from ..types import Answer, DocMeta, Source, StoredChunk
from .base import NOT_FOUND, Evidence
from .metadata import asked_field, field_answer

DISAGREE = {
    "de": "Die Quellen machen dazu unterschiedliche Angaben:",
    "en": "The sources disagree on this:",
}
#: "When" that asks for a time: German "wann" anywhere; English "when" as the question's
#: first word (after "and", "but", "since", "until", ...) or after a verb that embeds a
#: question ("Do you know when ...", "Tell me when ..."), not as a conjunction ("Which
#: countries abstained when the council voted?"); "which year", "in welchem Jahr".
_WHICH_YEAR = r"\b(?:what|which)\s+year\b|\bwelche[mns]?\s+jahr"
#: A question for a date: when, which year, and the day, date or month ("On what date",
#: "which day of the week", "An welchem Tag", "Für welches Datum", "in welchem Monat").
_WHEN = (r"\bwann\b|(?:^|[,;:]\s*)(?:(?:and|but|so|or|since|until|till)\s+)?when\b"
         r"|\b(?:know|knows|tell(?:\s+(?:me|us))?|say|remember|find\s+out|ask|asked)\s+when\b"
         r"|\b(?:what|which)\s+(?:date|day|month)\b|\bwelche[mnrs]?\s+(?:tag|datum|monat)\b"
         rf"|{_WHICH_YEAR}")
_ASKS_NUMBER = re.compile(
    rf"\b(?:how (?:many|much|old|far|long|often|high|large|big|strong|heavy|expensive|tall"
    rf"|wide|deep|fast|hot|cold)"
    rf"|wie ?viele?|wie (?:alt|weit|lange|oft|hoch|groß|stark|schwer|teuer|breit|tief|schnell"
    rf"|heiß|kalt)"
    rf"|what (?:share|percentage|proportion)|welche[nrs]? (?:anteil|prozentsatz)"
    rf"|was (?:kostet|kosten|kostete|kosteten)|what (?:does|did|do|will) \w+(?: \w+)? cost)\b"
    rf"|{_WHEN}",
    re.IGNORECASE,
)
_ASKS_YEAR = re.compile(_WHEN, re.IGNORECASE)
#: Questions for a reason or a purpose, and sentences that give one.
_ASKS_REASON = re.compile(
    r"\b(warum|wieso|weshalb|weswegen|wozu|aus welchem grund|why|how come|for what reason|"
    r"what for)\b", re.IGNORECASE)
_REASON = re.compile(
    r"\b(weil|denn|deshalb|daher|deswegen|darum|wegen|aufgrund|angesichts|zumal|sodass|"
    r"um\b[^.?!]{1,80}\bzu|because|since|due to|as a result|in order to|so that)\b"
    r"|(?:^|[,;:]\s*)da\b", re.IGNORECASE)
#: Questions for what someone calls something (answered best by the quoted words).
_ASKS_TERM = re.compile(
    r"\b(bezeichne\w*|bezeichnet|nenn\w*|nannte\w*|genannt|begriff\w*|ausdruck|"
    r"call(?:s|ed)?|term|describe[sd]?|word)\b", re.IGNORECASE)
#: Questions for who took a picture, and the credit lines that answer them: "Name / Agency"
#: on a line of its own, "Foto: ...", "(Bild: dpa)".
_ASKS_CREDIT = re.compile(
    r"\b(?:wer|who|whose|von wem|by whom)\b(?=.*\b(?:foto|bild|aufnahme|photo|picture|image)"
    r"\w*)(?=.*\b(?:took|taken|take|shot|made|fotografiert\w*|aufgenommen|gemacht|"
    r"geschossen|stamm\w*)\b)|\b(?:fotograf\w*|photographer\w*|bildnachweis\w*|"
    r"bildquelle\w*|(?:photo|image|picture) credits?)\b", re.IGNORECASE)
_CREDIT_LINE = re.compile(
    r"(?:(?:Fotos?|Bilder|Bild|Photos?|Images?|Bildquelle|Quelle|Credit)\s*:\s*\S.{0,60}"
    r"|[A-ZÄÖÜ][\w.'’-]*(?:\s+[A-ZÄÖÜ][\w.'’-]*){0,3}\s*/\s*[A-Z][\w.&-]*"
    r"(?:\s+[A-Z][\w.&-]*){0,2})")
_CREDIT_INLINE = re.compile(r"\((?:Fotos?|Bild|Photos?)\s*:\s*[^)]{2,60}\)")
#: A follow-up that asks for more ("Und was noch?", "Wer sonst noch?", "What else?"): only
#: what was not said answers it.
_ASKS_MORE = re.compile(
    r"\b(?:was|wer|wo|wie)\s+(?:sonst\s+)?noch\b|\bsonst noch\b|\bmehr (?:dazu|darüber)\b"
    r"|\b(?:what|who|where|which|anything|something)\s+else\b|\btell (?:me|us) more\b",
    re.IGNORECASE)
_QUOTE = re.compile(r"[„“”\"»«‚‘]")
_YEAR = re.compile(r"(?<!\d)(?:1[5-9]\d\d|20\d\d)(?!\d)")
#: Month names written out (not "Jan" or "may", an English verb), for :data:`_TIME`.
_MONTH_NAMES = sorted({m for m in MONTHS if len(m) > 3} | {"mai"}, key=len, reverse=True)
_MONTH = "|".join(_MONTH_NAMES)
_WEEKDAY = "|".join(sorted(WEEKDAYS))
#: A day of a month: "20. Juli", "4.3." (German), "July 20th" (English).
_DAY_OF_MONTH = rf"\b\d{{1,2}}\.\s?(?:(?:{_MONTH})\b|\d{{1,2}}\.)"
_MONTH_AND_DAY = rf"\b(?:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
#: What answers "when": a year, a date, a month, a weekday or a time relative to the article
#: (not any number: "Kanon 332").
_TIME = re.compile(
    _YEAR.pattern + rf"|\b\d{{1,2}}\.\s?\d{{1,2}}\.|\b(?:{_MONTH})s?\b"
    rf"|\b(?:{_WEEKDAY})(?:s|morgen|abend|nachmittag|vormittag|mittag"
    r"|nacht)?\b"
    # a time relative to the article: "in circa zehn bis fünfzehn Jahren", "vor einem Jahr"
    r"|\b(?:in|innerhalb(?:\s+von)?|binnen|nach|vor|within|after)\s+(?:(?:circa|ca\."
    r"|etwa|rund|gut|knapp|about|around|some)\s+)?(?:\d+|[a-zäöüß]+)(?:\s+(?:bis|oder|to"
    r"|or)\s+(?:\d+|[a-zäöüß]+))?\s+(?:jahr|monat|woche|tag|stunde|year|month|week|day"
    r"|hour)",
    re.IGNORECASE)
#: Questions for a count or an amount ("how much", "wie viel", "wie hoch", "wie teuer"),
#: or for a year, and what an answer to them must hold: a number (digits or a number
#: word, also starting a compound adjective: "vierköpfig"), a year.
_ASKS_COUNT = re.compile(
    r"\b(?:how (?:many|much|high|expensive)|wie ?viele?|wie (?:hoch|teuer))\b", re.IGNORECASE)
_ASKS_YEAR_ONLY = re.compile(_WHICH_YEAR, re.IGNORECASE)
_COUNT = re.compile(
    r"\d|\b(?:(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf)\w+ig(?:e[nmrs]?)?"
    r"|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|(?:drei|vier|fünf"
    r"|sech|sieb|acht|neun)zehn|zwanzig|dreißig|(?:vier|fünf|sech|sieb|acht|neun)zig"
    r"|\w*hundert\w*|\w*tausend\w*|dutzend\w*|\w*million\w*|\w*milliard\w*|beide[n]?"
    r"|mehrere[n]?|zahlreiche[n]?|hälfte|\w+drittel|\w*viertel|\w+fache[n]?|prozent"
    r"|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six"
    r"|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty"
    r"|hundreds?|thousands?|millions?|billions?|dozens?|both|several|half)\b",
    re.IGNORECASE,
)
#: Questions for an age, and what an answer to them must hold: a number of years ("39
#: Jahre", "84-jährigen", "515 Millionen Jahren", "25 years"), an age in brackets after a
#: name ("Anton Geiser (84)"), an age written out ("Siebzigjährige"), "Alter", or when
#: someone was born or something built ("1905 erbaut").
_ASKS_AGE = re.compile(r"\b(?:how old|wie alt|(?:at )?what age|in welchem alter)\b",
                       re.IGNORECASE)
_AGE = re.compile(
    r"\d\s*(?:(?:millionen|milliarden|mio\.|mrd\.)\s*)?[-–]?\s*(?:jährig|jahr|years?\b)"
    r"|\w+jährig|\balter\b|\baged?\b|\(\d{1,3}\)"
    r"|\b(?:geb\.|geboren|born|erbaut|gebaut|gegründet|built|founded)",
    re.IGNORECASE,
)
#: Questions for the name of a person: "Wie hieß der Kleinbusfahrer ...?" (a masculine
#: noun of a person's ending: -er, -eur, -ent, -ant, -ist, -e, -at, -or, -ling, or a word
#: for a person: Mann, Frau, Kind, Opfer, Arzt ...; a feminine one in -in; their plurals),
#: "What is the name of the mayor ...?", "What was his / the man's / that extremist's
#: name?".
#: An answer to them names a person (:func:`~rag.text.persons.names_person`).
_NAME_VERB = r"wie (?:hie(?:ß|ss)|hei(?:ß|ss)t|lautet(?:e)? der name)"
_EN_PERSON = (
    r"(?:(?-i:(?=[a-z]))\w*(?:er|or|ist|ian|ent|ant|ee|man|woman|person|men|women|people|ers"
    r"|ors|ists|ians|ents|ants|ees)|judge|chief|mayor|wife|husband|son|daughter|mother"
    r"|father|child|children|boy|girl|victim|pilot|captain|coach|bishop|pope|king|queen"
    r"|prince|princess|minister|official|officer)")
_ASKS_PERSON = re.compile(
    rf"\b{_NAME_VERB} (?:der|des) (?:[\w.-]+ ){{0,4}}?"
    r"(?-i:[A-ZÄÖÜ])\w*(?:er|eur|ent|ant|ist|e|at|or|ling)\b"
    rf"|\b{_NAME_VERB} (?:die|der) (?:[\w.-]+ ){{0,4}}?(?-i:[A-ZÄÖÜ])\w*in\b"
    rf"|\b{_NAME_VERB} (?:der|die|das|des) (?:[\w.-]+ ){{0,4}}?(?-i:[A-ZÄÖÜ]\w*)?(?:mann"
    r"|frau|kind|mädchen|person|mensch|opfer|sohn|chef|star|held|gast|arzt|anwalt|graf|prinz"
    r"|pilot|bischof|kapitän|kommissar|papst|witwe|baby)\b"
    r"|\bwie (?:hie(?:ß|ss)en|hei(?:ß|ss)en|lauten die namen) (?:die|der) (?:[\w.-]+ ){0,4}?"
    r"(?-i:[A-ZÄÖÜ])\w*(?:er|eure|enten|anten|isten|en|innen|aten|oren|linge)\b"
    r"|\bwhat (?:was|is|were|are) the names? of (?:the|a|an|its|their|his|her|that|this) "
    rf"(?:[\w.'’-]+ ){{0,4}}?{_EN_PERSON}\b"
    rf"|\bwhat (?:was|is) (?:his|her|(?:the|that|this) (?:[\w-]+ ){{0,2}}?{_EN_PERSON}(?:'s|’s))"
    r" name\b", re.IGNORECASE)
#: A sentence that says what someone is called ("werden ... Guru genannt").
_NAMING = re.compile(r"\b(?:genannt|namens|(?<!das )(?<!dies )hei(?:ß|ss)(?:t|en)"
                     r"|hie(?:ß|ss)(?:en)?|nannten?|bezeichnet|called|named)\b", re.IGNORECASE)
#: Questions for a share, and what an answer to them must hold: a percentage or a fraction.
_ASKS_SHARE = re.compile(
    r"\b(?:(?:what|which) (?:percentage|share|proportion)|how many percent"
    r"|wie ?viele? prozent|welche[nmr]? (?:anteil|prozentsatz))\b", re.IGNORECASE)
_SHARE = re.compile(r"%|prozent|percent|hälfte|half|drittel|third|viertel|quarter|fünftel"
                    r"|zehntel", re.IGNORECASE)
#: Questions for a sum of money ("how much money / prize money", "wie viel verdienen",
#: "wie hoch war der Schaden", "was kostet", "what price"; not "wie viele" or "how many",
#: a count), and what an answer to them must hold: a currency, or a percentage (a price
#: that rose "um 500 Prozent").
_ASKS_SUM = re.compile(
    r"\b(?:how (?:much|expensive)|wie ?viel|wie (?:hoch|teuer)|was kostet"
    r"|what (?:\w+ )*?(?:price|cost)s?|welche[nrs]? (?:preis|betrag|summe))\b", re.IGNORECASE)
_MONEY_WORD = re.compile(
    r"\b(?:costs?|costing|prices?|priced|prize money|salary|salaries|pension|paid|pays?"
    r"|earn\w*|revenue|fined?|fines|budget|fees?|wages?|compensation|money|damages|funding"
    r"|ransom|bail|spend|spent|invest\w*|loans?|debts?|subsid\w*"
    r"|(?:ge)?kost(?:et|en|ete|eten)?|preis|preise|\w*geld|gehalt|gehälter|lohn|löhne|rente"
    r"|(?:ge)?verdien\w*|bezahl\w*|(?:ge)?zahl(?:t|en|te|ten)|ausgegeben|umsatz|gewinn"
    r"|verlust|etat|\w*strafe|gebühr\w*|entschädigung\w*|schaden|summe|betrag|subvention\w*"
    r"|\w*kredite?n?|darlehen|schulden|kaution|euro"
    r"|dollar|franken)\b",
    re.IGNORECASE)
_MONEY = re.compile(
    r"[€$£¥]|\b(?:euro|eur|\w*dollar\w*|pfund|franken|mark|dm|usd|chf|rubel|yen|yuan|kronen"
    r"|cent|rupien|pesos?|lira|zloty)\b|prozent|percent|%", re.IGNORECASE)
#: Questions for a temperature ("at what temperature", "wie heiß", "boiling point"), and
#: what an answer to one must hold: a degree sign or a word for degrees.
_ASKS_TEMPERATURE = re.compile(
    r"\b(?:(?:what|which|welche[rnms]?|how high|how low|wie hoch|wie niedrig)\s+(?:[\w-]+\s+){0,4}"
    r"temperatur\w*|how (?:hot|cold|warm)\b|wie (?:heiß|heiss|kalt|warm)\b"
    r"|boiling point|melting point|freezing point|siedepunkt|schmelzpunkt|gefrierpunkt"
    r"|in (?:degrees|grad)\b)", re.IGNORECASE)
_TEMPERATURE = re.compile(r"°|\b(?:grad|degrees?|celsius|fahrenheit|kelvin)\b", re.IGNORECASE)
#: Questions for a span of time in a unit ("how many years", "wie viele Monate"), and the
#: units' words, one of which an answer must hold with a number before it ("zehn Monate",
#: "seit 20 Jahren", "zehnmonatigen"); the asked unit is the one its word starts with.
_ASKS_SPAN = re.compile(
    r"\b(?:how many|wie ?viele)\s+(?:\w+\s+)?(years?|months?|weeks?|days?|hours?|minutes?"
    r"|jahre|monate|wochen|tage|stunden|minuten)\b", re.IGNORECASE)
_SPAN_UNITS = ("jahr|jähr|year", "monat|month", "woche|wöch|week", "tag|tägig|day",
               "stunde|stünd|hour", "minute")
#: Questions for a day ("On what date", "which day", "An welchem Tag", "welches Datum"),
#: and what answers them: a day of a month or a weekday, not a year alone.
_ASKS_DAY = re.compile(r"\b(?:what|which)\s+(?:date|day)\b|\bwelche[mnrs]?\s+(?:tag|datum)\b",
                       re.IGNORECASE)
_DAY = re.compile(rf"{_DAY_OF_MONTH}|{_MONTH_AND_DAY}|\b(?:{_WEEKDAY})\b", re.IGNORECASE)
#: A date or a clock time ("13. Februar 2006", "24.1.2005", "15:15 Uhr", "Mai 2023"):
#: its digits are not an amount (a size, a count, an age).
_DATE_OR_TIME = re.compile(
    rf"{_DAY_OF_MONTH}(?:\s?\d{{2,4}}\b)?|{_MONTH_AND_DAY}(?:,?\s+\d{{4}}\b)?"
    rf"|\b(?:{_MONTH})\s+\d{{4}}\b"
    r"|\b\d{1,2}[:.]\d{2}\s?(?:Uhr\b|h\b|[ap]\.?m\.?)", re.IGNORECASE)
_CITED = re.compile(r"\s*\[\d+\]")
#: Closing quotes and brackets after a sentence's final punctuation.
_CLOSING = "\"'“”»«‘’)] "


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer the question."""

    source: int  # index into the sources list
    span: tuple[int, int]
    text: str
    score: float
    #: From one of the passages the answer is taken from (not only checked for conflicts).
    primary: bool = True
    #: The article's first line when it is a headline, not a sentence (no full stop).
    heading: bool = False


def term_support(
    question: str, passage: str, keywords: KeywordStore, lang: str = "de"
) -> float:
    """The share of a question's terms that ``passage`` contains (German: its
    :func:`~rag.text.terms.question_terms`; English: its names and numbers,
    :func:`~rag.text.terms.anchor_terms`, the words that survive translation, also in
    their German form: :func:`~rag.text.names.german_forms`), each
    weighted by its rarity ``log((n + 1) / (df + 0.5))`` among the ``n`` chunks of
    ``keywords``; 1.0 for a question without terms.

    A term the index does not know stands for its spelling corrections
    (:func:`~rag.retrieve.spelling.correct_terms`; any of them in the passage counts).
    An unknown term without a correction counts (as the rarest) only when the question
    writes it as a name (:func:`~rag.text.terms.anchor_terms`: a name no indexed article
    mentions); otherwise it is left out as a typo or a word of no article.
    """
    present = set(tokenize(passage))
    names = set(anchor_terms(question))
    size = keywords.size
    total = shared = 0.0
    for term in question_terms(question) if lang == "de" else sorted(names):
        forms = term_forms(term, keywords, lang)  # a known term stays itself
        frequency = max(keywords.doc_freq(f) for f in forms)
        if frequency == 0 and term not in names:
            continue
        weight = math.log((size + 1) / (frequency + 0.5))
        total += weight
        if any(occurs(f, present) for f in forms):
            shared += weight
    return shared / total if total > 0 else 1.0


def names_places(places: list[frozenset[str]], index: Index, doc_id: str) -> bool:
    """Whether the article ``doc_id`` (title, byline, text) names every place of
    ``places`` (a question's, :func:`~rag.text.names.named_places`: "Tokyo" as "Tokyo" or
    "Tokio", also at the start or the end of a longer word: "Tokioter", "Westafrika"; a
    country also by its language: "chinesische")."""
    doc = index.docs[doc_id]
    texts = [doc.title or "", doc.author or "", doc.publisher or "",
             *(c.text for c in article_chunks(index, [doc_id]))]
    present = set(tokenize(" ".join(texts)))
    return all(any(occurs(form, present) or _compounded(form, present) for form in forms)
               for forms in places)


def _compounded(term: str, terms: set[str]) -> bool:
    """Whether a term of ``terms`` ends with ``term`` (five letters or more): the head of a
    German compound ("russisch" in "weissrussisch", "afrika" in "westafrika")."""
    return len(term) > 4 and any(len(t) > len(term) and t.endswith(term) for t in terms)


def make_source(
    n: int, chunk: StoredChunk, doc: DocMeta, score: float, qvec: np.ndarray | None = None
) -> Source:
    """A :class:`Source` for a retrieved chunk (with its relevance when ``qvec`` is given)."""
    relevance = None if qvec is None else round(sentence_relevance(chunk, qvec), 4)
    return Source(n, chunk.doc_id, doc.title, doc.date, doc.url, doc.publisher, chunk.text,
                  round(float(score), 4), relevance=relevance)


def rank_sentences(
    qvec: np.ndarray,
    question: str,
    lang: str,
    chunks: list[StoredChunk],
    passage_scores: list[float],
    params: AnswerSettings,
    same_article: int | None = None,
    one_article: bool = False,
) -> list[Candidate]:
    """Sentences of the retrieved passages, best answer first.

    Score = similarity of the sentence's vector to the question, plus (German) keyword
    overlap with the question (a noun also as the head of a compound: "Böen" in
    "Orkanböen"), plus the passage's own retrieval score, plus a bonus for
    numbers when the question asks for one (an amount also written out, "eintausend", not
    the digits of a date or a clock time; for "when" a year, a date, a month or a
    weekday, not any number; for "on what date" a day, not a year), for a reason ("weil",
    "denn", "because") when it asks why, for quoted words when it asks what something is
    called, minus a penalty for an article's first line (its headline or teaser: evidence
    only when nothing else is as good) and for a sentence that is a question itself.
    Sentences of the first ``passages_de`` / ``passages_en`` passages, and of the other
    passages of the first passage's article among the first ``same_article`` (default
    ``same_article_depth``), are ``primary`` (answer candidates); the others are only
    used to find disagreeing statements. With ``one_article`` only the first passage's
    article gives answer candidates.
    """
    q_terms = set(tokenize(question)) if lang == "de" else set()
    q_nouns = {s: n for s, n in nouns(question).items() if s in q_terms}
    number_bonus = params.number_bonus if asks_number(question) else 0.0
    when = asks_year(question)  # a date, not any number; an amount may be written out
    dated = _DAY if _ASKS_DAY.search(question) else _TIME  # a day asked: a year is not it
    reason_bonus = params.reason_bonus if _ASKS_REASON.search(question) else 0.0
    quote_bonus = params.quote_bonus if _ASKS_TERM.search(question) else 0.0
    credit_bonus = params.credit_bonus if _ASKS_CREDIT.search(question) else 0.0
    depth = params.passages_de if lang == "de" else params.passages_en
    same_article = params.same_article_depth if same_article is None else same_article
    out: list[Candidate] = []
    for i, chunk in enumerate(chunks):
        primary = (i < depth and (not one_article or chunk.doc_id == chunks[0].doc_id)
                   or (i < same_article and chunk.doc_id == chunks[0].doc_id))
        if not chunk.sentences:
            continue
        sims = chunk.sentence_vectors @ qvec
        for (a, b), sim in zip(chunk.sentences, sims):
            text = chunk.text[a:b]
            shared = q_terms & set(tokenize(text))
            if q_nouns and len(shared) < len(q_terms):
                shared |= compound_terms(q_nouns, text)
            overlap = len(shared) / len(q_terms) if q_terms else 0.0
            score = (float(sim) + params.lexical_weight_de * overlap
                     + params.passage_weight * passage_scores[i])
            if number_bonus and (dated.search(text) if when
                                 else _COUNT.search(_DATE_OR_TIME.sub(" ", text))):
                score += number_bonus
            if reason_bonus and _REASON.search(text):
                score += reason_bonus
            if quote_bonus and _QUOTE.search(text):
                score += quote_bonus
            if credit_bonus and is_credit(text):
                score += credit_bonus
            if text.rstrip(_CLOSING).endswith("?"):
                score -= params.question_penalty
            heading = False
            if chunk.start == 0 and a == 0:
                score -= params.headline_penalty
                heading = not text.rstrip(_CLOSING).endswith(".")
            out.append(Candidate(i, (a, b), text, score, primary, heading))
    out.sort(key=lambda c: -c.score)
    return out


def _squash(text: str) -> str:
    """``text`` with every run of whitespace one space (to find a quote in an answer)."""
    return " ".join(text.split())


def not_said_first(candidates: list[Candidate], said: str,
                   penalty: float = math.inf) -> list[Candidate]:
    """``candidates`` re-ranked for a follow-up: the sentences that ``said`` (an earlier
    answer) already quotes, and the articles' headline lines, lose ``penalty`` (``inf``:
    moved behind the others, order otherwise kept). A follow-up mostly asks for
    something new, and a headline only names the topic the conversation is already
    about; a sentence said before may still join the new one as its context. A sentence
    that ``said`` quoted only as the context of the next one (:func:`_antecedent`) does
    not count as said."""
    said = _squash(said)
    if math.isinf(penalty):
        return sorted(candidates, key=lambda c: _was_said(c, said))
    return sorted(candidates,
                  key=lambda c: -(c.score - (penalty if _was_said(c, said) else 0.0)))


def _was_said(c: Candidate, said: str) -> bool:
    """Whether ``said`` (squashed, :func:`_squash`) quotes ``c`` (not only as the context
    of the next sentence), or ``c`` is a headline line."""
    if c.heading:
        return True
    text = _squash(c.text)
    at = said.find(text)
    return at >= 0 and not POINTS_BACK_IN_ANSWER.match(said[at + len(text):].lstrip())


def naming_more(question: str, chunks: list[StoredChunk], depth: int) -> set[int]:
    """Indexes of the passages of the first passage's article among the first ``depth``
    of ``chunks`` that name a noun or an abbreviation ("GEW") of ``question`` the first
    passage does not name (also as part of a compound,
    :func:`~rag.text.terms.compound_terms`; not a month, a weekday or a word for an
    article, which date or name the article rather than the asked fact): a follow-up
    about an article whose answer stands further down it."""
    if not chunks:
        return set()
    terms = set(question_terms(question))
    asked = {stem: noun for stem, noun in (nouns(question) | acronyms(question)).items()
             if stem in terms and noun not in MONTHS and noun not in WEEKDAYS
             and not ARTICLE_WORDS.fullmatch(noun)}

    def named(chunk: StoredChunk) -> set[str]:
        return (set(tokenize(chunk.text)) & asked.keys()) | compound_terms(asked, chunk.text)

    first = named(chunks[0])
    return {i for i, chunk in enumerate(chunks[:depth]) if i > 0
            and chunk.doc_id == chunks[0].doc_id and named(chunk) - first}


def beyond_what_was_said(candidates: list[Candidate], said: str, doc_ids: list[str],
                         depth: int) -> list[Candidate]:
    """``candidates`` with the sentences of the best passage's article among the first
    ``depth`` passages (``doc_ids``: each passage's article) made answer candidates when
    ``said`` already quotes every answer candidate: a follow-up is then answered from
    further down the article, not with the previous answer again."""
    said = _squash(said)
    if not said or any(c.primary and not _was_said(c, said) for c in candidates):
        return candidates
    top = doc_ids[0] if doc_ids else None
    return [replace(c, primary=True)
            if not c.primary and c.source < depth and doc_ids[c.source] == top else c
            for c in candidates]


def _credit_line(sentence: str) -> bool:
    """Whether ``sentence`` is a credit line of its own ("Pavel Bednyakov / AP")."""
    return _CREDIT_LINE.fullmatch(sentence.strip()) is not None


def is_credit(sentence: str) -> bool:
    """Whether ``sentence`` is or holds a picture credit ("Pavel Bednyakov / AP",
    "Foto: dpa", "... (Bild: Reuters)")."""
    return _credit_line(sentence) or _CREDIT_INLINE.search(sentence) is not None


def asks_number(question: str) -> bool:
    """True for questions that ask for a number or a date (how many, when, wie viele)."""
    return bool(_ASKS_NUMBER.search(question))


def asks_year(question: str) -> bool:
    """True for questions that ask when something happened (wann, when, welches Jahr)."""
    return bool(_ASKS_YEAR.search(question))


def lacks_asked_type(question: str, answer: str, passage: str = "") -> bool:
    """Whether ``answer`` (without its citation numbers) cannot be what ``question`` asks
    for: no number for "how many / much / high" / "wie viel(e) / hoch" (not a word of
    the question itself: "Milliardenkredite" asked about), no year for "which year" /
    "welches Jahr", no age (:data:`_AGE`) for "how old" / "wie alt", no percentage or
    fraction for "what percentage" / "welchen Anteil", no currency (or percentage) for a
    sum of money ("how much prize money", "was kostet"), no degrees for a temperature ("at
    what temperature", "Siedepunkt"), no number of years for "how many years" / "wie viele
    Jahre" (months, weeks, days, hours, minutes alike), no person's name the question does
    not give for the name of a person (:data:`_ASKS_PERSON`; a surname counts when the
    answer's ``passage`` gives it with a first name; "werden ... Guru genannt" does). Such
    a sentence matches the question's topic, not its question."""
    text = _CITED.sub("", answer)
    span = _ASKS_SPAN.search(question)
    return bool((_ASKS_COUNT.search(question) and not _COUNT.search(_unasked(question, text)))
                or (_ASKS_YEAR_ONLY.search(question) and not _YEAR.search(text))
                or (_ASKS_AGE.search(question) and not _AGE.search(text))
                or (_ASKS_SHARE.search(question) and not _SHARE.search(text))
                or (_ASKS_SUM.search(question) and _MONEY_WORD.search(question)
                    and not _MONEY.search(text))
                or (_ASKS_TEMPERATURE.search(question) and not _TEMPERATURE.search(text))
                or (span is not None and not _counts(span.group(1), text))
                or (_ASKS_PERSON.search(question) is not None and not _NAMING.search(text)
                    and not names_person(text, question, passage)))


def _unasked(question: str, text: str) -> str:
    """``text`` without the words of ``question``."""
    asked = {w.casefold() for w in re.findall(r"\w+", question)}
    return re.sub(r"\w+", lambda m: " " if m[0].casefold() in asked else m[0], text)


def _counts(asked: str, text: str) -> bool:
    """Whether ``text`` has a number of the unit the word ``asked`` names ("Jahre",
    :data:`_SPAN_UNITS`) just before a word of that unit."""
    unit = next(u for u in _SPAN_UNITS if re.match(u, asked, re.IGNORECASE))
    for match in re.finditer(unit, text, re.IGNORECASE):
        before = re.findall(r"[\w.,'’-]+", text[:match.start()])[-2:]
        if _COUNT.search(" ".join(before)):
            return True
    return False


def _numbers(text: str) -> set[str]:
    """The years a sentence mentions."""
    return set(_YEAR.findall(text))


def disagreement(
    question: str, lang: str, best: Candidate, candidates: list[Candidate],
    sources: list[Source], params: AnswerSettings,
) -> list[Candidate]:
    """Two statements from different articles that date the asked event differently.

    For a question asking when something happened, the best year-bearing sentence of
    each article scoring within ``disagree_margin`` of the best answer (and, for a German
    question, sharing a term with it) is compared; when two articles state disjoint
    years about the same thing (:func:`_same_topic`: a term both share with the question
    - "Union" in "1997 wurde die Union besiegelt" and "den 1996 beschlossenen
    Unionsstaat" -, not just any word: "erste" Warschauer Börse / "erstmals" in
    Michigan) no more than ``disagree_years`` apart (a plant back on the grid in 2009 and a
    leak at another plant in 1978 are two events), both are returned (best first).
    """
    if not asks_year(question):
        return []
    per_doc: dict[str, tuple[Candidate, set[str]]] = {}
    for c in candidates:
        if c.score < best.score - params.disagree_margin:
            break
        doc = sources[c.source].doc_id
        numbers = _numbers(c.text)
        if numbers and doc not in per_doc and (lang != "de" or _same_topic(question, c.text)):
            per_doc[doc] = (c, numbers)
    facts = list(per_doc.values())
    if (len(facts) >= 2 and not facts[0][1] & facts[1][1]
            and _years_apart(facts[0][1], facts[1][1]) <= params.disagree_years
            and _same_topic(facts[0][0].text, facts[1][0].text, question)):
        return [facts[0][0], facts[1][0]]
    return []


def _years_apart(a: set[str], b: set[str]) -> int:
    """How far apart the nearest years of two statements are."""
    return min(abs(int(x) - int(y)) for x in a for y in b)


def _shared_terms(a: set[str], b: set[str]) -> set[str]:
    """Terms of ``a`` equal to, or a prefix of, a term of ``b`` (Union ~ Unionsstaat)."""
    return {x for x in a if any(y.startswith(x) or x.startswith(y) for y in b if len(y) > 3)}


#: Stems of words about time itself ("im Jahr", "die ersten", "zuletzt"): every dated
#: statement has them, so sharing one says nothing about sharing a topic.
_TIME_STEMS = ("jahr", "monat", "woch", "zeit", "datum", "erst", "letzt")


def _same_topic(a: str, b: str, about: str = "") -> bool:
    """Whether two texts share a content term (prefix-aware; numbers and words about time
    do not count), one that ``about`` (a question) also has when given."""
    shared = _shared_terms(
        {t for t in tokenize(a)
         if not t.isdigit() and len(t) > 3 and not t.startswith(_TIME_STEMS)},
        {t for t in tokenize(b) if not t.isdigit()},
    )
    return bool(_shared_terms(shared, set(tokenize(about))) if about else shared)


def choose_statements(
    question: str,
    candidates: list[Candidate],
    sources: list[Source],
    lang: str,
    params: AnswerSettings,
    said: str = "",
) -> list[list[Candidate]]:
    """The sentences of the answer, one list per statement, each in text order (nothing
    for no primary candidate).

    The best primary sentence is joined by the next best sentences of the same passage
    that score almost as well (up to ``max_sentences``; not a headline line, nor a picture
    credit unless the question asks who took the picture), and by the sentence before them
    when the first points back at it (:func:`_antecedent`; not when ``said``, the
    previous answer of a conversation, quoted it). The best sentence of another passage
    of the same article follows as a statement of its own when it scores almost as well
    (:func:`_sibling`). When articles disagree on the number asked for (see
    :func:`disagreement`), each is a statement of its own instead.
    """
    primary = [c for c in candidates if c.primary]
    if not primary:
        return []
    best = primary[0]
    statements = [[best]]
    credits = _ASKS_CREDIT.search(question) is not None
    for c in primary[1:]:
        if c.score < best.score - params.extra_margin:
            break
        if len(statements[0]) >= params.max_sentences:
            break
        if c.source == best.source and not c.heading and (credits or not is_credit(c.text)):
            statements[0].append(c)
    said = _squash(said)
    conflict = disagreement(question, lang, best, candidates, sources, params)
    if conflict:
        statements = [[c] for c in conflict]
    elif (sibling := _sibling(best, primary, sources, params.sibling_margin, said)) is not None:
        statements.append([sibling])
    for group in statements:
        group.sort(key=lambda c: c.span)
        before = _antecedent(group[0], candidates, sources)
        if before is not None and before not in group and _squash(before.text) not in said:
            group.insert(0, before)
    return statements


def _sibling(best: Candidate, primary: list[Candidate], sources: list[Source],
             margin: float, said: str = "") -> Candidate | None:
    """The best sentence of another passage of ``best``'s article among the ``primary``
    candidates (best first) scoring within ``margin`` of ``best``, a whole sentence (not
    a line of a table, "Sonntag, 06. November 2005:") that ``said`` (squashed) did not
    quote (:func:`_was_said`), or ``None``."""
    doc = sources[best.source].doc_id
    for c in primary:
        if c.score < best.score - margin:
            return None
        if (c.source != best.source and sources[c.source].doc_id == doc
                and c.text.rstrip(_CLOSING).endswith((".", "!", "?"))
                and not _was_said(c, said)):
            return c
    return None


def write_answer(statements: list[list[Candidate]], sources: list[Source], lang: str) -> str:
    """The answer text of :func:`choose_statements`' statements, each with its citation
    (and its sentences highlighted in its source); statements of different articles
    (they disagree) as a list."""
    parts = []
    for group in statements:
        source = sources[group[0].source]
        source.highlights.extend(c.span for c in group)
        source.highlights.sort()
        # a headline line ends its own line: it has no full stop to end it in the text
        parts.append("".join(c.text + ("\n" if c.heading else " ") for c in group[:-1])
                     + group[-1].text + f" [{source.n}]")
    if len({sources[g[0].source].doc_id for g in statements}) > 1:
        return DISAGREE[lang] + "\n" + "\n".join(f"- {p}" for p in parts)
    return " ".join(parts)


def compose(
    question: str,
    candidates: list[Candidate],
    sources: list[Source],
    lang: str,
    params: AnswerSettings,
    said: str = "",
) -> str:
    """The answer text: the best sentence(s) with their citation, or disagreeing ones
    (:func:`choose_statements`, :func:`write_answer`)."""
    statements = choose_statements(question, candidates, sources, lang, params, said)
    return write_answer(statements, sources, lang)


def _antecedent(
    sentence: Candidate, candidates: list[Candidate], sources: list[Source]
) -> Candidate | None:
    """The sentence just before ``sentence`` in its paragraph when ``sentence`` starts by
    pointing back at it (:data:`~rag.text.sentences.POINTS_BACK_IN_ANSWER`: "Dieses
    Unternehmen wird ...", "Daher ...", "Das berichtet ...") or is a picture credit (the
    caption before it says which picture), else ``None``: the answer then names what it
    is about."""
    if not (POINTS_BACK_IN_ANSWER.match(sentence.text) or _credit_line(sentence.text)):
        return None
    text = sources[sentence.source].text
    earlier = [c for c in candidates
               if c.source == sentence.source and c.span[1] <= sentence.span[0]]
    if not earlier:
        return None
    before = max(earlier, key=lambda c: c.span)
    between = text[before.span[1]:sentence.span[0]]
    return before if not between.strip() and "\n\n" not in between else None


class ExtractiveAnswerer:
    """Quotes the answering sentence(s) exactly, or says that nothing was found.

    "Not found" when the best passage's best sentence is below the calibrated
    per-language threshold (``min_relevance_de``/``_en``; the English one moves with the
    question's background similarity, :meth:`_threshold`), or, for a question it matches
    only moderately, when the passage lacks the question's rarer terms (English: names
    and numbers; :meth:`_shares_terms`). A "when" question is checked
    against what other articles say about the same thing, so that a disagreement on the
    date is shown, not hidden.
    """

    def __init__(self, params: AnswerSettings) -> None:
        self.params = params

    def answer(self, evidence: Evidence, retriever: Retriever) -> Answer:
        """The extractive answer to ``evidence.question``."""
        text, lang, hits, qvec = evidence.question, evidence.language, evidence.hits, evidence.qvec
        index = retriever.index
        chunks = index.chunks([h.id for h in hits])

        def cite(found: list) -> list[Source]:
            return [make_source(n, chunks[h.id], index.docs[h.doc_id], h.score, qvec)
                    for n, h in enumerate(found, start=1)]

        sources = cite(hits)
        field = asked_field(text)
        if hits and field and evidence.named:  # the question says which article
            return self._from_metadata(field, evidence, index.docs[hits[0].doc_id], sources,
                                       named=True)
        placed = self._placed(evidence, retriever)
        if not placed.hits:
            return Answer(text, lang, False, NOT_FOUND[lang], sources)
        # to an article further down that names the asked place
        moved = placed.hits[0] is not hits[0]
        if placed is not evidence:
            evidence, hits = placed, placed.hits
            sources = cite(hits)
        if not self._relevant(evidence, retriever, chunks[hits[0].id], moved):
            return Answer(text, lang, False, NOT_FOUND[lang], sources)
        if field:
            answer = self._from_metadata(field, evidence, index.docs[hits[0].doc_id], sources)
            if answer is not None:
                return answer
        # Not for a follow-up: its passages were found with the conversation's topic, so
        # the best article's other passages match the topic, not the question (measured).
        same_article = 0 if evidence.with_context else self.params.same_article_depth
        one_article = evidence.with_context and self.params.followup_one_article
        passages = [chunks[h.id] for h in hits]
        candidates = rank_sentences(
            qvec, text, lang, passages, [h.score for h in hits],
            self.params, same_article, one_article,
        )
        if asks_year(text) and candidates:
            more = self._cross_check(retriever, text, candidates[0].text, hits,
                                     evidence.allowed_rows)
            if more:
                floor = min(h.score for h in hits)
                hits = hits + more
                chunks.update(index.chunks([h.id for h in more]))
                sources += [
                    make_source(len(sources) + n, chunks[h.id], index.docs[h.doc_id], h.score,
                                qvec)
                    for n, h in enumerate(more, start=1)
                ]
                candidates = rank_sentences(
                    qvec, text, lang, [chunks[h.id] for h in hits],
                    [min(h.score, floor) for h in hits], self.params,
                    min(same_article, len(hits) - len(more)),  # not the cross-check's
                    one_article,
                )
        if evidence.with_context and lang == "de" and self.params.followup_naming_more:
            more = naming_more(text, passages, self.params.same_article_depth)
            candidates = [replace(c, primary=True) if c.source in more else c
                          for c in candidates]
        if evidence.said:
            candidates = beyond_what_was_said(candidates, evidence.said,
                                              [h.doc_id for h in hits],
                                              self.params.same_article_depth)
            candidates = not_said_first(
                candidates, evidence.said,
                math.inf if _ASKS_MORE.search(text) else self.params.said_penalty)
        statements = choose_statements(text, candidates, sources, lang, self.params,
                                       evidence.said)
        # judged on the best statement: a sibling with a number does not make one answer
        quoted = " ".join(c.text for c in statements[0]) if statements else ""
        if not statements or lacks_asked_type(text, quoted,
                                              sources[statements[0][0].source].text):
            return Answer(text, lang, False, NOT_FOUND[lang], sources)
        answer_text = write_answer(statements, sources, lang)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)}
        sources = [s for s in sources if s.n <= evidence.k or s.n in cited]
        return Answer(text, lang, True, answer_text, sources)

    def _placed(self, evidence: Evidence, retriever: Retriever) -> Evidence:
        """``evidence`` with only the hits of articles that name the places the question
        (or its :attr:`Evidence.topic`) names (:func:`names_places`; none: not found);
        ``evidence`` itself when all do (or it names none, or the check is off). A
        question about a place an article never names is about another story ("How many
        people live in Tokyo?" answered with an evacuation in Hiroshima), but an article
        further down may be about it."""
        if not (self.params.place_check and evidence.hits):
            return evidence
        question = (evidence.topic or (evidence.question,))[0]
        places = named_places(question, evidence.language)
        if not places:
            return evidence
        docs = {h.doc_id for h in evidence.hits}
        naming = {d for d in docs if names_places(places, retriever.index, d)}
        if naming == docs:
            return evidence
        return replace(evidence, hits=[h for h in evidence.hits if h.doc_id in naming])

    def _relevant(self, evidence: Evidence, retriever: Retriever, best: StoredChunk,
                  moved: bool = False) -> bool:
        """Whether the best passage answers at all: its best sentence reaches the
        threshold (:meth:`_threshold`) and it shares the question's rarer terms
        (:meth:`_shares_terms`; whatever the similarity when the passage was ``moved``
        up for the place it names, :meth:`_placed`), both judged on
        :attr:`Evidence.topic` when set."""
        question, qvec = evidence.topic or (evidence.question, evidence.qvec)
        similarity = (evidence.hits[0].sentence if evidence.topic is None
                      else sentence_relevance(best, qvec))
        doc = retriever.index.docs[evidence.hits[0].doc_id]
        return (similarity >= self._threshold(evidence, retriever, qvec)
                and self._shares_terms(evidence, question, similarity, best, doc,
                                       retriever.index.keywords, moved))

    def _threshold(self, evidence: Evidence, retriever: Retriever,
                   qvec: np.ndarray | None = None) -> float:
        """The similarity the best sentence needs for an answer: ``min_relevance_de``, or
        for English questions ``min_relevance_en`` moved with the question's background
        similarity (``background_weight_en``; not for a follow-up retrieved with its
        conversation, whose mixed vector resembles the whole earlier topic)."""
        p = self.params
        if evidence.language == "de":
            return p.min_relevance_de
        if p.background_weight_en <= 0 or evidence.with_context:
            return p.min_relevance_en
        background = retriever.background(evidence.qvec if qvec is None else qvec,
                                          p.background_rank, p.background_depth,
                                          evidence.allowed_rows)
        return p.min_relevance_en + p.background_weight_en * (background - p.background_ref_en)

    def _shares_terms(
        self, evidence: Evidence, question: str, similarity: float, best: StoredChunk,
        doc: DocMeta, keywords: KeywordStore, always: bool = False,
    ) -> bool:
        """Whether a question that its best passage matches only moderately shares enough
        of its rarer terms with that passage and its article's title, author and publisher
        (:func:`term_support`): German below ``term_check_below_de``, English (names and
        numbers) below ``min_relevance_en``, i.e. answered only because its background
        lowered the threshold. Questions about an article's author, date or link pass.

        A follow-up to a question that got no answer (:attr:`Evidence.unanswered`) must
        also share that question's terms, however well it matches: its topic was not
        found, so a passage matching only the follow-up's own words ("Wie viele Menschen
        starben dabei?") is about something else."""
        p = self.params
        below, least = ((p.term_check_below_de, p.min_term_support_de)
                        if evidence.language == "de"
                        else (p.min_relevance_en, p.min_name_support_en))
        if least <= 0 or asked_field(question):  # about the record
            return True
        text = " ".join(x for x in (doc.title, doc.author, doc.publisher, best.text) if x)
        if evidence.unanswered and term_support(
                evidence.unanswered, text, keywords, evidence.language) < least:
            return False
        return (similarity >= below and not always) or term_support(
            question, text, keywords, evidence.language) >= least

    @staticmethod
    def _from_metadata(
        field: str, evidence: Evidence, doc: DocMeta, sources: list[Source], named: bool = False
    ) -> Answer | None:
        """The answer to a question about the best article's author, publisher, date or
        link, citing the article's metadata record as source 1 (``None``: not recorded,
        unless the question ``named`` the article: then the answer says so)."""
        return field_answer(evidence.question, evidence.language, field, doc, sources[0].score,
                            sources[: evidence.k - 1], missing=named)

    @staticmethod
    def _cross_check(
        retriever: Retriever, question: str, statement: str, hits: list,
        allowed: np.ndarray | None,
    ) -> list:
        """Passages of other articles about the question and its best answer sentence
        (numbers removed)."""
        probe = question + " " + re.sub(r"\d[\d'’.]*", " ", statement)
        seen_docs = {h.doc_id for h in hits}
        more = retriever.search(probe, "de", 8, allowed)
        return [h for h in more if h.doc_id not in seen_docs][:3]
