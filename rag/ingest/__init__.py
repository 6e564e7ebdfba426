"""Reading the corpus: files and formats to :class:`~rag.types.Article` (with metadata),
and articles to passages (:mod:`rag.ingest.chunking`)."""
