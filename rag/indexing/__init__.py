"""Building and updating the index from the corpus: diff, chunk, embed, publish."""

from .build import IndexReport, Progress, chunking_signature, update_index

__all__ = ["IndexReport", "Progress", "chunking_signature", "update_index"]
