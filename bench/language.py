"""Language of a question: the product's ``detect_language`` vs lingua as it is.

Counts the questions judged in the wrong language among every question of the shared and
own sets (their ``lang`` field; conversations' last questions included) and among short
questions written for this check (German and English share "was", "war", "in"; German
names make English look German), and lists the wrong ones.

    python bench/language.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lingua import Language  # noqa: E402

from rag.text.language import _detector, detect_language  # noqa: E402

SHARED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared"))
SHORT = [
    ("Was war im Juni 2023 los?", "de"), ("Wer ist Putin?", "de"),
    ("Was ist los in Minsk?", "de"), ("Wie alt ist Lukaschenko?", "de"),
    ("Was sagt Putin?", "de"), ("Wo liegt Minsk?", "de"), ("Was macht Prigoschin?", "de"),
    ("Wann kam Putin?", "de"), ("Was will Putin in Minsk?", "de"),
    ("Wer war Armstrong?", "de"), ("Was war los?", "de"),
    ("Wer gewann die Wahl in Berlin?", "de"), ("Was kostet ein Big Mac in der Schweiz?", "de"),
    ("Was will Lukaschenko?", "de"), ("Was plant Putin in Belarus?", "de"),
    ("Wie reagierte Merkel?", "de"), ("Who is Putin?", "en"),
    ("When was Paul Flückiger's report published?", "en"),
    ("What did Flückiger write about the prisoners?", "en"),
    ("Where was Jürgen Müller born?", "en"), ("What does Lukaschenko want in Minsk?", "en"),
    ("Who is Müller?", "en"),
]


def plain(text: str) -> str:
    lang = _detector().detect_language_of(text)
    return "en" if lang == Language.ENGLISH else "de"


def questions() -> list[tuple[str, str]]:
    files = [*sorted((SHARED / "eval").rglob("*.jsonl")),
             *sorted((ROOT / "bench" / "data").glob("*.jsonl"))]
    out = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line) if line.strip() else {}
            if isinstance(record.get("question"), str) and record.get("lang") in ("de", "en"):
                out.append((record["question"], record["lang"]))
    return out


def main() -> None:
    sets = {"shared and own sets": questions(), "short questions": SHORT}
    for name, items in sets.items():
        for label, detect in (("lingua as it is", plain), ("detect_language", detect_language)):
            wrong = [(q, lang) for q, lang in items if detect(q) != lang]
            print(f"{name} ({len(items)}), {label}: {len(wrong)} wrong")
            for q, lang in wrong:
                print(f"    expected {lang}: {q}")


if __name__ == "__main__":
    main()
