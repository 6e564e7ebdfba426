"""Metrics of generated answers (``rag eval --llm``): citation precision before and after
the check, fallback share, answer language, time to first token and total time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..answer.citecheck import citations, split_answer
from ..answer.generate import answer_language_ok
from ..types import Answer
from .metrics import _source_key
from .questions import Question


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def llm_metrics(questions: Sequence[Question], answers: Sequence[Answer | None]) -> dict:
    """The LLM metrics over answered questions (``None``: the question was rejected).

    * ``citation_precision``: share of generated sentences the citation check found
      supported by their citations (the precision before the check; after it, every
      shown sentence is supported by this measure);
    * ``cites_expected_before``/``_after``: share of generated sentences (all / kept) that
      cite an article the question file names as holding the answer (independent of the
      check; answerable questions only);
    * ``fallback_share``: share of answers where the LLM was asked but the extractive
      answer was shown (failure, no citations, nothing supported);
    * ``language_correct``: share of generated answers written in the question's language;
    * ``first_token_s``/``total_s``: p50 and p95 over the answers the LLM was asked for.
    """
    kept = dropped = 0
    exp_all = exp_all_hit = exp_kept = exp_kept_hit = 0
    asked = fell_back = generated = lang_ok = 0
    first: list[float] = []
    total: list[float] = []
    for q, a in zip(questions, answers):
        if a is None or not a.timing:
            continue  # rejected, or not asked (nothing found)
        asked += 1
        first += [a.timing["first_token"]] if "first_token" in a.timing else []
        total += [a.timing["total"]] if "total" in a.timing else []
        if not a.generated:
            fell_back += 1
        else:
            generated += 1
            lang_ok += answer_language_ok(a)
        kept_sentences = split_answer(a.text) if a.generated else []
        dropped_sentences = [d["text"] for d in a.dropped]
        kept += len(kept_sentences)
        dropped += len(dropped_sentences)
        if q.no_answer or not q.expected_sources:
            continue
        expected = {_source_key(s) for s in q.expected_sources}
        docs = {s.n: _source_key(s.doc_id) for s in a.sources}
        for sentence, is_kept in ([(s, True) for s in kept_sentences]
                                  + [(s, False) for s in dropped_sentences]):
            hit = any(docs.get(n) in expected for n in citations(sentence))
            exp_all += 1
            exp_all_hit += hit
            if is_kept:
                exp_kept += 1
                exp_kept_hit += hit
    n_sent = kept + dropped
    return {
        "asked": asked,
        "generated": generated,
        "sentences": n_sent,
        "sentences_dropped": dropped,
        "citation_precision": round(kept / n_sent, 4) if n_sent else None,
        "cites_expected_before": round(exp_all_hit / exp_all, 4) if exp_all else None,
        "cites_expected_after": round(exp_kept_hit / exp_kept, 4) if exp_kept else None,
        "fallback_share": round(fell_back / asked, 4) if asked else None,
        "language_correct": round(lang_ok / generated, 4) if generated else None,
        "first_token_s_p50": _pct(first, 50), "first_token_s_p95": _pct(first, 95),
        "total_s_p50": _pct(total, 50), "total_s_p95": _pct(total, 95),
    }


def format_llm_metrics(metrics: Mapping[str, Any]) -> str:
    """The LLM metrics as ``name  value`` lines."""
    width = max(len(k) for k in metrics)
    lines = ["generated answers (--llm):"]
    for key, value in metrics.items():
        text = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else
                                          str(value))
        lines.append(f"  {key.ljust(width)}  {text}")
    return "\n".join(lines)


__all__ = ["format_llm_metrics", "llm_metrics"]
