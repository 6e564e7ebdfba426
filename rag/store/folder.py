"""The versioned index folder: complete versions beside each other, one ``CURRENT`` pointer.

Layout of ``index/``::

    CURRENT              name of the active version folder (replaced atomically)
    v-<stamp>/           one complete version (manifest.json written last)
    .building-<id>/      a version being written (removed when it fails)
    .lock                held by the one process that writes

A build writes a new version beside the old one and switches ``CURRENT`` with an atomic
rename, so a crash at any moment leaves the previous index loadable.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from ..errors import IndexCorrupt, IndexMismatch, IndexMissing
from ..files import atomic_write_text, fsync_tree
from .manifest import FORMAT_VERSION, Manifest

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_BUILDING = ".building-"


def current_version(index_dir: Path) -> Path | None:
    """The active version folder, or ``None`` if there is no index."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / name if name else None


def read_manifest(index_dir: Path) -> Manifest:
    """The active version's manifest; raises :class:`IndexMissing`/:class:`IndexCorrupt`."""
    folder = current_version(index_dir)
    if folder is None:
        raise IndexMissing(f"No index in {index_dir}. Build it with: rag index --index {index_dir}")
    try:
        manifest = Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorrupt(
            f"The index manifest in {index_dir} is unreadable ({exc}). "
            "Rebuild it with: rag index --rebuild"
        ) from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"The index in {index_dir} has format version {manifest.format_version}, this "
            f"program reads version {FORMAT_VERSION}. Rebuild it: rag index --rebuild"
        )
    return manifest


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock so that only one process builds an index at a time."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(index_dir / ".lock"):
        yield


def new_version_folder(index_dir: Path) -> Path:
    """A fresh temporary folder for a version being written."""
    tmp = index_dir / f"{_BUILDING}{uuid.uuid4().hex[:12]}"
    tmp.mkdir(parents=True)
    return tmp


def publish_version(index_dir: Path, tmp: Path, manifest: Manifest) -> Path:
    """Write the manifest into ``tmp``, flush it, rename it to a version and point
    ``CURRENT`` at it (atomically). Returns the version folder."""
    (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    fsync_tree(tmp)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    final = index_dir / f"v-{stamp}-{uuid.uuid4().hex[:6]}"
    os.rename(tmp, final)
    atomic_write_text(index_dir / CURRENT, final.name)
    return final


def remove_stale_versions(
    index_dir: Path, keep: Path | None, in_use: frozenset[Path] = frozenset()
) -> None:
    """Delete leftover temporary folders and versions other than ``keep``."""
    for path in index_dir.iterdir():
        if path.name.startswith(f".{CURRENT}.") and path.is_file():
            path.unlink(missing_ok=True)
        elif path != keep and path not in in_use and path.is_dir() and path.name.startswith(
            (_BUILDING, "v-")
        ):
            shutil.rmtree(path, ignore_errors=True)
