"""Test data and helpers shared by several test files (importable from every test folder:
``tests/conftest.py`` puts ``tests/`` on ``sys.path``).

The XSS article and strings, a free local port, the seed corpus and its article names, a
small corpus/settings builder, and the artifact writer for measured figures.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus"
SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SEED_QUESTIONS = SHARED / "eval" / "seed_questions.jsonl"
XQUAD = SHARED / "eval" / "xquad-de"
ARTIFACTS = ROOT / "tests" / "artifacts"

#: The seed articles by what they are about.
KREMLIN = "000_0bd7be33f238eff5.txt"  # Lukaschenko in the Kremlin (undated)
BRUDERHILFE = "001_ed4b800cc64d86f5.txt"  # Zeit, 2020-08
MINSK_VISIT = "002_b32e619577f15ed7.txt"  # Putin in Minsk, 2022-12-19 (Tulpen)
SEWASTOPOL = "003_13b114440d0760a9.txt"  # video conference from Sewastopol, 2021-11
PRIGOSCHIN = "004_ab217624b5cd6cf3.txt"  # Prigoschin mutiny, 2023-06
SEED_ARTICLES = (KREMLIN, BRUDERHILFE, MINSK_VISIT, SEWASTOPOL, PRIGOSCHIN)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
#: An article with HTML/JS in its metadata and body: must always render as text.
XSS_ARTICLE = f"""---
title: "Minsker Zoo {SCRIPT}"
publisher: "{IMG}"
url: "javascript:alert(1)"
date: 2023-05-02
---
Der Minsker Zoo meldet die Geburt eines kleinen Pandas. {SCRIPT} Das Jungtier heißt Bambus \\
und wiegt 150 Gramm. {IMG} Der Zoodirektor spricht von einer Sensation für die Stadt Minsk.
"""
XSS_QUESTION = "Wie heißt das Panda-Jungtier im Minsker Zoo?"
#: Its file name where the end-to-end tests add it to a corpus.
XSS_DOC = "900_xss.txt"

#: An article about something no seed article mentions (added/changed/removed by tests).
EXTRA = "zz_erzgebirge.txt"
EXTRA_TEXT = """Bergbau im Erzgebirge: Ein Museum erinnert an die Silberzeit

Im sächsischen Erzgebirge wurde über achthundert Jahre lang Silber, Zinn und Kobalt
abgebaut. Das Besucherbergwerk in Freiberg zeigt heute, wie die Bergleute unter Tage
arbeiteten. Die Stollen reichen bis zu zweihundert Meter tief in den Berg.

Der Museumsdirektor berichtet, dass jedes Jahr rund sechzigtausend Gäste kommen. Besonders
beliebt sind die Führungen mit Grubenlampe, bei denen die Besucher durch enge Gänge kriechen
und die alten Wasserräder sehen, mit denen das Grundwasser abgepumpt wurde.

Zur Weihnachtszeit stellen die Schnitzer der Region Nussknacker, Räuchermänner und
Schwibbögen her. Die Bergparade in Annaberg-Buchholz zieht jedes Jahr Tausende an. Die
Tradition geht auf die Bergleute zurück, die in der dunklen Jahreszeit Licht ins Fenster
stellten.

Seit 2019 gehört die Montanregion Erzgebirge/Krušnohoří zum Welterbe der UNESCO. Die
Auszeichnung umfasst zweiundzwanzig Bestandteile auf deutscher und tschechischer Seite.
"""
EXTRA_QUESTION = "Wie viele Gäste besuchen jedes Jahr das Besucherbergwerk in Freiberg?"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_jsonl(path: Path) -> list[dict]:
    """The records of a JSON Lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def copy_seed(folder: Path, names: tuple[str, ...] = SEED_ARTICLES) -> Path:
    """A private corpus folder holding the seed articles ``names``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SEED / name, folder / name)
    return folder


def small_settings(tmp_path: Path, names: tuple[str, ...] = SEED_ARTICLES, **overrides: Any):
    """Settings (defaults, not the environment) over a private copy of seed articles, with
    the index and user data in ``tmp_path``."""
    from rag.settings import Settings

    corpus = copy_seed(tmp_path / "corpus", names)
    return Settings().replace(corpus_dir=corpus, index_dir=tmp_path / "index",
                              data_dir=tmp_path / "data", **overrides)


def write_artifact(name: str, data: dict[str, Any]) -> None:
    """Merge ``data`` into ``tests/artifacts/<name>.json`` (measured figures for the docs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    old.update(data)
    old["load_average"] = [round(x, 2) for x in os.getloadavg()]
    old["cpus"] = os.cpu_count()
    path.write_text(json.dumps(old, indent=2, ensure_ascii=False), encoding="utf-8")
