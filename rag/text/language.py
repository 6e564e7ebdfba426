"""Language of a question (German or English), offline, with lingua."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = ("de", "en")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.ENGLISH)
        .with_preloaded_language_models()
        .build()
    )


def detect_language(text: str, default: str = "de") -> str:
    """``"de"`` or ``"en"``; ``default`` (the corpus language) when the text gives no clue."""
    lang = _detector().detect_language_of(text)
    if lang is None:
        return default
    return "en" if lang == Language.ENGLISH else "de"
