"""Runs ``rag index`` and stops it at a named point of the build, for the kill -9 test
(tests/e2e/test_crash_safety.py).

Usage: ``python crash_driver.py PHASE MARKER_FILE index --corpus C --index I [...]``

The real command runs (real model, real files) until it reaches ``PHASE``; there it writes
``MARKER_FILE`` and stops itself with SIGSTOP, every thread frozen at that point, until
the test kills it with SIGKILL. The hooks only wait: they change nothing the build does.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Phases in the order a build reaches them, with what has happened when it stops there.
PHASES = {
    "reading": "the writer lock is held, the corpus not yet read",
    "embedding": "the first batch of sentences is embedded, nothing written yet",
    "chunk store": "chunks are inserted into the new version's chunk store (not committed)",
    "index files": "chunk store, keyword index and vectors are written, no manifest yet",
    "manifest": "the manifest is written and flushed, the version folder not yet renamed",
    "version renamed": "the version folder is renamed, the CURRENT pointer not yet written",
    "pointer written": "the new pointer is written beside CURRENT, not yet renamed over it",
    "published": "CURRENT points at the new version, old versions not yet cleaned up",
}


def stop_here(marker: Path) -> None:
    """Tell the test where we are, then freeze (the test sends SIGKILL)."""
    marker.write_text(str(os.getpid()), encoding="utf-8")
    os.kill(os.getpid(), signal.SIGSTOP)
    raise SystemExit("resumed after SIGSTOP: the test should have killed this process")


def before(func: Callable, marker: Path) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stop_here(marker)
        return func(*args, **kwargs)
    return wrapper


def after(func: Callable, marker: Path) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        stop_here(marker)
        return result
    return wrapper


def install(phase: str, marker: Path) -> None:
    """Hook the build so that it stops at ``phase``."""
    import rag.files
    import rag.indexing.build as build
    import rag.pipeline
    import rag.store.chunks as chunk_store
    import rag.store.folder as folder
    import rag.store.index as store_index

    if phase == "reading":
        build.read_corpus = before(build.read_corpus, marker)
    elif phase == "embedding":
        load = rag.pipeline.load_embedder

        def load_embedder(settings: Any) -> Any:
            embedder = load(settings)
            embedder.encode_passages = after(embedder.encode_passages, marker)
            return embedder

        rag.pipeline.load_embedder = load_embedder
    elif phase == "chunk store":
        chunk_store.ChunkWriter.add_chunks = after(chunk_store.ChunkWriter.add_chunks, marker)
    elif phase == "index files":
        store_index.faiss.write_index = after(store_index.faiss.write_index, marker)
    elif phase == "manifest":
        folder.fsync_tree = after(folder.fsync_tree, marker)
    elif phase == "version renamed":
        folder.atomic_write_text = before(folder.atomic_write_text, marker)
    elif phase == "pointer written":
        replace = rag.files.os.replace

        def os_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
            if Path(dst).name == folder.CURRENT:
                stop_here(marker)
            return replace(src, dst, *args, **kwargs)

        rag.files.os.replace = os_replace
    elif phase == "published":
        build.remove_stale_versions = before(build.remove_stale_versions, marker)
    else:
        raise SystemExit(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")


def main() -> int:
    phase, marker, *argv = sys.argv[1:]
    install(phase, Path(marker))
    from rag.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
