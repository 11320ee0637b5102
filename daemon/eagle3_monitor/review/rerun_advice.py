"""From a review to a re-run: what `eagle3-monitor rerun` writes, and the command and short diff
the review report and the Slack failure reply show."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from eagle3_monitor.errors import MonitorError, UnusableInputError
from eagle3_monitor.launcher.leftovers import original_pipeline
from eagle3_monitor.launcher.rerun import (
    Failure,
    PreviousRun,
    RerunRequest,
    RerunResult,
    rerun_yaml,
    start_of,
)
from eagle3_monitor.review.layout import experiment_id_of, read_metadata
from eagle3_monitor.review.model import RerunAdvice, RunReview
from eagle3_monitor.safe_read import ReadPolicy
from eagle3_monitor.vocabulary import TaskVerdict

LAUNCH = "uv run launch.py --yaml rerun.yaml --yes"


@dataclass(frozen=True)
class RerunPlan:
    experiment: Path
    start: int
    only: bool
    result: RerunResult
    source: str


def experiment_dir_of(review: RunReview) -> Path | None:
    """The experiment directory a review's path lies in (itself, or a task dir's parent)."""
    for directory in (review.path, *review.path.parents):
        if experiment_id_of(directory) == directory.name and directory.is_dir():
            return directory
    return None


def plan_rerun(
    review: RunReview,
    *,
    start: int | None = None,
    only: bool = False,
    yaml_file: Path | None = None,
    policy: ReadPolicy | None = None,
) -> RerunPlan:
    """The re-run of the reviewed run from `start` (default: where it failed). Raises
    UnusableInputError when there is nothing to re-run or no pipeline to edit."""
    experiment = experiment_dir_of(review)
    if experiment is None:
        raise UnusableInputError(
            f"{review.path}: not inside an experiment directory (<title>_<unix time>, e.g. "
            "cicd_1764115200): a re-run reads that run's outputs"
        )
    failure = _failure(review)
    roles = {task.index: task.role for task in review.tasks if task.index is not None}
    first = start if start is not None else start_of(failure, roles)
    if first is None:
        state = "passed" if str(review.verdict) == "pass" else "is still running"
        raise UnusableInputError(
            f"{experiment}: the run {state}: nothing failed to re-run from; "
            "pass --from task_N (or --only task_N) to re-run a task anyway"
        )
    original = original_pipeline(experiment, review.job_name, yaml_file, policy)
    request = RerunRequest(
        PreviousRun(_experiment_id(experiment), lambda relative: (experiment / relative).exists()),
        failure,
        frozenset(t.index for t in review.tasks if t.index is not None and _passed(t.verdict)),
        first,
        only,
        None if review.path == experiment else frozenset(_indices(review)),
    )
    result = rerun_yaml(original.text, original.source, request)
    return RerunPlan(experiment, first, only, result, original.source)


def rerun_advice(review: RunReview, policy: ReadPolicy | None = None) -> RerunAdvice | None:
    """The re-run command and its changes for a failed run; None when nothing failed.
    `policy` (the daemon's, for the run's owner) limits the files the changes are read from."""
    task = review.root_cause_task
    if task is None:
        return None
    experiment = experiment_dir_of(review)
    if experiment is None:
        return None
    start = None if review.path == experiment else task.index
    option = f" --from task_{start}" if start is not None else ""
    command = (
        f"eagle3-monitor rerun {shlex.quote(str(experiment))}{option} > rerun.yaml && {LAUNCH}"
    )
    try:
        plan = plan_rerun(review, start=start, policy=policy)
    except MonitorError as error:
        fallback = command.replace(" > rerun.yaml", " --yaml <pipeline.yaml> > rerun.yaml")
        return RerunAdvice(fallback, (), f"{error}")
    return RerunAdvice(command, tuple(str(change) for change in plan.result.changes))


def _failure(review: RunReview) -> Failure:
    task, cause = review.root_cause_task, review.root_cause
    if task is None or cause is None:
        return Failure(None)
    return Failure(task.index, cause.category, cause.fix)


def _indices(review: RunReview) -> list[int]:
    return [task.index for task in review.tasks if task.index is not None]


def _passed(verdict: TaskVerdict) -> bool:
    return verdict is TaskVerdict.PASS


def _experiment_id(experiment: Path) -> str:
    recorded = read_metadata(experiment).get("experiment_id")
    return recorded if isinstance(recorded, str) and recorded else experiment.name
