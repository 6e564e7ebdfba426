"""The product's one error tree (rag.errors): every error a user can cause or fix is a
RagError, and keeps the built-in base that fits it."""

from __future__ import annotations

import pytest

from rag import errors
from rag.errors import (
    CorpusError,
    EvalFileError,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    InputError,
    ModelBuildError,
    ModelError,
    NotReady,
    QuestionError,
    RagError,
    SettingsError,
    StoreError,
)
from rag.eval.questions import QuestionFileError
from rag.eval.report import ReportFileError


@pytest.mark.parametrize(("cls", "bases"), [
    (SettingsError, (RagError, ValueError)),
    (InputError, (RagError, ValueError)),
    (QuestionError, (InputError,)),
    (CorpusError, (InputError,)),
    (EvalFileError, (InputError,)),
    (QuestionFileError, (EvalFileError,)),
    (ReportFileError, (EvalFileError,)),
    (StoreError, (RagError, RuntimeError)),
    (IndexMissing, (StoreError,)),
    (IndexCorrupt, (StoreError,)),
    (IndexMismatch, (StoreError,)),
    (ModelError, (RagError, RuntimeError)),
    (ModelBuildError, (ModelError,)),
    (NotReady, (RagError, RuntimeError)),
])
def test_tree(cls: type, bases: tuple[type, ...]) -> None:
    assert issubclass(cls, RagError)
    for base in bases:
        assert issubclass(cls, base)


def test_every_error_class_of_the_module_is_a_rag_error() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type)
               and issubclass(v, BaseException)]
    assert len(classes) >= 13 and all(issubclass(c, RagError) for c in classes)


def test_messages_are_kept() -> None:
    with pytest.raises(ValueError, match="k must be"):
        raise QuestionError("k must be between 1 and 20 (got 0).")
    assert str(QuestionFileError("q.jsonl", 3, "invalid JSON")) == "q.jsonl:3: invalid JSON"
