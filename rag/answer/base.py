"""What an answerer gets (:class:`Evidence`) and gives (an :class:`~rag.types.Answer`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..retrieve import Retriever
from ..types import Answer, Hit

NOT_FOUND = {
    "de": "Dazu habe ich im Korpus nichts gefunden.",
    "en": "I could not find this in the corpus.",
}
#: The label of the line that ends an answer to a question naming a period
#: ("(Zeitraum: 2008-03)").
PERIOD = {"de": "Zeitraum", "en": "Period"}


@dataclass
class Evidence:
    """A question with what retrieval found for it."""

    question: str
    language: str
    #: The question's normalised vector.
    qvec: np.ndarray
    hits: list[Hit]
    #: Sources shown to the user (``k`` of them; an answerer may cite more).
    k: int
    #: Index rows retrieval was restricted to (``None``: the whole index).
    allowed_rows: np.ndarray | None = None
    #: What the conversation's previous answer already said (a follow-up is answered by
    #: a sentence not said before, when there is one).
    said: str = ""
    #: Retrieved with earlier turns of a conversation (``qvec`` mixes the question with
    #: them, so it resembles the whole earlier topic).
    with_context: bool = False
    #: For a follow-up to a question that got no answer: that question. The topic was
    #: not found, so the best passage must share its rarer terms to answer the follow-up.
    unanswered: str = ""
    #: The question without the period it names and that vector, for the "not found"
    #: decision (``None``: the question itself): when a period chose the passages, a
    #: year they share with the question is no sign that they answer it.
    topic: tuple[str, np.ndarray] | None = None
    #: The question named its articles by their author or publisher
    #: (:func:`~rag.retrieve.named_articles`): the hits are from those articles only.
    named: bool = False


class Answerer(Protocol):
    """Turns evidence into an answer with numbered citations."""

    def answer(self, evidence: Evidence, retriever: Retriever) -> Answer:
        """The answer; ``retriever`` may be asked for more passages (e.g. to cross-check)."""
