"""One poll cycle: ask Slurm (one batched sacct per question), record what changed.

1. Discovery: jobs of the watched users since the last poll's watermark (minus an overlap), with
   the launcher's naming. sacct given -S, -E and every state lists the jobs that were in one of
   them during the window: jobs that ended since the last poll, and every job still pending or
   running however long ago it started. 2. Tracked jobs not yet final, by id (a job cancelled
   while pending on a dependency is missing from time windows). 3. Each new or changed job is
   grouped into its pipeline run, its logs found, its state recorded; a state counts as final
   once it is terminal, its End is known and no requeue follows.

A poll costs what changed: the poll's memory (`PollMemory`, kept per store) holds what the last
poll saw of each job (Slurm's fields, the controller's view, the stamp of the directories its
logs may appear in), so a job seen unchanged is passed over without a database read, a directory
listing or a write; final jobs are skipped outright. What remains is read in ONE batched query,
and only values that differ are written. A restarted daemon starts with an empty memory: its
first poll compares every job with the database instead, and writes nothing that is the same.

Slurm is asked with no database lock held (a sacct that hangs for its whole timeout must not
stall `status`), logs are looked for outside it too, and everything one poll writes is one short
transaction."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from weakref import WeakKeyDictionary

from eagle3_monitor.gc_pause import collector_paused
from eagle3_monitor.monitor.discovery import (
    PipelineTaskName,
    experiment_dir_text,
    locate_logs,
    match_job_name,
    stamp_of,
)
from eagle3_monitor.roles import role_from_batch_log
from eagle3_monitor.slurm.backend import SlurmBackend
from eagle3_monitor.slurm.model import MAY_REQUEUE, JobKey, JobRecord
from eagle3_monitor.slurm.sacct import LiveJob, SlurmError
from eagle3_monitor.state.store import (
    JobUpdate,
    NewRun,
    Store,
    StoredJob,
    StoredRun,
    Transition,
    now_iso,
)
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX

WATERMARK = "sacct-discovery"
# A poll that finds nothing to record moves the watermark only this often: an idle daemon's
# poll writes nothing, and the window it asks for stays within this plus the overlap.
WATERMARK_REFRESH = timedelta(minutes=5)
RUN_GROUPING_WINDOW = timedelta(hours=12)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


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
    jobs_examined: int = 0  # new or changed: grouped, logs looked for, compared with the store
    transitions: list[Transition] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Seen:
    """What a poll saw of a job that is not final: it is unchanged while these are."""

    fingerprint: tuple[object, ...]
    live: LiveJob | None  # the controller's view when it was last asked
    places: tuple[str, ...]
    stamp: tuple[int, ...]
    has_logs: bool

    def unchanged(self, record: JobRecord, live: dict[str, LiveJob] | None) -> bool:
        """`live` None: the controller was not asked this time, its last view stands."""
        return (
            self.fingerprint == _fingerprint(record)
            and (live is None or self.live == live.get(record.job_id))
            and stamp_of(self.places) == self.stamp
        )


@dataclass
class PollMemory:
    """The last poll's view of the jobs it was answered about: final jobs, and for the others
    what `_Seen` says. Only jobs of the latest answer are kept, so it follows the window."""

    final: set[JobKey] = field(default_factory=set)
    seen: dict[JobKey, _Seen] = field(default_factory=dict)
    # Held from reading the stored jobs to the commit: a poll and a targeted lookup of ending
    # jobs (`record_endings`, from another thread) never write from stale reads.
    recording: threading.Lock = field(default_factory=threading.Lock)


_MEMORIES: WeakKeyDictionary[Store, PollMemory] = WeakKeyDictionary()


def memory_of(store: Store) -> PollMemory:
    """The poll memory that lives as long as this open store (a new process starts empty)."""
    memory = _MEMORIES.get(store)
    if memory is None:
        memory = _MEMORIES[store] = PollMemory()
    return memory


@dataclass(slots=True)
class _Planned:
    """One job to record: what Slurm said and what was found on disk for it."""

    record: JobRecord
    task: PipelineTaskName
    existing: StoredJob | None
    experiment: str | None  # as str(Path) spells it
    upstream: str | None
    logs: list[str]
    final: bool
    detail: dict[str, object]
    role: str | None
    seen: _Seen


def poll_once(
    backend: SlurmBackend,
    store: Store,
    settings: WatchSettings,
    now: datetime | None = None,
    memory: PollMemory | None = None,
) -> PollResult:
    """Never raises for Slurm trouble: a failed sacct is the result's `error`, nothing recorded,
    the watermark unchanged, so the next poll catches up. `memory` defaults to the store's."""
    started = now or datetime.now(UTC)
    result = PollResult(started)
    memory = memory if memory is not None else memory_of(store)
    pattern = re.compile(settings.job_name_pattern)
    mark = store.watermark(WATERMARK)
    unfinished = store.unfinished_job_ids()
    try:
        discovered = _discover(backend, mark, settings, started)
        tracked = backend.jobs_by_id(unfinished) if unfinished else []
        answer = _unique(discovered, tracked)
        asking = _needs_controller(store, answer, pattern, memory)
        live = _live(backend, result) if asking else None
    except SlurmError as error:
        result.error = str(error)
        result.finished = datetime.now(UTC)
        return result
    with memory.recording:
        following = PollMemory()
        changed = _changed(answer, pattern, live, memory, following, result)
        planned = _plans(store, changed, live or {}, settings, following)
        result.jobs_examined = len(changed)
        if planned or _watermark_due(mark, started):
            with store.transaction():
                result.transitions = _Writer(store, now_iso()).record(planned)
                store.set_watermark(WATERMARK, started.isoformat())
        _remember(planned, following)
        memory.final, memory.seen = following.final, following.seen
    result.finished = datetime.now(UTC)
    return result


def _watermark_due(mark: str | None, now: datetime) -> bool:
    return mark is None or now - datetime.fromisoformat(mark) >= WATERMARK_REFRESH


def record_endings(
    backend: SlurmBackend, store: Store, settings: WatchSettings, job_ids: list[str]
) -> PollResult:
    """The targeted lookup: jobs whose logs say they ended, asked by id (ONE `sacct -j`, no
    discovery, no scontrol), and what Slurm says of them recorded. Never raises for Slurm
    trouble (the result's `error`): the regular poll catches up."""
    result = PollResult(datetime.now(UTC))
    try:
        records = backend.jobs_ending(job_ids) if job_ids else []
    except SlurmError as error:
        result.error = str(error)
        return result
    pattern = re.compile(settings.job_name_pattern)
    memory = memory_of(store)
    with memory.recording:
        unused = PollMemory()
        changed = _changed(_unique(records, []), pattern, {}, PollMemory(), unused, result)
        planned = _plans(store, changed, {}, settings, unused)
        result.jobs_examined = len(changed)
        with store.transaction():
            result.transitions = _Writer(store, now_iso()).record(planned)
        for plan in planned:  # what the next poll compares with
            if plan.final:
                memory.final.add(plan.record.key)
    result.finished = datetime.now(UTC)
    return result


def _needs_controller(
    store: Store, answer: dict[JobKey, JobRecord], pattern: re.Pattern[str], memory: PollMemory
) -> bool:
    """`scontrol show job` only when it can tell something: a pipeline job never seen before
    (what it waits for groups it into its run), one that started whose logs are still unknown
    (the controller knows its StdOut), or one that ended in a state Slurm may requeue (is it
    queued again?). Jobs known final are passed over without a read."""
    wanted = [
        record
        for key, record in answer.items()
        if key not in memory.final and match_job_name(record.name, pattern)
    ]
    if any(record.state in MAY_REQUEUE for record in wanted):
        return True
    unknown = []  # the poll's memory answers for the jobs it saw: no read for them
    for record in wanted:
        seen = memory.seen.get(record.key)
        if seen is None:
            unknown.append(record)
        elif record.start is not None and not seen.has_logs:
            return True
    stored = store.jobs_by_keys(record.key for record in unknown) if unknown else {}
    for record in unknown:
        job = stored.get(record.key)
        if job is None or (not job.final and record.start is not None and not job.log_paths):
            return True
    return False


def _discover(
    backend: SlurmBackend, mark: str | None, settings: WatchSettings, now: datetime
) -> list[JobRecord]:
    since = datetime.fromisoformat(mark) if mark else now - settings.lookback
    return backend.jobs_since((since - settings.overlap).astimezone())


def _live(backend: SlurmBackend, result: PollResult) -> dict[str, LiveJob]:
    """The controller's view is detail (log paths, requeues): its failure is only a warning."""
    try:
        return backend.live_jobs()
    except SlurmError as error:
        result.warnings.append(str(error))
        return {}


def _unique(discovered: list[JobRecord], tracked: list[JobRecord]) -> dict[JobKey, JobRecord]:
    """One record per job; the one from the by-id query (with steps) wins."""
    by_key = {record.key: record for record in tracked}
    for record in discovered:
        by_key.setdefault(record.key, record)
    return by_key


def _fingerprint(record: JobRecord) -> tuple[object, ...]:
    """The record's values the poll stores or acts on (its steps are detail)."""
    return (
        record.display_id, record.name, record.raw_state, record.exit_code, record.signal,
        record.start, record.end, record.user, record.work_dir, record.reason, record.stdout,
    )  # fmt: skip


@collector_paused()
def _changed(  # noqa: PLR0917 - one pass over the answer, its inputs and outputs
    answer: dict[JobKey, JobRecord],
    pattern: re.Pattern[str],
    live: dict[str, LiveJob] | None,
    memory: PollMemory,
    following: PollMemory,
    result: PollResult,
) -> list[tuple[JobRecord, PipelineTaskName]]:
    """The pipeline jobs that are new or changed since the last poll, in submit order;
    `following` gets what stays the same."""
    changed = []
    for key, record in answer.items():
        task = match_job_name(record.name, pattern)
        if task is None:
            continue
        result.jobs_seen += 1
        if key in memory.final:
            following.final.add(key)
            continue
        seen = memory.seen.get(key)
        if seen is not None and seen.unchanged(record, live):
            following.seen[key] = seen
            continue
        changed.append((record, task))
    changed.sort(key=lambda item: (item[0].key.submit or _EARLIEST, item[0].job_id))
    return changed


@collector_paused()
def _plans(
    store: Store,
    changed: list[tuple[JobRecord, PipelineTaskName]],
    live: dict[str, LiveJob],
    settings: WatchSettings,
    following: PollMemory,
) -> list[_Planned]:
    """What to record for the changed jobs: one batched read of them, then the disk."""
    stored = store.jobs_by_keys(record.key for record, _ in changed) if changed else {}
    planned = []
    for record, task in changed:
        existing = stored.get(record.key)
        if existing is not None and existing.final:
            following.final.add(record.key)  # a final state never changes: no look again
            continue
        planned.append(_plan(existing, record, task, live.get(record.job_id), settings))
    return planned


def _plan(
    existing: StoredJob | None,
    record: JobRecord,
    task: PipelineTaskName,
    live: LiveJob | None,
    settings: WatchSettings,
) -> _Planned:
    """What to record for one job; looks at the disk, writes nothing."""
    said = (record.stdout, record.stderr, live.stdout if live else None)
    reported = list(dict.fromkeys(path for path in said if path))
    if existing is not None:  # scontrol forgets a job minutes after it ends: keep what it said
        reported += [path for path in existing.log_paths if path not in reported]
    experiment = experiment_dir_text(*reported, record.work_dir)
    found = locate_logs(record.job_id, task, experiment, reported, settings.experiment_roots)
    detail: dict[str, object] = {"raw_state": record.raw_state, "exit_code": record.exit_code}
    if live is not None and live.reason:
        detail["reason"] = live.reason
    return _Planned(
        record=record,
        task=task,
        existing=existing,
        experiment=experiment,
        upstream=_upstream_job_id(live),
        logs=found.paths,
        final=record.is_final(still_queued=bool(live and live.queued)),
        detail=detail,
        role=existing.role if existing and existing.role else _role(found.paths, task.index),
        seen=_Seen(_fingerprint(record), live, found.places, found.stamp, bool(found.paths)),
    )


def _remember(planned: list[_Planned], following: PollMemory) -> None:
    """After the commit: what this poll recorded is what the next one compares with."""
    for plan in planned:
        if plan.final:
            following.final.add(plan.record.key)
        else:
            following.seen[plan.record.key] = plan.seen


class _Writer:
    """Records one poll's plans inside its transaction: each new job's run first (runs made
    and jobs placed by this poll are remembered, as the store has not seen them yet), then
    every job in one batched write."""

    def __init__(self, store: Store, stamp: str) -> None:
        self.store = store
        self.stamp = stamp
        self.runs: dict[str, StoredRun] = {}
        self.run_of_job: dict[tuple[str, str], int] = {}
        self.taken: dict[int, set[int]] = {}

    @collector_paused()
    def record(self, planned: list[_Planned]) -> list[Transition]:
        self._make_experiment_runs(planned)
        changes = []
        for plan in planned:
            existing = plan.existing
            run_id = existing.run_id if existing is not None else None
            if run_id is None:
                run_id = self._run_for(plan).id
            self.run_of_job[plan.record.key.cluster, plan.record.job_id] = run_id
            self.taken.setdefault(run_id, set()).add(plan.task.index)
            update = JobUpdate(
                plan.record, run_id, plan.task.index, plan.logs, plan.final, plan.detail,
                plan.role,
            )  # fmt: skip
            changes.append((update, existing))
        return self.store.write_jobs(changes, self.stamp)

    def _make_experiment_runs(self, planned: list[_Planned]) -> None:
        """The runs of new jobs that name their experiment dir, made in one batch (each by its
        first job, in submit order, as `_run` would make it)."""
        new: dict[str, NewRun] = {}
        for plan in planned:
            if plan.existing is None and plan.experiment is not None:
                record, experiment = plan.record, plan.experiment
                run_key = _experiment_run_key(record.key.cluster, experiment)
                if run_key not in new:
                    new[run_key] = _new_run(run_key, record, plan.task, experiment)
        if new:
            self.runs.update(self.store.create_runs(list(new.values())))

    def _run_for(self, plan: _Planned) -> StoredRun:
        """Runs are keyed by their experiment dir; without one, a job joins the run of the job
        it depends on, else the newest run of its base that lacks its task index and began
        shortly before (job base, user and submit time)."""
        record, task, experiment = plan.record, plan.task, plan.experiment
        cluster = record.key.cluster
        chained = self._chained(cluster, plan.upstream) if experiment is None else None
        if chained is not None:
            return chained
        if experiment is not None:
            return self._run(_experiment_run_key(cluster, experiment), record, task, experiment)
        return self._run_of_base(record, task) or self._run(
            f"{cluster}:{task.base}:{_stamp(record)}", record, task, None
        )

    def _chained(self, cluster: str, upstream: str | None) -> StoredRun | None:
        if not upstream:
            return None
        run_id = self.run_of_job.get((cluster, upstream))
        return (
            self.store.run(run_id)
            if run_id is not None
            else self.store.run_of_job(cluster, upstream)
        )

    def _run(
        self, run_key: str, record: JobRecord, task: PipelineTaskName, experiment: str | None
    ) -> StoredRun:
        run = self.runs.get(run_key)
        if run is None:
            new = _new_run(run_key, record, task, experiment)
            run = self.runs[run_key] = self.store.create_runs([new])[run_key]
        return run

    def _run_of_base(self, record: JobRecord, task: PipelineTaskName) -> StoredRun | None:
        """The newest run of the job's base and user that began at most RUN_GROUPING_WINDOW
        before it and has no job of its task index yet."""
        submit = record.key.submit
        for run in self.store.recent_runs_for_base(record.key.cluster, task.base, record.user):
            first = datetime.fromisoformat(run.first_submit) if run.first_submit else None
            taken = {job.task_index for job in self.store.jobs_of_run(run.id)}
            taken |= self.taken.get(run.id, set())
            if (
                first
                and submit
                and timedelta(0) <= submit - first <= RUN_GROUPING_WINDOW
                and task.index not in taken
            ):
                return run
        return None


def _experiment_run_key(cluster: str, experiment: str) -> str:
    return f"{cluster}:{experiment}"


def _new_run(
    run_key: str, record: JobRecord, task: PipelineTaskName, experiment: str | None
) -> NewRun:
    return NewRun(
        run_key,
        record.key.cluster,
        task.base,
        experiment_dir=experiment,
        experiment_id=experiment.rsplit("/", 1)[-1] if experiment else None,
        user=record.user,
        first_submit=record.key.submit,
    )


def _stamp(record: JobRecord) -> str:
    submit = record.key.submit
    return submit.isoformat() if submit else record.job_id


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
