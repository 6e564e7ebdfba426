"""Crash safety: ``kill -9`` of ``rag index`` at every phase of a build, deterministically.

On top of an index of the seed corpus and an extra article (built with the real model),
each test changes the corpus (changes or removes the extra article, or asks for
``--rebuild``) and runs the real command through ``crash_driver.py``, which stops it at
one named phase (SIGSTOP: every thread frozen there); the test then sends SIGKILL. Every
phase is hit in every run, whatever the machine's speed:

    reading, embedding, chunk store, index files, manifest, version renamed,
    pointer written, published

After each kill the index must load completely, be exactly the version the phase implies
(the previous one until the pointer is switched, the new one after), and answer seed
questions from the right article; the leftovers must not break the next build, which
removes them. What each kill left behind goes to ``tests/artifacts/crash_safety.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from shared_data import ARTIFACTS, EXTRA, EXTRA_TEXT, ROOT

from rag.embed.sbert import SentenceTransformerEmbedder
from rag.indexing import update_index
from rag.ingest.corpus import scan_corpus
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store.folder import CURRENT, read_manifest

from .crash_driver import PHASES

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("crash_driver.py")
#: Seed questions checked after every kill (one per article they come from).
CHECK_IDS = ("d03", "d09", "d11", "d15")
#: (phase, change of the corpus, version the index must hold after the kill).
PLAN = [
    ("reading", "change", "previous"),
    ("embedding", "rebuild", "previous"),
    ("chunk store", "change", "previous"),
    ("index files", "rebuild", "previous"),
    ("manifest", "remove", "previous"),
    ("version renamed", "change", "previous"),
    ("pointer written", "rebuild", "previous"),
    ("published", "remove", "new"),
]
_RESULTS: list[dict] = []


def test_the_plan_covers_every_phase() -> None:
    assert [p for p, _, _ in PLAN] == list(PHASES)


class State:
    """The corpus and index shared by the kills, and the checks' questions."""

    def __init__(self, settings: Settings, embedder: SentenceTransformerEmbedder,
                 checks: list[dict], logs: Path) -> None:
        self.settings, self.embedder, self.checks, self.logs = settings, embedder, checks, logs
        self.n = 0


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, seed_corpus: Path,
          embedder: SentenceTransformerEmbedder, seed_questions: list[dict]) -> State:
    tmp = tmp_path_factory.mktemp("crash")
    shutil.copytree(seed_corpus, tmp / "corpus")
    (tmp / "corpus" / EXTRA).write_text(EXTRA_TEXT, encoding="utf-8")  # so it can be removed
    settings = Settings.from_env(corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    checks = [q for q in seed_questions if q["id"] in CHECK_IDS]
    assert len(checks) == len(CHECK_IDS)
    update_index(settings, embedder, progress=False)  # the existing index
    state = State(settings, embedder, checks, tmp)
    check_index(state, read_manifest(settings.paths.index_dir).files)
    yield state
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "crash_safety.json").write_text(json.dumps({
        "kills": _RESULTS, "load_average": [round(x, 2) for x in os.getloadavg()],
    }, indent=2), encoding="utf-8")


def mutate(corpus: Path, kind: str, n: int) -> list[str]:
    """Change the corpus (always a real change); returns the extra CLI arguments."""
    path = corpus / EXTRA
    if kind == "rebuild":
        return ["--rebuild"]
    if kind == "remove":
        if path.exists():
            path.unlink()
            return []
        kind = "change"  # nothing to remove: add it instead
    path.write_text(EXTRA_TEXT + f"\nNachtrag {n}: Das Museum öffnet nun auch montags.\n",
                    encoding="utf-8")
    return []


def run_until(state: State, phase: str, extra: list[str]) -> tuple[float, str]:
    """Run the indexer until it stops at ``phase``, then SIGKILL it; returns the seconds it
    ran and its log."""
    state.n += 1
    marker = state.logs / f"kill-{state.n}.marker"
    log = state.logs / f"kill-{state.n}.log"
    s = state.settings
    command = [sys.executable, str(DRIVER), phase, str(marker), "index", "--corpus",
               str(s.paths.corpus_dir), "--index", str(s.paths.index_dir), "--quiet", *extra]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = started + 600
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the indexer ended ({proc.returncode}) before reaching {phase!r}:"
                            f"\n{log.read_text(errors='replace')[-3000:]}")
            if marker.exists() and psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the indexer did not reach {phase!r} in time")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return time.monotonic() - started, log.read_text(errors="replace")


def check_index(state: State, files: dict[str, str]) -> None:
    """The index loads completely, holds exactly ``files`` and answers the checks from
    the right article."""
    settings = state.settings
    manifest = read_manifest(settings.paths.index_dir)
    assert manifest.files == files
    pipeline = Pipeline(settings, embedder=state.embedder, auto_index=False)
    index = pipeline.index  # IndexCorrupt if anything is missing or inconsistent
    try:
        assert set(index.docs) == set(manifest.files) == set(index.row_docs)
        assert index.size == index.vectors.ntotal == index.keywords.size
        for q in state.checks:
            answer = pipeline.ask(q["question"])
            assert answer.found, q["question"]
            assert answer.sources[0].doc_id in q["expected_sources"], (q["id"], answer.sources)
            assert all(k in answer.text for k in q["answer_keywords"]), (q["id"], answer.text)
    finally:
        index.close()


def leftovers(index: Path) -> dict[str, int]:
    """What a kill left in the index folder."""
    current = (index / CURRENT).read_text(encoding="utf-8").strip()
    names = os.listdir(index)
    return {
        "building": sum(n.startswith(".building-") for n in names),
        "old_versions": sum(n.startswith("v-") and n != current for n in names),
        "pointer_tmp": sum(n.startswith(f".{CURRENT}.") for n in names),
    }


@pytest.mark.parametrize(("phase", "change", "expected"), PLAN, ids=[p for p, _, _ in PLAN])
def test_kill_9_at_phase(state: State, phase: str, change: str, expected: str) -> None:
    index_dir = state.settings.paths.index_dir
    previous = read_manifest(index_dir).files
    extra = mutate(state.settings.paths.corpus_dir, change, state.n + 1)
    new = scan_corpus(state.settings.paths.corpus_dir)
    assert new != previous or extra  # a real change (or a rebuild)
    before = set(os.listdir(index_dir))
    seconds, log = run_until(state, phase, extra)
    assert "Traceback" not in log, log[-3000:]
    check_index(state, previous if expected == "previous" else new)
    left = leftovers(index_dir)
    created = sorted(set(os.listdir(index_dir)) - before)
    if phase in ("chunk store", "index files", "manifest"):
        assert left["building"] >= 1  # the half-written version is beside the old one
    if phase == "pointer written":
        assert left["pointer_tmp"] == 1
    if phase in ("version renamed", "pointer written", "published"):
        assert any(n.startswith("v-") for n in created)
    _RESULTS.append({"phase": phase, "what": PHASES[phase], "change": change,
                     "version_after_kill": expected, "seconds": round(seconds, 1),
                     "created": created, "leftovers": left})


def test_next_build_succeeds_and_cleans_up(state: State) -> None:
    """After all the kills: a build with a real change succeeds despite the leftovers (and
    a writer lock file left by a killed process) and removes them."""
    index_dir = state.settings.paths.index_dir
    garbage = leftovers(index_dir)
    mutate(state.settings.paths.corpus_dir, "remove", 0)
    report = update_index(state.settings, state.embedder, progress=False)
    assert not report.up_to_date
    current = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    assert sorted(os.listdir(index_dir)) == sorted([CURRENT, ".lock", current])
    check_index(state, read_manifest(index_dir).files)
    _RESULTS.append({"final_build": {"garbage_before": garbage}})
