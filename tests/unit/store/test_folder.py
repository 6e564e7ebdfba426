"""The versioned index folder (rag.store.folder): complete versions beside each other, one
``CURRENT`` pointer switched atomically, leftovers cleaned, one writer at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

from rag.errors import IndexCorrupt, IndexMismatch, IndexMissing
from rag.store.folder import (
    CURRENT,
    MANIFEST,
    current_version,
    new_version_folder,
    publish_version,
    read_manifest,
    remove_stale_versions,
    writer_lock,
)
from rag.store.manifest import FORMAT_VERSION, Manifest


def manifest(**kw: object) -> Manifest:
    values: dict = {"model": {"name": "m", "dim": 4}, "chunking": {"chunk_tokens": 300},
                    "files": {"a.txt": "h"}, "counts": {"chunks": 0}, "next_id": 0}
    values.update(kw)
    return Manifest(**values)


def test_no_index_yet(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    with pytest.raises(IndexMissing, match="Build it with: rag index"):
        read_manifest(tmp_path)
    (tmp_path / CURRENT).write_text("", encoding="utf-8")
    assert current_version(tmp_path) is None


def test_publish_writes_manifest_then_switches_the_pointer(tmp_path: Path) -> None:
    tmp = new_version_folder(tmp_path)
    assert tmp.parent == tmp_path and tmp.name.startswith(".building-")
    (tmp / "data.bin").write_bytes(b"x")
    final = publish_version(tmp_path, tmp, manifest(next_id=7))
    assert not tmp.exists() and final.name.startswith("v-") and (final / "data.bin").is_file()
    assert (tmp_path / CURRENT).read_text(encoding="utf-8") == final.name
    assert current_version(tmp_path) == final
    loaded = read_manifest(tmp_path)
    assert loaded == manifest(next_id=7) and loaded.format_version == FORMAT_VERSION
    # a second version replaces the pointer; the first stays until cleaned up
    second = publish_version(tmp_path, new_version_folder(tmp_path), manifest(next_id=9))
    assert current_version(tmp_path) == second and final.is_dir()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{CURRENT}.")]


def test_unreadable_or_foreign_manifest(tmp_path: Path) -> None:
    final = publish_version(tmp_path, new_version_folder(tmp_path), manifest())
    (final / MANIFEST).write_text("{", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="manifest .* unreadable.*rag index --rebuild"):
        read_manifest(tmp_path)
    (final / MANIFEST).write_text(manifest(format_version=FORMAT_VERSION + 1).to_json())
    with pytest.raises(IndexMismatch, match=f"format version {FORMAT_VERSION + 1}"):
        read_manifest(tmp_path)


def test_remove_stale_versions(tmp_path: Path) -> None:
    old = publish_version(tmp_path, new_version_folder(tmp_path), manifest())
    in_use = publish_version(tmp_path, new_version_folder(tmp_path), manifest())
    keep = publish_version(tmp_path, new_version_folder(tmp_path), manifest())
    building = new_version_folder(tmp_path)
    (tmp_path / f".{CURRENT}.abc.tmp").write_text("v-x")  # a crashed pointer write
    (tmp_path / "README.md").write_text("not ours")
    (tmp_path / "notes").mkdir()
    remove_stale_versions(tmp_path, keep=keep, in_use=frozenset({in_use}))
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {CURRENT, keep.name, in_use.name, "README.md", "notes"}
    assert not old.exists() and not building.exists()


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    """While one writer holds the lock, another waits (here: gives up after a timeout)."""
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with writer_lock(tmp_path / "index"):
            entered.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(30)
        with pytest.raises(Timeout):
            FileLock(tmp_path / "index" / ".lock", timeout=0.2, thread_local=False,
                     is_singleton=False).acquire()
    finally:
        release.set()
        holder.join(30)
    with writer_lock(tmp_path / "index"):  # free again
        pass
