"""Live following of running jobs' logs: only the bytes written since the last look.

Each cycle reads what each running job's logs gained (the caller stores the positions with the
alerts they led to, so a restart resumes where it stopped; a replaced or truncated file starts
over), scans those complete
lines with the catalog, and reports three things:
- a fatal error while the job still runs (NCCL watchdog, CUDA fault): such jobs often hang for
  hours, so people want to know now, not at the time limit (not when the same lines show the job
  ending: its final reply follows within seconds);
- the log trailer (`job exited with code N`, Slurm's `CANCELLED AT` line): the job is ending, so
  the daemon polls sacct early instead of polling more often;
- how long since any of the job's logs last grew, for stall alerts.
Hostile files are harmless: each file is opened once and checked on its descriptor
(`safe_read`: never a FIFO, device or swapped symlink; only what the job's owner may read),
reads are bounded per cycle, and files that cannot be read are skipped."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review.scanner import Hit, scan_bytes
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.rules.model import RuleKind
from eagle3_monitor.safe_read import ReadPolicy, open_checked
from eagle3_monitor.state.store import LogPosition, StoredJob
from eagle3_monitor.vocabulary import Category

MAX_BYTES_PER_CYCLE = 8 << 20
MAX_LINE_BYTES = 1 << 20
# GPU OOM is left out: the process dies right after it, and the job's final reply says it.
EARLY_ALERT_CATEGORIES = frozenset({Category.NCCL, Category.CUDA_ERROR})
TRAILER = re.compile(
    rb"^(?:\+ echo '?)?job exited with code -?\d+|\*\*\* (?:JOB|STEP) \S+ ON \S+ CANCELLED AT ",
    re.MULTILINE,
)


@dataclass
class JobProgress:
    """What one running job's logs showed this cycle."""

    job: StoredJob
    fatal: list[Hit] = field(default_factory=list)
    fatal_path: Path | None = None
    ending: bool = False
    last_growth: float | None = None  # newest mtime of its logs (unix time)
    last_line: str = ""


@dataclass
class FollowResult:
    """What one cycle saw, and where each log's reading stopped (to store with the alerts)."""

    progress: list[JobProgress] = field(default_factory=list)
    positions: list[LogPosition] = field(default_factory=list)
    budget_left: int = 0


def follow_jobs(
    positions: Mapping[str, LogPosition],
    catalog: Catalog,
    jobs: Iterable[StoredJob],
    budget: int = MAX_BYTES_PER_CYCLE,
    policy_of: Callable[[StoredJob], ReadPolicy | None] = lambda job: None,
) -> FollowResult:
    """Read each running job's new log bytes from where `positions` say reading stopped;
    `budget` bounds one cycle's total reading; `policy_of` says with whose rights a job's logs
    are read (files it refuses are skipped). Touches no database."""
    result = FollowResult()
    for job in jobs:
        seen = JobProgress(job)
        policy = policy_of(job)
        for name in job.log_paths:
            read, position = _follow_file(positions.get(name), catalog, Path(name), seen,
                                          max(budget, 0), policy)  # fmt: skip
            budget -= read
            if position is not None:
                result.positions.append(position)
        result.progress.append(seen)
    result.budget_left = max(budget, 0)
    return result


def _follow_file(  # noqa: PLR0917 - one file's reading state
    known: LogPosition | None,
    catalog: Catalog,
    path: Path,
    seen: JobProgress,
    budget: int,
    policy: ReadPolicy | None = None,
) -> tuple[int, LogPosition | None]:
    """Read and scan one file's new complete lines: (bytes read, the new position)."""
    try:
        with open_checked(path, policy) as opened:
            status = opened.status
            seen.last_growth = max(seen.last_growth or 0.0, status.st_mtime)
            start = _resume_at(known, status)
            if budget == 0 or start >= status.st_size:
                return 0, None
            opened.stream.seek(start)
            data = opened.stream.read(min(budget, status.st_size - start)) or b""
    except (UnusableInputError, OSError):
        return 0, None
    complete = data[: data.rfind(b"\n") + 1]
    if not complete and len(data) >= MAX_LINE_BYTES:
        complete = data  # a "line" of megabytes with no end in sight: take it as one
    if not complete:
        return 0, None
    lines_before = known.lines if known is not None and start else 0
    position = LogPosition(
        str(path), status.st_ino, start + len(complete), lines_before + complete.count(b"\n")
    )
    _inspect(catalog, path, complete, seen, lines_before)
    return len(complete), position


def _resume_at(known: LogPosition | None, status: os.stat_result) -> int:
    """Where to continue: 0 for a new, replaced (other inode) or truncated file."""
    if known is None or known.inode != status.st_ino or known.offset > status.st_size:
        return 0
    return known.offset


def _inspect(
    catalog: Catalog, path: Path, lines: bytes, seen: JobProgress, lines_before: int
) -> None:
    scan = scan_bytes(lines, path, catalog, lines_before)
    fatal = [
        hit
        for hit in scan.hits
        if hit.rule.rule.kind is RuleKind.ERROR and hit.rule.rule.category in EARLY_ALERT_CATEGORIES
    ]
    if TRAILER.search(lines[-4096:]):
        seen.ending = True
    if fatal and not seen.fatal:
        seen.fatal, seen.fatal_path = fatal, path
    if scan.tail:
        seen.last_line = scan.tail[-1][1]


def quiet_seconds(progress: JobProgress, job_start: datetime | None, now: float) -> float | None:
    """Seconds since the job's logs last grew (or since it started, when it has no log yet)."""
    moments = [m for m in (progress.last_growth, job_start.timestamp() if job_start else None) if m]
    return now - max(moments) if moments else None
