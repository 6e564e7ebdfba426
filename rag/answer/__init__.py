"""Answering: an :class:`Answerer` turns retrieved evidence into an answer with numbered
citations. The offline :class:`ExtractiveAnswerer` (exact quotes), and the
:class:`GenerativeAnswerer` (an OpenAI-compatible LLM, every sentence checked)."""

from .base import NOT_FOUND, PERIOD, Answerer, Evidence
from .extractive import ExtractiveAnswerer
from .generate import GenerativeAnswerer
from .llm import LLMClient

__all__ = ["NOT_FOUND", "PERIOD", "Answerer", "Evidence", "ExtractiveAnswerer",
           "GenerativeAnswerer", "LLMClient"]
