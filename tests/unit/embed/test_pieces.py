"""SentencePiece form of a tokenizer.json (rag.embed.pieces), on small tokenizers built
here: the XLM-R layout converts to the same ids, other layouts do not convert; the
conversion is made once, redone when tokenizer.json changes, and never breaks loading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

from rag.embed.e5.charsmap import build_precompiled_charsmap
from rag.embed.pieces import FILE, MARKER, PieceTokenizer, ensure_piece_model, piece_model

pytest.importorskip("sentencepiece")

VOCAB = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0),
         ("▁die", -3.0), ("▁Stadt", -4.0), ("▁St", -5.0), ("adt", -6.0), ("▁Tal", -5.5),
         ("a", -7.0), ("d", -7.0), ("e", -7.0), ("i", -7.0), ("l", -7.0), ("S", -7.0),
         ("t", -7.0), ("T", -7.0), ("A", -7.0), ("▁a", -6.5)]
TEXTS = ["die Stadt", "die  Stadt im Tal", "ＡＳ Tal", "die\tStadt\nTal", "Tal ", "€ die"]


def xlmr_like() -> Tokenizer:
    """The layout of the default model's tokenizer on a 20-piece vocabulary (full-width
    letters folded by the charsmap)."""
    tok = Tokenizer(models.Unigram(VOCAB, unk_id=3, byte_fallback=False))
    charsmap = build_precompiled_charsmap({0xFF21: (0x41,), 0xFF33: (0x53,), 0x09: (0x20,),
                                           0x0A: (0x20,)})
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always",
                                                 split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return tok


def write(folder: Path, tok: Tokenizer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


def test_xlmr_layout_converts_to_the_same_ids(tmp_path: Path) -> None:
    tok = xlmr_like()
    model = write(tmp_path / "model", tok)
    found = ensure_piece_model(model, model / "onnx")
    assert found is not None
    file, bos_id, eos_id = found
    assert (file, bos_id, eos_id) == (model / "onnx" / FILE, 0, 2)
    pieces = PieceTokenizer(file, bos_id=0, eos_id=2, pad_id=1, max_tokens=512)
    ids, mask = pieces.encode(TEXTS)
    for text, row, m in zip(TEXTS, ids, mask, strict=True):
        assert row[m.astype(bool)].tolist() == tok.encode(text).ids, text
        assert pieces.count(text) == len(tok.encode(text).ids)
    assert (ids[mask == 0] == 1).all()  # padded with the pad id
    short, _ = PieceTokenizer(file, bos_id=0, eos_id=2, pad_id=1, max_tokens=4).encode(
        ["die Stadt im Tal"])
    assert short.tolist() == [[0, 5, 6, 2]]  # cut like tokenizers: start, 2 pieces, end


def test_converted_once_and_again_when_the_tokenizer_changes(tmp_path: Path) -> None:
    model = write(tmp_path / "model", xlmr_like())
    cache = model / "onnx"
    first = ensure_piece_model(model, cache)
    stamp = (cache / FILE).stat().st_mtime_ns
    assert ensure_piece_model(model, cache) == first and (cache / FILE).stat().st_mtime_ns == stamp
    os.utime(model / "tokenizer.json", ns=(stamp + 10**9, stamp + 10**9))
    assert ensure_piece_model(model, cache) == first
    assert json.loads((cache / MARKER).read_text())["source"]["mtime_ns"] == stamp + 10**9


def test_other_layouts_keep_tokenizers(tmp_path: Path) -> None:
    words = Tokenizer(models.WordLevel({"die": 0, "Stadt": 1, "[UNK]": 2}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    assert piece_model(json.loads(words.to_str())) is None
    model = write(tmp_path / "words", words)
    assert ensure_piece_model(model, model / "onnx") is None
    assert json.loads((model / "onnx" / MARKER).read_text())["usable"] is False
    assert not (model / "onnx" / FILE).exists()
    byte_fallback = json.loads(xlmr_like().to_str())
    byte_fallback["model"]["byte_fallback"] = True
    assert piece_model(byte_fallback) is None


def test_problems_mean_tokenizers_not_errors(tmp_path: Path) -> None:
    assert ensure_piece_model(tmp_path / "missing", tmp_path / "cache") is None
    model = write(tmp_path / "model", xlmr_like())
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    assert ensure_piece_model(model, blocked / "onnx") is None  # cannot be written
    cache = model / "onnx"
    cache.mkdir()
    (cache / MARKER).write_text("{not json")
    assert ensure_piece_model(model, cache) is not None  # an unreadable record: redone
    assert json.loads((cache / MARKER).read_text())["usable"] is True
