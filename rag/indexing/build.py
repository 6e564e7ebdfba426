"""Building and updating the index from the corpus, incrementally and atomically."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from tqdm import tqdm

from ..embed import Embedder, SpanEmbedder, model_signature, prepare_text
from ..errors import CorpusError, IndexCorrupt, IndexMismatch, IndexMissing, SettingsError
from ..ingest import dedup
from ..ingest.corpus import read_corpus
from ..settings import Settings
from ..store.folder import current_version, read_manifest, remove_stale_versions, writer_lock
from ..store.index import Index, VersionWriter
from ..store.keywords import check_backend
from ..store.manifest import Manifest, check_compatible
from ..text.sentences import POINTS_BACK
from ..types import Article, Chunk, DocMeta, Skipped

log = logging.getLogger(__name__)

#: Called with (chunks embedded, chunks to embed) while an index is built.
Progress = Callable[[int, int], None]
#: Bump when the chunking code changes in a way that changes chunks.
#: 4: sentences broken over lines are joined when read; 5: glued sentences split; 6: a
#: sentence pointing back is embedded after the one before it; 7: link markup read as
#: the words it shows.
CHUNKER_VERSION = 7
#: Titles longer than this are shortened before they are put above each sentence.
TITLE_CHARS = 60
#: Values of ``settings.chunking.sentence_vectors``.
SENTENCE_VECTORS = ("separate", "pooled")
Span = tuple[int, int]


@dataclass
class IndexReport:
    """What an indexing run did."""

    articles: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rebuilt: bool = False
    reason: str = ""
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        """True when nothing had to be written."""
        return not (self.added or self.changed or self.removed or self.rebuilt)

    def summary(self) -> str:
        """A human-readable summary (several lines)."""
        head = "Index is up to date." if self.up_to_date else (
            "Index rebuilt" + (f" ({self.reason})" if self.reason else "") + "."
            if self.rebuilt else "Index updated."
        )
        lines = [
            head,
            f"  articles: {self.articles}, chunks: {self.chunks}",
            f"  added: {len(self.added)}, changed: {len(self.changed)}, "
            f"removed: {len(self.removed)}, skipped: {len(self.skipped)}",
            f"  time: {self.seconds:.1f} s",
        ]
        lines += [f"  skipped {s.path}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def chunking_signature(settings: Settings) -> dict:
    """What identifies the chunking settings in the manifest."""
    return {
        "chunk_tokens": settings.chunking.chunk_tokens,
        "overlap_tokens": settings.chunking.chunk_overlap_tokens,
        "chunker_version": CHUNKER_VERSION,
        "paragraph_tokens": settings.chunking.paragraph_tokens,
        "embed_titles": settings.chunking.embed_titles,
        **({"sentence_vectors": settings.chunking.sentence_vectors}
           if settings.chunking.sentence_vectors != "separate" else {}),
    }


def _open_base(settings: Settings, model: dict, chunking: dict) -> tuple[Index | None, str]:
    """The current index to update, or ``None`` and why a full build is needed."""
    try:
        manifest = read_manifest(settings.paths.index_dir)
        check_compatible(manifest, model, chunking, settings.paths.index_dir)
        return Index(current_version(settings.paths.index_dir), manifest), ""  # type: ignore[arg-type]
    except IndexMissing:
        return None, "no index yet"
    except IndexMismatch as exc:
        return None, str(exc).split(". Rebuild")[0]
    except IndexCorrupt as exc:
        log.warning("%s", exc)
        return None, "the previous index was damaged"


def _headline_prefix(headline: str | None) -> str:
    """The headline line put above a sentence or passage (cut at a word boundary so that
    long headlines do not dominate short sentences); empty without a headline."""
    if not headline:
        return ""
    if len(headline) > TITLE_CHARS:
        headline = headline[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"
    return headline + "\n"


def sentence_texts(chunk: Chunk, headline: str | None = None) -> list[str]:
    """What is embedded for each sentence of ``chunk``: the sentence, under the article's
    ``headline`` when it has one, after the sentence before it when it starts by pointing
    back at that one (:data:`~rag.text.sentences.POINTS_BACK`, same paragraph).

    The headline tells the model what the sentence is about, the sentence before what
    "Daraufhin ..." or "Er ..." refers to. A title that is only the article's first
    sentence is no help and is left out (callers pass no headline then). A chunk without
    sentence spans is embedded as one sentence.
    """
    prefix = _headline_prefix(headline)
    spans = chunk.sentences or ((0, len(chunk.text)),)
    text = chunk.text
    out = []
    for i, (a, b) in enumerate(spans):
        before = ""
        if i and POINTS_BACK.match(text[a:b]) and "\n" not in text[spans[i - 1][1]:a]:
            before = text[spans[i - 1][0]:spans[i - 1][1]] + " "
        out.append(prefix + before + text[a:b])
    return out


def passage_with_spans(chunk: Chunk, headline: str | None = None) -> tuple[str, list[Span]]:
    """The headline line and ``chunk``'s text as one prepared (NFC) text, and the
    sentence spans within it (a chunk without sentence spans is one sentence)."""
    spans = chunk.sentences or ((0, len(chunk.text)),)
    parts = [prepare_text(_headline_prefix(headline)) + "\n" if headline else ""]
    length = len(parts[0])
    out: list[Span] = []
    pos = 0
    for a, b in spans:
        gap = unicodedata.normalize("NFC", chunk.text[pos:a])
        sentence = unicodedata.normalize("NFC", chunk.text[a:b])
        parts += [gap, sentence]
        out.append((length + len(gap), length + len(gap) + len(sentence)))
        length += len(gap) + len(sentence)
        pos = b
    parts.append(unicodedata.normalize("NFC", chunk.text[pos:]))
    return "".join(parts), out


def embed_chunks(
    embedder: Embedder,
    chunks: list[Chunk],
    headlines: Mapping[str, str] | None = None,
    *,
    sentence_vectors: str = "separate",
    progress: bool = True,
    on_progress: Progress | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors and per-sentence vectors of ``chunks``.

    ``separate``: every sentence is embedded on its own (see :func:`sentence_texts`;
    ``headlines`` maps doc_id to headline). ``pooled``: one pass over each passage under
    its headline (:func:`passage_with_spans`), each sentence's vector the mean of its
    tokens' states (needs a :class:`~rag.embed.SpanEmbedder`). Either way a passage's
    vector is the normalised mean of its sentences' vectors; bench/README.md compares
    the two (speed and retrieval quality).
    """
    if sentence_vectors not in SENTENCE_VECTORS:
        raise SettingsError(
            f"sentence_vectors (RAG_SENTENCE_VECTORS) must be one of "
            f"{', '.join(SENTENCE_VECTORS)}, not {sentence_vectors!r}."
        )
    pooled = sentence_vectors == "pooled"
    if pooled and not isinstance(embedder, SpanEmbedder):
        raise SettingsError(
            f"sentence_vectors=pooled needs an embedder that pools token spans; "
            f"{type(embedder).__name__} does not. Use RAG_SENTENCE_VECTORS=separate."
        )
    headlines = headlines or {}
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    out: list[np.ndarray] = []
    group = max(1, embedder.batch_size) * 8
    with tqdm(total=len(chunks), desc="Embedding", unit="chunk", disable=not progress) as bar:
        for start in range(0, len(chunks), group):
            part = chunks[start : start + group]
            if pooled:
                prepared = [passage_with_spans(c, headlines.get(c.doc_id)) for c in part]
                _, per_chunk = embedder.encode_passage_spans(  # type: ignore[attr-defined]
                    [t for t, _ in prepared], [s for _, s in prepared]
                )
            else:
                texts = [sentence_texts(c, headlines.get(c.doc_id)) for c in part]
                flat = embedder.encode_passages([t for ts in texts for t in ts])
                bounds = np.cumsum([0] + [len(ts) for ts in texts])
                per_chunk = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
            for j, sv in enumerate(per_chunk):
                mean = sv.mean(axis=0)
                vectors[start + j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
                out.append(np.ascontiguousarray(sv, dtype=np.float32))
            bar.update(len(part))
            if on_progress is not None:
                on_progress(min(start + group, len(chunks)), len(chunks))
    return vectors, out


def _embedded_batches(
    settings: Settings,
    embedder: Embedder,
    todo: list[Article],
    *,
    progress: bool,
    on_progress: Progress | None,
) -> Iterator[tuple[list[Chunk], np.ndarray, list[np.ndarray]]]:
    """The chunks of ``todo`` with their passage and sentence vectors, in article order:
    here, or on a Ray cluster when ``settings.index.ray_address`` is set."""
    if settings.index.ray_address:
        from .ray_build import chunk_and_embed

        log.info("%d article(s) to chunk and embed on Ray (%s)", len(todo),
                 settings.index.ray_address)
        done = 0
        for batch in chunk_and_embed(settings, todo, settings.index.ray_address):
            done += len(batch[0])
            if on_progress is not None:
                on_progress(done, done)
            yield batch
        return
    # imported here: the chunker pulls in langchain (~0.5 s), which answering never needs
    from ..ingest.chunking import chunk_corpus

    chunks = chunk_corpus(
        todo,
        chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.chunk_overlap_tokens,
        count_tokens=embedder.count_tokens,
        paragraph_tokens=settings.chunking.paragraph_tokens,
    )
    log.info("%d article(s) to embed: %d chunks", len(todo), len(chunks))
    headlines = {a.doc_id: a.title for a in todo if a.headline}
    if not settings.chunking.embed_titles:
        headlines = {}
    vectors, sentence_vectors = embed_chunks(
        embedder, chunks, headlines, sentence_vectors=settings.chunking.sentence_vectors,
        progress=progress, on_progress=on_progress,
    )
    yield chunks, vectors, sentence_vectors


def update_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: bool = True,
    on_progress: Progress | None = None,
) -> IndexReport:
    """Bring ``settings.paths.index_dir`` up to date with ``settings.paths.corpus_dir``.

    Only added or changed articles are embedded; deleted ones are removed. A change of
    model or chunking settings (or ``rebuild=True``) rebuilds everything. With
    ``settings.index.ray_address`` the chunking and embedding run on a Ray cluster
    (:mod:`rag.indexing.ray_build`); this process alone writes and publishes.
    """
    started = time.perf_counter()
    check_backend(settings.index.keyword_backend)
    model, chunking = model_signature(embedder), chunking_signature(settings)
    with writer_lock(settings.paths.index_dir):
        articles, skipped = read_corpus(settings.paths.corpus_dir, settings.ingest)
        if not articles:
            why = f" ({len(skipped)} file(s) skipped: {skipped[0].reason})" if skipped else ""
            raise CorpusError(
                f"The corpus folder {settings.paths.corpus_dir} holds no article{why}. Put "
                "the articles there (.txt, .md, .html, .pdf, .jsonl or .csv files) and index "
                "again; an existing index is left as it is."
            )
        base, reason = (None, "--rebuild") if rebuild else _open_base(settings, model, chunking)
        old_files = base.manifest.files if base else {}
        new_files = {a.doc_id: a.content_hash for a in articles}
        report = IndexReport(
            articles=len(articles),
            added=sorted(d for d in new_files if d not in old_files),
            changed=sorted(d for d, h in new_files.items() if d in old_files and old_files[d] != h),
            removed=sorted(d for d in old_files if d not in new_files),
            skipped=skipped,
            rebuilt=base is None,
            reason=reason,
        )
        if report.up_to_date and base is not None:
            report.chunks = base.size
            report.seconds = time.perf_counter() - started
            base.close()
            return report
        if report.rebuilt:
            log.info("Building the index from scratch: %s", reason)
        todo = [a for a in articles if a.doc_id not in old_files or a.doc_id in report.changed]
        writer = VersionWriter(settings.paths.index_dir, base, embedder.dim, settings.index)
        try:
            for doc_id in report.changed + report.removed:
                writer.remove_doc(doc_id)
            next_id = base.manifest.next_id if base else 0
            for chunks, vectors, sentence_vectors in _embedded_batches(
                settings, embedder, todo, progress=progress, on_progress=on_progress
            ):
                ids = range(next_id, next_id + len(chunks))
                writer.add_chunks(
                    [
                        (i, c.chunk_id, c.doc_id, c.text, c.start, c.end,
                         [list(s) for s in c.sentences], sentence_vectors[k])
                        for k, (i, c) in enumerate(zip(ids, chunks, strict=True))
                    ],
                    vectors,
                )
                next_id += len(chunks)
            for a in todo:
                writer.add_doc(
                    DocMeta(a.doc_id, a.title, a.date, a.url, a.publisher, a.author),
                    a.content_hash,
                )
            previous = dedup.Signatures.load(base.folder / dedup.FILE) if base else None
            sigs = dedup.signatures(articles, settings.ingest, previous)
            sigs.save(writer.tmp / dedup.FILE)
            manifest = Manifest(
                model=model,
                chunking=chunking,
                files=new_files,
                counts={"articles": len(articles)},
                next_id=next_id,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                skipped=[{"path": s.path, "reason": s.reason} for s in skipped],
                duplicates=dedup.find_duplicates(
                    sigs, {a.doc_id: a.date for a in articles}, settings.ingest),
            )
            manifest.build_seconds = round(time.perf_counter() - started, 3)
            final = writer.publish(manifest)
        except BaseException:
            writer.abort()
            raise
        finally:
            if base is not None:
                base.close()
        remove_stale_versions(settings.paths.index_dir, keep=final)
        report.chunks = manifest.counts["chunks"]
        report.seconds = time.perf_counter() - started
        log.info("%s", report.summary().replace("\n", ";"))
        return report
