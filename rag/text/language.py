"""Language of a question (German or English), offline, with lingua."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = ("de", "en")
#: A capitalised word after the first: a name, or in German a noun.
_INNER_CAPITALISED = re.compile(r"(?<=\s)[A-ZÄÖÜ][\w'’-]*")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.ENGLISH)
        .with_preloaded_language_models()
        .build()
    )


def detect_language(text: str, default: str = "de") -> str:
    """``"de"`` or ``"en"``; ``default`` (the corpus language) when the text gives no clue.

    Judged without the capitalised words after the first when three words remain: names
    ("Flückiger", "Lukaschenko") made English questions German; the small words decide
    (measured on every question set: 9 of 1590 wrong before, 2 after)."""
    rest = _INNER_CAPITALISED.sub(" ", text)
    if len(_WORD.findall(rest)) >= 3:
        text = rest
    lang = _detector().detect_language_of(text)
    if lang is None:
        return default
    return "en" if lang == Language.ENGLISH else "de"
