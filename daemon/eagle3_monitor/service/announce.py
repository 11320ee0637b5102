"""From decisions to notifications. Announcements are derived from the database and the run's
review, never from in-memory events, so a restart at any moment loses nothing and repeats
nothing: a job is announced when the outbox holds its key. What a message says comes from the
review (`review/decide.py`), never decided here.

A new database does not flood Slack: announcements begin at the daemon's first start on it
(`announcing_since`, kept in the database, so a restart is not a first start). A run whose jobs
all ended before then is recorded, reviewed and shown by `status`, but said nowhere;
`eagle3-monitor run --backfill HOURS` (`watch.backfill_hours`) moves the start back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.monitor.follow import JobProgress, quiet_seconds
from eagle3_monitor.review.decide import current_verdicts
from eagle3_monitor.review.memory import FailureMemory
from eagle3_monitor.review.model import Evidence, RootCause, RunReview
from eagle3_monitor.slack.compose import run_finished_message, run_header, task_message
from eagle3_monitor.slack.messages import (
    Message,
    RunHeader,
    TaskLine,
    early_alert_message,
    finished_message,
    parent_message,
    recovered_message,
    review_failed_message,
    stalled_message,
)
from eagle3_monitor.slack.outbox import Event, Notification, Outbox
from eagle3_monitor.state.store import Store, StoredJob, StoredRun
from eagle3_monitor.vocabulary import Category, Role, TaskVerdict

ANNOUNCING_SINCE = "announcing-since"  # the watermark: when announcements began
EVERYTHING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FirstStart:
    """When this database's announcements begin, and whether this start decided it."""

    since: datetime
    now: bool


def announcing_since(store: Store, now: float, backfill_hours: float) -> FirstStart:
    """Recorded at the daemon's first start on the database, then kept: now, less
    `backfill_hours`. A database that has announced before (its outbox has rows) dates from
    before this rule: it keeps announcing everything, so an upgrade loses nothing."""
    with store.transaction():
        recorded = store.watermark(ANNOUNCING_SINCE)
        if recorded is not None:
            return FirstStart(datetime.fromisoformat(recorded), now=False)
        if Outbox(store).counts():
            since = EVERYTHING
        else:
            start = datetime.fromtimestamp(now, UTC).replace(microsecond=0)  # as Slurm's times
            since = start - timedelta(hours=backfill_hours)
        store.set_watermark(ANNOUNCING_SINCE, since.isoformat())
    return FirstStart(since, now=True)


@dataclass(frozen=True)
class Announcer:
    outbox: Outbox
    config: MonitorConfig
    since: datetime = EVERYTHING  # runs whose jobs all ended before this are kept quiet

    def channel(self, run: StoredRun) -> str:
        return self.config.slack.channel_for(run.job_base, run.user)

    def announces(self, jobs: Sequence[StoredJob]) -> bool:
        """A run is announced when one of its jobs ends after `since`: one still pending or
        running will; one whose end is unknown is given the benefit of the doubt."""
        return any(not job.final or _ended_after(job, self.since) for job in jobs)

    def keep_quiet(self, run: StoredRun, jobs: Sequence[StoredJob]) -> None:
        """A run that ended before announcements began: each ended job's reply is recorded
        as owed to nobody, so it is reviewed once and never announced."""
        reason = f"ended before announcements began ({self.since.isoformat()})"
        for job in jobs:
            if job.final:
                self.outbox.keep_quiet(Notification.final(run.id, job.row), reason)

    def parent(self, run: StoredRun, jobs: Sequence[StoredJob]) -> None:
        """Every announced run gets its parent message once."""
        if not self.announces(jobs):
            return
        message = parent_message(_header(run, jobs, {}))
        self.outbox.add(Notification.parent(run.id), self.channel(run), message)

    def progress_update(
        self,
        run: StoredRun,
        jobs: Sequence[StoredJob],
        decided: Mapping[int, TaskVerdict],
        cause: str,
    ) -> None:
        """The parent edited after Slurm moved a job: decided tasks keep their verdicts."""
        message = parent_message(_header(run, jobs, decided))
        self.outbox.add(Notification.update(run.id, cause), self.channel(run), message)

    def review(
        self,
        run: StoredRun,
        jobs: Sequence[StoredJob],
        review: RunReview,
        review_id: int,
        memory: Mapping[int, FailureMemory] | None = None,
    ) -> list[StoredJob]:
        """After a review, in task order: each job whose task it decided for good gets its final
        reply; a task blocked before Slurm ever listed its job (sacct may not show a job pending
        on a dependency) gets its reply now, and its job, when it shows up never having run, is
        covered by it. The parent shows the review; the summary follows the last reply. A failed
        task's reply shows `memory` (by task index: the same failure seen before, looked up
        before this). Returns the jobs announced now."""
        if not self.announces(jobs):
            self.keep_quiet(run, jobs)
            return []
        channel = self.channel(run)
        mention = self.config.slack.mention_for(run.user)
        by_task = _jobs_by_task(jobs)
        announced = []
        for task in sorted(review.tasks, key=lambda task: _order(task.index)):
            task_jobs = by_task.pop(task.index, [])
            said_for_task = Notification.blocked_task(run.id, task.index)
            if not task_jobs and task.verdict is TaskVerdict.BLOCKED and task.index is not None:
                self.outbox.add(said_for_task, channel, task_message(review, task, mention))
            for job in task_jobs:
                if not job.slurm_view().started and self.outbox.has(said_for_task):
                    self.outbox.cover(Notification.final(run.id, job.row), said_for_task)
                    continue
                remembered = (memory or {}).get(task.index) if task.index is not None else None
                message = self._final_reply(job, task_jobs, review, mention, remembered)
                if message is not None and self.outbox.add(
                    Notification.final(run.id, job.row), channel, message
                ):
                    announced.append(job)
        for job in _in_task_order(jobs):  # a safety net: an ended job is never left unsaid
            if job.final and not self.outbox.has(Notification.final(run.id, job.row)):
                text = f"{_label(job)} ended {job.state}; its task is not in the review"
                self.outbox.add(Notification.final(run.id, job.row), channel, Message(text))
                announced.append(job)
        header = run_header(review, user=run.user, cluster=run.cluster)
        self.outbox.add(
            Notification.update(run.id, f"review{review_id}"), channel, parent_message(header)
        )
        if _finished(jobs, review):
            self.outbox.add(Notification.finished(run.id), channel, run_finished_message(review))
        return announced

    def review_failed(self, run: StoredRun, jobs: Sequence[StoredJob], reason: str) -> None:
        """The review raised twice: each ended job says so, with how Slurm ended it."""
        if not self.announces(jobs):
            self.keep_quiet(run, jobs)
            return
        channel = self.channel(run)
        for job in _in_task_order(jobs):
            if job.final:
                ending = f"{job.state}" + (f" (exit {job.exit_status})" if job.exit_status else "")
                message = review_failed_message(_label(job), job.role or "?", ending, reason)
                self.outbox.add(Notification.final(run.id, job.row), channel, message)
        if jobs and all(job.final for job in jobs):
            summary = finished_message("fail", f"the run's review failed: {reason}", [])
            self.outbox.add(Notification.finished(run.id), channel, summary)

    def progress(self, run: StoredRun, progress: JobProgress, now: float) -> None:
        """While a job runs: a fatal error in its log (once), a stall (once per silence) and
        the recovery from it."""
        job = progress.job
        role = job.role or "?"
        channel = self.channel(run)
        if progress.fatal and progress.fatal_path is not None and not progress.ending:
            cause = early_cause(progress, _role(job))
            mention = self.config.slack.mention_for(run.user)
            message = early_alert_message(_label(job), role, job.display_id, cause, mention=mention)
            self.outbox.add(Notification.early(run.id, job.row), channel, message)
        quiet = quiet_seconds(progress, _parse_time(job.start), now)
        if quiet is None:
            return
        stalls = self.outbox.count(job.row, Event.STALL)
        recoveries = self.outbox.count(job.row, Event.RECOVERED)
        limit = self.config.daemon.stall_after_seconds(job.role)
        if quiet >= limit and stalls == recoveries:
            message = stalled_message(_label(job), role, int(quiet // 60), progress.last_line)
            self.outbox.add(Notification.stall(run.id, job.row, stalls + 1), channel, message)
        elif quiet < limit and stalls > recoveries:
            message = recovered_message(_label(job), role)
            self.outbox.add(Notification.recovered(run.id, job.row, stalls), channel, message)

    def _final_reply(
        self,
        job: StoredJob,
        jobs: Sequence[StoredJob],
        review: RunReview,
        mention: str | None,
        memory: FailureMemory | None = None,
    ) -> Message | None:
        """The reply of a job the review decided for good; None while its task is undecided."""
        task = review.task_at(job.task_index)
        latest = _latest_per_task(jobs).get(job.task_index)
        if latest is not None and latest.row != job.row:
            if not job.final:
                return None
            return Message(f"{_label(job)}: job {job.display_id} ({job.state}) was replaced by "
                           f"job {latest.display_id}")  # fmt: skip
        if task is None or not task.verdict.is_final:
            return None
        return task_message(review, task, mention=mention, memory=memory)


_SAID_WITHOUT_A_JOB = (TaskVerdict.BLOCKED, TaskVerdict.SKIPPED)


def _finished(jobs: Sequence[StoredJob], review: RunReview) -> bool:
    """Every task is decided for good and has had its reply: a task with a job once the job's
    task is final; a task Slurm has not listed a job for only when blocked (its reply was said
    for the task). Tasks before the first job's were skipped by a re-run."""
    indices = {job.task_index for job in jobs if job.task_index is not None}
    if not indices:
        return False
    for task in review.tasks:
        if task.index is None or task.index < min(indices):
            continue
        if task.index in indices and not task.verdict.is_final:
            return False
        if task.index not in indices and task.verdict not in _SAID_WITHOUT_A_JOB:
            return False
    return True


def _header(
    run: StoredRun, jobs: Sequence[StoredJob], decided: Mapping[int, TaskVerdict]
) -> RunHeader:
    latest = _latest_per_task(jobs)
    slurm = {index: job.slurm_view() for index, job in latest.items() if index is not None}
    verdicts = current_verdicts(slurm, decided)
    lines = [
        TaskLine(f"task_{index}", _role_of(latest.get(index)), verdict.label)
        for index, verdict in verdicts.items()
    ]
    return RunHeader(run.job_base, run.experiment_id, run.user, run.cluster, lines)


def _role_of(job: StoredJob | None) -> str:
    return job.role if job is not None and job.role else "?"


def _jobs_by_task(jobs: Sequence[StoredJob]) -> dict[int | None, list[StoredJob]]:
    by_task: dict[int | None, list[StoredJob]] = {}
    for job in _in_task_order(jobs):
        by_task.setdefault(job.task_index, []).append(job)
    return by_task


def _order(index: int | None) -> int:
    return -1 if index is None else index


def _latest_per_task(jobs: Sequence[StoredJob]) -> dict[int | None, StoredJob]:
    latest: dict[int | None, StoredJob] = {}
    for job in jobs:  # ordered by task index, then submit time
        latest[job.task_index] = job
    return latest


def _in_task_order(jobs: Sequence[StoredJob]) -> list[StoredJob]:
    return sorted(
        jobs, key=lambda job: (job.task_index if job.task_index is not None else -1, job.row)
    )


def early_cause(progress: JobProgress, role: Role | None) -> RootCause:
    """The root cause of a running job's fatal error, from its first lines."""
    first = progress.fatal[0]
    rule = first.rule
    path = progress.fatal_path or Path(progress.job.log_paths[0])
    evidence = tuple(Evidence(path, hit.line, hit.text) for hit in progress.fatal[:3])
    category = rule.rule.category or Category.UNKNOWN
    summary = rule.summary(first.groups) or first.text
    return RootCause(category, rule.id, summary, rule.rule.fix_for(role), evidence)


def _role(job: StoredJob) -> Role | None:
    return Role(job.role) if job.role in set(Role) else None


def _ended_after(job: StoredJob, moment: datetime) -> bool:
    end = _parse_time(job.end)
    if end is None or end.tzinfo is None:  # a naive time cannot be compared: announce
        return True
    return end >= moment


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _label(job: StoredJob) -> str:
    return f"task_{job.task_index}" if job.task_index is not None else job.name
