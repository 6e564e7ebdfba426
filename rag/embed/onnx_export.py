"""Export a local sentence-transformers model to ONNX once, cached beside the model.

``ensure_onnx_model(model_dir, variant)`` returns ``<model_dir>/onnx/<variant>.onnx``,
exporting it on first use (torch is needed for that step only; the ONNX embedder itself
runs without torch):

1. ``torch.onnx.export`` of the transformer (inputs ``input_ids``, ``attention_mask``;
   output ``last_hidden_state``; pooling stays in :mod:`rag.embed.onnx`);
2. for BERT models, ONNX Runtime's transformer optimizer fuses attention, GELU and layer
   norms (``onnxruntime.transformers.optimizer``);
3. for ``int8``: ONNX Runtime dynamic quantization, int8 weights per output channel
   (``onnxruntime.quantization.quantize_dynamic``), the recipe of sentence-transformers'
   ``export_dynamic_quantized_onnx_model(..., "avx512_vnni")`` with per-channel scales
   (per-tensor scales measured cosine to fp32 min 0.978, per-channel 0.995).

sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` needs ``optimum-onnx``
(pins transformers < 4.58) or ``optimum-intel`` (pins transformers < 5.6 and another
torch): neither installs beside transformers 5.24, so the same steps are done here with
the libraries underneath. The export is atomic (a temporary folder, then a rename) and
records what it was made from in ``onnx/<variant>.json``; a model rebuilt since is
exported again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import ModelError

logger = logging.getLogger(__name__)

#: Variants of the exported model: ``fp32`` (exact) and ``int8`` (dynamic quantization).
VARIANTS = ("int8", "fp32")
#: Bumped whenever the export recipe changes; older exports are redone.
EXPORT_VERSION = 1
SUBDIR = "onnx"
_OPSET = 17


def onnx_path(model_dir: Path, variant: str) -> Path:
    """Where the exported ``variant`` of the model in ``model_dir`` lives."""
    return Path(model_dir) / SUBDIR / f"model_{variant}.onnx"


def _source_id(model_dir: Path) -> dict:
    """What identifies the source model: size and mtime of its weights, config digest."""
    weights = [p for p in ("model.safetensors", "pytorch_model.bin") if (model_dir / p).is_file()]
    if not weights:
        raise ModelError(
            f"{model_dir} has no model weights (model.safetensors); it cannot be exported "
            "to ONNX. Use RAG_EMBED_BACKEND=torch or rebuild the model."
        )
    stat = (model_dir / weights[0]).stat()
    config_file = model_dir / "config.json"
    config = config_file.read_bytes() if config_file.is_file() else b""
    return {
        "weights": weights[0],
        "weights_size": stat.st_size,
        "weights_mtime_ns": stat.st_mtime_ns,
        "config_sha256": hashlib.sha256(config).hexdigest(),
    }


def _marker(model_dir: Path, variant: str) -> dict:
    return {"export_version": EXPORT_VERSION, "variant": variant, "source": _source_id(model_dir)}


def is_exported(model_dir: Path, variant: str) -> bool:
    """True when ``variant`` is exported and was made from the model as it is now."""
    path = onnx_path(model_dir, variant)
    marker = path.with_suffix(".json")
    if not (path.is_file() and marker.is_file()):
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")) == _marker(model_dir, variant)
    except (OSError, ValueError):
        return False


def _export_fp32(model_dir: Path, dest: Path) -> tuple[str, int, int]:
    """``torch.onnx.export`` of the transformer; returns (model type, heads, hidden size)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_dir), attn_implementation="eager", local_files_only=True
    ).eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return out.last_hidden_state

    pad = int(getattr(model.config, "pad_token_id", None) or 0)
    ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2, pad, pad]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    dynamic = {0: "batch", 1: "tokens"}
    with torch.inference_mode():
        torch.onnx.export(
            _Encoder(model), (ids, mask), str(dest), dynamo=False,
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic,
                          "last_hidden_state": dynamic},
            opset_version=_OPSET, do_constant_folding=True,
        )
    return str(model.config.model_type), int(model.config.num_attention_heads), int(
        model.config.hidden_size
    )


def _fuse(src: Path, dest: Path, heads: int, hidden: int) -> None:
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(
        str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    fused.save_model_to_file(str(dest))


def _quantize(src: Path, dest: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True,
        # fused operators have no shape inference: their outputs are float
        extra_options={"DefaultTensorType": 1},
    )


def export_onnx(model_dir: Path, variant: str = "int8") -> Path:
    """Export ``model_dir`` as ``variant`` (``int8`` or ``fp32``); returns the ONNX path.

    Takes a minute or more (export, fusion, quantization). Raises
    :class:`~rag.errors.ModelError` when the model cannot be exported.
    """
    if variant not in VARIANTS:
        raise ModelError(f"ONNX variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    model_dir = Path(model_dir)
    final = onnx_path(model_dir, variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    marker = _marker(model_dir, variant)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=final.parent))
    try:
        try:
            model_type, heads, hidden = _export_fp32(model_dir, tmp / "raw.onnx")
            current = tmp / "raw.onnx"
            if model_type == "bert":
                _fuse(current, tmp / "fused.onnx", heads, hidden)
                current = tmp / "fused.onnx"
            if variant == "int8":
                _quantize(current, tmp / "int8.onnx")
                current = tmp / "int8.onnx"
        except ModelError:
            raise
        except Exception as exc:  # torch/onnx/onnxruntime errors: all mean "cannot export"
            raise ModelError(
                f"Exporting {model_dir} to ONNX ({variant}) failed: {exc}. "
                "Use RAG_EMBED_BACKEND=torch."
            ) from exc
        if any(p.suffix == ".data" for p in tmp.iterdir()):
            raise ModelError(f"ONNX export of {model_dir} needs external data files (too large)")
        staged = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        shutil.move(str(current), staged)
        os.replace(staged, final)
        marker_tmp = final.with_suffix(f".json.{os.getpid()}.tmp")
        marker_tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
        os.replace(marker_tmp, final.with_suffix(".json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("Exported %s to ONNX (%s) in %.0f s: %s", model_dir.name, variant,
                time.perf_counter() - started, final)
    return final


def ensure_onnx_model(model_dir: Path, variant: str = "int8") -> Path:
    """The exported ``variant`` of ``model_dir``, exported first when missing or stale.

    Concurrent callers are serialised by a lock file beside the export.
    """
    model_dir = Path(model_dir)
    if is_exported(model_dir, variant):
        return onnx_path(model_dir, variant)
    from filelock import FileLock

    lock_dir = model_dir / SUBDIR
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot write the ONNX export beside {model_dir}: {exc}") from exc
    with FileLock(str(lock_dir / f".{variant}.lock")):
        if is_exported(model_dir, variant):
            return onnx_path(model_dir, variant)
        logger.warning(
            "Exporting the embedding model to ONNX (%s) once; this takes a minute or two.",
            variant,
        )
        with contextlib.suppress(OSError):
            onnx_path(model_dir, variant).with_suffix(".json").unlink()
        return export_onnx(model_dir, variant)
