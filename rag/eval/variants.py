"""A deterministic split of question sets, and real-query-style variants of questions.

* :func:`split_half`: ``"tune"`` or ``"held"`` by the first byte of SHA-1 of the question
  id (language suffixes ``-de``/``-en`` removed, so both languages of one question land in
  the same half). Tune on ``tune``, report ``held`` beside it.
* :func:`variant`: a question rewritten the way people type into a search box:
  ``keywords`` (lower case, no question words or stopwords), ``no_umlauts`` (ä -> a,
  ß -> ss, lower case), ``typos`` (up to two words with one swapped, dropped or doubled
  letter, seeded by the id) and ``real`` (all three).
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import replace

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

from .questions import Question

VARIANTS = ("keywords", "no_umlauts", "typos", "real")
_STOP = frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_EN) | {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did", "does",
    "wer", "was", "wann", "wo", "warum", "wie", "welche", "welcher", "welches", "wieso",
    "weshalb", "many", "much", "viele", "wurde", "wurden", "hat", "ist", "war", "sind",
}
_WORD = re.compile(r"\w+")


def split_half(question_id: str) -> str:
    """``"tune"`` or ``"held"``: the half of the question set this id belongs to."""
    stem = re.sub(r"-(de|en)$", "", question_id)
    return "tune" if hashlib.sha1(stem.encode()).digest()[0] % 2 == 0 else "held"


def keywords(text: str) -> str:
    """Lower-case content words of ``text`` (no stopwords, no punctuation)."""
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def no_umlauts(text: str) -> str:
    """``text`` in lower case with umlauts and accents dropped (ä -> a, ß -> ss)."""
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def typos(text: str, seed: str) -> str:
    """Up to two words of at least 5 letters with one typo each (swap, drop or double a
    letter inside the word), chosen reproducibly from ``seed``."""
    rng = random.Random(seed)
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(re.sub(r"\W", "", w)) >= 5]
    for i in rng.sample(long, min(2, len(long))):
        w = words[i]
        j = rng.randrange(1, max(2, len(w) - 2))
        op = rng.choice("sdr")
        if op == "s" and j + 1 < len(w):
            w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif op == "d":
            w = w[:j] + w[j + 1:]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def variant(question: Question, kind: str) -> Question:
    """``question`` with its text rewritten as ``kind`` (one of :data:`VARIANTS`)."""
    text = question.question
    if kind == "keywords":
        new = keywords(text)
    elif kind == "no_umlauts":
        new = no_umlauts(text)
    elif kind == "typos":
        new = typos(text, question.id)
    elif kind == "real":
        new = typos(no_umlauts(keywords(text)), question.id)
    else:
        raise ValueError(f"unknown variant {kind!r}; choose one of {', '.join(VARIANTS)}")
    return replace(question, question=new or text)
