"""Slurm job records as the monitor sees them, which states are final, and what a final state
says about a task: the one place that classifies Slurm's words."""

from __future__ import annotations

import pwd
import re
import signal as signals
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from eagle3_monitor.vocabulary import Category, TaskVerdict


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


class JobKey(NamedTuple):
    """A job's identity: ids are reused after MaxJobId wraps, so the submit time is part of it.
    A named tuple, not a dataclass: it is a dict key on every poll's hot path, and a tuple
    hashes and compares in C."""

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
    stdout: str | None = None  # where the batch script's output went (patterns expanded)
    stderr: str | None = None  # its error output, when not the same file
    steps: list[JobStep] = field(default_factory=list)
    array_job_id: str | None = None

    @property
    def job_id(self) -> str:
        return self.key.job_id

    @property
    def exit_status(self) -> int | None:
        return exit_status(self.exit_code, self.signal)

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


# How a final state ended a task, when the task's logs do not say more. COMPLETED is absent:
# a job that completed is judged by its logs and artifacts (exit codes lie).
SLURM_ENDINGS: dict[JobState, tuple[TaskVerdict, Category, str]] = {
    JobState.TIMEOUT: (
        TaskVerdict.TIMEOUT,
        Category.TIME_LIMIT,
        "Slurm ended the job at its time limit",
    ),
    JobState.OUT_OF_MEMORY: (
        TaskVerdict.FAIL,
        Category.HOST_OOM,
        "Slurm: the job ran out of host memory (OUT_OF_MEMORY)",
    ),
    JobState.NODE_FAIL: (
        TaskVerdict.FAIL,
        Category.NODE_FAILURE,
        "Slurm: a node of the job failed (NODE_FAIL)",
    ),
    JobState.BOOT_FAIL: (
        TaskVerdict.FAIL,
        Category.NODE_FAILURE,
        "Slurm: the job's node failed to boot (BOOT_FAIL)",
    ),
    JobState.PREEMPTED: (TaskVerdict.FAIL, Category.PREEMPTED, "Slurm: the job was preempted"),
    JobState.DEADLINE: (
        TaskVerdict.CANCELLED,
        Category.CANCELLED,
        "Slurm: the job missed its deadline",
    ),
    JobState.CANCELLED: (TaskVerdict.CANCELLED, Category.CANCELLED, "Slurm: the job was cancelled"),
    JobState.FAILED: (TaskVerdict.FAIL, Category.UNKNOWN, "Slurm: the job failed"),
}
NEVER_SATISFIED = "DependencyNeverSatisfied"
_CANCELLED_BY = re.compile(r"^CANCELLED by (?P<uid>[0-9]+)")
# Slurm records an out-of-memory kill as the dummy signal SIG_OOM (253), which sacct prints as
# ExitCode 0:125 (253 without its 0x80 flag); the kernel's OOM killer sends SIGKILL.
SLURM_OOM_SIGNAL = 125


def exit_status(exit_code: int | None, signal: int | None) -> int | None:
    """A job's exit status as its batch shell's trailer says it (`job exited with code 137`):
    sacct's `0:9` (killed by SIGKILL) → 137, its OOM `0:125` → 137, `1:0` → 1. The one place
    poll, status and review turn Slurm's ExitCode into the number they show."""
    if signal == SLURM_OOM_SIGNAL:
        return 128 + signals.SIGKILL
    if signal:
        return 128 + signal
    return exit_code


@dataclass(frozen=True)
class SlurmView:
    """What Slurm says of a task's job: its state once read, whether it is final, whether it
    ever started, and the details a verdict may quote."""

    state: JobState
    final: bool
    started: bool
    exit_code: int | None = None  # as the shell says it: `exit_status(code, signal)`
    reason: str = ""
    raw_state: str = ""
    job_id: str | None = None  # as printed: 123, or 123_4 for an array task

    @classmethod
    def of(cls, record: JobRecord, final: bool) -> SlurmView:
        return cls(
            record.state,
            final,
            record.start is not None,
            record.exit_status,
            record.reason,
            record.raw_state,
            record.display_id,
        )

    @property
    def pending(self) -> bool:
        return not self.final and self.state is JobState.PENDING

    @property
    def waits_forever(self) -> bool:
        """Pending on a dependency that can never be satisfied (an upstream job failed)."""
        return not self.started and self.reason == NEVER_SATISFIED

    @property
    def never_ran(self) -> str | None:
        """Why a job that ended never started, in words; None while it may still start and
        once it has run."""
        if not self.final:
            return None
        if self.reason == NEVER_SATISFIED:
            return "never ran (dependency never satisfied)"
        # Slurm may record a Start (= its End) for a job cancelled while it waited on a
        # dependency: the reason it was still pending for says it never ran
        waiting = self.state is JobState.CANCELLED and self.reason == "Dependency"
        if self.started and not waiting:
            return None
        if self.state is JobState.CANCELLED:  # by a user, or by Slurm for a failed dependency
            return f"cancelled before start{' while waiting on a dependency' if waiting else ''}"
        return f"never ran ({self.state})"

    @property
    def ending(self) -> tuple[TaskVerdict, Category, str] | None:
        """How the final state ended the task; None while it runs and for COMPLETED."""
        return SLURM_ENDINGS.get(self.state) if self.final else None

    @property
    def cancelled_by(self) -> str | None:
        """Who cancelled the job (`CANCELLED by 1000` → the user's name, else the uid)."""
        match = _CANCELLED_BY.match(self.raw_state)
        if match is None:
            return None
        uid = int(match.group("uid"))
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"
