"""Index builds on a real Ray cluster: a head node and a second worker node started on
loopback by the test (``ray start --block``), stopped afterwards.

The Ray build must equal a local build (same chunks, vectors cosine >= 0.999, same
answers), and a worker killed in the middle of a build must be retried without the
index folder ever holding a half-written version.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from shared_data import XQUAD, free_port, load_jsonl

from rag.embed import load_embedder
from rag.errors import StoreError
from rag.indexing.build import update_index
from rag.ingest.chunking import chunk_corpus
from rag.ingest.corpus import read_corpus
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store.folder import current_version, read_manifest
from rag.store.index import Index
from rag.store.vectors import all_vectors

from .conftest import stop_group

# Not imported here: Ray reads its authentication mode from the environment once, when
# it is first used, and the cluster fixture sets it. CI installs requirements-ray.txt,
# so there a missing ray is a failure, not a skip.
if importlib.util.find_spec("ray") is None:
    if os.environ.get("CI"):
        raise ImportError("ray is not installed: pip install -r requirements-ray.txt")
    pytest.skip("ray is not installed (pip install -r requirements-ray.txt)",
                allow_module_level=True)

pytestmark = pytest.mark.slow

IP = "127.0.0.2"  # loopback; Ray rewrites 127.0.0.1 to the machine's network address
ARTICLES = 6
ACTOR = "MapWorker(MapBatches(ChunkEmbedWorker))"


def _ray_cli() -> str:
    return str(Path(sys.executable).parent / "ray")


@pytest.fixture(scope="module")
def cluster():
    """A head node and a worker node (1 CPU each) on loopback, with token authentication
    (a fresh token in the environment of the nodes and of this driver); yields the
    address."""
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: unix socket path limit
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    env = dict(os.environ)
    common = ["--block", "--num-cpus=1", f"--node-ip-address={IP}", "--disable-usage-stats"]
    head = _start(["--head", f"--port={port}", "--include-dashboard=false",
                   f"--temp-dir={temp}", *common], env, Path(temp) / "head.log")
    nodes = [head]
    address = f"{IP}:{port}"
    try:
        _wait_nodes(address, 1, head)
        worker = _start([f"--address={address}", *common], env, Path(temp) / "worker.log")
        nodes.append(worker)
        _wait_nodes(address, 2, worker)
        yield address
    finally:
        for proc in reversed(nodes):
            stop_group(proc, wait=60)  # ``ray start --block`` stops its node
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _wait_nodes(address: str, n: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}: "
                               f"{_tail(proc)}")
        out = subprocess.run([_ray_cli(), "status", f"--address={address}"],
                             capture_output=True, text=True, check=False).stdout
        if out.count("node_") >= n:
            return
        time.sleep(2)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {n} nodes")


_LOGS: dict[int, Path] = {}


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``ray start ARGS`` in its own process group, output into ``log``."""
    with open(log, "w") as out:
        proc = subprocess.Popen([_ray_cli(), "start", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _LOGS[proc.pid] = log
    return proc


def _tail(proc: subprocess.Popen) -> str:
    """The end of a ``ray start`` process's output."""
    return _LOGS[proc.pid].read_text(errors="replace")[-2000:]


@pytest.fixture(scope="module")
def embedder():
    # The torch backend on both sides: ONNX dynamic int8 (the default) scales activations
    # per batch, so its vectors depend on which passages share a batch (cosine >= 0.995
    # between two groupings), and a Ray build groups articles differently from a local one.
    return load_embedder(Settings.from_env(embed_backend="torch"))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    """A corpus of the first xquad-de articles, and the next four to add later."""
    root = tmp_path_factory.mktemp("ray-corpus")
    files = sorted((XQUAD / "corpus").iterdir())
    first, later = root / "corpus", root / "later"
    first.mkdir()
    later.mkdir()
    for f in files[:ARTICLES]:
        shutil.copy(f, first / f.name)
    for f in files[ARTICLES : ARTICLES + 4]:
        shutil.copy(f, later / f.name)
    return first, later


def _open(index_dir: Path) -> Index:
    return Index(current_version(index_dir), read_manifest(index_dir))  # type: ignore[arg-type]


def _rows(index: Index) -> list[tuple]:
    return [(c.id, c.chunk_id, c.doc_id, c.text, c.start, c.end, c.sentences)
            for c in index.chunks(index.row_ids.tolist()).values()]


def test_ray_build_equals_local_build(cluster, embedder, corpora, tmp_path_factory, caplog):
    corpus, _ = corpora
    local_dir, ray_dir = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("ray")
    local = Settings.from_env(corpus_dir=corpus, index_dir=local_dir, embed_backend="torch")
    on_ray = local.replace(index_dir=ray_dir, ray_address=cluster, ray_batch_articles=1)
    update_index(local, embedder, progress=False)
    with caplog.at_level(logging.INFO, logger="rag.indexing.ray_build"):
        report = update_index(on_ray, embedder, progress=False)
    assert report.rebuilt and report.articles == ARTICLES
    # one actor per node (1 CPU each); which of them gets the batches is Ray's scheduling:
    # when one actor is up before the other has loaded the model, it may take them all
    assert "2 actor(s)" in caplog.text
    assert re.search(r"embedded on [12] node\(s\)", caplog.text), caplog.text

    a, b = _open(local_dir), _open(ray_dir)
    assert sorted(_rows(a)) == sorted(_rows(b)) and len(_rows(a)) > 20
    ids_a, vec_a = all_vectors(a.vectors.raw)
    ids_b, vec_b = all_vectors(b.vectors.raw)
    order_a, order_b = np.argsort(ids_a), np.argsort(ids_b)
    assert np.array_equal(ids_a[order_a], ids_b[order_b])
    cosines = np.sum(vec_a[order_a] * vec_b[order_b], axis=1)
    assert cosines.min() >= 0.999, cosines.min()
    for i in a.row_ids[:10].tolist():
        sa, sb = a.chunks([i])[i].sentence_vectors, b.chunks([i])[i].sentence_vectors
        assert np.min(np.sum(sa * sb, axis=1)) >= 0.999
    assert a.manifest.files == b.manifest.files and a.manifest.next_id == b.manifest.next_id
    a.close()
    b.close()

    names = {f.name for f in corpus.iterdir()}
    questions = [q for q in load_jsonl(XQUAD / "questions.jsonl")
                 if set(q["expected_sources"]) <= names][:40]
    assert len(questions) >= 20
    pa = Pipeline(local, embedder=embedder, auto_index=False)
    pb = Pipeline(on_ray, embedder=embedder, auto_index=False)
    differ = []
    for q in questions:
        x, y = pa.ask(q["question"]), pb.ask(q["question"])
        assert x.found == y.found, q["question"]
        assert [s.doc_id for s in x.sources] == [s.doc_id for s in y.sources], q["question"]
        # the best sentence is the same; a neighbour that joins it within the margin may
        # differ when two score alike and the vectors differ in the 4th digit (batches)
        assert _first_sentence(x.text) == _first_sentence(y.text), q["question"]
        if x.text != y.text:
            differ.append(q["question"])
    assert len(differ) <= 2, differ


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def _actor_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if any(ACTOR in part for part in (p.info["cmdline"] or []))]


def test_worker_killed_mid_build_is_retried(cluster, embedder, corpora, tmp_path_factory):
    corpus, later = corpora
    index_dir = tmp_path_factory.mktemp("killed")
    work = tmp_path_factory.mktemp("killed-corpus") / "corpus"
    shutil.copytree(corpus, work)
    settings = Settings.from_env(corpus_dir=work, index_dir=index_dir, ray_address=cluster,
                                 ray_batch_articles=1)
    update_index(settings, embedder, progress=False)
    old_version = current_version(index_dir)
    old_size = _open(index_dir).size
    for f in later.iterdir():
        shutil.copy(f, work / f.name)

    first_batch = threading.Event()
    result: dict[str, object] = {}

    def build() -> None:
        try:
            result["report"] = update_index(settings, embedder, progress=False,
                                            on_progress=lambda done, total: first_batch.set())
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=build)
    thread.start()
    assert first_batch.wait(600), "no batch came back from the cluster"
    victims = _actor_pids()
    assert victims, "no embedding actor process found"
    os.kill(victims[0], signal.SIGKILL)
    # Until the driver publishes, the previous version stays the current, loadable one.
    while thread.is_alive():
        current = current_version(index_dir)
        if current != old_version:
            break
        try:
            index = _open(index_dir)
        except StoreError:
            if current_version(index_dir) != old_version:
                break  # published (and the old version removed) meanwhile
            raise
        assert index.size == old_size
        index.close()
        time.sleep(1)
    thread.join(900)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    assert not psutil.pid_exists(victims[0]) or psutil.Process(victims[0]).status() == "zombie"

    report = result["report"]
    assert sorted(report.added) == sorted(f.name for f in later.iterdir())  # type: ignore[attr-defined]
    articles, _ = read_corpus(work)
    expected = chunk_corpus(
        sorted(articles, key=lambda a: a.doc_id), chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.chunk_overlap_tokens,
        count_tokens=embedder.count_tokens, paragraph_tokens=settings.chunking.paragraph_tokens)
    index = _open(index_dir)
    got = sorted((c.chunk_id, c.text) for c in index.chunks(index.row_ids.tolist()).values())
    assert got == sorted((c.chunk_id, c.text) for c in expected)
    assert len(set(index.row_ids.tolist())) == index.size == index.vectors.ntotal
    assert index.keywords.size == index.size
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".building")] == []
    index.close()
