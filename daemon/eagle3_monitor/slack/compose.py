"""Slack messages from a run's review: what the daemon posts when tasks end."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.report.common import display_path, rerun_command, task_label
from eagle3_monitor.review.model import RunReview, TaskReview
from eagle3_monitor.slack.messages import (
    Message,
    RunHeader,
    TaskLine,
    failure_message,
    finished_message,
    passed_message,
)
from eagle3_monitor.validate.model import CheckStatus
from eagle3_monitor.vocabulary import Category, TaskVerdict

COUNTED_CHECKS = ("data_samples", "data_done_markers", "hidden_states_files", "export_weights")


def task_state(task: TaskReview) -> str:
    """The word the parent message shows for a task."""
    if task.verdict is TaskVerdict.NOT_RUN:
        blocked = (
            task.root_cause and task.root_cause.category is Category.DEPENDENCY_NEVER_SATISFIED
        )
        return "blocked" if blocked else "pending"
    return str(task.verdict)


def run_header(
    review: RunReview, *, user: str, cluster: str, elapsed: dict[int, str] | None = None
) -> RunHeader:
    times = elapsed or {}
    lines = [
        TaskLine(
            task_label(task),
            str(task.role or "?"),
            task_state(task),
            times.get(task.index or 0, ""),
        )
        for task in review.tasks
    ]
    return RunHeader(review.job_name or review.path.name, review.experiment, user, cluster, lines)


def task_message(review: RunReview, task: TaskReview, mention: str | None = None) -> Message:
    """A failed task's reply (root cause, evidence, fix, re-run) or a passed task's line."""
    if task.verdict.is_failure and task.root_cause is not None:
        return failure_message(
            task_label(task),
            str(task.role or "?"),
            str(task.verdict),
            task.root_cause,
            rerun_command(review),
            mention=mention,
            display_path=lambda path: display_path(Path(path), review),
        )
    detail = f"acceptance length {task.acceptance.value:.2f}" if task.acceptance else ""
    return passed_message(task_label(task), str(task.role or "?"), detail)


def run_finished_message(review: RunReview) -> Message:
    """Validation at the end of a run: acceptance length vs threshold, counts, loss sparkline."""
    validation = review.validation
    if validation is None:
        return finished_message(str(review.verdict), None, review.threshold, [])
    counts, sparkline = [], ""
    for task in validation.tasks:
        for check in task.checks:
            if check.status is not CheckStatus.SKIP and check.name in COUNTED_CHECKS:
                counts.append(f"{task.task} {check.name}: {check.detail}")
            if check.name == "training_loss" and isinstance(check.value, dict):
                sparkline = str(check.value.get("sparkline", ""))
    return finished_message(
        str(validation.verdict),
        validation.acceptance_length,
        validation.threshold,
        counts,
        sparkline,
    )
