"""Question answering with citations over a corpus of German news articles.

>>> from rag import ask
>>> answer = ask("Wie nennt Lukaschenko Putin?")
>>> print(answer.text)            # the answer with citation markers [1], [2]
>>> answer.sources[0].title       # the cited articles, passages and highlights
"""

from .answer import Answer, Source
from .pipeline import Pipeline, QuestionError, ask
from .settings import Settings

__all__ = ["Answer", "Pipeline", "QuestionError", "Settings", "Source", "ask"]
