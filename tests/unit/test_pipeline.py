"""The pipeline (rag.pipeline) with the fake embedder: input validation, found and
not-found answers, filters, statelessness, building and reloading the index, damaged or
mismatched indexes, concurrent reloads, and the public ``rag.ask``."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import (
    EXTRA,
    EXTRA_QUESTION,
    EXTRA_TEXT,
    MINSK_VISIT,
    PRIGOSCHIN,
    SEED_ARTICLES,
    SEWASTOPOL,
)

import rag
from rag.answer import NOT_FOUND
from rag.embed.fake import FakeEmbedder
from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing, QuestionError
from rag.indexing import update_index
from rag.pipeline import Pipeline, clean_question
from rag.settings import Settings
from rag.store.folder import CURRENT, MANIFEST, current_version
from rag.store.index import CHUNKS
from rag.types import Answer

QUESTION = "Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?"
#: Strings that must stay data (never SQL, HTML or a path to anything).
INJECTIONS = [
    "'; DROP TABLE chunks; --",
    "\" OR 1=1 --",
    "Robert'); DELETE FROM docs WHERE ('1'='1",
    "1 UNION SELECT text FROM chunks",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(document.cookie)",
    "\"><svg/onload=alert(1)>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "${jndi:ldap://example.com/a}",
    "%s%s%s%n%x",
    "../../etc/passwd",
    "$(rm -rf /) `id`",
    "\u202eevil\u202c",
    "NaN",
    "None",
]


def check_answer(answer: Answer, max_chars: int) -> None:
    """The invariants of every :class:`Answer`."""
    assert isinstance(answer, Answer)
    assert answer.language in ("de", "en")
    assert isinstance(answer.found, bool) and answer.text
    assert 0 < len(answer.question) <= max_chars
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    json.dumps(answer.to_dict(), ensure_ascii=False)


@pytest.fixture()
def answering(answering_fake_pipeline: Pipeline) -> Pipeline:
    """A pipeline that always answers (relevance thresholds 0); read-only."""
    return answering_fake_pipeline


@pytest.fixture()
def asking(shared_fake_pipeline: Pipeline) -> Pipeline:
    """The session's fake pipeline (default thresholds); read-only."""
    return shared_fake_pipeline


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "question, error",
    [
        ("", "Please enter a question"),
        ("   \t\n  ", "Please enter a question"),
        ("\x00\x01\x02\x1b\x7f", "Please enter a question"),
        ("?!… ,.;:-–— ¿¡ «» „“", "Please enter a question"),
        ("\u200b\u200d\ufeff\u2060", "Please enter a question"),
        ("🙂" * 1001, "Please enter a question"),  # no letter or digit at all
        ("Putin " * 20_000, "too long"),
        ("x" * 100_000, "too long"),
        (None, "must be text"),
        (42, "must be text"),
        (b"Putin?", "must be text"),
    ],
    ids=["empty", "whitespace", "controls", "punctuation", "invisible", "emoji-only",
         "100k-words", "100k-chars", "none", "int", "bytes"],
)
def test_bad_questions_raise_question_error(asking: Pipeline, question: Any,
                                            error: str) -> None:
    with pytest.raises(QuestionError, match=error) as info:
        asking.ask(question)
    assert "Frage" in str(info.value)  # bilingual
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"k": 0}, "k"), ({"k": 21}, "k"), ({"k": -1}, "k"), ({"k": "five"}, "k"),
    ({"k": float("nan")}, "k"), ({"k": 2.5}, "k"), ({"k": True}, "k"),
    ({"date_from": "gestern"}, "date_from"), ({"date_from": 2022}, "date_from"),
    ({"date_to": ["2022"]}, "date_to"), ({"date_to": "2022-1"}, "date_to"),
    ({"doc_ids": 7}, "doc_ids"), ({"doc_ids": [1, 2]}, "doc_ids"), ({"doc_ids": "a.txt"},
                                                                    "doc_ids"),
])
def test_bad_options_name_the_parameter(asking: Pipeline, kwargs: dict,
                                        name: str) -> None:
    with pytest.raises(QuestionError, match=f"^{name} ") as info:
        asking.ask(QUESTION, **kwargs)
    assert repr(next(iter(kwargs.values())))[:10] in str(info.value) or name == "k"


def test_good_options_are_accepted(answering: Pipeline) -> None:
    most = answering.settings.retrieval.max_top_k
    assert len(answering.ask(QUESTION, most).sources) <= most + 3  # + cross-check sources
    assert len(answering.ask(QUESTION, 2.0).sources) <= 2
    answer = answering.ask(QUESTION, date_from=date(2022, 1, 1), date_to=" 2022-12 ",
                           doc_ids=(MINSK_VISIT,))
    assert {s.doc_id for s in answer.sources} == {MINSK_VISIT}
    assert answering.ask(QUESTION, None, date_from="", date_to=None, doc_ids=[]).sources


def test_clean_question() -> None:
    assert clean_question("Wie nennt\x00 Lukaschenko\x1b Putin?\u200b", 100) == \
        "Wie nennt Lukaschenko Putin?"
    assert clean_question("  Gro\u0308ße \n\t Frage ", 100) == "Größe Frage"  # NFC, spaces
    assert clean_question("ẞ" * 999 + "\u0301", 1000) == "ẞ" * 999 + "\u0301"
    assert clean_question("Putin? \ud800", 100) == "Putin?"  # a lone surrogate is no text
    with pytest.raises(QuestionError, match="at most 10"):
        clean_question("x" * 11, 10)


# --------------------------------------------------------------------------- answers


def test_found_answer_cites_and_highlights(answering: Pipeline) -> None:
    answer = answering.ask(QUESTION)
    check_answer(answer, 1000)
    assert answer.found and answer.language == "de" and answer.question == QUESTION
    cited = [s for s in answer.sources if f"[{s.n}]" in answer.text]
    assert cited and cited[0].highlights
    for a, b in cited[0].highlights:  # the answer quotes the highlighted sentences
        assert cited[0].text[a:b] in answer.text
    assert len(answer.sources) <= answering.settings.retrieval.top_k + 3
    top = answer.sources[0]
    assert top.doc_id == MINSK_VISIT and top.date == "2022-12-19" and top.title
    assert [s.score for s in answer.sources[:5]] == sorted(
        (s.score for s in answer.sources[:5]), reverse=True)


@pytest.mark.parametrize(("question", "lang"), [
    (QUESTION, "de"),
    ("What did Lukashenko bring his guest Putin at the airport?", "en"),
])
def test_not_found_keeps_sources_as_possibly_related(fake_settings: Settings, question: str,
                                                     lang: str) -> None:
    """Below the relevance threshold the answer says so, in the question's language, and
    still lists the closest passages."""
    strict = fake_settings.replace(min_relevance_de=1.01, min_relevance_en=1.01)
    pipeline = Pipeline(strict, embedder=FakeEmbedder())
    answer = pipeline.ask(question, 3)
    check_answer(answer, 1000)
    assert not answer.found and answer.language == lang and answer.text == NOT_FOUND[lang]
    assert len(answer.sources) == 3 and not any(s.highlights for s in answer.sources)


def test_filters_restrict_the_sources(answering: Pipeline) -> None:
    answer = answering.ask("Wie nennt Lukaschenko Putin?", date_from="2022", date_to="2023-12")
    assert answer.sources
    assert all(s.date and "2022" <= s.date[:7] <= "2023-12" for s in answer.sources)
    answer = answering.ask("Wer ist Prigoschin?", doc_ids=[PRIGOSCHIN])
    assert answer.sources and {s.doc_id for s in answer.sources} == {PRIGOSCHIN}
    nothing = answering.ask("Wer ist Prigoschin?", doc_ids=["../../etc/passwd"])
    assert nothing.sources == [] and not nothing.found
    nothing = answering.ask("Wer ist Prigoschin?", date_from="2030")
    assert nothing.sources == [] and not nothing.found


def test_ask_is_stateless(answering: Pipeline) -> None:
    """``ask()`` without a history keeps no conversation of its own: the same question
    gets the same answer whatever was asked before (an empty history changes nothing)."""
    first = answering.ask(QUESTION)
    assert first.understood_as is None
    answering.ask("Wer ist Prigoschin?", 2, doc_ids=[PRIGOSCHIN])
    answering.ask("Und wann war das?")
    answering.ask("How many professional soldiers does the Belarusian army have?")
    assert answering.ask(QUESTION).to_dict() == first.to_dict()
    assert answering.ask(QUESTION, history=[]).to_dict() == first.to_dict()
    assert answering.ask(QUESTION, history=None).to_dict() == first.to_dict()


@pytest.mark.parametrize("question", [
    "Wie nennt\x00 Lukaschenko\x1b Putin?\x7f\u200b",
    "Лукашенко Путин 普京 بوتين Lukaschenko Putin?",
    "🇧🇾🤝🇷🇺 Wie nennt Lukaschenko Putin? 😀",
    "x" * 1000,
    "ẞ" * 999 + "\u0301",  # NFC keeps it at 1000 characters
    "Wie nennt Lukaschenko Putin? \ud800",
    "\udfff Putin",
    *INJECTIONS,
])
def test_odd_questions_get_answers(asking: Pipeline, question: str) -> None:
    answer = asking.ask(question)
    check_answer(answer, 1000)
    assert answer.question == clean_question(question, 1000)


def test_injection_strings_are_data(asking: Pipeline) -> None:
    """SQL/HTML/JS strings come back verbatim as data and do not touch the chunk store."""
    db = asking.index.folder / CHUNKS

    def fingerprint() -> tuple:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return (con.execute("SELECT count(*), sum(length(text)) FROM chunks").fetchone(),
                    con.execute("SELECT count(*) FROM docs").fetchone(),
                    con.execute("PRAGMA integrity_check").fetchone())

    before = fingerprint()
    for text in INJECTIONS:
        question = f"Wie nennt Lukaschenko Putin? {text}"
        answer = asking.ask(question, doc_ids=[text])
        assert answer.question == clean_question(question, 1000) and answer.sources == []
        if text.isprintable():
            assert asking.ask(question).question == question
    after = fingerprint()
    assert after == before and after[2] == ("ok",)


DATES = st.one_of(st.none(), st.just(""), st.dates().map(date.isoformat), st.dates(),
                  st.from_regex(r"\d{4}(-\d{2}(-\d{2})?)?", fullmatch=True), st.text(max_size=12))
QUESTIONS = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(max_codepoint=0x7F), max_size=60),
    st.lists(st.one_of(st.sampled_from(["Wie", "viele", "Soldaten", "Putin", "?", "\x00",
                                        "\u200b", "🙂", "Путин", "\ud800"]),
                       st.sampled_from(INJECTIONS), st.text(max_size=4)),
             max_size=14).map(" ".join),
    st.tuples(st.text(min_size=1, max_size=8), st.integers(100, 25_000)).map(
        lambda t: t[0] * t[1]),
)


def test_random_input_gives_answer_or_question_error(asking: Pipeline) -> None:
    """Random questions, ``k``, dates and ``doc_ids``: an Answer within the filter, or a
    QuestionError with a message; never anything else."""
    real_ids = sorted(asking.index.docs)
    doc_ids = st.one_of(st.none(), st.lists(st.one_of(
        st.sampled_from(real_ids), st.text(max_size=20),
        st.sampled_from(["../../etc/passwd", "/etc/passwd", "*", "%", "' OR 1=1 --"])),
        max_size=4))
    outcomes = {"answer": 0, "question_error": 0}

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(QUESTIONS, st.one_of(st.none(), st.integers(-5, 60)), DATES, DATES, doc_ids)
    def prop(question: str, k: int | None, date_from: Any, date_to: Any,
             docs: list[str] | None) -> None:
        try:
            answer = asking.ask(question, k, date_from=date_from, date_to=date_to,
                                       doc_ids=docs)
        except QuestionError as exc:
            assert str(exc)
            outcomes["question_error"] += 1
            return
        check_answer(answer, 1000)
        assert len(answer.sources) <= (k or asking.settings.retrieval.top_k)
        if docs:
            assert {s.doc_id for s in answer.sources} <= set(docs)
        outcomes["answer"] += 1

    prop()
    assert outcomes["answer"] and outcomes["question_error"]


# --------------------------------------------------------------------------- the index


def test_builds_on_first_use_and_notices_changes(fake_settings: Settings) -> None:
    embedder = FakeEmbedder()
    pipeline = Pipeline(fake_settings, embedder=embedder)
    assert not fake_settings.paths.index_dir.exists()
    answer = pipeline.ask(QUESTION)
    assert answer.sources and embedder.calls  # built, then asked
    assert set(pipeline.index.docs) == set(SEED_ARTICLES) and not pipeline.is_stale()
    (fake_settings.paths.corpus_dir / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    assert pipeline.is_stale()
    embedder.calls.clear()
    report = pipeline.update_index(progress=False)
    assert report.added == [EXTRA]
    assert embedder.calls and all(c.rsplit("\n", 1)[-1] in EXTRA_TEXT.replace("\n", " ")
                                  or c.rsplit("\n", 1)[-1] in EXTRA_TEXT
                                  for c in embedder.calls)  # only the new article
    assert not pipeline.is_stale()
    assert pipeline.ask(EXTRA_QUESTION, doc_ids=[EXTRA]).sources[0].doc_id == EXTRA


def test_a_pipeline_that_may_not_build(fake_settings: Settings) -> None:
    pipeline = Pipeline(fake_settings, embedder=FakeEmbedder(), auto_index=False)
    with pytest.raises(IndexMissing, match="rag index"):
        pipeline.ask(QUESTION)
    update_index(fake_settings, FakeEmbedder(), progress=False)
    assert pipeline.ask(QUESTION).sources


def test_reloads_a_version_published_by_another_process(fake_pipeline: Pipeline) -> None:
    settings = fake_pipeline.settings
    old = fake_pipeline.index.folder
    (settings.paths.corpus_dir / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    update_index(settings, FakeEmbedder(), progress=False)  # "another process"
    assert fake_pipeline.index.folder != old  # reloaded on the next use
    assert EXTRA in fake_pipeline.index.docs


def test_running_pipeline_refuses_an_index_published_with_other_settings(
        fake_pipeline: Pipeline) -> None:
    """Another process rebuilds the shared index with other chunking: a running pipeline
    refuses it (IndexMismatch, with the fix) rather than searching it."""
    assert fake_pipeline.ask(QUESTION).sources
    other = fake_pipeline.settings.replace(
        chunk_tokens=fake_pipeline.settings.chunking.chunk_tokens - 100)
    update_index(other, FakeEmbedder(), progress=False)
    for auto in (False, True):
        fake_pipeline.auto_index = auto
        with pytest.raises(IndexMismatch, match="chunking.*rag index --rebuild"):
            fake_pipeline.ask(QUESTION)


@pytest.mark.parametrize("damage", ["chunks", "manifest", "pointer"])
def test_damaged_index(fake_settings: Settings, damage: str,
                       caplog: pytest.LogCaptureFixture) -> None:
    """A damaged index: refused with the fix where the pipeline may not build; rebuilt
    (saying why) and answered from where it may."""
    update_index(fake_settings, FakeEmbedder(), progress=False)
    index_dir = fake_settings.paths.index_dir
    folder = current_version(index_dir)
    if damage == "chunks":
        (folder / CHUNKS).unlink()
    elif damage == "manifest":
        (folder / MANIFEST).write_text("[]")
    else:
        shutil.rmtree(folder)
    strict = Pipeline(fake_settings, embedder=FakeEmbedder(), auto_index=False)
    with pytest.raises(IndexCorrupt, match="rag index --rebuild"):
        strict.ask(QUESTION)
    caplog.set_level(logging.INFO)
    pipeline = Pipeline(fake_settings, embedder=FakeEmbedder())
    assert pipeline.ask(QUESTION, doc_ids=[MINSK_VISIT]).sources[0].doc_id == MINSK_VISIT
    assert "previous index was damaged" in caplog.text
    versions = [p.name for p in index_dir.iterdir() if p.name.startswith("v-")]
    assert versions == [current_version(index_dir).name]
    assert (index_dir / CURRENT).read_text() == versions[0]


def test_mismatched_index_is_rebuilt_where_allowed(fake_settings: Settings,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    update_index(fake_settings, FakeEmbedder(name="another-model"), progress=False)
    strict = Pipeline(fake_settings, embedder=FakeEmbedder(), auto_index=False)
    with pytest.raises(IndexMismatch, match="another-model"):
        strict.ask(QUESTION)
    caplog.set_level(logging.INFO)
    answer = Pipeline(fake_settings, embedder=FakeEmbedder()).ask(QUESTION)
    assert answer.sources and "Index rebuilt" in caplog.text


def test_reload_does_not_close_the_index_under_a_running_question(
        fake_settings: Settings) -> None:
    """When another process publishes a new version, the next question reloads the index;
    a question still running in another thread on the old one must finish (the old index
    was once closed at once: ``sqlite3.ProgrammingError``, "internal error" in the app).

    Deterministic: thread A is held inside ``ask()`` right after it took the index, a new
    version is published, thread B asks (and reloads), A resumes.
    """
    fake = FakeEmbedder()
    update_index(fake_settings, fake, progress=False)
    inside, resume = threading.Event(), threading.Event()

    class Held:
        """The fake embedder; holds thread A in ``encode_queries``."""

        def __getattr__(self, name: str) -> Any:
            return getattr(fake, name)

        def encode_queries(self, texts: list[str]) -> Any:
            if threading.current_thread().name == "A":
                inside.set()
                resume.wait(60)
            return fake.encode_queries(texts)

    pipeline = Pipeline(fake_settings, embedder=Held(), auto_index=False)  # type: ignore[arg-type]
    pipeline.ask("Wie nennt Lukaschenko Putin?")
    outcome: dict[str, Any] = {}

    def ask_a() -> None:
        try:
            outcome["a"] = pipeline.ask(QUESTION)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcome["a"] = exc

    a = threading.Thread(target=ask_a, name="A")
    a.start()
    assert inside.wait(60)
    (fake_settings.paths.corpus_dir / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")
    update_index(fake_settings, fake, progress=False)  # "another process" publishes
    assert pipeline.ask(EXTRA_QUESTION, doc_ids=[EXTRA]).sources[0].doc_id == EXTRA  # B
    resume.set()
    a.join(60)
    assert isinstance(outcome["a"], Answer), repr(outcome["a"])
    assert outcome["a"].sources[0].doc_id == MINSK_VISIT


# --------------------------------------------------------------------------- rag.ask


def test_public_ask_function(answering: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """``from rag import ask`` keeps its contract (run on a fake-embedder pipeline)."""
    monkeypatch.setattr(rag.pipeline, "_default", answering)
    answer = rag.ask("Wie nennt Lukaschenko Putin?", k=3, date_from="2021")
    check_answer(answer, 1000)
    assert len(answer.sources) <= 3 + 3 and answer.sources[0].doc_id in (SEWASTOPOL,
                                                                         MINSK_VISIT, PRIGOSCHIN)
    for bad in ("", "   ", "?!", "y" * 100_000, None, 42, b"Putin?"):
        with pytest.raises(rag.QuestionError):
            rag.ask(bad)  # type: ignore[arg-type]
    assert rag.Answer is Answer and rag.Pipeline is Pipeline and rag.Settings is Settings
    assert issubclass(rag.QuestionError, rag.RagError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rag.nope  # noqa: B018
