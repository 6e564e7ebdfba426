"""Question answering with citations over a corpus of German news articles.

>>> from rag import ask
>>> answer = ask("Wie viele Reservisten hat Belarus?")
>>> print(answer.text)            # the answer with citation markers [1], [2]
>>> answer.sources[0].title       # the cited articles, passages and highlights

The heavy parts (torch, the model) load on first use, not on ``import rag``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import QuestionError, RagError  # noqa: F401
    from .pipeline import Pipeline, ask  # noqa: F401
    from .settings import Settings  # noqa: F401
    from .types import Answer, Source  # noqa: F401

_EXPORTS = {
    "Answer": "types", "Source": "types", "Pipeline": "pipeline", "ask": "pipeline",
    "QuestionError": "errors", "RagError": "errors", "Settings": "settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
