"""Retrieval: hybrid dense + keyword search, fusion per question language, sentence
re-ranking, diversification, and filters by date, article and named source."""

from .bylines import named_articles
from .filters import allowed_rows, article_chunks, articles_naming, date_bounds
from .retriever import Retriever
from .search import search

__all__ = ["Retriever", "allowed_rows", "article_chunks", "articles_naming", "date_bounds",
           "named_articles", "search"]
