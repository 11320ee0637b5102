"""The pyslurm backend, written against pyslurm 25.11's documented API (`pyslurm.db.JobFilter`,
`pyslurm.db.Jobs.load`, `pyslurm.Jobs.load`). pyslurm must match the installed Slurm's major
version exactly; this backend checks that before its first query and says so in one line.

Run for real in the integration suite's 25.11 lane (pyslurm 25.11.2 built against Slurm
25.11.7 by scripts/ensure-pyslurm), where it must give the same runs, states, log paths and
events as sacct; unit tests use a stand-in of the same shape (tests/fakes/pyslurm)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from eagle3_monitor.slurm.filename_pattern import JobNaming, output_path
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobStep, parse_state
from eagle3_monitor.slurm.sacct import (
    LiveJob,
    SacctBackend,
    SacctSettings,
    SlurmCallObserver,
    SlurmError,
    unobserved,
)

PROBE_SECONDS = 60.0


def _load_pyslurm() -> ModuleType:
    """pyslurm, imported once a child process showed that importing it is safe: pyslurm
    initialises libslurm on import, and without a Slurm configuration libslurm ends the
    process (`fatal: Could not establish a configuration source`), daemon and all."""
    try:
        probe = subprocess.run([sys.executable, "-c", "import pyslurm"], capture_output=True,
                               text=True, timeout=PROBE_SECONDS, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SlurmError(f"slurm.backend is pyslurm but importing it failed: {error}") from None
    if probe.returncode != 0:
        said = [line for line in probe.stderr.splitlines() if line.strip()]
        why = said[-1].strip() if said else f"exit status {probe.returncode}"
        raise SlurmError(
            f"slurm.backend is pyslurm but importing it fails ({why}); install the pyslurm "
            "release matching your Slurm (pip install 'pyslurm==<major>.<minor>.*') built "
            "against it, set SLURM_CONF, or use backend: sacct"
        )
    return importlib.import_module("pyslurm")


def _release(version: tuple[int, int]) -> str:
    """(22, 5) as Slurm names its releases: 22.05."""
    return f"{version[0]}.{version[1]:02d}"


def _major_minor(text: str) -> tuple[int, int]:
    parts = text.split(".")
    return (
        (int(parts[0]), int(parts[1]))
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()
        else (0, 0)
    )


class PyslurmBackend:
    def __init__(
        self,
        settings: SacctSettings,
        module: ModuleType | None = None,
        installed_version: Callable[[], tuple[int, int]] | None = None,
        observe: SlurmCallObserver = unobserved,
    ) -> None:
        self.settings = settings
        self.pyslurm = module or _load_pyslurm()
        self.observe = observe
        # the installed Slurm's version, from `sacct --version`, to check that pyslurm matches it
        self.installed_version = (
            installed_version or SacctBackend(settings, observe=observe).version
        )
        self._checked = False

    def version(self) -> tuple[int, int]:
        return _major_minor(str(getattr(self.pyslurm, "__version__", "")))

    def close(self) -> None:
        """Nothing to stop: pyslurm's calls run in this process (the daemon's bounded shutdown
        covers a call that hangs)."""

    def _check_version(self) -> None:
        if self._checked:
            return
        installed = self.installed_version()
        if self.version() != installed:
            have, need = _release(self.version()), _release(installed)
            raise SlurmError(
                f"pyslurm {have} does not match the installed Slurm {need}: install "
                f"pyslurm=={need}.* or use backend: sacct"
            )
        self._checked = True

    def jobs_by_id(self, job_ids: Iterable[str]) -> list[JobRecord]:
        ids = sorted({int(job_id) for job_id in job_ids if job_id.isdigit()})
        return self._load(ids=ids) if ids else []

    def jobs_ending(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The targeted lookup of jobs whose logs say they ended: one slurmdbd query by id."""
        return self.jobs_by_id(job_ids)

    def jobs_since(self, start: datetime) -> list[JobRecord]:
        """The window's jobs, and the jobs slurmctld holds that the window leaves out.

        slurmdbd's window lists jobs that were eligible in it; pyslurm's JobFilter has no
        states to widen it as sacct's `-s` does, so a job cancelled while its dependency was
        pending (never eligible) is only found by its id, which slurmctld still knows for
        MinJobAge after it ended."""
        found = self._load(start_time=start, end_time=datetime.now(UTC).astimezone())
        seen = {record.job_id for record in found}
        unseen = sorted(int(job_id) for job_id in self._controller_job_ids() - seen)
        return found + (self._load(ids=unseen) if unseen else [])

    def _controller_job_ids(self) -> set[str]:
        try:
            return {str(job_id) for job_id in self._timed("slurmctld", self.pyslurm.Jobs.load)}
        except Exception as error:  # pyslurm raises its own RPCError and friends
            raise SlurmError(f"pyslurm could not load jobs from slurmctld: {error}") from None

    def jobs_named(self, names: Iterable[str], start: datetime) -> list[JobRecord]:
        wanted = sorted(set(names))
        if not wanted:
            return []
        now = datetime.now(UTC).astimezone()
        return self._load(names=wanted, start_time=start, end_time=now)

    def _load(self, **conditions: Any) -> list[JobRecord]:
        self._check_version()
        settings = self.settings
        scope = {
            "users": settings.users,
            "clusters": settings.clusters,
            "accounts": settings.accounts,
            "partitions": settings.partitions,
        }
        conditions.update({name: list(values) for name, values in scope.items() if values})
        try:
            query = self.pyslurm.db.JobFilter(**conditions)
            jobs = self._timed("slurmdbd", lambda: self.pyslurm.db.Jobs.load(query))
        except Exception as error:  # pyslurm raises its own RPCError and friends
            raise SlurmError(f"pyslurm could not load jobs from slurmdbd: {error}") from None
        return [_record(job) for job in jobs.values()]

    def _timed(self, call: str, load: Callable[[], Any]) -> Any:
        """One pyslurm call (slurmdbd or slurmctld), timed for the observer."""
        started = time.monotonic()
        ok = False
        try:
            answer = load()
            ok = True
            return answer
        finally:
            self.observe(call, time.monotonic() - started, ok)

    def live_jobs(self) -> dict[str, LiveJob]:
        self._check_version()
        try:
            jobs = self._timed("slurmctld", self.pyslurm.Jobs.load)
        except Exception as error:
            raise SlurmError(f"pyslurm could not load jobs from slurmctld: {error}") from None
        return {
            str(job.id): LiveJob(
                job_id=str(job.id),
                state=str(job.state),
                reason=str(getattr(job, "state_reason", "") or ""),
                stdout=getattr(job, "standard_output", None),
                work_dir=getattr(job, "working_directory", None),
                name=str(getattr(job, "name", "")),
            )
            for job in jobs.values()
        }


def _time(stamp: object) -> datetime | None:
    return (
        datetime.fromtimestamp(int(stamp), UTC).astimezone()
        if isinstance(stamp, int) and stamp > 0
        else None
    )


def _record(job: Any) -> JobRecord:
    array_id = getattr(job, "array_id", None)
    display = _display_id(job, array_id)
    steps = getattr(job, "steps", None) or {}
    return JobRecord(
        key=JobKey(str(job.cluster or ""), str(job.id), _time(job.submit_time)),
        display_id=display,
        name=str(job.name or ""),
        state=parse_state(str(job.state or "")),
        raw_state=str(job.state or ""),
        exit_code=job.exit_code,
        signal=getattr(job, "exit_code_signal", None),
        start=_time(job.start_time),
        end=_time(job.end_time),
        user=str(getattr(job, "user_name", "") or ""),
        work_dir=str(getattr(job, "working_directory", "") or ""),
        partition=str(getattr(job, "partition", "") or ""),
        reason=str(getattr(job, "state_reason", "") or ""),
        node_list=str(getattr(job, "nodelist", "") or ""),
        time_limit=_time_limit(job),
        comment=str(getattr(job, "comment", "") or ""),
        stdout=_output(job, "standard_output"),
        stderr=_output(job, "standard_error"),
        steps=[
            JobStep(str(name), parse_state(str(step.state)), str(step.state), str(step.exit_code))
            for name, step in steps.items()
        ],
        array_job_id=str(array_id) if array_id else None,
    )


def _output(job: Any, name: str) -> str | None:
    """pyslurm's path of the batch output (expanded by pyslurm; expanded again harmlessly)."""
    naming = JobNaming(
        job_id=str(job.id), name=str(job.name or ""),
        user=str(getattr(job, "user_name", "") or ""),
        work_dir=str(getattr(job, "working_directory", "") or ""),
    )  # fmt: skip
    return output_path(getattr(job, name, None) or None, naming)


def _display_id(job: Any, array_id: object) -> str:
    """The JobID as sacct prints it: `179_0` for task 0 of array 179, `179_[0-3]` for its
    tasks still pending together. pyslurm 25.11.2 reads an array task index of 0 as None (its
    zero-is-no-value parsing), so a split-off task without an index is task 0."""
    if not array_id:
        return str(job.id)
    task_id = getattr(job, "array_task_id", None)
    if task_id is not None:
        return f"{array_id}_{task_id}"
    waiting = getattr(job, "array_tasks_waiting", None)
    return f"{array_id}_[{waiting}]" if waiting else f"{array_id}_0"


def _time_limit(job: Any) -> str:
    """As sacct prints Timelimit: UNLIMITED, `HH:MM:SS`, or `D-HH:MM:SS`."""
    minutes = getattr(job, "time_limit", None)
    if not isinstance(minutes, int) or minutes <= 0:
        return "UNLIMITED"
    days, minutes = divmod(minutes, 24 * 60)
    clock = f"{minutes // 60:02d}:{minutes % 60:02d}:00"
    return f"{days}-{clock}" if days else clock
