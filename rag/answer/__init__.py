"""Answering: an :class:`Answerer` turns retrieved evidence into an answer with numbered
citations. Today: the offline :class:`ExtractiveAnswerer` (exact quotes)."""

from .base import NOT_FOUND, Answerer, Evidence
from .extractive import ExtractiveAnswerer

__all__ = ["NOT_FOUND", "Answerer", "Evidence", "ExtractiveAnswerer"]
