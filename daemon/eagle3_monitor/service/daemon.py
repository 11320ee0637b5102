"""`eagle3-monitor run`: the service.

Startup opens the state database, the status socket and the scheduler, then says READY=1. An
APScheduler BackgroundScheduler runs the poll (no overlapping cycles, late ones coalesced) and
the outbox sender; reviews run in a bounded worker pool so a huge log never delays polling. The
main thread owns signals (handlers only set flags), watchdog pings (only while polls succeed or
fail cleanly), SIGHUP reloads and a bounded graceful shutdown; a second SIGINT forces exit."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from eagle3_monitor import __version__
from eagle3_monitor.config import load_config_and_catalog
from eagle3_monitor.monitor.access import reader_for
from eagle3_monitor.monitor.follow import follow_jobs
from eagle3_monitor.monitor.poll import PollResult, poll_once
from eagle3_monitor.report import review_to_json
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.service.announce import Announcer, review_run
from eagle3_monitor.service.sd_notify import Notifier, watchdog_interval
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from eagle3_monitor.slack.outbox import Sender
from eagle3_monitor.slack.setup import make_transport
from eagle3_monitor.slurm.backend import make_backend
from eagle3_monitor.state.store import Store, StoredJob, StoredRun

log = structlog.get_logger("eagle3_monitor")
EXIT_STARTUP_FAILED = 3
ENDING_WATCH_SECONDS = 30.0
HOUSEKEEPING_SECONDS = 600.0  # after a log's trailer, poll early for this long


@dataclass
class Health:
    started: float = field(default_factory=time.time)
    last_poll_at: float | None = None
    last_poll_ok: bool | None = None
    last_poll_error: str | None = None
    sacct_errors: int = 0
    polls: int = 0
    slack_blocked: str | None = None
    slack_errors: list[str] = field(default_factory=list)


class Daemon:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.loaded, self.catalog = load_config_and_catalog(config_path)
        config = self.loaded.config
        self.store = Store.open(config.database_path())
        self.backend = make_backend(config.slurm.backend, config.sacct_settings())
        self.sender = Sender(
            self.store, make_transport(config.slack), pace=config.slack.pace_seconds
        )
        self.health = Health()
        self.notifier = Notifier()
        self.stop_event = threading.Event()
        self.reload_event = threading.Event()
        self.poll_now = threading.Event()
        self.pool = ThreadPoolExecutor(config.daemon.review_workers, thread_name_prefix="review")
        self.in_review: dict[int, Future[None]] = {}
        self.ending: dict[int, float] = {}  # job row -> until when to poll early
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        policy = AccessPolicy(config.status.allowed_users, config.status.allowed_groups)
        self.socket = StatusSocket(config.socket_path(), self.handle_request, policy)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        config = self.loaded.config.daemon
        self.socket.start()
        self.scheduler.add_job(self.poll_cycle, "interval", seconds=config.poll_interval_seconds,
                               id="poll", next_run_time=_now())  # fmt: skip
        self.scheduler.add_job(
            self.send_cycle, "interval", seconds=config.send_interval_seconds, id="send"
        )
        self.scheduler.add_job(
            self.follow_cycle, "interval", seconds=config.follow_interval_seconds, id="follow"
        )
        self.scheduler.add_job(
            self.housekeeping, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping"
        )
        self.scheduler.start()
        self.notifier.ready(self.summary())
        log.info(
            "started",
            version=__version__,
            database=str(self.store.path),
            socket=str(self.socket.path),
        )

    def run_forever(self) -> int:
        interval = watchdog_interval()
        while not self.stop_event.is_set():
            self.stop_event.wait(min(interval or 1.0, 1.0))
            if self.reload_event.is_set():
                self.reload_event.clear()
                self.reload()
            if self.poll_now.is_set():
                self.poll_now.clear()
                self.scheduler.modify_job("poll", next_run_time=_now())
            if interval is not None and self.healthy():
                self.notifier.watchdog()
            self.notifier.status(self.summary())
        return self.shutdown()

    def healthy(self) -> bool:
        """Polls are happening (succeeding or failing cleanly) and the scheduler is alive."""
        last = self.health.last_poll_at
        period = self.loaded.config.daemon.poll_interval_seconds
        return self.scheduler.running and last is not None and time.time() - last < 3 * period + 30

    def shutdown(self) -> int:
        self.notifier.stopping()
        log.info("stopping")
        timeout = self.loaded.config.daemon.shutdown_timeout_seconds
        stopper = threading.Thread(target=lambda: self.scheduler.shutdown(wait=True), daemon=True)
        stopper.start()
        stopper.join(timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.socket.close()
        with self.store.lock:
            self.sender.drain(deadline=time.monotonic() + min(5.0, timeout / 2))
            self.store.close()
        log.info("stopped")
        return 0

    def reload(self) -> None:
        """SIGHUP: re-read the config; a bad one is logged and the old one kept."""
        try:
            loaded, catalog = load_config_and_catalog(self.config_path)
            transport = make_transport(loaded.config.slack)
        except Exception as error:
            log.error("reload failed, keeping the old config", error=str(error))
            return
        with self.store.lock:
            self.loaded, self.catalog = loaded, catalog
            self.sender = Sender(self.store, transport, pace=loaded.config.slack.pace_seconds)
            self.backend = make_backend(loaded.config.slurm.backend, loaded.config.sacct_settings())
        log.info("reloaded the config")

    # ------------------------------------------------------------------ work
    def poll_cycle(self) -> None:
        config = self.loaded.config
        with self.store.lock:
            result = poll_once(self.backend, self.store, config.watch_settings())
            self._record_health(result)
            announcer = Announcer(self.store, self.catalog, config)
            announcer.ensure_parents()
            for transition in result.transitions:
                run = self.store.run(transition.job.run_id) if transition.job.run_id else None
                if run is not None and not transition.final:
                    announcer.update_parent(
                        run, f"{transition.job.row}:{transition.new_state}", None
                    )
            self.schedule_reviews()

    def schedule_reviews(self) -> None:
        """One review per run with ended jobs not yet announced (never two of a run at once)."""
        if self.stop_event.is_set():
            return
        with self.store.lock:
            pending = Announcer(
                self.store, self.catalog, self.loaded.config
            ).unannounced_final_jobs()
            for run, jobs in _by_run(pending).items():
                if run.id not in self.in_review:
                    self.in_review[run.id] = self.pool.submit(self._review_and_announce, run, jobs)

    def follow_cycle(self) -> None:
        """Read running jobs' new log lines; alert on fatal errors and stalls; poll early when a
        log shows its job ending. Positions and alerts commit together, so a crash can neither
        skip an alert nor repeat one."""
        now = time.time()
        with self.store.lock, self.store.transaction():
            running = [
                self._readable_logs_only(job)
                for job in self.store.unfinished_jobs()
                if job.state == "RUNNING" and job.run_id is not None
            ]
            progress = follow_jobs(self.store, self.catalog, running)
            announcer = Announcer(self.store, self.catalog, self.loaded.config)
            for seen in progress:
                run = self.store.run(seen.job.run_id) if seen.job.run_id is not None else None
                if run is not None:
                    announcer.announce_progress(run, seen, now)
                if seen.ending:
                    self.ending.setdefault(seen.job.row, now + ENDING_WATCH_SECONDS)
        still_running = {job.row for job in running}
        self.ending = {
            row: until for row, until in self.ending.items() if until > now and row in still_running
        }
        if self.ending:  # sacct has not caught up with a job whose log says it ended
            self.scheduler.modify_job("poll", next_run_time=_now())

    def _review_and_announce(self, run: StoredRun, ended: list[StoredJob]) -> None:
        """Review the run once, then announce its newly ended jobs in task order."""
        try:
            with self.store.lock:
                jobs = self.store.jobs_of_run(run.id)
            settings = replace(self.loaded.config.review_settings(), may_read=self._reader(run))
            review: RunReview | None = review_run(run, jobs, self.catalog, settings)
            with self.store.lock, self.store.transaction():
                if review is not None:
                    self.store.save_review(run.id, review_to_json(review))
                announcer = Announcer(self.store, self.catalog, self.loaded.config)
                for job in sorted(ended, key=lambda job: (job.task_index or 0, job.row)):
                    announcer.announce_job(run, job, review)
            log.info("announced", run=run.run_key, jobs=[job.job_id for job in ended])
        except Exception:
            log.exception("review failed", run=run.run_key)
            return
        finally:
            self.in_review.pop(run.id, None)
        self.schedule_reviews()  # jobs of this run that ended while it was being reviewed

    def _record_health(self, result: PollResult) -> None:
        health = self.health
        health.polls += 1
        health.last_poll_at = time.time()
        health.last_poll_ok = result.ok
        health.last_poll_error = result.error
        if not result.ok:
            health.sacct_errors += 1
            log.warning("poll failed; states may be stale", error=result.error)
        elif result.transitions:
            log.info("polled", jobs=result.jobs_seen, changes=len(result.transitions))

    def _reader(self, run: StoredRun) -> Callable[[Path], bool]:
        """What may be quoted for this run: inside the experiment roots, readable by its owner."""
        return reader_for(run.user, self.loaded.config.watch_settings().experiment_roots)

    def _readable_logs_only(self, job: StoredJob) -> StoredJob:
        run = self.store.run(job.run_id) if job.run_id is not None else None
        if run is None:
            return replace(job, log_paths=[])
        may_read = self._reader(run)
        return replace(job, log_paths=[path for path in job.log_paths if may_read(Path(path))])

    def housekeeping(self) -> None:
        """Drop ended jobs' log positions; checkpoint the WAL. Outbox rows stay: their keys are
        what keeps a job from being announced twice."""
        with self.store.lock:
            forgotten = self.store.forget_positions_of_ended_jobs()
            self.store.checkpoint()
        log.debug("housekeeping", positions_forgotten=forgotten)

    def send_cycle(self) -> None:
        with self.store.lock:
            result = self.sender.drain(deadline=time.monotonic() + 10)
        self.health.slack_blocked = result.blocked
        if result.errors:
            self.health.slack_errors = (self.health.slack_errors + result.errors)[-20:]
            log.warning("slack delivery problems", errors=result.errors[:5], blocked=result.blocked)

    # ------------------------------------------------------------------ status
    def summary(self) -> str:
        health = self.health
        poll = (
            "no poll yet"
            if health.last_poll_ok is None
            else ("poll ok" if health.last_poll_ok else "sacct failing")
        )
        with self.store.lock:
            depth = self.sender.pending()
            runs = len(self.store.runs())
        slack = (
            f"slack blocked: {health.slack_blocked}" if health.slack_blocked else f"outbox {depth}"
        )
        return f"{runs} runs; {poll}; {slack}"

    def handle_request(self, request: dict[str, Any]) -> dict[str, Any]:
        command = str(request.get("command", "status"))
        if command == "status":
            return {"ok": True, **self.status_document()}
        if command == "poll":
            self.poll_now.set()
            return {"ok": True, "message": "poll scheduled"}
        with self.store.lock:
            if command == "runs":
                documents = [self._run_document(run) for run in self.store.runs()]
                return {"ok": True, "runs": [d for d in documents if _wanted(d, request)]}
            if command == "run":
                run = self._find_run(str(request.get("id", "")))
                if run is None:
                    return {"ok": False, "error": "no such run"}
                review = self.store.latest_review(run.id)
                return {"ok": True, "run": {**self._run_document(run), "review": review}}
            if command == "job":
                job = self._find_job(str(request.get("id", "")))
                return (
                    {"ok": True, "job": job.__dict__}
                    if job
                    else {"ok": False, "error": "no such job"}
                )
        return {"ok": False, "error": f"unknown command {command!r}: status, runs, run, job, poll"}

    def status_document(self) -> dict[str, Any]:
        health = self.health
        with self.store.lock:
            depth = self.sender.pending()
            unannounced = len(
                Announcer(self.store, self.catalog, self.loaded.config).unannounced_final_jobs()
            )
        return {
            "version": __version__,
            "uptime_seconds": round(time.time() - health.started, 1),
            "last_poll": health.last_poll_at,
            "last_poll_ok": health.last_poll_ok,
            "last_poll_error": health.last_poll_error,
            "sacct_errors": health.sacct_errors,
            "polls": health.polls,
            "outbox_depth": depth,
            "reviews_pending": unannounced,
            "slack": {"blocked": health.slack_blocked, "recent_errors": health.slack_errors[-5:]},
        }

    def _run_document(self, run: StoredRun) -> dict[str, Any]:
        jobs = self.store.jobs_of_run(run.id)
        return {
            "id": run.id,
            "run_key": run.run_key,
            "experiment": run.experiment_id,
            "job_base": run.job_base,
            "user": run.user,
            "cluster": run.cluster,
            "tasks": [_task_document(job) for job in jobs],
        }

    def _find_run(self, key: str) -> StoredRun | None:
        for run in self.store.runs():
            if key in (str(run.id), run.experiment_id, run.run_key):
                return run
        return None

    def _find_job(self, key: str) -> StoredJob | None:
        for run in self.store.runs():
            for job in self.store.jobs_of_run(run.id):
                if key in (job.job_id, job.display_id):
                    return job
        return None


def _wanted(run: dict[str, Any], request: dict[str, Any]) -> bool:
    """`runs` filters: user, active (a task not yet final), failed (a task Slurm failed)."""
    if request.get("user") and run["user"] != request["user"]:
        return False
    tasks = run["tasks"]
    if request.get("active") and all(task["final"] for task in tasks):
        return False
    failed_states = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "CANCELLED"}
    return not (request.get("failed") and not any(t["state"] in failed_states for t in tasks))


def _by_run(pending: list[tuple[StoredRun, StoredJob]]) -> dict[StoredRun, list[StoredJob]]:
    grouped: dict[StoredRun, list[StoredJob]] = {}
    for run, job in pending:
        grouped.setdefault(run, []).append(job)
    return grouped


def _task_document(job: StoredJob) -> dict[str, Any]:
    return {
        "task": f"task_{job.task_index}",
        "role": job.role,
        "job_id": job.job_id,
        "state": job.state,
        "final": job.final,
        "exit_code": job.exit_code,
        "logs": job.log_paths,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def install_signal_handlers(daemon: Daemon) -> None:
    """Handlers only set flags; a second SIGINT forces the exit."""
    interrupts = 0

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupts
        if signum == signal.SIGINT:
            interrupts += 1
            if interrupts > 1:
                os._exit(130)
        daemon.stop_event.set()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        daemon.reload_event.set()

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: thread stacks to stderr
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


def run_daemon(config_path: Path | None) -> int:
    """Start, serve until SIGTERM/SIGINT, stop. Exit 3 when startup fails."""
    try:
        daemon = Daemon(config_path)
        install_signal_handlers(daemon)
        daemon.start()
    except Exception as error:
        log.error("startup failed", error=str(error))
        return EXIT_STARTUP_FAILED
    return daemon.run_forever()
