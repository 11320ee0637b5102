"""The daemon's review of one pipeline run: its experiment directory (or, without one, the logs
its jobs named), every task its jobs stand for, and Slurm's view of each task's latest job."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review.layout import Experiment, TaskLogs, discover, parse_log_name
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.run import ReviewSettings, review_experiment
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.state.store import StoredJob, StoredRun


def review_run(
    run: StoredRun, jobs: Sequence[StoredJob], catalog: Catalog, settings: ReviewSettings
) -> RunReview:
    """Review the run's whole pipeline (for cascades), weighing what Slurm said of each job."""
    latest = latest_job_per_task(jobs)
    slurm = {index: job.slurm_view() for index, job in latest.items()}
    return review_experiment(experiment_of(run, latest), catalog, settings, slurm)


def latest_job_per_task(jobs: Sequence[StoredJob]) -> dict[int, StoredJob]:
    """Each task index's newest job (jobs come ordered by task index, then submit time)."""
    latest: dict[int, StoredJob] = {}
    for job in jobs:
        if job.task_index is not None:
            latest[job.task_index] = job
    return latest


def experiment_of(run: StoredRun, latest: dict[int, StoredJob]) -> Experiment:
    """The run's experiment directory as the review sees it, plus a task for every job whose
    task the directory does not show (its logs as Slurm or the poller found them)."""
    experiment = _discovered(run)
    known = {task.index for task in experiment.tasks}
    for index, job in sorted(latest.items()):
        if index in known:
            continue
        logs = [parse_log_name(Path(path), None) for path in job.log_paths]
        experiment.tasks.append(TaskLogs(f"{run.job_base}_{index}", index, None, logs))
    experiment.tasks.sort(key=lambda task: task.index if task.index is not None else 1 << 30)
    return experiment


def _discovered(run: StoredRun) -> Experiment:
    if run.experiment_dir:
        try:
            return discover(Path(run.experiment_dir))
        except UnusableInputError:
            return Experiment(Path(run.experiment_dir), run.experiment_id, [])
    return Experiment(Path(run.run_key), run.experiment_id, [], single_file=True)
