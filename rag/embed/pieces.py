"""SentencePiece tokenization for the ONNX embedder: the ids of the model's
``tokenizer.json``, loaded in a third of the time and without holding the GIL.

``tokenizers`` builds the Unigram model of XLM-R's 250,002 pieces in 0.6-1.2 s with the
GIL held, so the web app's model load and gradio's import, started side by side, take
turns on one core (bench/README.md section 28). The same vocabulary as a SentencePiece
model loads in ~0.4 s and ``sentencepiece`` releases the GIL while it loads and encodes:
the two overlap for real (section 30).

A ``tokenizer.json`` of the XLM-R layout (Unigram pieces without byte fallback, a
precompiled charsmap normaliser, runs of spaces collapsed, Metaspace ``▁`` always
prepended, ``<s> $A </s>``) is converted once to ``onnx/tokenizer.spm`` beside the model's
ONNX export, and used only when it gives the same ids as the ``tokenizer.json`` on
:data:`SAMPLES`; any other layout keeps ``tokenizers``. One difference is known and
accepted: ``tokenizers`` turns special tokens written in the text ("<s>", "<mask>") into
control tokens, SentencePiece reads them as text.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: The converted model and the record of what it was made from.
FILE = "tokenizer.spm"
MARKER = "tokenizer.spm.json"
#: Bumped whenever the conversion changes; older conversions are redone.
VERSION = 1
_METASPACE = "▁"
#: Texts both tokenizers must turn into the same ids before the converted model is used
#: (prompts as the embedder adds them; an empty text after a prompt; accents, ligatures,
#: full-width forms, other scripts, emoji, tabs and line breaks, a text over the limit).
SAMPLES = (
    "query: Wie viele Reservisten hat Belarus?",
    "passage: Das Motiv für den Doppelmord soll eine Kränkung der Familienehre sein.",
    "passage: Niţchidorf, „Atemschaukel“, 62'000 Berufssoldaten – ½ ﬁ ² ｆｕｌｌ Straße STRASSE",
    "query: How many  people attended the rally in Minsk?\tTabs\r\nand\n\nlines",
    "passage: مرحبا بالعالم 你好世界 Привет мир 😀👍🏽🇩🇪 e\u0301 zero\u200bwidth soft\u00adhyphen",
    "query: ",
    "passage: ",
    "passage: " + "Ein sehr langer Satz über die Dinge. " * 120,
)


def _is_xlmr_layout(spec: dict[str, Any]) -> bool:
    """Whether a parsed ``tokenizer.json`` is the layout :func:`piece_model` converts."""
    model = spec.get("model") or {}
    norm = spec.get("normalizer") or {}
    parts = norm.get("normalizers", []) if norm.get("type") == "Sequence" else [norm]
    pre = spec.get("pre_tokenizer") or {}
    post = spec.get("post_processor") or {}
    single = [next(iter(step)) for step in post.get("single", [])]
    return (
        model.get("type") == "Unigram" and not model.get("byte_fallback")
        and isinstance(model.get("unk_id"), int)
        and bool(parts) and parts[0].get("type") == "Precompiled"
        and all(p.get("type") == "Replace" and p.get("pattern") == {"Regex": " {2,}"}
                and p.get("content") == " " for p in parts[1:])
        and pre.get("type") == "Metaspace" and pre.get("replacement") == _METASPACE
        and pre.get("prepend_scheme") == "always" and pre.get("split") is True
        and post.get("type") == "TemplateProcessing"
        and single == ["SpecialToken", "Sequence", "SpecialToken"]
    )


def piece_model(spec: dict[str, Any]) -> tuple[bytes, int, int] | None:
    """A parsed ``tokenizer.json`` as a serialised SentencePiece model plus the ids of
    its start and end tokens, or ``None`` when it is not the XLM-R layout."""
    if not _is_xlmr_layout(spec):
        return None
    steps = spec["post_processor"]["single"]
    bos, eos = steps[0]["SpecialToken"]["id"], steps[2]["SpecialToken"]["id"]
    tokens = spec["post_processor"].get("special_tokens", {})
    bos_id, eos_id = tokens[bos]["ids"][0], tokens[eos]["ids"][0]
    if not {bos_id, eos_id} <= {t["id"] for t in spec.get("added_tokens", [])}:
        return None
    from sentencepiece import sentencepiece_model_pb2 as pb

    kind = pb.ModelProto.SentencePiece
    model = spec["model"]
    special = {t["id"]: t["content"] for t in spec.get("added_tokens", [])
               if t.get("special")}
    proto = pb.ModelProto()
    for i, (piece, score) in enumerate(model["vocab"]):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        if i == model["unk_id"]:
            entry.type = kind.UNKNOWN
        elif special.get(i) == piece:
            entry.type = kind.CONTROL
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id = model["unk_id"]
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1
    norm = spec["normalizer"]
    first = norm["normalizers"][0] if norm.get("type") == "Sequence" else norm
    proto.normalizer_spec.name = "tokenizer.json"
    proto.normalizer_spec.precompiled_charsmap = base64.b64decode(first["precompiled_charsmap"])
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    return proto.SerializeToString(), bos_id, eos_id


class PieceTokenizer:
    """Token ids and attention masks of texts with a SentencePiece model: ``<s>``, the
    pieces (cut to ``max_tokens`` in all), ``</s>``, padded with ``pad_id``."""

    def __init__(self, model_file: Path, *, bos_id: int, eos_id: int, pad_id: int,
                 max_tokens: int) -> None:
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=str(model_file))
        self._bos, self._eos, self._pad = bos_id, eos_id, pad_id
        self._space = self._sp.piece_to_id(_METASPACE)
        self._max = max(2, int(max_tokens))

    def _pieces(self, texts: list[str]) -> list[list[int]]:
        rows = self._sp.encode(texts, num_threads=1)
        for text, row in zip(texts, rows, strict=True):
            # tokenizers keeps a trailing space as a "▁" piece ("query: " + an empty text)
            if text[-1:] == " ":
                row.append(self._space)
        return rows

    def count(self, text: str) -> int:
        """Tokens of ``text``, start and end token included, not cut."""
        return len(self._pieces([text])[0]) + 2

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, attention_mask)`` of ``texts`` as int64 ``[n, longest]``."""
        rows = [[self._bos, *row[: self._max - 2], self._eos] for row in self._pieces(texts)]
        width = max((len(r) for r in rows), default=0)
        ids = np.full((len(rows), width), self._pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask


def _source(model_dir: Path) -> dict[str, Any]:
    stat = (model_dir / "tokenizer.json").stat()
    return {"version": VERSION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _same_ids(model_dir: Path, candidate: Path, bos_id: int, eos_id: int) -> bool:
    """Whether the converted model gives ``tokenizer.json``'s ids on :data:`SAMPLES`."""
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    pieces = PieceTokenizer(candidate, bos_id=bos_id, eos_id=eos_id, pad_id=0,
                            max_tokens=1 << 20)
    return all(e.ids == [bos_id, *row, eos_id]
               for e, row in zip(reference.encode_batch(list(SAMPLES)),
                                 pieces._pieces(list(SAMPLES)), strict=True))


def ensure_piece_model(model_dir: Path, cache_dir: Path) -> tuple[Path, int, int] | None:
    """``(model file, start id, end id)`` of the SentencePiece form of ``model_dir``'s
    ``tokenizer.json``, converted into ``cache_dir`` on first use (a few seconds, once);
    ``None`` when there is no such form (another layout, ids that differ, ``sentencepiece``
    missing, an unwritable folder): the caller keeps ``tokenizers``."""
    model_dir, cache_dir = Path(model_dir), Path(cache_dir)
    target, marker = cache_dir / FILE, cache_dir / MARKER
    try:
        source = _source(model_dir)
    except OSError:
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    except (OSError, ValueError):
        record = {}  # unreadable: converted again
    if isinstance(record, dict) and record.get("source") == source:
        if record.get("usable") and target.is_file():
            return target, int(record["bos_id"]), int(record["eos_id"])
        return None
    try:
        import sentencepiece  # noqa: F401 - only whether it is installed
        from filelock import FileLock

        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache_dir / f".{FILE}.lock")):
            spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
            made = piece_model(spec)
            record = {"source": source, "usable": False}
            if made is not None:
                blob, bos_id, eos_id = made
                fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{FILE}.")
                with os.fdopen(fd, "wb") as out:
                    out.write(blob)
                os.chmod(tmp, 0o644)  # as the model's other files (mkstemp makes it 0600)
                if _same_ids(model_dir, Path(tmp), bos_id, eos_id):
                    os.replace(tmp, target)
                    record.update(usable=True, bos_id=bos_id, eos_id=eos_id)
                else:
                    logger.warning("The SentencePiece form of %s/tokenizer.json gives other "
                                   "ids; tokenizing with tokenizers.", model_dir)
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            marker.write_text(json.dumps(record), encoding="utf-8")
    except ImportError:
        return None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        logger.warning("No SentencePiece form of %s/tokenizer.json (%s); tokenizing with "
                       "tokenizers.", model_dir, exc)
        return None
    if not record["usable"]:
        return None
    logger.info("Converted %s/tokenizer.json to SentencePiece (%s)", model_dir, target)
    return target, int(record["bos_id"]), int(record["eos_id"])
