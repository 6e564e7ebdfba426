"""The command line (rag.cli, ``rag``/``python -m rag``/``app.py``): flags become settings,
``--help`` answers without loading heavy modules, every RagError is a one-line message
with exit code 2. ``index``, ``ask`` and ``eval`` run in-process with the fake embedder
(the real model's commands are in tests/integration and tests/e2e)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from shared_data import MINSK_VISIT, ROOT, SEED_QUESTIONS, small_settings

import rag.pipeline
from rag.cli import build_parser, format_answer, main, settings_from
from rag.embed.fake import FakeEmbedder
from rag.eval.metrics import METRIC_KEYS
from rag.settings import Settings
from rag.store.folder import current_version, read_manifest
from rag.store.index import CHUNKS, VECTORS
from rag.store.keywords import FOLDERS
from rag.types import Answer, Source


@pytest.fixture()
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[FakeEmbedder]:
    """Commands load the fake embedder instead of the real model; returns those loaded."""
    loaded: list[FakeEmbedder] = []

    def load(settings: Settings) -> FakeEmbedder:
        loaded.append(FakeEmbedder())
        return loaded[-1]

    monkeypatch.setattr(rag.pipeline, "load_embedder", load)
    return loaded


@pytest.fixture()
def paths(tmp_path: Path) -> list[str]:
    settings = small_settings(tmp_path)
    return ["--corpus", str(settings.paths.corpus_dir), "--index",
            str(settings.paths.index_dir)]


def test_flags_become_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_PORT", raising=False)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8000")
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "8080",
                                      "--corpus", str(tmp_path), "--data", "d"])
    s = settings_from(args)
    assert (s.web.host, s.web.port) == ("0.0.0.0", 8080)  # flags win over the environment
    assert s.paths.corpus_dir == tmp_path and s.paths.data_dir == Path("d")
    s = settings_from(build_parser().parse_args(["serve"]))
    assert s.web.port == 8000  # GRADIO_SERVER_PORT
    args = build_parser().parse_args(["ask", "Frage?", "--k", "3", "--doc", "a", "--doc", "b",
                                      "--model", "m"])
    assert (args.k, args.doc, settings_from(args).model.model) == (3, ["a", "b"], "m")


def test_serve_passes_the_settings_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.web.layout
    import rag.web.service

    seen: list[Settings] = []
    monkeypatch.setattr(rag.web.layout, "serve", lambda settings, **_: seen.append(settings))
    # The index and model load in the background while gradio loads: not in a unit test.
    monkeypatch.setattr(rag.web.service.Service, "start", lambda self: None)
    assert main(["serve", "--host", "127.0.0.2", "--port", "9001"]) == 0
    assert (seen[0].web.host, seen[0].web.port) == ("127.0.0.2", 9001)
    with pytest.raises(SystemExit):  # argparse: a port must be a number
        main(["serve", "--port", "http"])


def test_serve_on_a_taken_port_says_so_before_loading_anything(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Another server on the port: a one-line message and exit code 2, before the model
    and index load (it was gradio's traceback once they had)."""
    import socket

    import rag.web.service

    started: list[bool] = []
    monkeypatch.setattr(rag.web.service.Service, "start", lambda self: started.append(True))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "in use" in err and "Traceback" not in err
    assert not started


def test_help_is_fast_and_loads_no_heavy_module() -> None:
    """``rag --help`` and ``python app.py --help`` import neither torch nor faiss nor
    gradio (``-X importtime`` lists every import)."""
    for command in ([sys.executable, "-X", "importtime", "-m", "rag", "--help"],
                    [sys.executable, "-X", "importtime", "app.py", "--help"]):
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.split("|")[-1].strip().split(".")[0]
                    for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert not imported & {"torch", "faiss", "gradio", "sentence_transformers", "bm25s"}
    assert "index" in proc.stdout or "--host" in proc.stdout
    assert "--host" in proc.stdout and "--port" in proc.stdout  # app.py is `rag serve`


def test_index_then_ask(paths: list[str], fake_model: list[FakeEmbedder],
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--quiet", *paths]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Index rebuilt (no index yet).") and "articles: 5" in out
    assert main(["index", "--quiet", *paths]) == 0
    assert capsys.readouterr().out.startswith("Index is up to date.")
    assert main(["ask", "Was brachte Lukaschenko Putin mit?", "--k", "2", "--doc",
                 MINSK_VISIT, "--json", *paths]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "Was brachte Lukaschenko Putin mit?"
    assert data["sources"] and {s["doc_id"] for s in data["sources"]} == {MINSK_VISIT}
    assert main(["ask", "Wie nennt Lukaschenko Putin?", *paths]) == 0
    out = capsys.readouterr().out
    assert "[1] " in out and "score " in out


def test_input_errors_are_one_line_messages(paths: list[str], tmp_path: Path,
                                            fake_model: list[FakeEmbedder],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in [
        (["ask", "   ", *paths], "Please enter a question"),
        (["ask", "Putin?", "--k", "0", *paths], "k must be between 1 and 20"),
        (["ask", "Putin?", "--date-from", "gestern", *paths], "date_from must be a date"),
        (["ask", "Putin?", "--corpus", str(tmp_path / "nope"), "--index",
          str(tmp_path / "i2")], "does not exist"),
        (["index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i3")],
         "does not exist"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_index_lists_bad_files_with_exit_code_3(tmp_path: Path, fake_model: list[FakeEmbedder],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings = small_settings(tmp_path, (MINSK_VISIT,))
    corpus = settings.paths.corpus_dir
    (corpus / "cp1252.txt").write_bytes("Die Bäckerei „Süßes Eck“ verkauft Stollen für 25 €."
                                        .encode("cp1252"))
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256))
    (corpus / "vanished.txt").symlink_to(corpus / "deleted-meanwhile.txt")
    argv = ["index", "--quiet", "--corpus", str(corpus), "--index",
            str(settings.paths.index_dir)]
    assert main(argv) == 3
    out = capsys.readouterr().out
    skipped = {line.split(":", 1)[0].removeprefix("  skipped ").strip(): line
               for line in out.splitlines() if line.startswith("  skipped ")}
    assert set(skipped) == {"empty.txt", "binary.txt", "vanished.txt"}
    assert "empty" in skipped["empty.txt"] and "NUL" in skipped["binary.txt"]
    assert "disappeared" in skipped["vanished.txt"] and "skipped: 3" in out
    for name in skipped:
        (corpus / name).unlink()
    assert main(argv) == 0  # nothing skipped any more
    assert "added: 0" in capsys.readouterr().out


def test_cli_on_a_damaged_index(paths: list[str], fake_model: list[FakeEmbedder],
                                capsys: pytest.CaptureFixture[str]) -> None:
    """``ask`` rebuilds a damaged index and answers; ``index`` says it rebuilt; with no
    corpus to rebuild from the exit code is 2 with a readable message."""
    index_dir = Path(paths[3])
    assert main(["index", "--quiet", *paths]) == 0
    (current_version(index_dir) / CHUNKS).unlink()
    capsys.readouterr()
    assert main(["ask", "Was brachte Lukaschenko seinem Gast Putin mit?", *paths]) == 0
    assert "[1] " in capsys.readouterr().out

    import shutil

    shutil.rmtree(current_version(index_dir) / FOLDERS[read_manifest(index_dir).keyword_backend])
    assert main(["index", "--quiet", *paths]) == 0
    assert "Index rebuilt (the previous index was damaged)." in capsys.readouterr().out

    (current_version(index_dir) / VECTORS).write_bytes(b"")
    missing = ["--corpus", str(index_dir.parent / "nope"), "--index", str(index_dir)]
    assert main(["ask", "Wie nennt Lukaschenko Putin?", *missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and "Traceback" not in err


# --------------------------------------------------------------------------- eval

GOOD = {"id": "d1", "lang": "de", "question": "Wer?", "expected_sources": ["a.txt"],
        "answer_keywords": ["Tulpen"]}


def _lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_stops_on_a_malformed_file_and_writes_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    path = _lines(tmp_path / "q.jsonl", json.dumps(GOOD), '{"id": 7}')
    out = tmp_path / "out"
    code = main(["eval", str(path), "--out", str(out / "r.json"), "--csv", str(out / "r.csv"),
                 "--markdown", str(out / "r.md")])
    assert code == 2
    err = capsys.readouterr().err
    assert "q.jsonl:2:" in err and "missing field(s): lang" in err
    assert not out.exists()


def test_eval_rejects_bad_options_before_running(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    questions = _lines(tmp_path / "q.jsonl", json.dumps(GOOD))
    baseline = _lines(tmp_path / "old.json", '{"questions": []}')
    assert main(["eval", str(questions), "--baseline", str(baseline)]) == 2
    assert "not an evaluation report" in capsys.readouterr().err
    assert main(["eval", str(questions), "--k", "0"]) == 2
    assert "--k must be between 1 and 20" in capsys.readouterr().err
    assert main(["eval", str(questions), "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err


def test_eval_writes_reports_and_compares_with_a_baseline(
        paths: list[str], tmp_path: Path, fake_model: list[FakeEmbedder],
        capsys: pytest.CaptureFixture[str]) -> None:
    """``rag eval`` on the seed questions (fake embedder: the numbers are not the point):
    table, JSON, CSV and Markdown reports, then a ``--baseline`` comparison."""
    out = tmp_path / "reports"
    argv = ["eval", str(SEED_QUESTIONS), *paths, "--quiet", "--k", "5"]
    assert main([*argv, "--out", str(out / "report.json"), "--csv", str(out / "rows.csv"),
                 "--markdown", str(out / "report.md")]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["metric", "overall", "de", "en"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(report["metrics"]["overall"]) == list(METRIC_KEYS)
    assert report["metrics"]["overall"]["n"] == 22 and report["config"]["k"] == 5
    assert report["config"]["model"]["name"] == "fake-hash"
    assert report["config"]["questions_file"]["n"] == 22
    assert len(list(csv.DictReader((out / "rows.csv").open(encoding="utf-8")))) == 22
    assert "## Metrics" in (out / "report.md").read_text(encoding="utf-8")

    assert main([*argv, "--baseline", str(out / "report.json"), "--limit", "4"]) == 0
    again = capsys.readouterr().out
    assert "diff" in again and "question sets differ" in again
    (tmp_path / "a-file").write_text("x")
    assert main([*argv, "--out", str(tmp_path / "a-file" / "r.json")]) == 1  # not a folder
    assert "error: cannot write" in capsys.readouterr().err


def test_format_answer() -> None:
    src = Source(1, "a.txt", "Titel", "2022-12", "https://x.org/a", "x.org", "Text", 0.91234)
    text = format_answer(Answer("Frage?", "de", True, "Antwort. [1]", [src]))
    assert text.splitlines() == ["Antwort. [1]", "", "[1] Titel (x.org, 2022-12)  score 0.912",
                                 "    https://x.org/a", "    a.txt"]
    refused = format_answer(Answer("Q?", "en", False, "I could not find this.", [src]))
    assert "Possibly related:" in refused


def test_keyboard_interrupt_keeps_the_index(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import rag.cli

    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    parser = build_parser()
    monkeypatch.setattr(rag.cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["index"].set_defaults(func=interrupted)
    assert main(["index"]) == 130
    assert "previous index is unchanged" in capsys.readouterr().err
