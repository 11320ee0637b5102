"""The daemon's memory of failures: before a run's replies are composed, each failed task's root
cause is fingerprinted (`review/fingerprint.py`) and looked up among the failures kept before
(the database, Slack's permalinks through the transport, the experiments' batch scripts and
pipeline YAML); the replies then only render what was found (`review/memory.py`). Called with
no database lock held around Slack or the disk; each database read is one short query."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.errors import MonitorError
from eagle3_monitor.launcher.leftovers import OriginalPipeline, original_pipeline
from eagle3_monitor.report.json_report import verdicts_of_document
from eagle3_monitor.review.fingerprint import Fingerprint, fingerprint
from eagle3_monitor.review.memory import (
    ELSEWHERE_SHOWN,
    RECENT_SHOWN,
    FailureMemory,
    LaterPass,
    Occurrence,
)
from eagle3_monitor.review.model import RunReview, TaskReview
from eagle3_monitor.safe_read import ReadPolicy
from eagle3_monitor.service.run_review import latest_job_per_task
from eagle3_monitor.slack.outbox import Notification, Outbox
from eagle3_monitor.slack.transport import Transport
from eagle3_monitor.state.store import NewFailure, Store, StoredFailure, StoredJob, StoredRun
from eagle3_monitor.vocabulary import TaskVerdict

WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
MAX_COUNTED = 1000  # earlier occurrences read to count; beyond it the counts say "1000"
YAML_DIFF_LINES = 12
# The batch script's `#SBATCH` limits (launcher/leftovers.py) compared between two runs.
RESOURCES = (
    ("time", "time limit"),
    ("nodes", "nodes"),
    ("gpus_per_node", "GPUs per node"),
    ("ntasks_per_node", "tasks per node"),
    ("mem", "memory"),
    ("partition", "partition"),
)


@dataclass
class Recalled:
    """What the failed tasks of one review remind the daemon of: the memory each task's reply
    shows (by task index) and the failures to keep once their replies are queued (by job)."""

    memory: dict[int, FailureMemory] = field(default_factory=dict)
    failures: dict[int, NewFailure] = field(default_factory=dict)

    def keep(self, store: Store, announced: Sequence[StoredJob]) -> int:
        """Keep the failures of the jobs just announced (in the caller's transaction)."""
        kept = 0
        for job in announced:
            failure = self.failures.get(job.row)
            if failure is not None and store.record_failure(failure):
                kept += 1
        return kept


@dataclass(frozen=True)
class Recall:
    """The lookups for one run."""

    store: Store
    transport: Transport
    policy: ReadPolicy | None = None
    clock: float | None = None  # when a job's end is unknown

    def review(self, run: StoredRun, jobs: Sequence[StoredJob], review: RunReview) -> Recalled:
        """Each failed task whose job's reply is still owed: its fingerprint and memory."""
        recalled = Recalled()
        outbox = Outbox(self.store)
        latest = latest_job_per_task(jobs)
        for task in review.tasks:
            job = latest.get(task.index) if task.index is not None else None
            if job is None or not job.final or task.root_cause is None:
                continue
            if not task.verdict.is_failure or task.index is None:
                continue
            if outbox.has(Notification.final(run.id, job.row)) or self.store.has_failure(job.row):
                continue
            found = fingerprint(task.root_cause, _role(task), run.job_base)
            seen_at = utc_text(job.end) or self._now()
            recalled.failures[job.row] = _new_failure(run, job, found, seen_at)
            memory = self.memory(run, task.index, found, seen_at)
            if not memory.empty:
                recalled.memory[task.index] = memory
        return recalled

    def memory(self, run: StoredRun, index: int, found: Fingerprint, seen_at: str) -> FailureMemory:
        """This failure before `seen_at`: on this pipeline, then its cause on others."""
        earlier = [
            failure
            for failure in self.store.failures_with(
                "fingerprint", found.fingerprint, before=seen_at, limit=MAX_COUNTED
            )
            if failure.run_id != run.id
        ]
        same_cause = self.store.failures_with(
            "cause", found.cause, before=seen_at, limit=MAX_COUNTED
        )
        month_ago = _shifted(seen_at, -MONTH)
        elsewhere = [f for f in same_cause if f.job_base != run.job_base and f.seen_at >= month_ago]
        return FailureMemory(
            last_7_days=_within(earlier, _shifted(seen_at, -WEEK)),
            last_30_days=_within(earlier, month_ago),
            recent=tuple(self._occurrence(f) for f in earlier[:RECENT_SHOWN]),
            later_pass=self._later_pass(run, index, earlier[0]) if earlier else None,
            elsewhere_30_days=len(elsewhere),
            elsewhere=tuple(self._occurrence(f) for f in elsewhere[:ELSEWHERE_SHOWN]),
        )

    def _occurrence(self, failure: StoredFailure) -> Occurrence:
        """An earlier failure and the link to its reply (its thread when the reply's ts is not
        known; the stored channel and ts when Slack gives no link)."""
        channel, ts = failure.reply_channel, failure.reply_ts
        if channel is None or ts is None:
            channel, ts = failure.thread_channel, failure.thread_ts
        link = self.transport.permalink(channel, ts) if channel and ts else None
        return Occurrence(
            job_base=failure.job_base,
            experiment=failure.experiment_id,
            task=f"task_{failure.task_index}" if failure.task_index is not None else "task_?",
            job_id=failure.display_id,
            seen_at=failure.seen_at,
            link=link,
            channel=channel,
            ts=ts,
        )

    def _later_pass(self, run: StoredRun, index: int, last: StoredFailure) -> LaterPass | None:
        """The first run of this pipeline after the last occurrence's in which the task passed,
        and what differed."""
        failed_run = self.store.run(last.run_id)
        if failed_run is None:
            return None
        after = _submitted(failed_run)
        candidates = [
            other
            for other in self.store.recent_runs_for_base(run.cluster, run.job_base, run.user)
            if other.id not in (run.id, failed_run.id) and _submitted(other) > after
        ]
        for other in sorted(candidates, key=_submitted):
            verdicts = verdicts_of_document(self.store.latest_review(other.id))
            if verdicts.get(index) is not TaskVerdict.PASS:
                continue
            job = latest_job_per_task(self.store.jobs_of_run(other.id)).get(index)
            changes, diff = self._differences(failed_run, other, index)
            return LaterPass(other.experiment_id, job.display_id if job else "?", changes, diff)
        return None

    def _differences(
        self, failed: StoredRun, passed: StoredRun, index: int
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The task's batch limits and the pipeline YAML, as the launcher left them in the two
        experiments (nothing when either cannot be read)."""
        before, after = self._pipeline(failed), self._pipeline(passed)
        if before is None or after is None:
            return (), ()
        changes = resource_changes(before, after, index)
        return changes, yaml_diff(before.text, after.text)

    def _pipeline(self, run: StoredRun) -> OriginalPipeline | None:
        if not run.experiment_dir:
            return None
        try:
            return original_pipeline(Path(run.experiment_dir), run.job_base, policy=self.policy)
        except (MonitorError, OSError, ValueError):
            return None

    def _now(self) -> str:
        moment = datetime.fromtimestamp(self.clock, UTC) if self.clock else datetime.now(UTC)
        return moment.isoformat(timespec="seconds")


def resource_changes(
    before: OriginalPipeline, after: OriginalPipeline, index: int
) -> tuple[str, ...]:
    """`time limit 04:00:00 → 08:00:00`, for each `#SBATCH` limit of the task that differs."""
    old, new = before.tasks.get(index), after.tasks.get(index)
    if old is None or new is None:
        return ()
    return tuple(
        f"{label} {old.slurm.get(key, '-')} → {new.slurm.get(key, '-')}"
        for key, label in RESOURCES
        if old.slurm.get(key) != new.slurm.get(key)
    )


def yaml_diff(before: str, after: str) -> tuple[str, ...]:
    """The changed lines of the pipeline YAML (`-old`, `+new`), at most YAML_DIFF_LINES."""
    lines = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    if len(lines) > YAML_DIFF_LINES:
        lines = [*lines[:YAML_DIFF_LINES], f"… {len(lines) - YAML_DIFF_LINES} more changed lines"]
    return tuple(lines)


def utc_text(value: str | None) -> str | None:
    """A stored time as UTC ISO text (comparable as text); None when unset or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _shifted(iso: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(iso) + delta).isoformat(timespec="seconds")


def _within(failures: list[StoredFailure], since: str) -> int:
    return sum(1 for failure in failures if failure.seen_at >= since)


def _submitted(run: StoredRun) -> str:
    return utc_text(run.first_submit) or ""


def _role(task: TaskReview) -> str | None:
    return str(task.role) if task.role is not None else None


def _new_failure(run: StoredRun, job: StoredJob, found: Fingerprint, seen_at: str) -> NewFailure:
    return NewFailure(
        job=job.row,
        run_id=run.id,
        fingerprint=found.fingerprint,
        cause=found.cause,
        job_base=run.job_base,
        task_index=job.task_index,
        role=found.role,
        category=found.category,
        rule=found.rule,
        pattern=found.pattern,
        example=found.example,
        seen_at=seen_at,
    )
