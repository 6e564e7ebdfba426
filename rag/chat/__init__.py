"""Conversations: a follow-up question is resolved against the earlier turns (history in
the OpenAI/Gradio messages format) without an LLM; a new topic is asked as it is."""

from .context import (
    IMPLICIT,
    FollowUp,
    VectorCache,
    best_similarity,
    merge_hits,
    names,
    names_nothing_specific,
    quoted_articles,
    resolve,
    with_understanding,
)
from .followup import Decision, content_words, decide, without_announcement
from .history import UNDERSTOOD, Turn, answer_context, parse_history

__all__ = [
    "IMPLICIT", "UNDERSTOOD", "Decision", "FollowUp", "Turn", "VectorCache", "answer_context",
    "best_similarity", "content_words", "decide", "merge_hits", "names",
    "names_nothing_specific", "parse_history",
    "quoted_articles", "resolve",
    "with_understanding", "without_announcement",
]
