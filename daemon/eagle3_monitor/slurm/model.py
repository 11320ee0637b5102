"""Slurm job records as the monitor sees them, and which states are final."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class JobState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    REQUEUED = "REQUEUED"
    RESIZING = "RESIZING"
    PREEMPTED = "PREEMPTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    NODE_FAIL = "NODE_FAIL"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    UNKNOWN = "UNKNOWN"


TERMINAL_STATES = frozenset(
    {
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.TIMEOUT,
        JobState.CANCELLED,
        JobState.OUT_OF_MEMORY,
        JobState.NODE_FAIL,
        JobState.BOOT_FAIL,
        JobState.DEADLINE,
    }
)
# A job in these states may come back under the same id (requeue): final only once Slurm no
# longer lists it as pending or running.
MAY_REQUEUE = frozenset({JobState.NODE_FAIL, JobState.PREEMPTED, JobState.REQUEUED})


def parse_state(raw: str) -> JobState:
    """`CANCELLED by 0` → CANCELLED; `RUNNING+` or unknown words → the base or UNKNOWN."""
    word = raw.split(" ", 1)[0].rstrip("+").upper()
    try:
        return JobState(word)
    except ValueError:
        return JobState.UNKNOWN


@dataclass(frozen=True)
class JobKey:
    """A job's identity: ids are reused after MaxJobId wraps, so the submit time is part of it."""

    cluster: str
    job_id: str  # JobIDRaw: the numeric id (array tasks have their own)
    submit: datetime | None

    def __str__(self) -> str:
        when = self.submit.isoformat() if self.submit else "?"
        return f"{self.cluster}:{self.job_id}@{when}"


@dataclass(frozen=True)
class JobStep:
    name: str  # batch, extern, 0, ...
    state: JobState
    raw_state: str
    exit_code: str


@dataclass
class JobRecord:
    """One job allocation (sacct's line without a step suffix), with its steps for detail."""

    key: JobKey
    display_id: str  # JobID as printed: 123, 123_4 for an array task
    name: str
    state: JobState
    raw_state: str
    exit_code: int | None
    signal: int | None
    start: datetime | None
    end: datetime | None
    user: str = ""
    work_dir: str = ""
    partition: str = ""
    reason: str = ""
    node_list: str = ""
    time_limit: str = ""
    comment: str = ""
    stdout: str | None = None
    steps: list[JobStep] = field(default_factory=list)
    array_job_id: str | None = None

    @property
    def job_id(self) -> str:
        return self.key.job_id

    @property
    def end_known(self) -> bool:
        return self.end is not None

    def is_final(self, still_queued: bool = False) -> bool:
        """A final state that will not change: terminal, End recorded (it stays Unknown for a
        while after an accounting outage), and not about to be requeued."""
        if self.state not in TERMINAL_STATES and self.state is not JobState.PREEMPTED:
            return False
        if not self.end_known:
            return False
        return not (self.state in MAY_REQUEUE and still_queued)
