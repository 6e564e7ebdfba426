"""The manifest of an index version: what built it, compared with the settings on load."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IndexMismatch

#: Bumped when the on-disk layout of an index version changes.
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """What built an index version; compared with the settings to detect staleness."""

    model: dict
    chunking: dict
    files: dict[str, str]
    counts: dict[str, int]
    next_id: int
    build_seconds: float = 0.0
    built_at: str = ""
    faiss_type: str = "IDMap2,Flat"
    #: Keyword store that wrote the version (older versions: ``bm25s``).
    keyword_backend: str = "bm25s"
    skipped: list[dict] = field(default_factory=list)
    #: Near-duplicate articles: doc_id -> the doc_id representing its group of copies.
    duplicates: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Serialize to JSON text."""
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse JSON text; raises ``ValueError``/``TypeError`` when it is malformed."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        manifest = cls(**data)
        for name in ("model", "chunking", "files", "counts"):
            if not isinstance(getattr(manifest, name), dict):
                raise ValueError(f"manifest field {name!r} is not an object")
        if not all(isinstance(v, str) for v in manifest.files.values()):
            raise ValueError("manifest field 'files' must map names to hashes")
        if not all(isinstance(v, int) for v in manifest.counts.values()):
            raise ValueError("manifest field 'counts' must hold numbers")
        if not isinstance(manifest.next_id, int) or not isinstance(manifest.format_version, int):
            raise ValueError("manifest fields 'next_id'/'format_version' must be numbers")
        return manifest


def check_compatible(manifest: Manifest, model: dict, chunking: dict, index_dir: Path) -> None:
    """Raise :class:`IndexMismatch` unless the index was built with these settings."""
    problems = []
    if manifest.model != model:
        problems.append(f"model {manifest.model.get('name')!r} (settings: {model.get('name')!r})")
    if manifest.chunking != chunking:
        problems.append(f"chunking {manifest.chunking} (settings: {chunking})")
    if problems:
        raise IndexMismatch(
            f"The index in {index_dir} was built with " + " and ".join(problems)
            + ". Rebuild it with: rag index --rebuild"
        )
