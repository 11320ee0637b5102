"""Slurm's view of an experiment's jobs, for a review outside the daemon (`review --slurm`).

Jobs the log files name are asked for by id, in one batched question; a record counts only when
its job name is the one the file names too, so a copied experiment is never judged by another
cluster's job of that id. Tasks without a log (their job never started: pending, or cancelled
before it ran) are asked for by the launcher's job name, within the window in which their
siblings were submitted and, when Slurm knows the job's work dir, inside this experiment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from eagle3_monitor.review.layout import Experiment, TaskLogs, experiment_id_of
from eagle3_monitor.slurm.backend import SlurmBackend
from eagle3_monitor.slurm.model import JobRecord, SlurmView

SUBMIT_WINDOW = timedelta(hours=1)  # the launcher submits a pipeline's jobs together


def slurm_views(experiment: Experiment, backend: SlurmBackend) -> dict[int, SlurmView]:
    """Each task's latest job as Slurm sees it, by task index. Raises SlurmError."""
    by_id = {
        task.latest_job_id: task
        for task in experiment.tasks
        if task.index is not None and task.latest_job_id
    }
    if not by_id:
        return {}
    found: dict[int, JobRecord] = {}
    for record in backend.jobs_by_id(job_id for job_id in by_id if job_id):
        task = by_id.get(record.display_id) or by_id.get(record.job_id)
        if task is not None and task.index is not None and _named_as(record, task):
            found[task.index] = record
    found.update(_jobs_without_logs(experiment, found, backend))
    return {index: SlurmView.of(record, final=record.is_final()) for index, record in found.items()}


def _named_as(record: JobRecord, task: TaskLogs) -> bool:
    return not task.slurm_job_name or record.name == task.slurm_job_name


def _jobs_without_logs(
    experiment: Experiment, found: dict[int, JobRecord], backend: SlurmBackend
) -> dict[int, JobRecord]:
    """The jobs of tasks that left no log, by the name their siblings' names imply."""
    stem = _name_stem(experiment.tasks)
    submits = [record.key.submit for record in found.values() if record.key.submit]
    missing = [t.index for t in experiment.tasks if t.index is not None and t.index not in found]
    if stem is None or not submits or not missing:
        return {}
    names = {f"{stem}_{index}": index for index in missing}
    earliest, latest = min(submits) - SUBMIT_WINDOW, max(submits) + SUBMIT_WINDOW
    chosen: dict[int, JobRecord] = {}
    for record in backend.jobs_named(names, earliest):
        index = names.get(record.name)
        submit = record.key.submit
        if index is None or submit is None or not earliest <= submit <= latest:
            continue
        if not _in_experiment(record, experiment):
            continue
        current = chosen.get(index)
        if current is None or (current.key.submit and submit > current.key.submit):
            chosen[index] = record
    return chosen


def _name_stem(tasks: Iterable[TaskLogs]) -> str | None:
    """`acct-modelopt.Qwen3-8B_EAGLE3_offline` from a sibling's `…_offline_2`."""
    for task in tasks:
        name, index = task.slurm_job_name, task.index
        if name and index is not None and name.endswith(f"_{index}"):
            return name[: -len(f"_{index}")]
    return None


def _in_experiment(record: JobRecord, experiment: Experiment) -> bool:
    """A job whose work dir Slurm knows must lie in this experiment (a later launch of the same
    pipeline has the same job names)."""
    if not record.work_dir or experiment.experiment_id is None:
        return True
    return experiment_id_of(Path(record.work_dir)) in (None, experiment.experiment_id)
