"""The web app's service (rag.web.service): the index is built or loaded in a background
thread while the page is served; readiness, progress, status line, article choices and
errors. A real pipeline with the fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_data import MINSK_VISIT, SEED_ARTICLES

from rag.embed.fake import FakeEmbedder
from rag.errors import CorpusError, NotReady, StoreError
from rag.indexing import update_index
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.web.service import EXAMPLES, Service, doc_label


def test_builds_a_missing_index_then_is_ready(fake_settings: Settings) -> None:
    embedder = FakeEmbedder()
    service = Service(Pipeline(fake_settings, embedder=embedder, auto_index=False))
    assert service.status()[0] == "busy" and "Loading model and index" in service.status()[1]
    with pytest.raises(NotReady, match="still being built"):
        service.ask("Wie nennt Lukaschenko Putin?")
    service.start().join(60)
    assert service.ready and service.wait(0) and service.error is None
    assert service.progress is not None and service.progress[0] == service.progress[1] > 0
    index = service.pipeline.index
    assert service.status() == ("ready", f"Bereit · 5 Artikel, {index.size} Passagen / "
                                         f"Ready · 5 articles, {index.size} passages")
    assert [doc for _, doc in service.doc_choices] == sorted(SEED_ARTICLES)
    label = dict((d, lab) for lab, d in service.doc_choices)[MINSK_VISIT]
    assert label.endswith(" (2022-12-19)") and label.startswith("Russland Putin bittet")
    assert embedder.calls[-len(EXAMPLES):] == list(EXAMPLES)  # asked: warmed up
    answer = service.ask("Wie nennt Lukaschenko Putin?", 2, "2021", None, [])
    assert len(answer.sources) <= 2 and service.ready_seconds is not None


def test_loads_an_up_to_date_index_without_building(fake_settings: Settings) -> None:
    update_index(fake_settings, FakeEmbedder(), progress=False)
    embedder = FakeEmbedder()
    service = Service(Pipeline(fake_settings, embedder=embedder, auto_index=False))
    service.start().join(60)
    assert service.ready and service.progress is None
    assert embedder.calls == list(EXAMPLES)  # nothing embedded but the examples
    # the seed titles are all too long to be shown whole: only answered examples
    assert set(service.examples) <= set(EXAMPLES)


def test_building_status_shows_progress(fake_settings: Settings) -> None:
    service = Service(Pipeline(fake_settings, embedder=FakeEmbedder(), auto_index=False))
    service.phase = "building"
    assert "Building the search index" in service.status()[1]
    service._on_progress(3, 18)
    state, message = service.status()
    assert state == "busy" and "Embedding 3/18" in message
    with pytest.raises(NotReady):
        service.ask("Wie nennt Lukaschenko Putin?")


def test_failed_startup_is_reported(tmp_path: Path) -> None:
    settings = Settings().replace(corpus_dir=tmp_path / "missing", index_dir=tmp_path / "i")
    service = Service(Pipeline(settings, embedder=FakeEmbedder(), auto_index=False))
    service.start().join(60)
    assert service.phase == "error" and service.wait(0) and not service.ready
    state, message = service.status()
    assert state == "error" and message.startswith("Der Suchindex ist nicht verfügbar")
    assert "The index is not available" in message
    assert "does not exist" in message
    with pytest.raises(StoreError, match="does not exist") as info:
        service.ask("Wie nennt Lukaschenko Putin?")
    assert not isinstance(info.value, CorpusError)


@pytest.mark.parametrize(("title", "date", "label"), [
    ("Kurz", "2022-12", "Kurz (2022-12)"),
    ("  ", None, "a.txt"),
    (None, None, "a.txt"),
    ("x" * 100, "2020", "x" * 80 + "… (2020)"),
    ("Ein sehr langer Titel " * 6, None, "Ein sehr langer Titel Ein sehr langer Titel Ein sehr "
                                          "langer Titel Ein sehr…"),
])
def test_doc_label(title, date, label) -> None:
    assert doc_label(title, date, "a.txt") == label


def test_examples_are_checked_without_the_llm(fake_settings: Settings, monkeypatch) -> None:
    """With an LLM configured, checking the six examples at startup asks it nothing (six
    generated answers before the page is ready, or six timeouts of a dead server)."""
    from rag.answer import GenerativeAnswerer

    asked = []

    def no_llm(*_args, **_kwargs):
        asked.append(1)
        raise AssertionError("the LLM was asked")

    monkeypatch.setattr(GenerativeAnswerer, "answer", no_llm)
    settings = fake_settings.replace(llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    pipeline = Pipeline(settings, embedder=FakeEmbedder(), auto_index=False)
    assert isinstance(pipeline.answerer, GenerativeAnswerer)
    service = Service(pipeline)
    service.start().join(60)
    assert service.ready and set(service.examples) <= set(EXAMPLES) and asked == []
    answer = pipeline.ask("Wie viele Reservisten hat Belarus?", extractive=True)
    assert not answer.generated
    with pytest.raises(AssertionError, match="LLM was asked"):
        pipeline.ask("Wie viele Reservisten hat Belarus?")
