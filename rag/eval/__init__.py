"""Batch evaluation: question files, judging and metrics, runs, and reports."""

from .metrics import Report, compute_metrics, judge
from .questions import Question, load_questions
from .run import evaluate

__all__ = ["Question", "Report", "compute_metrics", "evaluate", "judge", "load_questions"]
