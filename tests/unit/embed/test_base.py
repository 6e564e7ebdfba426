"""What the product needs from an embedding model (rag.embed.base) and the real embedder's
checks that run before any model loads (rag.embed.sbert)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from rag.embed import prepare_text
from rag.embed.sbert import SentenceTransformerEmbedder, cpu_has_fast_bf16, resolve_precision
from rag.errors import SettingsError


def test_prepare_text() -> None:
    nfc = "Die Bürger in München grüßen."
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc and prepare_text(f"  {nfd}\n") == nfc
    assert prepare_text(" x ") == "x"


def test_precision_settings() -> None:
    assert resolve_precision("auto") == ("bf16" if cpu_has_fast_bf16() else "fp32")
    assert resolve_precision(" FP32 ") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("") in ("bf16", "fp32")
    with pytest.raises(SettingsError, match="precision must be one of auto, bf16, fp32"):
        resolve_precision("fp8")


def test_bad_settings_fail_before_the_model_loads() -> None:
    loaded = "torch" in sys.modules
    with pytest.raises(SettingsError, match="batch_size"):
        SentenceTransformerEmbedder(batch_size=0)
    with pytest.raises(SettingsError, match="precision"):
        SentenceTransformerEmbedder(precision="fp8")
    assert ("torch" in sys.modules) == loaded
