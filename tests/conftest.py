"""Shared fixtures and the rules of the test tiers.

* ``tests/unit/<package>/``: no real model, server or browser (the fake embedder
  :class:`rag.embed.fake.FakeEmbedder` stands in for the model); never marked ``slow``.
* ``tests/integration/`` (the real model on real data) and ``tests/e2e/`` (app server,
  browser, crash, load): every test marked ``slow``.

Both rules are enforced at collection. ``pytest -m "not slow"`` runs the unit tier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # ``import shared_data`` from every test folder
    sys.path.insert(0, str(TESTS))

from shared_data import SEED, SEED_QUESTIONS, load_jsonl, small_settings  # noqa: E402

#: Fixtures that load the real embedding model.
REAL_MODEL_FIXTURES = {"embedder", "seed_pipeline"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test in the wrong tier (a slow test among the unit tests, an unmarked
    one among the integration/end-to-end tests, a unit test using the real model)."""
    problems = []
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(TESTS).parts
        slow = item.get_closest_marker("slow") is not None
        if parts[0] in ("integration", "e2e") and not slow:
            problems.append(f"{item.nodeid}: tests in {parts[0]}/ must be marked slow")
        if parts[0] == "unit":
            if slow:
                problems.append(f"{item.nodeid}: unit tests must not be marked slow")
            used = REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))
            if used:
                problems.append(f"{item.nodeid}: unit tests must not use {sorted(used)}")
    if problems:
        raise pytest.UsageError("Tests in the wrong tier:\n" + "\n".join(problems))


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="session")
def embedder():
    """The default embedding model, loaded once per test session (slow tests only)."""
    from rag.embed.sbert import SentenceTransformerEmbedder
    from rag.settings import Settings

    return SentenceTransformerEmbedder.from_settings(Settings.from_env())


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the product's seed corpus."""
    import shutil

    folder = tmp_path_factory.mktemp("seed") / "corpus"
    shutil.copytree(SEED, folder)
    return folder


@pytest.fixture(scope="session")
def seed_pipeline(seed_corpus: Path, embedder, tmp_path_factory: pytest.TempPathFactory):
    """A pipeline with the real model over the seed corpus, its index in a temporary folder."""
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


# --------------------------------------------------------------------------- fake model


@pytest.fixture()
def fake_embedder():
    """A fresh deterministic fake embedder (``.calls`` lists every text it embedded)."""
    from rag.embed.fake import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture()
def fake_settings(tmp_path: Path):
    """Settings over a private copy of the seed corpus, index and data in ``tmp_path``."""
    return small_settings(tmp_path)


@pytest.fixture()
def fake_pipeline(fake_settings, fake_embedder):
    """A pipeline with the fake embedder over the seed corpus, its index built."""
    from rag.pipeline import Pipeline

    pipeline = Pipeline(fake_settings, embedder=fake_embedder)
    pipeline.update_index(progress=False)
    return pipeline


@pytest.fixture(scope="session")
def shared_fake_pipeline(tmp_path_factory: pytest.TempPathFactory):
    """One fake-embedder pipeline over the seed corpus for the whole session, for tests
    that only ask (they must not change its corpus, index or settings)."""
    from rag.embed.fake import FakeEmbedder
    from rag.pipeline import Pipeline

    pipeline = Pipeline(small_settings(tmp_path_factory.mktemp("shared-fake")),
                        embedder=FakeEmbedder(), auto_index=False)
    pipeline.update_index(progress=False)
    return pipeline


@pytest.fixture(scope="session")
def answering_fake_pipeline(shared_fake_pipeline):
    """The shared fake pipeline's index, with relevance thresholds 0: it always answers."""
    from rag.pipeline import Pipeline

    settings = shared_fake_pipeline.settings.replace(min_relevance_de=0.0, min_relevance_en=0.0)
    return Pipeline(settings, embedder=shared_fake_pipeline.embedder, auto_index=False)

