"""Index build throughput on Ray with 1 and 2 worker processes, beside the local build.

Each run is the product's ``update_index(rebuild=True)`` over the same corpus into a
fresh folder, in this process: ``local`` (no Ray, torch on all cores), then ``ray-1``
and ``ray-2`` (``ray_address=local``: a Ray cluster started in this process with
``--cpus`` CPUs, ``ray_workers`` embedding actors of 1 CPU each; cluster start-up and
model loading in each actor are inside the wall time). Reported per run: wall time,
chunks/s over the whole build, and chunks/s in steady state (from the first batch that
comes back to the last one: what adding workers multiplies). The driver's own share
(writing SQLite, FAISS, the keyword store and publishing) is timed separately: it is
the ceiling of a cluster build, because one process writes.

The projection for N machines or GPUs multiplies the measured steady-state rate per
worker, capped by the measured driver rate.

    python bench/ray_build.py --corpus ../shared/eval/xquad-de/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def run(settings: Settings, embedder: Any) -> dict[str, Any]:
    """One rebuild; wall time, first/last batch times and the driver's writing time."""
    from rag.indexing import build

    marks: list[tuple[float, int]] = []
    writes: list[float] = []
    original = build.VersionWriter.add_chunks

    def timed_add(self: Any, rows: list[tuple], vectors: Any) -> None:
        t = time.perf_counter()
        original(self, rows, vectors)
        writes.append(time.perf_counter() - t)

    publish = build.VersionWriter.publish

    def timed_publish(self: Any, manifest: Any) -> Any:
        t = time.perf_counter()
        out = publish(self, manifest)
        writes.append(time.perf_counter() - t)
        return out

    build.VersionWriter.add_chunks = timed_add  # type: ignore[method-assign]
    build.VersionWriter.publish = timed_publish  # type: ignore[method-assign]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        report = build.update_index(settings, embedder, rebuild=True, progress=False,
                                    on_progress=lambda d, t: marks.append((time.perf_counter(), d)))
    finally:
        build.VersionWriter.add_chunks = original  # type: ignore[method-assign]
        build.VersionWriter.publish = publish  # type: ignore[method-assign]
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"chunks": report.chunks, "wall_s": round(wall, 2),
                           "chunks_per_s": round(report.chunks / wall, 2),
                           "driver_write_s": round(sum(writes), 3),
                           "load_avg_start": round(load, 2),
                           "load_avg_end": round(os.getloadavg()[0], 2)}
    if settings.index.ray_address and len(marks) >= 2:
        # Steady state: chunks that came after the first batch, over the time they took.
        out["first_batch_s"] = round(marks[0][0] - t0, 2)
        out["batches"] = len(marks)
        out["steady_chunks_per_s"] = round(
            (marks[-1][1] - marks[0][1]) / max(marks[-1][0] - marks[0][0], 1e-9), 2)
    return out


def main() -> None:
    """Parse arguments, run local, ray-1, ray-2, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path,
                        default=ROOT.parent / "shared" / "eval" / "xquad-de" / "corpus")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--batch-articles", type=int, default=2)
    parser.add_argument("--runs", nargs="+", default=["local", "ray-1", "ray-2"])
    args = parser.parse_args()
    from rag.embed import load_embedder

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    base = Settings.from_env(corpus_dir=args.corpus)
    embedder = load_embedder(base)
    out: dict[str, Any] = {"corpus": str(args.corpus), "cores": os.cpu_count()}
    for name in args.runs:
        folder = Path(tempfile.mkdtemp(prefix="raybench-"))
        settings = base.replace(index_dir=folder)
        if name.startswith("ray-"):
            settings = settings.replace(ray_address="local", ray_workers=int(name[4:]),
                                        ray_local_cpus=args.cpus, ray_worker_cpus=1.0,
                                        ray_batch_articles=args.batch_articles)
        out[name] = run(settings, embedder)
        shutil.rmtree(folder, ignore_errors=True)
        print(name, json.dumps(out[name]), flush=True)
    r1, r2 = out.get("ray-1", {}), out.get("ray-2", {})
    per_worker = r1.get("steady_chunks_per_s")
    if per_worker and r2.get("steady_chunks_per_s"):
        out["speedup_2_vs_1_steady"] = round(r2["steady_chunks_per_s"] / per_worker, 2)
        out["speedup_2_vs_1_wall"] = round(r1["wall_s"] / r2["wall_s"], 2)
    if per_worker and out.get("local"):
        local = out["local"]
        driver_rate = local["chunks"] / max(local["driver_write_s"], 1e-9)
        out["driver_ceiling_chunks_per_s"] = round(driver_rate, 1)
        out["projection"] = {
            f"{n}_workers": round(min(n * per_worker, driver_rate), 1)
            for n in (4, 16, 64, 256)
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ray_build.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in args.runs}, indent=2))


if __name__ == "__main__":
    main()
