"""Conversations: a follow-up question is resolved against the earlier turns (history in
the OpenAI/Gradio messages format) without an LLM; a new topic is asked as it is."""

from .context import (
    IMPLICIT,
    FollowUp,
    VectorCache,
    best_similarity,
    listed_articles,
    merge_hits,
    names,
    names_new_topic,
    names_nothing_specific,
    quoted_articles,
    resolve,
    understood_line,
    with_understanding,
)
from .followup import (
    Decision,
    asks_for_more,
    content_words,
    decide,
    ordinal_reference,
    without_announcement,
)
from .history import UNDERSTOOD, Turn, answer_context, parse_history

__all__ = [
    "IMPLICIT", "UNDERSTOOD", "Decision", "FollowUp", "Turn", "VectorCache", "answer_context",
    "asks_for_more", "best_similarity", "content_words", "decide", "listed_articles",
    "merge_hits", "names", "names_new_topic", "names_nothing_specific", "ordinal_reference",
    "parse_history",
    "quoted_articles", "resolve", "understood_line",
    "with_understanding", "without_announcement",
]
