"""The unit tier: no test may load the real embedding model (the fake embedder stands in)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

#: Modules that only the real model loads.
MODEL_MODULES = ("sentence_transformers", "torch")


@pytest.fixture(autouse=True)
def _no_real_model(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a unit test that loaded torch or sentence-transformers (unless an earlier,
    slow test of the same session already had)."""
    before = {m for m in MODEL_MODULES if m in sys.modules}
    yield
    loaded = {m for m in MODEL_MODULES if m in sys.modules} - before
    if loaded:
        pytest.fail(f"{request.node.nodeid} loaded {sorted(loaded)}: unit tests use "
                    "rag.embed.fake.FakeEmbedder, the real model belongs in tests/integration")
