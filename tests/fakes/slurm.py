"""A Slurm backend for in-process tests of pure logic: it answers with the job records the test
sets. The integration tests use the real local cluster instead (tests/integration/)."""

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.simulate.logtext import ACCOUNT_PREFIX
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobState
from eagle3_monitor.slurm.sacct import LiveJob

SUBMITTED = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


class FakeSlurm:
    """`SlurmBackend` whose answers are `records`; `hold` makes every question wait (a sacct
    that hangs) until it is set."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self.questions = 0
        self.targeted = 0  # targeted lookups of ending jobs
        self.hold: threading.Event | None = None
        self.closed = False

    def set(self, *records: JobRecord) -> None:
        for record in records:
            self.records[record.job_id] = record

    def version(self) -> tuple[int, int]:
        return (22, 5)

    def jobs_by_id(self, job_ids: Iterable[str]) -> list[JobRecord]:
        wanted = set(job_ids)
        return [record for job_id, record in self._answer().items() if job_id in wanted]

    def jobs_ending(self, job_ids: Iterable[str]) -> list[JobRecord]:
        self.targeted += 1
        return self.jobs_by_id(job_ids)

    def jobs_since(self, start: datetime) -> list[JobRecord]:
        return list(self._answer().values())

    def jobs_named(self, names: Iterable[str], start: datetime) -> list[JobRecord]:
        wanted = set(names)
        return [record for record in self._answer().values() if record.name in wanted]

    def live_jobs(self) -> dict[str, LiveJob]:
        return {}

    def close(self) -> None:
        self.closed = True
        if self.hold is not None:
            self.hold.set()

    def _answer(self) -> dict[str, JobRecord]:
        self.questions += 1
        if self.hold is not None:
            self.hold.wait()
        return dict(self.records)


def pipeline_job(
    experiment: Path,
    index: int,
    state: JobState,
    *,
    job_base: str = "Qwen3-8B_EAGLE3_offline",
    first_job_id: int = 418200,
    exit_code: int | None = 0,
    started: bool = True,
    reason: str = "None",
    cancelled_by: int | None = None,
) -> JobRecord:
    """Task `index`'s job as sacct reports it, with the launcher's names and work dir."""
    job_id = str(first_job_id + index)
    start = SUBMITTED + timedelta(minutes=10 * index + 1) if started else None
    ended = state not in (JobState.PENDING, JobState.RUNNING)
    end = (start or SUBMITTED) + timedelta(minutes=9) if ended else None
    raw_state = f"{state} by {cancelled_by}" if cancelled_by is not None else str(state)
    return JobRecord(
        key=JobKey("dev", job_id, SUBMITTED + timedelta(seconds=index)),
        display_id=job_id,
        name=f"{ACCOUNT_PREFIX}.{job_base}_{index}",
        state=state,
        raw_state=raw_state,
        exit_code=exit_code if ended else None,
        signal=0,
        start=start,
        end=end,
        user=getpass.getuser(),
        work_dir=str(experiment / f"{job_base}_{index}"),
        reason=reason,
    )


def running(record: JobRecord) -> JobRecord:
    """The same job while it still runs (sacct has not seen its end yet)."""
    return replace(record, state=JobState.RUNNING, raw_state="RUNNING", end=None, exit_code=None)


def pending(record: JobRecord, reason: str = "Dependency") -> JobRecord:
    return replace(
        record, state=JobState.PENDING, raw_state="PENDING", start=None, end=None, reason=reason
    )
