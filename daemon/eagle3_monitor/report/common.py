"""Phrases shared by the human-readable reports."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.review.model import RunReview, TaskReview


def display_path(path: Path, review: RunReview) -> str:
    """A log path relative to the reviewed directory when it lies inside it."""
    root = review.path if review.path.is_dir() else review.path.parent
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def rerun_command(review: RunReview) -> str | None:
    """The launcher command that re-runs the pipeline skipping the tasks that passed."""
    if review.root_cause_task is None:
        return None
    skips = " ".join(f"pipeline.task_{index}.skip=true" for index in review.rerun_skip_indices())
    middle = f" {skips}" if skips else ""
    return f"uv run launch.py --yaml <pipeline.yaml>{middle} --yes"


def task_label(task: TaskReview) -> str:
    return task.task or task.name


def task_detail(task: TaskReview) -> str:
    """One short phrase for a task's line in a table."""
    if task.root_cause is not None:
        return f"{task.root_cause.category}: {task.root_cause.summary}"
    if task.acceptance is not None:
        return f"acceptance length {task.acceptance.value:.2f}"
    return ""
