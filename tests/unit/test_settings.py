"""Settings (rag.settings): one nested, frozen object; defaults, then ``RAG_<FIELD>``
environment variables (and the Gradio/HF aliases), then flat overrides; invalid values
are SettingsErrors that name the setting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rag.errors import SettingsError
from rag.settings import DEFAULT_MODEL, ROOT, Settings


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment: no RAG_*, Gradio or HF variables."""
    import os

    for name in list(os.environ):
        if name.startswith(("RAG_", "GRADIO_SERVER_")) or name == "HF_HUB_OFFLINE":
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults(env: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    assert s == Settings()
    assert s.paths.corpus_dir == ROOT / "corpus" and s.paths.index_dir == ROOT / "index"
    assert s.model.model == DEFAULT_MODEL and s.retrieval.top_k == 5
    assert (s.web.host, s.web.port) == ("127.0.0.1", 7860)  # loopback by default
    assert s.retrieval.max_top_k == 20 and s.answer.max_question_chars == 1000
    assert s.index.ann_threshold == 100_000
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.retrieval.top_k = 3  # type: ignore[misc]


def test_environment_then_overrides(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("RAG_TOP_K", "7")
    env.setenv("RAG_CORPUS_DIR", str(tmp_path / "c"))
    env.setenv("RAG_EMBED_TITLES", "no")
    env.setenv("RAG_MIN_RELEVANCE_EN", "0.7")
    env.setenv("RAG_INDEX_DIR", "  ")  # blank: ignored
    s = Settings.from_env()
    assert s.retrieval.top_k == 7 and s.paths.corpus_dir == tmp_path / "c"
    assert s.chunking.embed_titles is False and s.answer.min_relevance_en == 0.7
    assert s.paths.index_dir == Settings().paths.index_dir
    s = Settings.from_env(top_k=3, corpus_dir=None, index_dir="~/idx")  # None: not set
    assert s.retrieval.top_k == 3 and s.paths.corpus_dir == tmp_path / "c"
    assert s.paths.index_dir == Path("~/idx").expanduser()


def test_aliases(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    env.setenv("GRADIO_SERVER_PORT", "8000")
    env.setenv("HF_HUB_OFFLINE", "1")
    env.setenv("RAG_MODEL_CACHE", str(tmp_path / "models"))
    s = Settings.from_env()
    assert (s.web.host, s.web.port, s.model.hub_offline) == ("0.0.0.0", 8000, True)
    assert s.paths.model_cache_dir == tmp_path / "models"
    env.setenv("RAG_PORT", "9000")  # the RAG_ name wins over the alias
    assert Settings.from_env().web.port == 9000
    assert Settings.from_env(host="127.0.0.2", port=9100).web.port == 9100  # flags win


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("RAG_TOP_K", "five", "RAG_TOP_K"),
    ("RAG_EMBED_TITLES", "maybe", "expected true/false"),
    ("GRADIO_SERVER_PORT", "http", "RAG_PORT"),
    ("RAG_MIN_RELEVANCE_DE", "hoch", "RAG_MIN_RELEVANCE_DE"),
])
def test_invalid_values_name_the_setting(env: pytest.MonkeyPatch, name: str, value: str,
                                         problem: str) -> None:
    env.setenv(name, value)
    with pytest.raises(SettingsError, match=problem) as info:
        Settings.from_env()
    assert repr(value) in str(info.value)


def test_replace_and_flat() -> None:
    s = Settings().replace(top_k=3, min_relevance_en=0.78, chunk_tokens="200", host="::1")
    assert (s.retrieval.top_k, s.answer.min_relevance_en) == (3, 0.78)
    assert s.chunking.chunk_tokens == 200 and s.web.host == "::1"
    assert Settings().retrieval.top_k == 5  # a copy
    with pytest.raises(SettingsError, match="Unknown setting\\(s\\): nope, top_kk"):
        Settings().replace(top_kk=3, nope=1)
    with pytest.raises(SettingsError, match="whole number"):
        Settings().replace(top_k=True)
    flat = s.flat()
    assert flat["top_k"] == 3 and flat["host"] == "::1" and "corpus_dir" in flat
    assert len(flat) == sum(len(dataclasses.fields(getattr(s, g.name)))
                            for g in dataclasses.fields(s))
