"""Phrases shared by the human-readable reports."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.printable import visible
from eagle3_monitor.review.model import RunReview, TaskReview


def display_path(path: Path, review: RunReview) -> str:
    """A log path relative to the reviewed directory when it lies inside it."""
    root = review.path if review.path.is_dir() else review.path.parent
    try:
        return visible(str(path.relative_to(root)))
    except ValueError:
        return visible(str(path))


def rerun_lines(review: RunReview) -> list[str]:
    """The re-run command, then the YAML's changes from the original, indented."""
    advice = review.rerun
    if advice is None:
        return []
    lines = [advice.command]
    lines += [f"  {change}" for change in advice.summary()]
    if advice.note:
        lines.append(f"  (the changes could not be worked out: {advice.note})")
    return lines


def task_label(task: TaskReview) -> str:
    return visible(task.task or task.name)


def task_detail(task: TaskReview) -> str:
    """One short phrase for a task's line in a table."""
    if task.root_cause is not None:
        return f"{task.root_cause.category}: {task.root_cause.summary}"
    if task.acceptance is not None:
        return f"acceptance length {task.acceptance.value:.2f}"
    return ""
