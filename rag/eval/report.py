"""Writers of the batch evaluation (:mod:`rag.eval`): the metrics table, the
comparison with a baseline run, and report.json / CSV / Markdown files (written atomically).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import EvalFileError
from ..files import atomic_write_text
from .metrics import METRIC_KEYS, Report
from .questions import LANGUAGES

log = logging.getLogger(__name__)

#: Metrics where a smaller value is better (the others: larger is better; ``n`` neither).
LOWER_IS_BETTER = frozenset({"false_refusals", "latency_p50_ms", "latency_p95_ms"})
_COUNTS = frozenset({"false_refusals", "n"})
#: Marks a metric that got worse than the baseline.
WORSE = "!"
_SNIPPET_CHARS = 220
_SOURCES_SHOWN = 5


class ReportFileError(EvalFileError):
    """A saved report (``--baseline``) is unreadable or not a report."""


# --- reading -----------------------------------------------------------------------


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report.json written by ``--out``; raises :class:`ReportFileError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportFileError(f"{path}: cannot read the report ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from exc
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("overall"), dict):
        raise ReportFileError(f"{path}: not an evaluation report (no metrics.overall)")
    if not isinstance(metrics.get("by_language", {}), dict):
        raise ReportFileError(f"{path}: metrics.by_language must be an object")
    return data


# --- formatting --------------------------------------------------------------------


def metric_groups(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``[("overall", {...}), ("de", {...}), ("en", {...}), ..., ("kind:why", {...})]`` of
    a metrics dict (kind groups only when the questions carry a ``kind``)."""
    by_lang = metrics.get("by_language") or {}
    langs = [lang for lang in LANGUAGES if lang in by_lang]
    langs += sorted(lang for lang in by_lang if lang not in LANGUAGES)
    by_kind = metrics.get("by_kind") or {}
    return ([("overall", metrics.get("overall") or {})] + [(lang, by_lang[lang]) for lang in langs]
            + [(f"kind:{kind}", by_kind[kind]) for kind in sorted(by_kind)])


def format_value(key: str, value: Any) -> str:
    """A metric value for display: shares 3 decimals, ms 1 decimal, ``-`` for none."""
    if value is None:
        return "-"
    if key in _COUNTS:
        return str(int(value))
    if key.endswith("_ms"):
        return f"{value:.1f}"
    return f"{value:.3f}"


def format_diff(key: str, new: Any, old: Any) -> str:
    """``new - old`` with its sign, and :data:`WORSE` appended when it got worse."""
    if new is None or old is None:
        return "-" if new is None and old is None else "n/a"
    diff = new - old
    if key in _COUNTS:
        text = f"{int(diff):+d}"
    elif key.endswith("_ms"):
        text = f"{diff:+.1f}"
    else:
        text = f"{diff:+.3f}"
    shown = float(text)  # compare what is displayed: +0.000 is no change
    if key != "n" and shown != 0 and (shown > 0) == (key in LOWER_IS_BETTER):
        text += WORSE
    return text


def compare_metrics(
    new: Mapping[str, Any], old: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per group and metric: ``{"new", "old", "diff"}`` (``diff`` ``None`` when either
    side is missing). Groups: ``overall`` and each language of either run."""
    old_groups = dict(metric_groups(old))
    new_groups = dict(metric_groups(new))
    names = [g for g, _ in metric_groups(new)] + [
        g for g, _ in metric_groups(old) if g not in new_groups]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        a, b = new_groups.get(name, {}), old_groups.get(name, {})
        out[name] = {}
        for key in METRIC_KEYS:
            nv, ov = a.get(key), b.get(key)
            diff = nv - ov if isinstance(nv, (int, float)) and isinstance(ov, (int, float)) \
                else None
            out[name][key] = {"new": nv, "old": ov, "diff": diff}
    return out


def _render(rows: list[list[str]], header_rows: int) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if n == header_rows - 1:
            lines.append("-" * len(lines[-1]))
    return "\n".join(lines)


def format_metrics_table(
    metrics: Mapping[str, Any], baseline: Mapping[str, Any] | None = None
) -> str:
    """The metrics as a text table (overall, de, en); with ``baseline`` (the ``metrics``
    of an earlier report) each value is followed by the old value and the difference."""
    if baseline is None:
        groups = metric_groups(metrics)
        rows = [["metric"] + [g for g, _ in groups]]
        rows += [[key] + [format_value(key, m.get(key)) for _, m in groups]
                 for key in METRIC_KEYS]
        return _render(rows, 1)
    cmp = compare_metrics(metrics, baseline)
    top = ["", *[c for g in cmp for c in (g, "", "")]]
    sub = ["metric", *["new", "old", "diff"] * len(cmp)]
    rows = [top, sub]
    for key in METRIC_KEYS:
        row = [key]
        for values in cmp.values():
            v = values[key]
            row += [format_value(key, v["new"]), format_value(key, v["old"]),
                    format_diff(key, v["new"], v["old"])]
        rows.append(row)
    legend = (f"diff = new - baseline; {WORSE} = worse than the baseline "
              "(false_refusals and latency: lower is better)")
    return _render(rows, 2) + "\n" + legend


def config_differences(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[str]:
    """What differs between two reports' runs that makes the metrics less comparable."""
    notes = []
    nc, oc = new.get("config") or {}, old.get("config") or {}
    for key, label in (("model", "model"), ("chunking", "chunking"), ("k", "k")):
        if key in oc and nc.get(key) != oc.get(key):
            notes.append(f"{label} differs: {oc.get(key)} -> {nc.get(key)}")
    new_ids = {q.get("id") for q in new.get("questions") or []}
    old_ids = {q.get("id") for q in old.get("questions") or []}
    if old_ids and new_ids != old_ids:
        notes.append(f"question sets differ ({len(old_ids)} -> {len(new_ids)} questions, "
                     f"{len(new_ids & old_ids)} in common)")
    old_index = (oc.get("index") or {}).get("counts")
    new_index = (nc.get("index") or {}).get("counts")
    if old_index and new_index != old_index:
        notes.append(f"index differs: {old_index} -> {new_index}")
    return notes


# --- writing -----------------------------------------------------------------------


def _as_dict(report: Report | Mapping[str, Any]) -> Mapping[str, Any]:
    return report.to_dict() if isinstance(report, Report) else report


def write_json(report: Report | Mapping[str, Any], path: str | Path) -> None:
    """Write report.json (``{"metrics", "config", "questions"}``)."""
    text = json.dumps(_as_dict(report), ensure_ascii=False, indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")


CSV_COLUMNS = (
    "id", "lang", "kind", "no_answer", "found", "rank", "answer_hit", "latency_ms",
    "detected_lang",
    "expected_sources", "answer_keywords", "top_doc_id", "top_score", "retrieved", "answer",
    "error",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(report: Report | Mapping[str, Any], path: str | Path) -> None:
    """One row per question (:data:`CSV_COLUMNS`; lists joined with ``;``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for q in _as_dict(report)["questions"]:
        sources = q.get("sources") or []
        row = {
            **q,
            "expected_sources": ";".join(q.get("expected_sources") or []),
            "answer_keywords": ";".join(q.get("answer_keywords") or []),
            "top_doc_id": sources[0]["doc_id"] if sources else None,
            "top_score": sources[0]["score"] if sources else None,
            "retrieved": ";".join(f"{s['doc_id']}:{s['score']}" for s in sources),
        }
        writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
    atomic_write_text(path, buffer.getvalue())


def _one_line(text: str, limit: int = _SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _md_metrics(metrics: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    groups = metric_groups(metrics)
    lines = ["| metric | " + " | ".join(g for g, _ in groups) + " |",
             "|---|" + "---:|" * len(groups)]
    cmp = compare_metrics(metrics, baseline) if baseline else None
    for key in METRIC_KEYS:
        cells = []
        for name, group in groups:
            cell = format_value(key, group.get(key))
            if cmp is not None:
                v = cmp[name][key]
                cell += f" ({format_value(key, v['old'])}, {format_diff(key, v['new'], v['old'])})"
            cells.append(cell)
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if baseline:
        lines += ["", f"In brackets: the baseline's value and the difference; {WORSE} = worse."]
    return lines


def failure_reasons(q: Mapping[str, Any], k: int | None = None) -> list[str]:
    """Why a question counts as failed (empty: it did not fail)."""
    if q.get("no_answer"):
        return ["answered, but the corpus does not answer this question"] if q["found"] else []
    reasons = []
    if q.get("error"):
        reasons.append(f"rejected: {q['error']}")
    elif not q["found"]:
        reasons.append("refused (false refusal)")
    if q.get("rank") is None:
        reasons.append("no answering passage among the " + (f"top {k}" if k else "sources"))
    if q["found"] and q.get("answer_hit") is False:
        reasons.append("the answer text contains none of the keywords")
    if reasons and q.get("rank") is not None:
        reasons.append(f"first answering passage at rank {q['rank']}")
    return reasons


def write_markdown(
    report: Report, path: str | Path, baseline: Mapping[str, Any] | None = None
) -> None:
    """A readable report: the run, the metrics table and every failed question
    (:func:`failure_reasons`) with what was retrieved instead."""
    data = report.to_dict()
    config = data["config"]
    index = config.get("index") or {}
    model = (config.get("model") or {}).get("name")
    qfile = config.get("questions_file") or {}
    lines = [
        "# Evaluation report",
        "",
        f"- questions: `{qfile.get('path', '?')}` ({len(report.questions)})",
        f"- model: `{model}`, k = {config.get('k')}, chunking: {config.get('chunking')}",
        f"- index: {index.get('files')} files, {(index.get('counts') or {}).get('chunks')} "
        f"chunks, built {index.get('built_at')}",
        f"- run: {config.get('started_at')}, {config.get('seconds')} s",
        "",
        "## Metrics",
        "",
        *_md_metrics(data["metrics"], baseline["metrics"] if baseline else None),
        "",
        "hit@k, mrr, answer_hit: shares of the answerable questions; no_answer_precision: "
        "over refused questions (- when none was refused); latency of `ask()` in ms.",
    ]
    if baseline:
        lines += [f"\nNote: {n}" for n in config_differences(data, baseline)]
    failed = [(r, q) for r, q in zip(report.questions, data["questions"], strict=True)
              if failure_reasons(q, config.get("k"))]
    lines += ["", f"## Failed questions ({len(failed)} of {len(report.questions)})", ""]
    if not failed:
        lines.append("None.")
    for result, q in failed:
        lines += [
            f"### {q['id']} ({q['lang']}): " + "; ".join(failure_reasons(q, config.get("k"))),
            "",
            f"**Question:** {_one_line(q['question'], 1000)}",
            "",
        ]
        if not q["no_answer"]:
            sources = ", ".join(f"`{s}`" for s in q["expected_sources"])
            keywords = ", ".join(f"“{k}”" for k in q["answer_keywords"])
            lines += [f"**Expected:** {sources} containing {keywords}", ""]
        if q.get("answer"):
            label = "Answer" if q["found"] else "Refusal"
            lines += [f"**{label}:**", ""] + [f"> {line}" for line in q["answer"].splitlines()]
            lines.append("")
        lines += ["**Retrieved:**", ""]
        for position, s in enumerate(result.sources[:_SOURCES_SHOWN], start=1):
            mark = " ✓ answering" if q.get("rank") == position else ""
            lines.append(f"{s.n}. `{s.doc_id}` ({s.score:.3f}){mark}: {_one_line(s.text)}")
        if not result.sources:
            lines.append("(nothing)")
        lines.append("")
    atomic_write_text(path, "\n".join(lines).rstrip() + "\n")
