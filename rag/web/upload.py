"""Adding articles from the chat: file upload and pasted URLs (only with ``uploads_enabled``).

Uploaded files and fetched pages go through :mod:`rag.ingest.add` - type decided by
content, web pages and PDFs turned into Markdown with front matter, file names made from
date and title (never from the uploaded name) - into ``<corpus>/uploads/``. The index is
then updated in a background thread with :func:`rag.indexing.update_index` while
questions are still answered from the current index; the pipeline switches to the new
version when it is published, so the articles are searchable without a restart. Only
articles under ``uploads/`` can be removed from the page. Limits: size per file (also
enforced by Gradio's upload route), files and URLs per submission; URL fetching keeps
its SSRF protection (:mod:`rag.ingest.fetch`). Nothing fetched is ever shown as HTML.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import gradio as gr

from ..errors import RagError, UploadError
from ..indexing import update_index
from ..ingest.add import article_file, is_url, save_into, sniff_kind
from ..ingest.fetch import fetch
from ..settings import Settings
from . import render
from .render import escape_html
from .service import Service, doc_label

log = logging.getLogger(__name__)

#: Folder inside the corpus that holds what was added from the chat.
FOLDER = "uploads"
ACCEPT = [".html", ".htm", ".pdf", ".txt", ".md", ".jsonl", ".csv"]


class Uploads:
    """Store uploads and URLs in the corpus and keep the index up to date in a thread."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.folder = settings.paths.corpus_dir / FOLDER
        #: Lines shown on the page: the last submission's results, then the index state.
        self.results: list[str] = []
        self.state = "idle"  # idle | indexing | error
        self.progress: tuple[int, int] | None = None
        self.error: str | None = None
        #: Bumped after each finished indexing run (pages then refresh the status line).
        self.version = 0
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------------ adding

    def _check_count(self, n: int, most: int, what: str) -> None:
        if n > most:
            raise UploadError(f"At most {most} {what} at once (got {n}). / Höchstens {most} "
                              f"auf einmal.")

    def add_files(self, paths: list[str]) -> list[str]:
        """Store uploaded files (paths of Gradio's temporary copies); one line per file."""
        paths = [p for p in paths or [] if p]
        self._check_count(len(paths), self.settings.web.upload_max_files, "files")
        lines = []
        for path in paths:
            shown = Path(path).name[:80]
            try:
                size = Path(path).stat().st_size
                if size > self.settings.web.upload_max_bytes:
                    raise UploadError(f"{size // 1_000_000} MB is larger than the limit of "
                                      f"{self.settings.web.upload_max_bytes // 1_000_000} MB.")
                raw = Path(path).read_bytes()
                kind = sniff_kind(raw, shown)
                name, data = article_file(raw, kind, shown, opts=self.settings.ingest)
                lines.append(self._save(shown, name, data))
            except (RagError, OSError) as exc:
                lines.append(f"✗ {shown}: {exc}")
        return lines

    def add_urls(self, text: str) -> list[str]:
        """Fetch the URLs in ``text`` (one per line or separated by spaces)."""
        urls = [u for u in (text or "").split() if u.strip()]
        self._check_count(len(urls), self.settings.web.upload_max_urls, "URLs")
        lines = []
        for url in urls:
            try:
                if not is_url(url):
                    raise UploadError("not a URL (http:// or https://).")
                got = fetch(url, self.settings.ingest)
                name, data = article_file(got.body, got.suffix, got.final_url,
                                          url=got.final_url, opts=self.settings.ingest)
                lines.append(self._save(url[:200], name, data))
            except RagError as exc:
                why = str(exc)
                why = why.split(": ", 1)[1] if why.startswith(url) and ": " in why else why
                lines.append(f"✗ {url[:200]}: {why}")
        return lines

    def _save(self, shown: str, name: str, data: bytes) -> str:
        rel, same = save_into(self.folder, name, data)
        if same:
            return f"= {shown}: already in the corpus / schon vorhanden ({FOLDER}/{rel})"
        self._dirty.set()
        return f"✓ {shown} → {FOLDER}/{rel}"

    def submit(self, files: list[str] | None, urls: str | None) -> str:
        """Handle one submission of the form; starts indexing when something was added."""
        try:
            lines = self.add_files(files or []) + self.add_urls(urls or "")
        except RagError as exc:
            lines = [f"✗ {exc}"]
        if not lines:
            lines = ["Nichts ausgewählt. / Nothing selected."]
        self.results = lines
        self.kick()
        return self.status_html()

    # ------------------------------------------------------------------ removing

    def uploaded(self) -> list[tuple[str, str]]:
        """(label, doc_id) of the indexed articles that were added from the chat."""
        try:
            docs = self.service.pipeline.index.docs if self.service.ready else {}
        except RagError:
            return []
        return sorted(((doc_label(d.title, d.date, d.doc_id), d.doc_id) for d in docs.values()
                       if d.doc_id.startswith(FOLDER + "/")), key=lambda c: c[1])

    def remove(self, doc_ids: list[str] | None) -> str:
        """Delete the files of uploaded articles (``uploads/...`` only) and re-index."""
        lines = []
        root = self.folder.resolve()
        for doc_id in doc_ids or []:
            file_part = doc_id.split("#", 1)[0]  # an export's record: the export file
            path = (self.settings.paths.corpus_dir / file_part).resolve()
            if not file_part.startswith(FOLDER + "/") or root not in path.parents:
                lines.append(f"✗ {doc_id}: only articles added here can be removed.")
                continue
            try:
                path.unlink()
                lines.append(f"− {doc_id} removed / entfernt")
                self._dirty.set()
            except FileNotFoundError:
                lines.append(f"= {doc_id}: already removed")
            except OSError as exc:
                lines.append(f"✗ {doc_id}: {exc.strerror}")
        self.results = lines or ["Nichts ausgewählt. / Nothing selected."]
        self.kick()
        return self.status_html()

    # ------------------------------------------------------------------ indexing

    def kick(self) -> None:
        """Start the indexing thread when there is something to index."""
        with self._lock:
            if self._dirty.is_set() and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._run, name="rag-upload-index",
                                                daemon=True)
                self._worker.start()

    def _run(self) -> None:
        pipeline = self.service.pipeline
        while self._dirty.is_set():
            self._dirty.clear()
            self.state, self.progress, self.error = "indexing", None, None
            try:
                report = update_index(
                    pipeline.settings, pipeline.embedder, progress=False,
                    on_progress=lambda done, total: setattr(self, "progress", (done, total)))
                log.info("uploads: %s", report.summary().replace("\n", "; "))
                self.service.show_index()  # loads the new version
                self.state = "idle"
                self.version += 1
            except Exception as exc:  # noqa: BLE001 - shown on the page
                log.exception("Indexing the uploads failed")
                self.state, self.error = "error", str(exc)

    def status_html(self) -> str:
        """The results of the last submission and the indexing state, escaped."""
        if self.state == "indexing":
            done = f" {self.progress[0]}/{self.progress[1]}" if self.progress else ""
            state = f"Wird indexiert … / Indexing …{done}"
        elif self.state == "error":
            state = f"Indexieren fehlgeschlagen / Indexing failed: {self.error}"
        else:
            state = "Suchbar / Searchable" if self.results else ""
        lines = self.results + ([state] if state else [])
        items = "".join(f"<li>{escape_html(x)}</li>" for x in lines)
        return f'<ul class="rag-upload-status" data-state="{self.state}">{items}</ul>'

    def refresh(self, seen: int | None) -> tuple:
        """Timer tick: the upload status; after an indexing run the page has not seen yet,
        also the removable articles, the app's status line and its article filter."""
        if seen == self.version:
            return self.status_html(), gr.skip(), gr.skip(), gr.skip(), seen
        state, message = self.service.status()
        return (self.status_html(), gr.update(choices=self.uploaded()),
                render.status_html(state, message),
                gr.update(choices=self.service.doc_choices), self.version)


def build_panel(service: Service, settings: Settings, app_status: gr.HTML,
                app_docs: gr.Dropdown) -> Uploads:
    """The "add articles" accordion (call inside the Blocks layout); ``app_status`` and
    ``app_docs`` (the status line, the article filter) are refreshed after indexing."""
    uploads = Uploads(service, settings)
    seen = gr.State(-1)
    with gr.Accordion("Artikel hinzufügen / Add articles", open=False, elem_id="rag-upload"):
        files = gr.File(file_count="multiple", file_types=ACCEPT, type="filepath",
                        label="Dateien / Files (.html, .pdf, .txt, .md, .jsonl, .csv)",
                        elem_id="rag-upload-files")
        urls = gr.Textbox(label="URLs (eine pro Zeile / one per line)", lines=2,
                          elem_id="rag-upload-urls", placeholder="https://…")
        add = gr.Button("Hinzufügen / Add", elem_id="rag-upload-add")
        status = gr.HTML(uploads.status_html(), elem_id="rag-upload-status")
        with gr.Row():
            remove_ids = gr.Dropdown(choices=[], multiselect=True, elem_id="rag-upload-remove",
                                     label="Hinzugefügte Artikel / Added articles")
            remove = gr.Button("Entfernen / Remove", elem_id="rag-upload-remove-btn")
        timer = gr.Timer(1.0, active=True)
        add.click(uploads.submit, [files, urls], [status], api_visibility="private",
                  concurrency_id="upload", concurrency_limit=1).then(
            lambda: (None, ""), None, [files, urls], api_visibility="private", queue=False)
        remove.click(uploads.remove, [remove_ids], [status], api_visibility="private",
                     concurrency_id="upload", concurrency_limit=1)
        timer.tick(uploads.refresh, [seen], [status, remove_ids, app_status, app_docs, seen],
                   api_visibility="private", show_progress="hidden")
    return uploads
