"""Slack messages from a run's review: what the daemon posts when tasks end."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.report.common import display_path, rerun_lines, task_label
from eagle3_monitor.review.memory import FailureMemory
from eagle3_monitor.review.model import RunReview, TaskReview
from eagle3_monitor.slack.messages import (
    Message,
    RunHeader,
    TaskLine,
    blocked_message,
    failure_message,
    finished_message,
    passed_message,
)
from eagle3_monitor.validate.model import CheckStatus
from eagle3_monitor.vocabulary import TaskVerdict

COUNTED_CHECKS = ("data_samples", "data_done_markers", "hidden_states_files", "export_weights")


def run_header(
    review: RunReview, *, user: str, cluster: str, elapsed: dict[int, str] | None = None
) -> RunHeader:
    times = elapsed or {}
    lines = [
        TaskLine(
            task_label(task),
            str(task.role or "?"),
            task.verdict.label,
            times.get(task.index or 0, ""),
        )
        for task in review.tasks
    ]
    return RunHeader(review.job_name or review.path.name, review.experiment, user, cluster, lines)


def task_message(
    review: RunReview,
    task: TaskReview,
    mention: str | None = None,
    memory: FailureMemory | None = None,
) -> Message:
    """A task's final reply: a failure with its root cause, evidence, fix, what the daemon
    remembers of the same failure (looked up before, `service/memory.py`) and re-run; a blocked
    task with what blocked it; a passed task's line."""
    role = str(task.role or "?")
    if task.verdict.is_failure and task.root_cause is not None:
        return failure_message(
            task_label(task),
            role,
            task.verdict_text,
            task.root_cause,
            rerun_lines(review),
            mention=mention,
            display_path=lambda path: display_path(Path(path), review),
            memory=memory,
        )
    if task.verdict is TaskVerdict.BLOCKED:
        reason = task.root_cause.summary if task.root_cause else "an upstream task failed"
        return blocked_message(task_label(task), role, reason)
    detail = f"acceptance length {task.acceptance.value:.2f}" if task.acceptance else ""
    return passed_message(task_label(task), role, detail)


def run_finished_message(review: RunReview) -> Message:
    """The run's summary: verdict and headline, artifact counts, the loss sparkline."""
    counts, sparkline = [], ""
    for task in review.validation.tasks:
        for check in task.checks:
            if check.status is not CheckStatus.SKIP and check.name in COUNTED_CHECKS:
                counts.append(f"{task.task} {check.name}: {check.detail}")
            if check.name == "training_loss" and isinstance(check.value, dict):
                sparkline = str(check.value.get("sparkline", ""))
    return finished_message(str(review.verdict), review.headline, counts, sparkline)
