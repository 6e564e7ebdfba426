"""gradio imported by the web package without its type-stub writer
(rag.web.gradio_import): each check runs in a fresh interpreter, since this test process
has gradio imported already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: Imports gradio (through the web package or plainly) and reports which gradio ``.pyi``
#: files were opened, and what the stub writer is at the end.
PROBE = """
import json, sys
opened = []
def audit(event, args):
    if event == "open" and str(args[0]).endswith(".pyi") and "gradio" in str(args[0]):
        opened.append(str(args[0]))
sys.addaudithook(audit)
if sys.argv[1] == "app":
    import rag.web.layout
else:
    import gradio
import gradio as gr, gradio.blocks_events, gradio.component_meta as meta
print(json.dumps({"opened": opened, "writer": meta.create_or_modify_pyi.__name__,
                  "blocks_writer": gradio.blocks_events.create_or_modify_pyi.__name__,
                  "click": callable(gr.Button.click), "finders": [
                      type(f).__name__ for f in sys.meta_path]}))
"""


def probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_web_package_imports_gradio_without_touching_its_stubs() -> None:
    plain, app = probe("plain"), probe("app")
    assert plain["opened"], "control: a plain gradio import reads and rewrites its stubs"
    assert plain["writer"] == "create_or_modify_pyi"
    assert app["opened"] == []
    assert app["writer"] == app["blocks_writer"] == "_write_no_stubs"
    assert app["click"]  # the components' events are there as before
    assert "_Finder" not in app["finders"]  # the finder removed itself


def test_install_after_gradio_is_imported_changes_nothing() -> None:
    import gradio  # noqa: F401 - already imported in this process

    from rag.web import gradio_import

    before = list(sys.meta_path)
    gradio_import.install()
    assert sys.meta_path == before
