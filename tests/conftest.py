"""Shared fixtures: paths to the shared eval material and a pipeline over the seed corpus."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SEED_QUESTIONS = SHARED / "eval" / "seed_questions.jsonl"
XQUAD = SHARED / "eval" / "xquad-de"


def load_jsonl(path: Path) -> list[dict]:
    """The records of a JSON Lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def embedder():
    """The default embedding model, loaded once per test session."""
    from rag.embedding import Embedder
    from rag.settings import Settings

    return Embedder.from_settings(Settings.from_env())


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A private copy of the product's seed corpus."""
    folder = tmp_path_factory.mktemp("seed") / "corpus"
    shutil.copytree(ROOT / "corpus", folder)
    return folder


@pytest.fixture(scope="session")
def seed_pipeline(seed_corpus, embedder, tmp_path_factory):
    """A pipeline over the seed corpus with its index in a temporary folder."""
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    settings = Settings.from_env(
        corpus_dir=seed_corpus, index_dir=tmp_path_factory.mktemp("seed-index")
    )
    pipeline = Pipeline(settings, embedder=embedder)
    pipeline.update_index(progress=False)
    return pipeline


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    """The shared seed questions (German, English and unanswerable)."""
    return load_jsonl(SEED_QUESTIONS)
