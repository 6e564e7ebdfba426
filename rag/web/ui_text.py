"""The fixed texts of the web chat's layout in German and English.

The page speaks one language at a time: the language switch, which follows the language
of each question (:mod:`rag.web.handlers`), picks the texts here; the answer and source
texts are in :mod:`rag.web.render`, the archive's in :mod:`rag.web.archive`.
"""

from __future__ import annotations

from .render import lang_of

UI: dict[str, dict[str, str]] = {
    "de": {
        "heading": "Fragen an das Nachrichtenarchiv",
        "chat_tab": "Chat",
        "archive_tab": "Archiv",
        "chat_label": "Chat",
        "chat_placeholder": "Fragen Sie auf Deutsch oder Englisch. Die Antwort nennt ihre "
        "Quellen; ein Klick auf [1] zeigt die Quelle.",
        "question": "Ihre Frage",
        "question_placeholder": "Ihre Frage … (Enter sendet, Umschalt+Enter neue Zeile)",
        "examples": "Beispiele",
        "settings": "Einstellungen",
        "k": "Anzahl Quellen (k)",
        "date_from": "Von (Datum)",
        "date_to": "Bis (Datum)",
        "docs": "Nur diese Artikel",
        "scope": "Die Fragen beziehen sich nur auf",
        "scope_more": "und {n} weitere",
        "clear_scope": "Wieder alle Artikel befragen",
        "sources_label": "Quellen",
        "filter": "Artikel filtern (Titel, Herausgeber, Datum)",
        "filter_placeholder": "z. B. Lukaschenko oder 2022-12",
        "order": "Sortierung nach Datum",
        "newest": "Neueste zuerst",
        "oldest": "Älteste zuerst",
    },
    "en": {
        "heading": "Ask the news archive",
        "chat_tab": "Chat",
        "archive_tab": "Archive",
        "chat_label": "Chat",
        "chat_placeholder": "Ask in German or English. The answer names its sources; "
        "click [1] to see the source.",
        "question": "Your question",
        "question_placeholder": "Your question … (Enter sends, Shift+Enter new line)",
        "examples": "Examples",
        "settings": "Settings",
        "k": "Number of sources (k)",
        "date_from": "From (date)",
        "date_to": "To (date)",
        "docs": "Only these articles",
        "scope": "Questions are restricted to",
        "scope_more": "and {n} more",
        "clear_scope": "Ask all articles again",
        "sources_label": "Sources",
        "filter": "Filter articles (title, publisher, date)",
        "filter_placeholder": "e.g. Lukashenko or 2022-12",
        "order": "Order by date",
        "newest": "Newest first",
        "oldest": "Oldest first",
    },
}

#: Choices of the language switch (shown in their own language).
LANGUAGE_CHOICES = [("Deutsch", "de"), ("English", "en")]


def ui(language: str | None, key: str) -> str:
    """A fixed text of the layout in ``language`` (German unless ``"en"``)."""
    return UI[lang_of(language)][key]


def order_choices(language: str | None) -> list[tuple[str, str]]:
    """The archive's sort choices as ``(label, value)``."""
    return [(ui(language, "newest"), "newest"), (ui(language, "oldest"), "oldest")]
