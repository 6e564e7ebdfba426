"""Crash safety: ``kill -9`` of ``python -m rag index`` at random moments.

On top of an existing index of the seed corpus, each trial changes the corpus (adds,
changes or removes an extra article, or asks for ``--rebuild``), starts the real CLI in a
subprocess and SIGKILLs it: after a random delay over the whole run (imports, model load,
reading, embedding, writing), at a random moment of the embedding, at a random moment after
the new version's temporary folder appeared (writing), or while ``strace`` holds it on
entering the rename of the version folder or of the ``CURRENT`` pointer (renaming; without
strace: as soon as the manifest is written). After every kill the index must load
completely, be either the previous or the new version, and answer seed questions from the
right article; the leftovers must not break the next build, which cleans them up.

Where each kill landed is classified from what it left behind and written, with the
timings, to ``tests/artifacts/crash_safety.json``. ``RAG_CRASH_SEED`` repeats a run;
``RAG_CRASH_TRIALS`` changes the number of kills (default 20).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from rag.corpus import scan_corpus
from rag.embedding import Embedder
from rag.index import BM25_DIR, CURRENT, MANIFEST, VECTORS, read_manifest
from rag.indexer import update_index
from rag.pipeline import Pipeline
from rag.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
#: Seed questions checked after every kill (one per article they come from).
CHECK_IDS = ("d03", "d09", "d11", "d15")
EXTRA = "zz_erzgebirge.txt"
EXTRA_TEXT = """Bergbau im Erzgebirge: Ein Museum erinnert an die Silberzeit

Im sächsischen Erzgebirge wurde über achthundert Jahre lang Silber, Zinn und Kobalt
abgebaut. Das Besucherbergwerk in Freiberg zeigt heute, wie die Bergleute unter Tage
arbeiteten. Die Stollen reichen bis zu zweihundert Meter tief in den Berg.

Der Museumsdirektor berichtet, dass jedes Jahr rund sechzigtausend Gäste kommen. Besonders
beliebt sind die Führungen mit Grubenlampe, bei denen die Besucher durch enge Gänge kriechen
und die alten Wasserräder sehen, mit denen das Grundwasser abgepumpt wurde.

Zur Weihnachtszeit stellen die Schnitzer der Region Nussknacker, Räuchermänner und
Schwibbögen her. Die Bergparade in Annaberg-Buchholz zieht jedes Jahr Tausende an. Die
Tradition geht auf die Bergleute zurück, die in der dunklen Jahreszeit Licht ins Fenster
stellten.

Seit 2019 gehört die Montanregion Erzgebirge/Krušnohoří zum Welterbe der UNESCO. Die
Auszeichnung umfasst zweiundzwanzig Bestandteile auf deutscher und tschechischer Seite.
"""
#: Log lines of ``python -m rag index`` that mark its phases.
LOG_EVENTS = (("model", b"Loaded embedding model"), ("embed", b"to embed:"))


@dataclass
class Run:
    """One ``python -m rag index`` run: when each phase was first seen (seconds)."""

    events: dict[str, float]
    killed_at: float | None
    returncode: int
    seconds: float
    log: str


@dataclass
class Trial:
    """What one trial did and found."""

    n: int
    strategy: str
    mutation: str
    delay: float | None
    landed: str
    version: str
    seconds: float
    leftovers: dict[str, int] = field(default_factory=dict)


def mutate(corpus: Path, kind: str, n: int) -> tuple[str, list[str]]:
    """Change the corpus for trial ``n`` (always a real change); returns what was done and
    the extra CLI arguments."""
    path = corpus / EXTRA
    if kind == "rebuild":
        return kind, ["--rebuild"]
    if kind == "remove" and path.exists():
        path.unlink()
        return kind, []
    done = "change" if path.exists() else "add"
    path.write_text(EXTRA_TEXT + f"\nNachtrag {n}: Das Museum öffnet nun auch montags.\n",
                    encoding="utf-8")
    return done, []


def strace_pauses() -> bool:
    """True when ``strace`` can hold the indexer at a chosen ``rename`` (ptrace allowed)."""
    strace = shutil.which("strace")
    if not strace:
        return False
    try:
        probe = subprocess.run([strace, "-f", "-qq", "-e", "trace=rename", "-o", os.devnull,
                                "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def run_indexer(settings: Settings, extra: list[str], trigger: Callable[[dict, float], bool],
                log_path: Path, pause_at: int | None = None) -> Run:
    """Run the CLI indexer, watching its log and index folder; SIGKILL it once ``trigger``
    says so (or let it finish).

    With ``pause_at`` N, ``strace`` holds the indexer on entering its N-th ``rename`` (1: the
    version folder, 2: the ``CURRENT`` pointer) and the event ``paused`` is seen; the kill
    then hits exactly before that rename happens.
    """
    index = settings.index_dir
    before = set(os.listdir(index))
    pointer = (index / CURRENT).read_text(encoding="utf-8")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "rag", "index", "--corpus", str(settings.corpus_dir),
               "--index", str(index), "--quiet", *extra]
    trace = log_path.with_suffix(".strace")
    if pause_at is not None:
        command = [shutil.which("strace") or "strace", "-f", "-qq", "--seccomp-bpf", "-e",
                   "trace=rename", "-e", f"inject=rename:delay_enter=60000000:when={pause_at}",
                   "-o", str(trace), *command]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    started = time.monotonic()
    events: dict[str, float] = {}
    killed_at = None
    try:
        while proc.poll() is None:
            now = time.monotonic() - started
            text = log_path.read_bytes()
            for key, marker in LOG_EVENTS:
                if key not in events and marker in text:
                    events[key] = now
            _scan_index(index, before, pointer, events, now)
            if pause_at is not None and trace.exists() and \
                    trace.read_text(errors="replace").count("rename(") >= pause_at:
                events.setdefault("paused", now)
            if trigger(events, now):
                if pause_at is None:
                    proc.send_signal(signal.SIGKILL)
                else:
                    _kill_held(proc)
                killed_at = now
                break
            # Poll fast once the new version is being written: the rename window is short.
            time.sleep(0 if "building" in events else 0.003)
        returncode = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(events, killed_at, returncode, time.monotonic() - started,
               log_path.read_text(encoding="utf-8", errors="replace"))


def _kill_held(tracer: subprocess.Popen) -> None:
    """SIGKILL the indexer that ``strace`` holds, then ``strace``; wait until it is dead.

    The indexer stays stopped until its tracer lets go; as a fatal signal is then pending,
    the kernel skips the held system call (the ``rename`` never happens) and it dies.
    """
    held = psutil.Process(tracer.pid).children()
    for p in held:
        p.send_signal(signal.SIGKILL)
    tracer.kill()
    tracer.wait(30)
    deadline = time.monotonic() + 30
    for p in held:
        while time.monotonic() < deadline:
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)


def _scan_index(index: Path, before: set[str], pointer: str, events: dict[str, float],
                now: float) -> None:
    for name in os.listdir(index):
        if name in before:
            continue
        if name.startswith(".building-"):
            events.setdefault("building", now)
            try:
                inner = os.listdir(index / name)
            except FileNotFoundError:  # renamed meanwhile
                continue
            if MANIFEST in inner:
                events.setdefault("manifest", now)
        elif name.startswith(".CURRENT."):
            events.setdefault("pointer", now)
        elif name.startswith("v-"):
            events.setdefault("renamed", now)
    try:
        if (index / CURRENT).read_text(encoding="utf-8") != pointer:
            events.setdefault("switched", now)
    except FileNotFoundError:
        events.setdefault("pointer missing", now)


def where_it_landed(run: Run, index: Path, before: set[str], pointer: str,
                    pause_at: int | None = None) -> str:
    """The phase a kill interrupted, from what it left behind (``phase: detail``)."""
    if run.killed_at is None:
        return "completed: not killed"
    new = set(os.listdir(index)) - before
    if pause_at == 1 and "paused" in run.events:
        assert not any(n.startswith("v-") for n in new), new
        return "renaming: entering the version rename"
    if (index / CURRENT).read_text(encoding="utf-8") != pointer:
        return "renaming: after the pointer switch (cleanup)"
    if any(n.startswith(("v-", ".CURRENT.")) for n in new):
        return "renaming: version renamed, pointer not yet switched"
    building = sorted(n for n in new if n.startswith(".building-"))
    if building:
        inner = set(os.listdir(index / building[0]))
        if MANIFEST in inner:
            return "writing: manifest written (fsync)"
        if VECTORS in inner:
            return "writing: vectors written"
        if BM25_DIR in inner:
            return "writing: BM25"
        return "writing: chunk store"
    if "embed" in run.events:
        return "embedding"
    if "model" in run.events:
        return "embedding: reading and chunking"
    return "startup: imports and model load"


def leftovers(index: Path) -> dict[str, int]:
    """Garbage a kill left in the index folder."""
    current = (index / CURRENT).read_text(encoding="utf-8").strip()
    names = os.listdir(index)
    return {
        "building": sum(n.startswith(".building-") for n in names),
        "old_versions": sum(n.startswith("v-") and n != current for n in names),
        "pointer_tmp": sum(n.startswith(".CURRENT.") for n in names),
    }


def assert_clean(index: Path) -> None:
    """Only the pointer, the lock file and the current version are left."""
    current = (index / CURRENT).read_text(encoding="utf-8").strip()
    assert sorted(os.listdir(index)) == sorted([CURRENT, ".lock", current])


def check_index(settings: Settings, embedder: Embedder, checks: list[dict],
                allowed: dict[str, dict[str, str]]) -> str:
    """The index loads completely, is one of the ``allowed`` versions and answers the checks
    from the right article; returns which version it is."""
    manifest = read_manifest(settings.index_dir)
    matches = [name for name, files in allowed.items() if manifest.files == files]
    assert matches, f"index holds neither the previous nor the new corpus: {manifest.files}"
    pipeline = Pipeline(settings, embedder=embedder, auto_index=False)
    index = pipeline.index  # IndexCorrupt if anything is missing or inconsistent
    try:
        assert set(index.docs) == set(manifest.files) == set(index.row_docs)
        for q in checks:
            answer = pipeline.ask(q["question"])
            assert answer.found, q["question"]
            assert answer.sources[0].doc_id in q["expected_sources"], (q["id"], answer.sources)
            assert all(k in answer.text for k in q["answer_keywords"]), (q["id"], answer.text)
    finally:
        index.close()
    return matches[0]


def test_kill_9_indexer_at_random_moments(tmp_path: Path, embedder: Embedder,
                                          seed_corpus: Path, seed_questions: list[dict]) -> None:
    seed = int(os.environ.get("RAG_CRASH_SEED", str(time.time_ns() % 1_000_000)))
    kills = int(os.environ.get("RAG_CRASH_TRIALS", "20"))
    rng = random.Random(seed)
    shutil.copytree(seed_corpus, tmp_path / "corpus")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    checks = [q for q in seed_questions if q["id"] in CHECK_IDS]
    assert len(checks) == len(CHECK_IDS)
    update_index(settings, embedder, progress=False)  # the existing index
    previous = read_manifest(settings.index_dir).files
    check_index(settings, embedder, checks, {"previous": previous})

    # Calibration: one full run (a rebuild with the extra article) gives the phase times.
    mutate(settings.corpus_dir, "edit", 0)
    calibration = run_indexer(settings, ["--rebuild"], lambda ev, now: False,
                              tmp_path / "calibration.log")
    assert calibration.returncode == 0, calibration.log
    ev = calibration.events
    assert {"model", "embed", "building", "switched"} <= set(ev), (ev, calibration.log)
    total = calibration.seconds
    embedding = max(ev["building"] - ev["embed"], 0.05)
    writing = max(ev["switched"] - ev["building"], 0.01)
    previous = read_manifest(settings.index_dir).files
    check_index(settings, embedder, checks, {"new": previous})

    plan = (["random"] * round(kills * 0.3) + ["embedding"] * round(kills * 0.25)
            + ["writing"] * round(kills * 0.25))
    plan += ["renaming"] * (kills - len(plan))
    rng.shuffle(plan)
    pauses = strace_pauses()
    renames = 0
    mutations = ("edit", "rebuild", "remove", "edit")
    trials: list[Trial] = []
    for n, strategy in enumerate(plan, start=1):
        mutation = mutations[n % len(mutations)]
        if strategy == "embedding" and mutation == "remove":
            mutation = "rebuild"  # something to embed
        mutation, extra = mutate(settings.corpus_dir, mutation, n)
        target = scan_corpus(settings.corpus_dir)
        delay: float | None
        if strategy == "random":
            delay = rng.uniform(0, ev["switched"] + 0.3)
            trigger = _after(delay)
        elif strategy == "embedding":
            delay = rng.uniform(0, embedding)
            trigger = _after(delay, "embed")
        elif strategy == "writing":
            delay = rng.uniform(0, writing)
            trigger = _after(delay, "building")
        else:
            delay = None
            trigger = _paused if pauses else _publishing
        pause_at = None
        if strategy == "renaming" and pauses:
            renames += 1
            pause_at = 1 + renames % 2  # the version folder's rename, the pointer's
        index = settings.index_dir
        before, pointer = set(os.listdir(index)), (index / CURRENT).read_text(encoding="utf-8")
        run = run_indexer(settings, extra, trigger, tmp_path / f"trial-{n}.log", pause_at)
        landed = where_it_landed(run, index, before, pointer, pause_at)
        assert run.killed_at is not None or run.returncode == 0, run.log
        version = check_index(settings, embedder, checks, {"previous": previous, "new": target})
        trials.append(Trial(n, strategy, mutation, None if delay is None else round(delay, 3),
                            landed, version, round(run.seconds, 2), leftovers(index)))
        previous = read_manifest(index).files
        if n == len(plan) // 2:  # the next build succeeds on top of the leftovers ...
            _build_and_check_clean(settings, embedder, checks)
            previous = read_manifest(index).files
    # ... and once more at the end.
    garbage_before = leftovers(settings.index_dir)
    _build_and_check_clean(settings, embedder, checks)

    killed = [t for t in trials if not t.landed.startswith("completed")]
    phases = Counter(t.landed.split(":")[0] for t in trials)
    details = Counter(t.landed for t in trials)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "crash_safety.json").write_text(json.dumps({
        "seed": seed,
        "strace_pauses": pauses,
        "calibration": {"total_s": round(total, 2),
                        **{k: round(v, 3) for k, v in sorted(ev.items(), key=lambda x: x[1])}},
        "trials": len(trials), "killed": len(killed), "phases": dict(phases),
        "landed": dict(details),
        "versions_after_kill": dict(Counter(t.version for t in killed)),
        "garbage_before_final_build": garbage_before,
        "seconds": round(sum(t.seconds for t in trials) + calibration.seconds, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "details": [t.__dict__ for t in trials],
    }, indent=2), encoding="utf-8")
    assert len(killed) >= kills * 0.8, (seed, details)
    # Timed kills land where the machine's speed puts them (a busy machine shifts them),
    # so the phases are required to be covered, not hit a fixed number of times.
    assert phases["embedding"] + phases["writing"] >= 2, (seed, details)
    if pauses:  # held at each rename: both sides of the pointer switch were hit
        assert details["renaming: entering the version rename"] >= 1, (seed, details)
        assert details["renaming: version renamed, pointer not yet switched"] >= 1, (
            seed, details)


def _after(delay: float, event: str | None = None) -> Callable[[dict, float], bool]:
    """Kill ``delay`` seconds after the start (or after ``event`` was seen)."""
    def trigger(events: dict, now: float) -> bool:
        if event is None:
            return now >= delay
        return event in events and now >= events[event] + delay
    return trigger


def _paused(events: dict, now: float) -> bool:
    """Kill once ``strace`` holds the indexer at the chosen ``rename``."""
    return "paused" in events


def _publishing(events: dict, now: float) -> bool:
    """Kill as soon as the manifest is written or the version renamed."""
    return bool({"manifest", "renamed", "pointer", "switched"} & events.keys())


def _build_and_check_clean(settings: Settings, embedder: Embedder, checks: list[dict]) -> None:
    """A build with a real change succeeds despite leftovers and removes them."""
    path = settings.corpus_dir / EXTRA
    if path.exists():
        path.unlink()
    else:
        path.write_text(EXTRA_TEXT, encoding="utf-8")
    report = update_index(settings, embedder, progress=False)
    assert not report.up_to_date
    assert_clean(settings.index_dir)
    check_index(settings, embedder, checks, {"current": read_manifest(settings.index_dir).files})
