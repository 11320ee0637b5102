"""From what the store knows to what Slack is told. Announcements are derived from the database,
not from in-memory events, so a restart at any moment loses nothing and repeats nothing: a job
is announced when the outbox holds its key, and every cycle announces what still lacks one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.monitor.follow import JobProgress, quiet_seconds
from eagle3_monitor.review.model import Evidence, RootCause, RunReview, TaskReview
from eagle3_monitor.review.run import ReviewSettings, review_path
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.slack.compose import run_finished_message, run_header, task_message
from eagle3_monitor.slack.messages import (
    Message,
    RunHeader,
    TaskLine,
    early_alert_message,
    parent_message,
    recovered_message,
    stalled_message,
)
from eagle3_monitor.slack.outbox import enqueue
from eagle3_monitor.state.store import Store, StoredJob, StoredRun
from eagle3_monitor.vocabulary import Category, Role, TaskVerdict

# How Slurm's final state overrides a review that did not see the end in the logs.
_STATE_CAUSES = {
    "TIMEOUT": (TaskVerdict.TIMEOUT, Category.TIME_LIMIT, "Slurm killed the job at its time limit"),
    "OUT_OF_MEMORY": (TaskVerdict.FAIL, Category.HOST_OOM, "Slurm: the job ran out of memory"),
    "NODE_FAIL": (TaskVerdict.FAIL, Category.NODE_FAILURE, "Slurm: a node of the job failed"),
    "PREEMPTED": (TaskVerdict.FAIL, Category.PREEMPTED, "Slurm: the job was preempted"),
    "CANCELLED": (TaskVerdict.CANCELLED, Category.CANCELLED, "Slurm: the job was cancelled"),
}


@dataclass(frozen=True)
class Announcer:
    store: Store
    catalog: Catalog
    config: MonitorConfig

    def channel(self, run: StoredRun) -> str:
        return self.config.slack.channel_for(run.job_base, run.user)

    def ensure_parents(self) -> None:
        """Every run gets its parent message once."""
        for run in self.store.runs():
            enqueue(self.store, key=f"run{run.id}:parent", run_id=run.id, kind="parent",
                    channel=self.channel(run), message=self._parent(run, None))  # fmt: skip

    def update_parent(self, run: StoredRun, event: str | int, review: RunReview | None) -> None:
        enqueue(self.store, key=f"run{run.id}:update:{event}", run_id=run.id, kind="update",
                channel=self.channel(run), message=self._parent(run, review))  # fmt: skip

    def unannounced_final_jobs(self) -> list[tuple[StoredRun, StoredJob]]:
        rows = self.store.connection.execute(
            "SELECT j.id FROM jobs j WHERE j.final = 1 AND j.run_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.idempotency_key = 'job' || j.id || ':final')"
            " ORDER BY j.id"
        ).fetchall()
        found = []
        for (row,) in rows:
            job = self.store.job_by_row(row)
            run = self.store.run(job.run_id) if job and job.run_id is not None else None
            if job and run:
                found.append((run, job))
        return found

    def announce_job(self, run: StoredRun, job: StoredJob, review: RunReview | None) -> None:
        """The final-state reply of one job, and the run's end when it was the last."""
        task = _task_of(review, job) if review else None
        message = self._job_message(run, job, review, task)
        enqueue(self.store, key=f"job{job.row}:final", run_id=run.id, job=job.row, kind="reply",
                channel=self.channel(run), message=message)  # fmt: skip
        self.update_parent(run, job.row, review)
        if review is not None and self._run_finished(run, review):
            enqueue(self.store, key=f"run{run.id}:finished", run_id=run.id, kind="reply",
                    channel=self.channel(run), message=run_finished_message(review))  # fmt: skip

    def announce_progress(self, run: StoredRun, progress: JobProgress, now: float) -> None:
        """While a job runs: a fatal error in its log (once), a stall (once per silence) and
        the recovery from it."""
        job = progress.job
        role = job.role or "?"
        channel = self.channel(run)
        if progress.fatal and progress.fatal_path is not None and not progress.ending:
            cause = early_cause(progress, _role(job))
            mention = self.config.slack.mention_for(run.user)
            message = early_alert_message(_label(job), role, job.display_id, cause, mention=mention)
            enqueue(self.store, key=f"job{job.row}:early", run_id=run.id, job=job.row,
                    kind="reply", channel=channel, message=message)  # fmt: skip
        quiet = quiet_seconds(progress, _parse_time(job.start), now)
        if quiet is None:
            return
        stalls, recoveries = self._stall_episodes(job.row)
        limit = self.config.daemon.stall_after_seconds(job.role)
        if quiet >= limit and stalls == recoveries:
            message = stalled_message(_label(job), role, int(quiet // 60), progress.last_line)
            enqueue(self.store, key=f"job{job.row}:stall:{stalls + 1}", run_id=run.id,
                    job=job.row, kind="reply", channel=channel, message=message)  # fmt: skip
        elif quiet < limit and stalls > recoveries:
            enqueue(self.store, key=f"job{job.row}:recovered:{stalls}", run_id=run.id,
                    job=job.row, kind="reply", channel=channel,
                    message=recovered_message(_label(job), role))  # fmt: skip

    def _stall_episodes(self, job_row: int) -> tuple[int, int]:
        """(stall alerts, recovery notes) already in the outbox for this job."""
        counts = self.store.connection.execute(
            "SELECT SUM(idempotency_key LIKE ?), SUM(idempotency_key LIKE ?) FROM outbox",
            (f"job{job_row}:stall:%", f"job{job_row}:recovered:%"),
        ).fetchone()
        return int(counts[0] or 0), int(counts[1] or 0)

    def _run_finished(self, run: StoredRun, review: RunReview) -> bool:
        """Every task the experiment has is a job Slurm ended (sacct may lag for the last), and
        each has had its own reply, so the summary comes last."""
        jobs = self.store.jobs_of_run(run.id)
        indices = {job.task_index for job in jobs}
        expected = {task.index for task in review.tasks if task.index is not None}
        announced = all(self._has_key(f"job{job.row}:final") for job in jobs)
        return bool(jobs) and all(job.final for job in jobs) and expected <= indices and announced

    def _has_key(self, key: str) -> bool:
        found = self.store.connection.execute(
            "SELECT 1 FROM outbox WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return found is not None

    def _job_message(
        self, run: StoredRun, job: StoredJob, review: RunReview | None, task: TaskReview | None
    ) -> Message:
        mention = self.config.slack.mention_for(run.user)
        if _blocked(job) or _blocked_in_review(task):
            role = f" ({job.role})" if job.role else ""
            reason = "it never ran because an earlier task failed"
            return Message(f":no_entry: {_label(job)}{role} blocked: {reason}")
        if task is not None and review is not None:
            overridden = with_slurm_state(task, job)
            return task_message(review, overridden, mention=mention)
        return Message(
            f"{_label(job)} ended {job.state} (exit {job.exit_code}); no logs found to review"
        )

    def _parent(self, run: StoredRun, review: RunReview | None) -> Message:
        if review is not None:
            return parent_message(run_header(review, user=run.user, cluster=run.cluster))
        lines = [
            TaskLine(_label(job), job.role or "?", _slurm_word(job))
            for job in self.store.jobs_of_run(run.id)
        ]
        return parent_message(
            RunHeader(run.job_base, run.experiment_id, run.user, run.cluster, lines)
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


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _label(job: StoredJob) -> str:
    return f"task_{job.task_index}" if job.task_index is not None else job.name


def _blocked(job: StoredJob) -> bool:
    """Left pending, or cancelled, because its afterok dependency can never be satisfied."""
    return (
        job.reason.startswith("Dependency")
        and job.state in ("PENDING", "CANCELLED")
        and (job.state == "CANCELLED" or job.reason == "DependencyNeverSatisfied")
    )


def _blocked_in_review(task: TaskReview | None) -> bool:
    """The review saw the task never run because an upstream task failed (sacct's reason for
    the cancellation can lag or read `None`)."""
    return (
        task is not None
        and task.verdict is TaskVerdict.NOT_RUN
        and task.root_cause is not None
        and task.root_cause.category is Category.DEPENDENCY_NEVER_SATISFIED
    )


def _slurm_word(job: StoredJob) -> str:
    if _blocked(job):
        return "blocked"
    if job.state == "PENDING":
        return "pending"
    return {
        "COMPLETED": "pass",
        "RUNNING": "running",
        "TIMEOUT": "timeout",
        "CANCELLED": "cancelled",
    }.get(job.state, "fail" if job.final else job.state.lower())


def _task_of(review: RunReview, job: StoredJob) -> TaskReview | None:
    return (
        next((t for t in review.tasks if t.index == job.task_index), None) if review.tasks else None
    )


def with_slurm_state(task: TaskReview, job: StoredJob) -> TaskReview:
    """Slurm's word counts where the logs are silent: a job Slurm timed out, killed for memory or
    lost with its node fails even if its log stops mid-line; a COMPLETED job whose log shows a
    failure still fails (exit codes lie)."""
    override = _STATE_CAUSES.get(job.state)
    if override is None:
        if job.state == "FAILED" and not task.verdict.is_failure:
            summary = f"Slurm: FAILED with exit code {job.exit_code}"
            fix = "Read the last lines of the task's log."
            cause = RootCause(Category.UNKNOWN, "slurm-failed", summary, fix)
            task.verdict, task.root_cause = TaskVerdict.FAIL, task.root_cause or cause
        return task
    verdict, category, summary = override
    if not task.verdict.is_failure or task.root_cause is None:
        task.verdict = verdict
        task.root_cause = RootCause(
            category,
            f"slurm-{job.state.lower()}",
            summary,
            "See the task's log and Slurm's record.",
        )
    return task


def review_run(
    run: StoredRun, jobs: list[StoredJob], catalog: Catalog, settings: ReviewSettings
) -> RunReview | None:
    """Review the run's experiment dir (the whole pipeline, for cascades), else the job's logs.
    Never raises: a review must not take the daemon down."""
    target = Path(run.experiment_dir) if run.experiment_dir else None
    if target is None:
        logs = [path for job in jobs for path in job.log_paths]
        target = Path(logs[0]) if logs else None
    if target is None or not target.exists():
        return None
    try:
        return review_path(target, catalog, settings)
    except Exception:
        return None
