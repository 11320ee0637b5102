"""What the status socket answers (`eagle3-monitor status`): the daemon's health, its runs, one
run with its latest review, one job. Every answer is read from a snapshot on its own database
connection, so it never waits for a poll, a review or Slack. A task's verdict here is the one
its Slack thread shows (`review/decide.py:current_verdicts`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from eagle3_monitor import __version__
from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.report.history import DEFAULT_SINCE, history_document, since_moment
from eagle3_monitor.report.json_report import verdicts_of_document
from eagle3_monitor.review.decide import current_verdicts
from eagle3_monitor.service.run_review import latest_job_per_task
from eagle3_monitor.slack.outbox import Outbox
from eagle3_monitor.state.store import Snapshot, Store, StoredJob, StoredRun
from eagle3_monitor.vocabulary import TaskVerdict

COMMANDS = ("status", "runs", "run", "job", "poll", "history")


@dataclass
class Health:
    """What the daemon's cycles report about themselves (written by them, read here)."""

    started: float = field(default_factory=time.time)
    last_poll_at: float | None = None
    last_poll_ok: bool | None = None
    last_poll_error: str | None = None
    sacct_errors: int = 0
    polls: int = 0
    slack_blocked: str | None = None
    slack_errors: list[str] = field(default_factory=list)  # permanent ones; cleared on recovery
    slack_failing_since: float | None = None  # an outage under way (transient failures)
    slack_last_error: str | None = None
    slack_failed_tries: int = 0
    review_errors: int = 0
    unreadable_roots: list[str] = field(default_factory=list)  # monitor/access.py:root_problems


class StatusService:
    def __init__(
        self,
        store: Store,
        health: Health,
        request_poll: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.health = health
        self.request_poll = request_poll
        self.clock = clock
        self._counted: tuple[int, int, int] | None = None  # (store version, runs, outbox depth)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request, one answer; `ok: false` with an `error` for anything it cannot do."""
        command = request.get("command", "status")
        if command == "poll":
            self.request_poll()
            return {"ok": True, "message": "poll scheduled"}
        if command == "history":
            return self.history(request)
        if command not in COMMANDS:
            return {"ok": False, "error": f"unknown command {command!r}: {', '.join(COMMANDS)}"}
        with self.store.read() as snapshot:
            if command == "status":
                return {"ok": True, **self.health_document(snapshot)}
            now = self.clock()
            if command == "runs":
                documents = [run_document(snapshot, run, now) for run in snapshot.runs()]
                return {"ok": True, "runs": [d for d in documents if wanted(d, request)]}
            key = str(request.get("id", ""))
            if command == "run":
                run = _find_run(snapshot, key)
                if run is None:
                    return {"ok": False, "not_found": True, "error": f"no such run: {key}"}
                review = snapshot.latest_review(run.id)
                document = run_document(snapshot, run, now)
                return {"ok": True, "run": {**document, "review": review}}
            job = _find_job(snapshot, key)
            if job is None:
                return {"ok": False, "not_found": True, "error": f"no such job: {key}"}
            return {"ok": True, "job": {**asdict(job), "state": str(job.state)}}

    def health_document(self, snapshot: Snapshot) -> dict[str, Any]:
        health = self.health
        outbox = Outbox(snapshot)
        return {
            "version": __version__,
            "uptime_seconds": round(self.clock() - health.started, 1),
            "last_poll": health.last_poll_at,
            "last_poll_ok": health.last_poll_ok,
            "last_poll_error": health.last_poll_error,
            "sacct_errors": health.sacct_errors,
            "polls": health.polls,
            "outbox_depth": outbox.depth(),
            "reviews_pending": len(outbox.runs_owing_final_replies()),
            "review_errors": health.review_errors,
            "unreadable_roots": health.unreadable_roots,
            "slack": slack_document(health, outbox.counts()),
        }

    def summary(self) -> str:
        """One line for systemd's STATUS=."""
        health = self.health
        poll = (
            "no poll yet"
            if health.last_poll_ok is None
            else ("poll ok" if health.last_poll_ok else "sacct failing")
        )
        runs, depth = self._counts()
        if health.slack_blocked:
            slack = f"slack blocked: {health.slack_blocked}"
        elif health.slack_failing_since is not None:
            slack = f"slack failing, outbox {depth}"
        else:
            slack = f"outbox {depth}"
        return f"{runs} runs; {poll}; {slack}"

    def _counts(self) -> tuple[int, int]:
        """The runs and the outbox depth, counted again only after the store has written
        (systemd's STATUS= asks every 10 s; an idle daemon's store does not change)."""
        version = self.store.version()
        if self._counted is None or self._counted[0] != version:
            with self.store.read() as snapshot:
                self._counted = (version, snapshot.run_count(), Outbox(snapshot).depth())
        return self._counted[1], self._counted[2]

    def history(self, request: dict[str, Any]) -> dict[str, Any]:
        """`history`: the failures kept since `since` (7d, 2026-11-01; default 30 days), of one
        `pipeline` or all, grouped by fingerprint (report/history.py)."""
        pipeline = request.get("pipeline")
        try:
            since = since_moment(str(request.get("since") or DEFAULT_SINCE), self.clock())
        except UnusableInputError as error:
            return {"ok": False, "error": str(error)}
        base = str(pipeline) if pipeline else None
        with self.store.read() as snapshot:
            failures = snapshot.failures_since(since, base)
        return {"ok": True, **history_document(failures, since, base)}


def slack_document(health: Health, counts: dict[str, int]) -> dict[str, Any]:
    """Slack's state for status: ok, failing (since when, the last error) or blocked; what
    waits (queued), what may have been posted but is not confirmed, what was given up on."""
    if health.slack_blocked:
        state = "blocked"
    elif health.slack_failing_since is not None:
        state = "failing"
    else:
        state = "ok"
    return {
        "state": state,
        "blocked": health.slack_blocked,
        "failing_since": health.slack_failing_since,
        "last_error": health.slack_last_error if state == "failing" else None,
        "failed_tries": health.slack_failed_tries if state == "failing" else 0,
        "queued": counts.get("pending", 0) + counts.get("sending", 0),
        "unconfirmed": counts.get("sending", 0),
        "parked": counts.get("parked", 0),
        "recent_errors": health.slack_errors[-5:],
    }


def run_document(snapshot: Snapshot, run: StoredRun, now: float) -> dict[str, Any]:
    """A run as status shows it: each task's Slurm state, its verdict (the Slack word), how
    long it ran, and for a failed task the root cause its latest review found."""
    jobs = snapshot.jobs_of_run(run.id)
    review = snapshot.latest_review(run.id)
    latest = latest_job_per_task(jobs)
    slurm = {index: job.slurm_view() for index, job in latest.items()}
    verdicts = current_verdicts(slurm, verdicts_of_document(review))
    causes = causes_of_document(review)
    tasks = [
        _task_document(index, latest.get(index), verdict, causes.get(index), now)
        for index, verdict in verdicts.items()
    ]
    started, ended = run_span(latest.values())
    return {
        "id": run.id,
        "run_key": run.run_key,
        "experiment": run.experiment_id,
        "job_base": run.job_base,
        "user": run.user,
        "cluster": run.cluster,
        "verdict": review.get("verdict") if review else None,
        "headline": review.get("headline") if review else None,
        "started": started,
        "ended": ended,
        "elapsed_seconds": elapsed_seconds(started, ended, now),
        "tasks": tasks,
    }


def _task_document(
    index: int,
    job: StoredJob | None,
    verdict: TaskVerdict,
    cause: dict[str, Any] | None,
    now: float,
) -> dict[str, Any]:
    """A task as status shows it; `root_cause` only for a failed or blocked task, `never_ran`
    for a job that ended without starting."""
    started = job is not None and job.start is not None
    shown_cause = cause if verdict.is_failure or verdict is TaskVerdict.BLOCKED else None
    return {
        "task": f"task_{index}",
        "role": job.role if job else None,
        "job_id": job.display_id if job else None,
        "state": str(job.state) if job else None,
        "final": job.final if job else False,
        "exit_code": job.exit_code if job else None,
        "exit_status": job.exit_status if job and started else None,
        "verdict": str(verdict),
        "start": job.start if job else None,
        "end": job.end if job else None,
        "elapsed_seconds": elapsed_seconds(job.start, job.end, now) if job else None,
        "root_cause": shown_cause,
        "never_ran": job.slurm_view().never_ran if job else None,
        "logs": job.log_paths if job else [],
    }


def causes_of_document(document: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    """The root causes a stored review/1 document found, by task index."""
    causes: dict[int, dict[str, Any]] = {}
    for task in (document or {}).get("tasks") or []:
        index, cause = task.get("index"), task.get("root_cause")
        if isinstance(index, int) and isinstance(cause, dict):
            causes[index] = cause
    return causes


def run_span(jobs: Iterable[StoredJob]) -> tuple[str | None, str | None]:
    """When the run's first job started, and when its last ended (None while one may still
    run)."""
    jobs = list(jobs)
    starts = [job.start for job in jobs if job.start]
    if not starts:
        return None, None
    ends = [job.end for job in jobs if job.end]
    ended = max(ends, key=_moment) if jobs and all(job.final for job in jobs) and ends else None
    return min(starts, key=_moment), ended


def elapsed_seconds(start: str | None, end: str | None, now: float) -> float | None:
    """Seconds from `start` to `end` (to `now` while it runs); None when it never started."""
    if not start:
        return None
    began = _moment(start)
    finished = _moment(end).timestamp() if end else now
    return round(max(0.0, finished - began.timestamp()), 1)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def wanted(run: dict[str, Any], request: dict[str, Any]) -> bool:
    """`runs` filters: user, active (a task not decided yet), failed (a task failed)."""
    if request.get("user") and run["user"] != request["user"]:
        return False
    verdicts = [TaskVerdict(task["verdict"]) for task in run["tasks"]]
    if request.get("active") and all(verdict.is_final for verdict in verdicts):
        return False
    failed = any(v.is_failure or v is TaskVerdict.BLOCKED for v in verdicts)
    return not (request.get("failed") and not failed)


def _find_run(snapshot: Snapshot, key: str) -> StoredRun | None:
    for run in snapshot.runs():
        if key in (str(run.id), run.experiment_id, run.run_key):
            return run
    return None


def _find_job(snapshot: Snapshot, key: str) -> StoredJob | None:
    for run in snapshot.runs():
        for job in snapshot.jobs_of_run(run.id):
            if key in (job.job_id, job.display_id):
                return job
    return None
