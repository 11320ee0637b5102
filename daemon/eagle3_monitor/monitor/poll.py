"""One poll cycle: ask Slurm (one batched sacct per question), record what changed.

1. Discovery: jobs of the watched users since the last poll's watermark (minus an overlap), with
   the launcher's naming. 2. Tracked jobs not yet final, by id (a job cancelled while pending
   on a dependency is missing from time windows). 3. Each job is grouped into its pipeline run,
   its logs found, its state recorded; a state counts as final once it is terminal, its End is
   known and no requeue follows.

Slurm is asked with no database lock held (a sacct that hangs for its whole timeout must not
stall `status`), logs are looked for outside it too, and everything one poll writes is one short
transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.monitor.discovery import (
    PipelineTaskName,
    experiment_dir_of,
    find_logs,
    match_job_name,
)
from eagle3_monitor.roles import role_from_batch_log
from eagle3_monitor.slurm.backend import SlurmBackend
from eagle3_monitor.slurm.model import JobRecord
from eagle3_monitor.slurm.sacct import LiveJob, SlurmError
from eagle3_monitor.state.store import Store, StoredRun, Transition
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX

WATERMARK = "sacct-discovery"
RUN_GROUPING_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class WatchSettings:
    job_name_pattern: str
    experiment_roots: tuple[Path, ...] = ()
    lookback: timedelta = timedelta(hours=24)
    overlap: timedelta = timedelta(minutes=10)


@dataclass
class PollResult:
    started: datetime
    finished: datetime | None = None
    jobs_seen: int = 0
    transitions: list[Transition] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Planned:
    """One job to record: what Slurm said and what was found on disk for it."""

    record: JobRecord
    task: PipelineTaskName
    experiment: Path | None
    upstream: str | None
    logs: list[str]
    final: bool
    detail: dict[str, object]
    role: str | None


def poll_once(
    backend: SlurmBackend, store: Store, settings: WatchSettings, now: datetime | None = None
) -> PollResult:
    """Never raises for Slurm trouble: a failed sacct is the result's `error`, nothing recorded,
    the watermark unchanged, so the next poll catches up."""
    started = now or datetime.now(UTC)
    result = PollResult(started)
    pattern = re.compile(settings.job_name_pattern)
    mark = store.watermark(WATERMARK)
    unfinished = [job.job_id for job in store.unfinished_jobs()]
    try:
        discovered = _discover(backend, mark, settings, started, pattern)
        tracked = backend.jobs_by_id(unfinished) if unfinished else []
        live = _live(backend, result)
    except SlurmError as error:
        result.error = str(error)
        result.finished = datetime.now(UTC)
        return result
    planned = []
    for record in _unique(discovered + tracked):
        task = match_job_name(record.name, pattern)
        if task is None:
            continue
        result.jobs_seen += 1
        plan = _plan(store, record, task, live.get(record.job_id), settings)
        if plan is not None:
            planned.append(plan)
    with store.transaction():
        for plan in planned:
            transition = _record(store, plan)
            if transition is not None:
                result.transitions.append(transition)
        store.set_watermark(WATERMARK, started.isoformat())
    result.finished = datetime.now(UTC)
    return result


def _discover(
    backend: SlurmBackend,
    mark: str | None,
    settings: WatchSettings,
    now: datetime,
    pattern: re.Pattern[str],
) -> list[JobRecord]:
    since = datetime.fromisoformat(mark) if mark else now - settings.lookback
    records = backend.jobs_since((since - settings.overlap).astimezone())
    return [record for record in records if pattern.match(record.name)]


def _live(backend: SlurmBackend, result: PollResult) -> dict[str, LiveJob]:
    """The controller's view is detail (log paths, requeues): its failure is only a warning."""
    try:
        return backend.live_jobs()
    except SlurmError as error:
        result.warnings.append(str(error))
        return {}


def _unique(records: list[JobRecord]) -> list[JobRecord]:
    """One record per job; the one with steps (from the by-id query) wins."""
    by_key: dict[object, JobRecord] = {}
    for record in records:
        current = by_key.get(record.key)
        if current is None or (record.steps and not current.steps):
            by_key[record.key] = record
    return sorted(
        by_key.values(), key=lambda r: (r.key.submit or datetime.min.replace(tzinfo=UTC), r.job_id)
    )


def _plan(
    store: Store,
    record: JobRecord,
    task: PipelineTaskName,
    live: LiveJob | None,
    settings: WatchSettings,
) -> _Planned | None:
    """What to record for one job; looks at the disk, writes nothing."""
    stored = store.job(record.key.cluster, record.job_id, record.key.submit)
    if stored is not None and stored.final:
        return None  # a final state never changes: nothing to look up again
    reported = [path for path in (record.stdout, live.stdout if live else None) if path]
    if stored is not None:  # scontrol forgets a job minutes after it ends: keep what it said
        reported += [path for path in stored.log_paths if path not in reported]
    experiment = experiment_dir_of(*reported, record.work_dir)
    logs = find_logs(record.job_id, task, experiment, reported, settings.experiment_roots)
    detail: dict[str, object] = {"raw_state": record.raw_state, "exit_code": record.exit_code}
    if live is not None and live.reason:
        detail["reason"] = live.reason
    return _Planned(
        record=record,
        task=task,
        experiment=experiment,
        upstream=_upstream_job_id(live),
        logs=logs,
        final=record.is_final(still_queued=bool(live and live.queued)),
        detail=detail,
        role=stored.role if stored and stored.role else _role(logs, task.index),
    )


def _record(store: Store, plan: _Planned) -> Transition | None:
    run = _run_for(store, plan.record, plan.task, plan.experiment, plan.upstream)
    return store.record_job(
        plan.record,
        run_id=run.id,
        task_index=plan.task.index,
        log_paths=plan.logs,
        final=plan.final,
        detail=plan.detail,
        role=plan.role,
    )


def _role(logs: list[str], index: int) -> str | None:
    """From the script the batch trace names when readable, else from the task index."""
    for path in logs:
        if Path(path).name.startswith("sbatch_") and (role := role_from_batch_log(path)):
            return str(role)
    fallback = ROLE_BY_TASK_INDEX.get(index)
    return str(fallback) if fallback else None


_DEPENDENCY_JOB = re.compile(r"after[a-z]*:(?P<job>[0-9]+)")


def _upstream_job_id(live: LiveJob | None) -> str | None:
    """The job this one waits for (`afterok:123(unfulfilled)`), while the controller knows."""
    match = _DEPENDENCY_JOB.search(live.dependency or "") if live else None
    return match.group("job") if match else None


def _run_for(
    store: Store,
    record: JobRecord,
    task: PipelineTaskName,
    experiment: Path | None,
    upstream: str | None,
) -> StoredRun:
    """Runs are keyed by their experiment dir; without one, a job joins the run of the job it
    depends on, else the newest run of its base that lacks its task index and began shortly
    before (job base, user and submit time)."""
    cluster = record.key.cluster
    existing = store.job(cluster, record.job_id, record.key.submit)
    known = store.run(existing.run_id) if existing and existing.run_id is not None else None
    if known is not None:
        return known
    chained = store.run_of_job(cluster, upstream) if upstream and experiment is None else None
    if chained is not None:
        return chained
    if experiment is not None:
        return store.create_run(
            f"{cluster}:{experiment}",
            cluster,
            task.base,
            experiment_dir=str(experiment),
            experiment_id=experiment.name,
            user=record.user,
            first_submit=record.key.submit,
        )
    submit = record.key.submit
    for run in store.recent_runs_for_base(cluster, task.base, record.user):
        first = datetime.fromisoformat(run.first_submit) if run.first_submit else None
        taken = {job.task_index for job in store.jobs_of_run(run.id)}
        if (
            first
            and submit
            and timedelta(0) <= submit - first <= RUN_GROUPING_WINDOW
            and task.index not in taken
        ):
            return run
    stamp = submit.isoformat() if submit else record.job_id
    return store.create_run(
        f"{cluster}:{task.base}:{stamp}",
        cluster,
        task.base,
        experiment_dir=None,
        experiment_id=None,
        user=record.user,
        first_submit=submit,
    )
