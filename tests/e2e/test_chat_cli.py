"""``rag chat`` as a real process: a conversation piped in, follow-ups understood (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = Path(os.environ.get("RAG_SHARED_DIR", ROOT.parent / "shared")) / "corpus-seed"


def test_piped_conversation_with_follow_up_new_conversation_and_bad_input(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED if SEED.exists() else ROOT / "corpus", corpus)
    lines = ["Wer ist Sergej Alejnik?", "Und wen hat er ersetzt?", "", "/new",
             "x" * 5000, "Wie hoch ist der Eiffelturm?", "/quit", "Nie gefragt?"]
    done = subprocess.run(
        [sys.executable, "-m", "rag", "chat", "--corpus", str(corpus),
         "--index", str(tmp_path / "index")],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT,
        timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "Traceback" not in out + done.stderr
    assert out.count("Verstanden als: Und wen hat er ersetzt? (Bezug: Wer ist Sergej Alejnik?") == 1
    assert "Makei" in out.split("Verstanden als:")[1]
    assert "(neues Gespräch / new conversation)" in out
    assert "error: The question is too long" in done.stderr
    after_new = out.split("(neues Gespräch / new conversation)")[1]
    assert "Verstanden als" not in after_new
    assert "Dazu habe ich im Korpus nichts gefunden." in after_new
    assert "Nie gefragt" not in out
