"""Reliability and security: bad questions, bad corpus files, broken indexes, feedback limits.

Crash safety (``kill -9`` of the indexer) is in ``test_crash_safety.py``; many users at once,
the soak run and the checks against the running app's HTTP API are in
``test_concurrency.py``. Measured figures go to ``tests/artifacts/reliability_*.json``
(see ``docs/reliability.md``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import faiss
import gradio as gr
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import feedback
from rag.answer import Answer, Source
from rag.chunking import chunk_corpus
from rag.cli import main as cli_main
from rag.corpus import read_corpus
from rag.embedding import Embedder
from rag.index import (
    BM25_DIR,
    CHUNKS,
    CURRENT,
    MANIFEST,
    VECTORS,
    IndexCorrupt,
    IndexMismatch,
    current_version,
    load_index,
)
from rag.indexer import chunking_signature, model_signature, update_index
from rag.pipeline import Pipeline, QuestionError, clean_question
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
SEED = ROOT / "corpus"
TWO_ARTICLES = ("002_b32e619577f15ed7.txt", "003_13b114440d0760a9.txt")
#: Seed questions answered from the two-article corpus: (question, doc_id, keyword).
TWO_ARTICLE_CHECKS = (
    ("Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?",
     "003_13b114440d0760a9.txt", "Sewastopol"),
    ("Was brachte Lukaschenko seinem Gast Putin zum Flughafen mit?",
     "002_b32e619577f15ed7.txt", "Tulpen"),
)

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

def write_artifact(name: str, data: dict[str, Any]) -> None:
    """Merge ``data`` into ``tests/artifacts/<name>.json`` (figures for the docs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    old.update(data)
    old["load_average"] = [round(x, 2) for x in os.getloadavg()]
    old["cpus"] = os.cpu_count()
    path.write_text(json.dumps(old, indent=2, ensure_ascii=False), encoding="utf-8")


def load_app() -> ModuleType:
    """Import ``app.py`` (a script, not a package) once, shared with the other app tests."""
    if "rag_web_app" in sys.modules:
        return sys.modules["rag_web_app"]
    spec = importlib.util.spec_from_file_location("rag_web_app", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["rag_web_app"] = module
    spec.loader.exec_module(module)
    return module


def check_answer(answer: Answer, max_chars: int) -> None:
    """The invariants of every :class:`Answer`."""
    assert isinstance(answer, Answer)
    assert answer.language in ("de", "en")
    assert isinstance(answer.found, bool) and answer.text
    assert 0 < len(answer.question) <= max_chars
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    json.dumps(answer.to_dict(), ensure_ascii=False)


# --------------------------------------------------------------------------- bad questions


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, error",
    [
        ("", "Please enter a question"),
        ("   \t\n  ", "Please enter a question"),
        ("\x00\x01\x02\x1b\x7f", "Please enter a question"),
        ("?!… ,.;:-–— ¿¡ «» „“", "Please enter a question"),
        ("\u200b\u200d\ufeff\u2060", "Please enter a question"),
        ("Putin " * 20_000, "too long"),
        ("x" * 100_000, "too long"),
        ("🙂" * 1001, "Please enter a question"),  # no letter or digit at all
    ],
    ids=["empty", "whitespace", "controls", "punctuation", "invisible", "100k-words",
         "100k-chars", "emoji-only"],
)
def test_bad_questions_raise_question_error(seed_pipeline: Pipeline, question: str,
                                            error: str) -> None:
    with pytest.raises(QuestionError, match=error):
        seed_pipeline.ask(question)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Wie nennt\x00 Lukaschenko\x1b Putin?\x7f\u200b",
        "Лукашенко Путин 普京 بوتين Lukaschenko Putin?",
        "🇧🇾🤝🇷🇺 Wie nennt Lukaschenko Putin? 😀",
        "x" * 1000,
        "ẞ" * 999 + "\u0301",  # NFC keeps it at 1000 characters
        *INJECTIONS,
    ],
)
def test_odd_questions_get_answers(seed_pipeline: Pipeline, question: str) -> None:
    answer = seed_pipeline.ask(question)
    check_answer(answer, seed_pipeline.settings.max_question_chars)
    assert answer.question == clean_question(question, seed_pipeline.settings.max_question_chars)


@pytest.mark.slow
def test_injection_strings_are_data(seed_pipeline: Pipeline) -> None:
    """SQL/HTML/JS strings come back verbatim as data and do not touch the chunk store."""
    index = seed_pipeline.index
    db = index.folder / CHUNKS

    def fingerprint() -> tuple:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return (con.execute("SELECT count(*), sum(length(text)) FROM chunks").fetchone(),
                    con.execute("SELECT count(*) FROM docs").fetchone(),
                    con.execute("PRAGMA integrity_check").fetchone())

    before = fingerprint()
    max_chars = seed_pipeline.settings.max_question_chars
    for text in INJECTIONS:
        question = f"Wie nennt Lukaschenko Putin? {text}"
        answer = seed_pipeline.ask(question)
        assert answer.question == clean_question(question, max_chars)
        if text.isprintable():
            assert answer.question == question
    after = fingerprint()
    assert after == before and after[2] == ("ok",)


@pytest.mark.slow
def test_public_ask_function(seed_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """``from rag import ask`` keeps the same contract (run on the seed pipeline)."""
    import rag

    monkeypatch.setattr(rag.pipeline, "_default", seed_pipeline)
    answer = rag.ask("Wie nennt Lukaschenko Putin?", k=3)
    check_answer(answer, seed_pipeline.settings.max_question_chars)
    assert len(answer.sources) <= 3
    for bad in ("", "   ", "?!", "y" * 100_000, None, 42, b"Putin?"):
        with pytest.raises(QuestionError):
            rag.ask(bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_lone_surrogate_is_a_question_error(seed_pipeline: Pipeline) -> None:
    """A lone UTF-16 surrogate (JSON ``"\\ud800"`` through the API) is not valid text:
    an Answer or a QuestionError, not the ``UnicodeEncodeError`` it once raised in
    ``detect_language`` (the app showed "internal error")."""
    for question in ("Wie nennt Lukaschenko Putin? \ud800", "\udfff Putin"):
        try:
            answer = seed_pipeline.ask(question)
        except QuestionError:
            continue
        check_answer(answer, seed_pipeline.settings.max_question_chars)


_WORDS = st.sampled_from([
    "Wie", "viele", "Soldaten", "hat", "Putin", "Lukaschenko", "Minsk", "Belarus", "Kreml",
    "How", "many", "army", "the", "?", "!", "…", "„", "“", "1437", "2022-12-19", "ß", "Ä",
    "\n", "\t", "\x00", "\u200b", "\u0301", "🙂", "Путин", "普京", "بوتين", "🇧🇾",
])
QUESTIONS = st.one_of(
    st.text(max_size=60),  # any Unicode except lone surrogates (see the test above)
    st.text(st.characters(max_codepoint=0x7F), max_size=60),  # ASCII, control characters too
    st.lists(st.one_of(_WORDS, st.sampled_from(INJECTIONS), st.text(max_size=4)),
             max_size=14).map(" ".join),
    st.one_of(  # long ones: a quarter of the examples (1000 characters embed slowly)
        st.text(min_size=990, max_size=1010),  # around the length limit
        st.tuples(st.text(min_size=1, max_size=8), st.integers(100, 25_000)).map(
            lambda t: t[0] * t[1]),  # up to 200 000 characters
    ),
)


@pytest.mark.slow
def test_random_questions_give_answer_or_question_error(seed_pipeline: Pipeline) -> None:
    """Thousands of random strings: an Answer or a QuestionError, never anything else."""
    max_chars = seed_pipeline.settings.max_question_chars
    outcomes = {"answer": 0, "question_error": 0}
    examples = int(os.environ.get("RAG_HYPOTHESIS_EXAMPLES", "1200"))

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(QUESTIONS)
    def prop(question: str) -> None:
        try:
            answer = seed_pipeline.ask(question)
        except QuestionError as exc:
            assert str(exc)
            outcomes["question_error"] += 1
            return
        check_answer(answer, max_chars)
        outcomes["answer"] += 1

    started = time.perf_counter()
    prop()
    seconds = time.perf_counter() - started
    write_artifact("reliability_questions", {
        "random_questions": {"examples": sum(outcomes.values()), **outcomes,
                             "seconds": round(seconds, 1)},
    })
    assert outcomes["answer"] > examples / 4 and outcomes["question_error"] > examples / 20


DATES = st.one_of(st.none(), st.just(""), st.dates().map(date.isoformat), st.dates(),
                  st.from_regex(r"\d{4}(-\d{2}(-\d{2})?)?", fullmatch=True), st.text(max_size=12))


@pytest.mark.slow
def test_random_filters_give_answer_or_question_error(seed_pipeline: Pipeline) -> None:
    """Random ``k``, dates and ``doc_ids``: an Answer within the filter, or a QuestionError."""
    real_ids = sorted(seed_pipeline.index.docs)
    doc_ids = st.one_of(st.none(), st.lists(st.one_of(
        st.sampled_from(real_ids), st.text(max_size=20),
        st.sampled_from(["../../etc/passwd", "/etc/passwd", "*", "%", "' OR 1=1 --"])),
        max_size=4))

    @settings(max_examples=250, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.none(), st.integers(-5, 60)), DATES, DATES, doc_ids)
    def prop(k: int | None, date_from: Any, date_to: Any, docs: list[str] | None) -> None:
        try:
            answer = seed_pipeline.ask("Wie nennt Lukaschenko Putin?", k, date_from=date_from,
                                       date_to=date_to, doc_ids=docs)
        except QuestionError as exc:
            assert str(exc)
            return
        check_answer(answer, seed_pipeline.settings.max_question_chars)
        assert len(answer.sources) <= (k or seed_pipeline.settings.top_k)
        if docs:
            assert {s.doc_id for s in answer.sources} <= set(docs)

    prop()


# --------------------------------------------------------------------------- bad corpus files

CP1252 = "Die Bäckerei „Süßes Eck“ in Görlitz verkauft ihren Stollen für 25 € das Stück – " \
         "seit 1911.\n\nDer Bäcker heißt Jörg Weiß.\n"
LATIN1 = "Der Förster Jürgen Weiß zählte im Harz 312 Luchse. Das Ergebnis überraschte die " \
         "Behörde.\n"
UTF16 = "Die Fähre nach Rügen legt täglich um 7 Uhr in Stralsund ab. Die Überfahrt dauert " \
        "zwei Stunden.\n"


def unprivileged_prefix() -> list[str] | None:
    """A command prefix under which permission bits apply (root ignores them), or ``None``.

    As root, ``setpriv`` drops CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH from the bounding set
    (the interpreter under /root stays usable, unlike running as ``nobody``).
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    probe = Path(f"/tmp/rag-perm-probe-{os.getpid()}")
    probe.write_text("x")
    probe.chmod(0)
    try:
        result = subprocess.run([*prefix, "cat", str(probe)], capture_output=True, timeout=30)
    except OSError:
        return None
    finally:
        probe.unlink()
    return prefix if result.returncode != 0 else None


def bad_corpus(folder: Path, unreadable: bool) -> dict[str, str]:
    """Two seed articles, three in other encodings, and bad files; returns bad name -> reason
    word expected in the report."""
    folder.mkdir(parents=True)
    for name in TWO_ARTICLES:
        shutil.copy(SEED / name, folder / name)
    (folder / "cp1252.txt").write_bytes(CP1252.encode("cp1252"))
    (folder / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))
    (folder / "utf16.txt").write_bytes(UTF16.encode("utf-16"))  # with BOM
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "vanished.txt").symlink_to(folder / "deleted-meanwhile.txt")
    bad = {"empty.txt": "empty", "binary.txt": "NUL", "vanished.txt": "disappeared"}
    if unreadable:
        (folder / "secret.txt").write_text("Geheimer Artikel über Minsk.", encoding="utf-8")
        (folder / "secret.txt").chmod(0)
        bad["secret.txt"] = "permission denied"
    return bad


@pytest.mark.slow
def test_cli_indexes_good_files_and_lists_bad_ones(tmp_path: Path, embedder: Embedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m rag index`` on a corpus with bad files: exit 3, each bad file named with
    its reason, every good file (cp1252, latin-1, UTF-16) indexed and answerable."""
    prefix = unprivileged_prefix()
    bad = bad_corpus(tmp_path / "corpus", unreadable=prefix is not None)
    settings_ = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    started = time.perf_counter()
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "rag", "index", "--corpus",
         str(settings_.corpus_dir), "--index", str(settings_.index_dir), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    seconds = time.perf_counter() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr
    skipped = {line.split(":", 1)[0].removeprefix("  skipped ").strip(): line
               for line in proc.stdout.splitlines() if line.startswith("  skipped ")}
    assert set(skipped) == set(bad), proc.stdout
    for name, word in bad.items():
        assert word in skipped[name], skipped[name]
    assert f"skipped: {len(bad)}" in proc.stdout and "Traceback" not in proc.stderr

    index = load_index(settings_.index_dir, model_signature(embedder),
                       chunking_signature(settings_))
    good = {*TWO_ARTICLES, "cp1252.txt", "latin1.txt", "utf16.txt"}
    assert set(index.docs) == good == set(index.row_docs)
    assert [s["path"] for s in index.manifest.skipped] == sorted(bad)
    texts = " ".join(c.text for c in index.chunks(index.row_ids.tolist()).values())
    for text in (CP1252, LATIN1, UTF16):
        assert text.split("\n")[0] in texts  # decoded correctly (no mojibake)
    index.close()

    pipeline = Pipeline(settings_, embedder=embedder, auto_index=False)
    answer = pipeline.ask("Was kostet der Stollen der Bäckerei in Görlitz?")
    assert answer.sources[0].doc_id == "cp1252.txt" and "25 €" in answer.sources[0].text
    answer = pipeline.ask("Wann legt die Fähre nach Rügen ab?")
    assert answer.sources[0].doc_id == "utf16.txt"

    # Once the bad files are gone the exit code is 0 (in-process, with the shared model).
    for name in bad:
        (settings_.corpus_dir / name).unlink()
    monkeypatch.setattr(Embedder, "from_settings", classmethod(lambda cls, s: embedder))
    assert cli_main(["index", "--corpus", str(settings_.corpus_dir), "--index",
                     str(settings_.index_dir), "--quiet"]) == 0
    write_artifact("reliability_corpus", {
        "cli_bad_corpus": {"files": len(good) + len(bad), "skipped": sorted(bad),
                           "exit_code": proc.returncode, "seconds": round(seconds, 1),
                           "permission_case": prefix is not None},
    })


@pytest.mark.slow
def test_unreadable_file_is_listed_not_fatal(tmp_path: Path) -> None:
    """A file without read permission (checked with permission bits enforced)."""
    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv/CAP_SETPCAP: permission bits cannot be "
                    "enforced, so an unreadable file cannot be made")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ein lesbarer Artikel.", encoding="utf-8")
    (corpus / "secret.txt").write_text("Geheim.", encoding="utf-8")
    (corpus / "secret.txt").chmod(0)
    code = ("import json, sys; from rag.corpus import read_corpus, scan_corpus; "
            "a, s = read_corpus(sys.argv[1]); "
            "print(json.dumps([[x.doc_id for x in a], [[x.path, x.reason] for x in s], "
            "sorted(scan_corpus(sys.argv[1]))]))")
    out = subprocess.run([*prefix, sys.executable, "-c", code, str(corpus)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    articles, skipped, scanned = json.loads(out.stdout.strip().splitlines()[-1])
    assert articles == ["a.txt"] == scanned
    assert skipped[0][0] == "secret.txt" and "permission denied" in skipped[0][1]
    assert "chmod" in skipped[0][1]


def small_settings(tmp_path: Path, names: tuple[str, ...] = TWO_ARTICLES) -> Settings:
    """A private corpus of ``names`` (seed articles) and an empty index folder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SEED / name, corpus / name)
    return Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.mark.slow
def test_file_vanishes_during_indexing(tmp_path: Path, embedder: Embedder,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A file deleted between listing and reading is reported; the rest is indexed."""
    import rag.corpus

    settings_ = small_settings(tmp_path)
    victim = settings_.corpus_dir / "zz_vanishing.txt"
    victim.write_text("Ein Artikel, der gleich gelöscht wird.", encoding="utf-8")
    real = rag.corpus._read_bytes

    def read_bytes(path: Path, doc_id: str) -> bytes:
        if doc_id == victim.name:
            path.unlink()  # deleted by someone else right now
        return real(path, doc_id)

    monkeypatch.setattr(rag.corpus, "_read_bytes", read_bytes)
    report = update_index(settings_, embedder, progress=False)
    assert [s.path for s in report.skipped] == [victim.name]
    assert "disappeared" in report.skipped[0].reason
    assert sorted(report.added) == sorted(TWO_ARTICLES)
    monkeypatch.undo()
    assert not Pipeline(settings_, embedder=embedder, auto_index=False).is_stale()


@pytest.mark.slow
def test_file_changes_during_indexing(tmp_path: Path, embedder: Embedder,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed while the index is built: the index holds the version that was read
    (text and hash agree), the change is noticed and indexed by the next run."""
    import rag.indexer

    settings_ = small_settings(tmp_path)
    path = settings_.corpus_dir / "zz_changing.txt"
    path.write_text("Die alte Fassung: Der Zoo in Minsk hat drei Elefanten.", encoding="utf-8")
    real = rag.indexer.embed_chunks

    def embed_chunks(*args: Any, **kwargs: Any) -> Any:
        path.write_text("Die neue Fassung: Der Zoo in Minsk hat sieben Elefanten.",
                        encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(rag.indexer, "embed_chunks", embed_chunks)
    update_index(settings_, embedder, progress=False)
    monkeypatch.undo()
    pipeline = Pipeline(settings_, embedder=embedder, auto_index=False)
    chunks = pipeline.index.chunks(pipeline.index.row_ids.tolist()).values()
    text = " ".join(c.text for c in chunks if c.doc_id == path.name)
    assert "drei Elefanten" in text and "sieben" not in text
    assert pipeline.is_stale()
    report = update_index(settings_, embedder, progress=False)
    assert report.changed == [path.name]
    answer = pipeline.ask("Wie viele Elefanten hat der Zoo in Minsk?")
    assert answer.sources[0].doc_id == path.name and "sieben" in answer.sources[0].text
    assert not pipeline.is_stale()


def big_article_text(target_bytes: int, seed: int = 7) -> str:
    """``target_bytes`` of German news text: numbered seed paragraphs in random order, plus
    one 200 kB line without any whitespace (a pasted blob) in the middle."""
    paragraphs = [p for path in sorted(SEED.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < target_bytes:
        if len(out) == 5000:
            out.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzäöüß0123456789")
                               for _ in range(200_000)))
        out.append(f"Absatz {len(out)}: {rng.choice(paragraphs)}")
        size += len(out[-1].encode("utf-8")) + 2
    return "\n\n".join(out)


@pytest.mark.slow
def test_20_mb_article_is_read_and_chunked_within_the_limit(tmp_path: Path,
                                                            embedder: Embedder) -> None:
    """A 20 MB article: read and chunked with the model's real token counter (not embedded:
    that takes over ten minutes on 2 cores); every chunk within the limit, no text lost."""
    settings_ = Settings.from_env()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.txt").write_text(big_article_text(20_000_000), encoding="utf-8")
    size = (corpus / "big.txt").stat().st_size

    t0 = time.perf_counter()
    articles, skipped = read_corpus(corpus)
    t1 = time.perf_counter()
    chunks = chunk_corpus(articles, chunk_tokens=settings_.chunk_tokens,
                          overlap_tokens=settings_.chunk_overlap_tokens,
                          count_tokens=embedder.count_tokens,
                          paragraph_tokens=settings_.paragraph_tokens)
    t2 = time.perf_counter()
    tokens = [embedder.count_tokens(c.text) for c in chunks]
    t3 = time.perf_counter()

    assert skipped == [] and len(articles) == 1 and size >= 20_000_000
    text = articles[0].text
    assert max(tokens) <= settings_.chunk_tokens
    assert all(text[c.start:c.end] == c.text for c in chunks[:: max(1, len(chunks) // 2000)])
    end = 0  # between and around the chunks there is only whitespace
    for c in sorted(chunks, key=lambda c: c.start):
        assert c.start <= end or not text[end:c.start].strip(), (end, c.start)
        end = max(end, c.end)
    assert not text[end:].strip()
    write_artifact("reliability_corpus", {"article_20mb": {
        "bytes": size, "chunks": len(chunks), "max_tokens": max(tokens),
        "chunk_tokens": settings_.chunk_tokens, "read_s": round(t1 - t0, 2),
        "chunk_s": round(t2 - t1, 2), "verify_tokens_s": round(t3 - t2, 2),
    }})


# --------------------------------------------------------------------------- broken index


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A two-article corpus and its freshly built index (copied before each damage)."""
    settings_ = small_settings(tmp_path_factory.mktemp("pristine"))
    update_index(settings_, embedder, progress=False)
    return settings_


@pytest.fixture()
def damaged(tmp_path: Path, pristine: Settings) -> Settings:
    """A private copy of the pristine corpus and index to damage."""
    shutil.copytree(pristine.corpus_dir, tmp_path / "corpus")
    shutil.copytree(pristine.index_dir, tmp_path / "index")
    return Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        change(data)
        (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    return edit


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "chunk store missing": (lambda v: (v / CHUNKS).unlink(), "unable to open database"),
    "chunk store truncated": (lambda v: _truncate(v / CHUNKS), "malformed"),
    "chunk store garbage": (lambda v: (v / CHUNKS).write_bytes(b"\x00garbage" * 512),
                            "not a database"),
    "bm25 folder missing": (lambda v: shutil.rmtree(v / BM25_DIR), "No such file"),
    "bm25 file damaged": (lambda v: next((v / BM25_DIR).glob("*.npy")).write_bytes(b"xx"),
                          "damaged"),
    "vectors empty": (lambda v: (v / VECTORS).write_bytes(b""), "read error"),
    "vectors truncated": (lambda v: _truncate(v / VECTORS), "damaged"),
    "CURRENT points to a missing folder": (lambda v: shutil.rmtree(v), "unreadable"),
    "manifest not an object": (lambda v: (v / MANIFEST).write_text("[]"), "unreadable"),
    "manifest missing fields": (lambda v: (v / MANIFEST).write_text("{}"), "unreadable"),
    "manifest count wrong": (_edit_manifest(lambda m: m["counts"].update(chunks=3)),
                             "inconsistent"),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_detected_and_rebuilt(damaged: Settings, embedder: Embedder,
                                               damage: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """Each damage is detected at load with a message that says to rebuild; a pipeline that
    may build (``auto_index``) rebuilds, says why, and answers correctly."""
    change, detail = DAMAGE[damage]
    change(current_version(damaged.index_dir))
    with pytest.raises(IndexCorrupt) as info:
        load_index(damaged.index_dir, model_signature(embedder), chunking_signature(damaged))
    assert detail in str(info.value) and "python -m rag index --rebuild" in str(info.value)

    strict = Pipeline(damaged, embedder=embedder, auto_index=False)
    with pytest.raises(IndexCorrupt):
        strict.ask("Wie nennt Lukaschenko Putin?")

    caplog.set_level(logging.INFO)
    pipeline = Pipeline(damaged, embedder=embedder)
    for question, doc_id, keyword in TWO_ARTICLE_CHECKS:
        answer = pipeline.ask(question)
        assert answer.sources[0].doc_id == doc_id and keyword in answer.text
    assert "previous index was damaged" in caplog.text
    assert [p.name for p in damaged.index_dir.iterdir() if p.name.startswith("v-")] == [
        current_version(damaged.index_dir).name]


@pytest.mark.slow
def test_vectors_of_another_dimension_are_detected_at_load(damaged: Settings,
                                                           embedder: Embedder) -> None:
    """A ``vectors.faiss`` of another dimension (from another model) is refused at load
    (it once loaded, and the first question failed inside FAISS)."""
    folder = current_version(damaged.index_dir)
    n = json.loads((folder / MANIFEST).read_text())["counts"]["chunks"]
    other = faiss.IndexIDMap2(faiss.IndexFlatIP(128))
    other.add_with_ids(np.random.default_rng(0).random((n, 128), dtype=np.float32),
                       np.arange(n, dtype=np.int64))
    faiss.write_index(other, str(folder / VECTORS))
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        load_index(damaged.index_dir, model_signature(embedder), chunking_signature(damaged))


@pytest.mark.slow
@pytest.mark.parametrize("field, value", [("counts", "26"), ("model", None), ("files", [])])
def test_manifest_with_wrong_field_types_is_corrupt(damaged: Settings, embedder: Embedder,
                                                    field: str, value: object) -> None:
    """A manifest that is valid JSON but has a field of the wrong type is
    :class:`IndexCorrupt` with the fix (it once escaped as ``AttributeError``, or was
    used: ``files=[]`` made every article look new)."""
    _edit_manifest(lambda m: m.update({field: value}))(current_version(damaged.index_dir))
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        load_index(damaged.index_dir, model_signature(embedder), chunking_signature(damaged))


MISMATCH: dict[str, Callable[[dict], None]] = {
    "another model": lambda m: m["model"].update(name="another-model", dim=768),
    "another chunking": lambda m: m["chunking"].update(chunk_tokens=123),
    "older chunker": lambda m: m["chunking"].update(chunker_version=1),
    "older format": lambda m: m.update(format_version=0),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(MISMATCH))
def test_mismatched_index_never_answers(damaged: Settings, embedder: Embedder, kind: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """An index built with another model, chunking or format: refused with the fix, never
    searched; rebuilt (and said so) where the pipeline may build."""
    _edit_manifest(MISMATCH[kind])(current_version(damaged.index_dir))
    strict = Pipeline(damaged, embedder=embedder, auto_index=False)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        strict.ask("Wie nennt Lukaschenko Putin?")
    caplog.set_level(logging.INFO)
    answer = Pipeline(damaged, embedder=embedder).ask(TWO_ARTICLE_CHECKS[0][0])
    assert answer.sources[0].doc_id == TWO_ARTICLE_CHECKS[0][1]
    assert "Index rebuilt" in caplog.text


@pytest.mark.slow
def test_running_pipeline_refuses_an_index_published_with_other_settings(
        damaged: Settings, embedder: Embedder) -> None:
    """Another process rebuilds the shared index with other chunking: a running pipeline
    refuses it (IndexMismatch, with the fix) rather than searching it."""
    pipeline = Pipeline(damaged, embedder=embedder, auto_index=False)
    assert pipeline.ask(TWO_ARTICLE_CHECKS[0][0]).found
    other = Settings.from_env(corpus_dir=damaged.corpus_dir, index_dir=damaged.index_dir,
                              chunk_tokens=damaged.chunk_tokens - 100)
    update_index(other, embedder, progress=False)
    for auto in (False, True):
        pipeline.auto_index = auto
        with pytest.raises(IndexMismatch, match="chunking"):
            pipeline.ask(TWO_ARTICLE_CHECKS[0][0])


@pytest.mark.slow
def test_cli_on_a_damaged_index(damaged: Settings, embedder: Embedder,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """``ask`` rebuilds a damaged index and answers; ``index`` says it rebuilt; with no
    corpus to rebuild from the exit code is 2 with a readable message."""
    monkeypatch.setattr(Embedder, "from_settings", classmethod(lambda cls, s: embedder))
    paths = ["--corpus", str(damaged.corpus_dir), "--index", str(damaged.index_dir)]
    (current_version(damaged.index_dir) / CHUNKS).unlink()
    assert cli_main(["ask", TWO_ARTICLE_CHECKS[1][0], *paths]) == 0
    assert TWO_ARTICLE_CHECKS[1][2] in capsys.readouterr().out

    shutil.rmtree(current_version(damaged.index_dir) / BM25_DIR)
    assert cli_main(["index", "--quiet", *paths]) == 0
    assert "Index rebuilt (the previous index was damaged)." in capsys.readouterr().out

    (current_version(damaged.index_dir) / VECTORS).write_bytes(b"")
    missing = ["--corpus", str(damaged.corpus_dir.parent / "nope"), "--index",
               str(damaged.index_dir)]
    assert cli_main(["ask", "Wie nennt Lukaschenko Putin?", *missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and "Traceback" not in err


@pytest.mark.slow
def test_app_shows_a_broken_index_readably(damaged: Settings, embedder: Embedder) -> None:
    """A broken version published while the app runs: the chat and the API say the index is
    not available and how to fix it; no traceback, no answer from the broken index."""
    app = load_app()
    service = app.Service(Pipeline(damaged, embedder=embedder, auto_index=False))
    service.start().join(120)
    assert service.ready, service.error
    chat = app.ChatApp(service, Settings(data_dir=damaged.index_dir.parent / "data"))
    assert chat.api_ask(TWO_ARTICLE_CHECKS[0][0])["found"]

    good = current_version(damaged.index_dir)
    broken = damaged.index_dir / "v-broken"
    shutil.copytree(good, broken)
    (broken / CHUNKS).unlink()
    (damaged.index_dir / CURRENT).write_text(broken.name, encoding="utf-8")
    history, records, panel = chat.respond(TWO_ARTICLE_CHECKS[0][0], [], {}, 5, "", "", [])
    reply = history[-1]["content"]
    assert "Der Suchindex ist nicht verfügbar" in reply and "rebuild" in reply
    assert "Traceback" not in reply and records == {} and panel == gr.skip()
    with pytest.raises(gr.Error, match="--rebuild"):
        chat.api_ask("How many professional soldiers does the Belarusian army have?")


# --------------------------------------------------------------------------- security


class _Stub:
    """A pipeline that returns a fixed answer (no model)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def ask(self, *args: Any, **kwargs: Any) -> Answer:
        return self.answer


def _huge_answer() -> Answer:
    """An answer as large as possible in every field, in 4-byte UTF-8 characters."""
    wide = "😀"
    sources = [Source(n, wide * 5000 + "/../../etc/passwd", wide * 5000, None,
                      "javascript:alert(1)", None, wide * 100, 0.5, [(0, 5)])
               for n in range(1, 51)]
    return Answer(wide * 50_000, "de", True, "\n".join([wide * 100] * 1000), sources)


def _ready_chat(answer: Answer, data_dir: Path) -> Any:
    app = load_app()
    service = app.Service(_Stub(answer))
    service.phase = "ready"
    return app.ChatApp(service, Settings(data_dir=data_dir))


def _like(index: int) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "x", "liked": True})


def test_feedback_through_the_app_stays_bounded(tmp_path: Path) -> None:
    """Hundreds of maximal ratings through the app's like handler: at most
    ``BACKUPS + 1`` files of ``MAX_FILE_BYTES`` each, every line a capped JSON record."""
    data = tmp_path / "data"
    chat = _ready_chat(_huge_answer(), data)
    _, records, _ = chat.respond("q", [{"role": "user", "content": "q"}], {}, 5, "", "", [])
    started = time.perf_counter()
    written = 0
    limit = (feedback.BACKUPS + 1) * feedback.MAX_FILE_BYTES
    while written < 1.5 * limit:
        chat.on_like(records, _like(1))
        written += len(json.dumps(feedback.make_record(records["1"], True),
                                  ensure_ascii=False).encode()) + 1
    seconds = time.perf_counter() - started
    files = sorted(p.name for p in data.iterdir())
    assert files == [".feedback.jsonl.lock", "feedback.jsonl",
                     *(f"feedback.jsonl.{i}" for i in range(1, feedback.BACKUPS + 1))]
    sizes = [p.stat().st_size for p in data.glob("feedback.jsonl*")]
    assert max(sizes) <= feedback.MAX_FILE_BYTES and sum(sizes) <= limit
    for line in (data / "feedback.jsonl").read_text("utf-8").split("\n")[:-1]:
        row = json.loads(line)
        assert len(row["question"]) <= feedback.MAX_QUESTION_CHARS
        assert len(row["answer"]) <= feedback.MAX_TEXT_CHARS
        assert len(row["sources"]) <= feedback.MAX_SOURCES
    assert not list(tmp_path.rglob("passwd"))
    write_artifact("reliability_security", {"feedback": {
        "bytes_attempted": written, "bytes_kept": sum(sizes), "files": len(sizes),
        "limit_bytes": limit, "seconds": round(seconds, 2),
    }})


def test_feedback_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    """``feedback.jsonl`` replaced by a symbolic link to another file: nothing is written
    there (O_NOFOLLOW), the user gets a readable error."""
    data = tmp_path / "data"
    data.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch\n", encoding="utf-8")
    (data / "feedback.jsonl").symlink_to(outside)
    chat = _ready_chat(_huge_answer(), data)
    _, records, _ = chat.respond("q", [{"role": "user", "content": "q"}], {}, 5, "", "", [])
    with pytest.raises(gr.Error, match="Feedback could not be saved"):
        chat.on_like(records, _like(1))
    assert outside.read_text(encoding="utf-8") == "do not touch\n"


@pytest.mark.slow
def test_api_wrong_types_get_a_clear_error(tmp_path: Path, seed_pipeline: Pipeline) -> None:
    """``/ask`` with a value of the wrong type (``k="five"``, ``date_from=2022``,
    ``doc_ids=7``) names the bad parameter (it once answered "internal error" and logged a
    traceback per call)."""
    app = load_app()
    service = app.Service(seed_pipeline)
    service.phase = "ready"
    chat = app.ChatApp(service, Settings(data_dir=tmp_path))
    unclear = []
    for kwargs in ({"k": "five"}, {"k": float("nan")}, {"k": 2.5}, {"date_from": 2022},
                   {"date_to": ["2022"]}, {"doc_ids": 7}, {"doc_ids": [1, 2]}):
        with pytest.raises(gr.Error) as info:
            chat.api_ask("Wie nennt Lukaschenko Putin?", **kwargs)
        name = next(iter(kwargs))
        if name not in str(info.value) or "internal error" in str(info.value):
            unclear.append(f"{kwargs}: {info.value}")
    assert not unclear, unclear
