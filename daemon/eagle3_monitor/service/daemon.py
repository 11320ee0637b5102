"""The daemon's work, in cycles a test can call in-process: poll Slurm, follow running jobs'
logs, review runs whose jobs ended, send what the outbox owes, keep house. Each cycle returns
whether more of its work is waiting now (healthchecks' `sendalerts` style), so the scheduler
(`service/runtime.py`) loops `while cycle(): ...` and a test calls it until it says no.

Locks are short: Slurm is asked, logs are read and Slack is called with no database lock held;
each cycle writes what it learned in one quick transaction. Reviews run in worker processes
(`service/review_worker.py`), so their memory goes back when they end; a review that raises,
kills its worker or hangs is logged with its traceback and tried once more; a second failure is
announced as such, never as silence."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import structlog

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.monitor.access import ReadPolicy, policy_for, root_problems
from eagle3_monitor.monitor.follow import follow_jobs
from eagle3_monitor.monitor.poll import PollResult, poll_once, record_endings
from eagle3_monitor.report.json_report import verdicts_of_document
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.service.announce import EVERYTHING, Announcer, FirstStart, announcing_since
from eagle3_monitor.service.memory import Recall, Recalled
from eagle3_monitor.service.metrics import Metrics
from eagle3_monitor.service.review_worker import (
    InProcessReviewer,
    Reviewer,
    ReviewError,
    WorkerPool,
)
from eagle3_monitor.service.status import Health, StatusService
from eagle3_monitor.slack.outbox import DrainResult, Outbox, Sender
from eagle3_monitor.slack.transport import Transport, redact
from eagle3_monitor.slurm.backend import SlurmBackend
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.state.store import Store, StoredJob, StoredRun

log = structlog.get_logger("eagle3_monitor")
# After a new experiment directory: the launcher's sbatch comes within seconds, and its jobs
# keep the poll busy once seen; this covers a slow launcher.
LAUNCH_BUSY_SECONDS = 300.0
ENDING_WATCH_SECONDS = 30.0  # after a log's trailer, ask sacct of the job for this long
# sacct hears of an end a moment after the log's trailer: ask again this soon, then less often
FIRST_RECHECK_SECONDS = 0.5
MAX_RECHECK_SECONDS = 8.0
WAIT_IN_FOLLOW_SECONDS = 1.5  # a follow cycle waits at most this long for a recheck ...
ASKS_PER_FOLLOW = 3  # ... and asks sacct at most this often
SEND_BUDGET_SECONDS = 10.0
REVIEW_RETRY_SECONDS = 30.0
REVIEW_ATTEMPTS = 2


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class DaemonConfig:
    """The validated config and the rule catalog it makes."""

    config: MonitorConfig
    catalog: Catalog


@dataclass
class _ReviewFailures:
    count: int = 0
    retry_at: float = 0.0


@dataclass
class _Ending:
    """A running job whose log says it ended: when to stop asking, when to ask next."""

    job_id: str
    until: float
    next_ask: float
    asked: int = 0

    def asked_now(self, now: float) -> None:
        self.asked += 1
        wait = FIRST_RECHECK_SECONDS * 2 ** (self.asked - 1)
        self.next_ask = now + min(MAX_RECHECK_SECONDS, wait)


@dataclass
class _Claims:
    """Runs being reviewed right now (never two reviews of one run at once)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: set[int] = field(default_factory=set)

    def take(self, candidates: list[int]) -> int | None:
        with self.lock:
            for run_id in candidates:
                if run_id not in self.runs:
                    self.runs.add(run_id)
                    return run_id
        return None

    def release(self, run_id: int) -> None:
        with self.lock:
            self.runs.discard(run_id)


def _backfilled(config: DaemonConfig, hours: float) -> DaemonConfig:
    """The config with `watch.backfill_hours` from the command line (the first poll looks back
    that far too)."""
    watch = config.config.watch.model_copy(update={"backfill_hours": hours})
    return replace(config, config=config.config.model_copy(update={"watch": watch}))


def _log_first_start(first: FirstStart, backfill_hours: float | None) -> None:
    """Say when announcements began: at a first start, and why --backfill did nothing later."""
    since = first.since.isoformat(timespec="seconds")
    if first.now and first.since != EVERYTHING:
        log.info("first start on this database: runs whose jobs all ended before the start "
                 "are recorded without a Slack message (run --backfill HOURS announces them)",
                 announcing_since=since)  # fmt: skip
    elif not first.now and backfill_hours:
        log.warning("--backfill counts only at the first start on a database; this one has "
                    "announced since its own", announcing_since=since)  # fmt: skip


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        store: Store,
        backend: SlurmBackend,
        notifier: Transport,
        clock: Clock | None = None,
        *,
        reviewer: Reviewer | None = None,
        backfill_hours: float | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """`backfill_hours` (`run --backfill`) wins over `watch.backfill_hours`; either counts
        only at the first start on the store (see `announcing_since`)."""
        self.settings = config if backfill_hours is None else _backfilled(config, backfill_hours)
        # the service reviews in worker processes (review_worker.WorkerPool); tests in-process
        self.reviewer = reviewer or InProcessReviewer(config.catalog)
        self.store = store
        self.backend = backend
        self.clock = clock or SystemClock()
        # the scheduler's hook: run a cycle ("review", "send") now, not at its next interval
        self.wake: Callable[[str], None] = lambda cycle: None
        self.outbox = Outbox(store, on_added=lambda: self.wake("send"))
        self.stopping = threading.Event()
        self.pause: Callable[[float], object] = self.stopping.wait  # tests: a fake clock's
        self.poll_soon = threading.Event()  # status asked for a poll
        self._busy_until = 0.0  # a new experiment appeared: poll at the busy interval till then
        # counted by the cycles and the sender (the service hands it to the Slurm backend too)
        self.metrics = metrics or Metrics(config.config.metrics)
        self.sender = self._sender(notifier)
        self.health = Health(started=self.clock.time())
        self.status = StatusService(store, self.health, self._poll_now, self.clock.time)
        self._claims = _Claims()
        self._review_failures: dict[int, _ReviewFailures] = {}
        self._ending: dict[int, _Ending] = {}  # job row -> its end, to confirm with sacct
        self._parents_checked = False  # every run's parent, once after a start
        backfill = self.config.watch.backfill_hours
        self.first_start = announcing_since(store, self.clock.time(), backfill)
        _log_first_start(self.first_start, backfill_hours)
        self.check_roots()

    def check_roots(self) -> None:
        """Whether this process can read the experiment roots, for status and the log."""
        problems = root_problems(self.config.watch_settings().experiment_roots)
        if problems != self.health.unreadable_roots:
            for problem in problems:
                log.warning("an experiment root is not readable", problem=problem)
        self.health.unreadable_roots = problems

    def _poll_now(self) -> None:
        """Status asked for a poll: it runs now, not at its next interval."""
        self.poll_soon.set()
        self.wake("poll")

    def nothing_to_send(self) -> bool:
        """No outbox row is unsent (none waits for a retry): the send cycle need not run until
        a row is added (which wakes it)."""
        return not self.store.unsent_maybe

    def nothing_to_review(self) -> bool:
        """No run owes a reply, no failed review waits for its retry and no review worker is
        left to retire: the review check need not run until a poll or an ending wakes it."""
        if self._review_failures or self._runs_to_review():
            return False
        return not (isinstance(self.reviewer, WorkerPool) and self.reviewer.pids())

    def nothing_to_poll_for(self) -> bool:
        """The last poll worked, no watched job is pending or running and no experiment
        appeared lately: only a new submission can change anything, so the poll need only
        look every idle interval."""
        if not self.health.last_poll_ok or self.clock.time() < self._busy_until:
            return False
        return not self.store.unfinished_job_ids()

    def experiment_appeared(self) -> None:
        """A new directory under an experiment root (`launches.LaunchWatcher`): the launcher
        is about to submit, so poll now (when resting) and at the busy interval for a while."""
        resting = self.nothing_to_poll_for()  # busy, the next poll is seconds away anyway
        self._busy_until = self.clock.time() + LAUNCH_BUSY_SECONDS
        if resting:  # a burst of new directories: one wake
            self.wake("poll")

    def nothing_to_follow(self) -> bool:
        """No job is running: the follow cycle need not run until a poll sees one."""
        return not any(job.state is JobState.RUNNING for job in self.store.unfinished_jobs())

    @property
    def config(self) -> MonitorConfig:
        return self.settings.config

    def reconfigure(self, config: DaemonConfig, backend: SlurmBackend, notifier: Transport) -> None:
        """SIGHUP: the new config, its backend and its Slack transport, from the next cycle."""
        old = self.backend
        self.settings, self.backend = config, backend
        self.reviewer.use_catalog(config.catalog)
        self.check_roots()
        self.metrics.configure(config.config.metrics)
        self.sender = self._sender(notifier)
        if old is not backend:
            old.close()

    def _sender(self, notifier: Transport) -> Sender:
        return Sender(
            self.outbox,
            notifier,
            pace=self.config.slack.pace_seconds,
            clock=self.clock.monotonic,
            wall_clock=self.clock.time,
            sleep=self.stopping.wait,
            observer=self.metrics,
        )

    def announcer(self) -> Announcer:
        return Announcer(self.outbox, self.config, self.first_start.since)

    # ------------------------------------------------------------------ poll
    def poll_cycle(self) -> bool:
        """Ask Slurm (no lock held), record the changes, give new runs their parent message
        and edit the parents of runs whose jobs moved."""
        self.poll_soon.clear()
        try:
            result = poll_once(self.backend, self.store, self.config.watch_settings())
        except Exception as error:  # a bug or hostile input: status must say polls fail
            log.exception("poll failed with an unexpected error")
            failed = PollResult(datetime.now(UTC), error=f"{type(error).__name__}: {error!s:.300}")
            self._record_poll(failed)
            self.metrics.export(self.store)
            return False
        self._record_poll(result)
        announcer = self.announcer()
        touched = {t.job.run_id for t in result.transitions if t.job.run_id is not None}
        with self.store.transaction():
            # After a start every run is checked once (a crash may have come between a run's
            # creation and its parent); then only the runs this poll touched: the cost of a
            # poll does not grow with the history.
            among = touched if self._parents_checked else None
            self._parents_checked = True
            for run_id in self.outbox.runs_without_parent(among):
                run = self.store.run(run_id)
                if run is not None:
                    announcer.parent(run, self.store.jobs_of_run(run_id))
            for transition in result.transitions:
                run = self.store.run(transition.job.run_id) if transition.job.run_id else None
                if run is not None and not transition.final:
                    jobs = self.store.jobs_of_run(run.id)
                    decided = verdicts_of_document(self.store.latest_review(run.id))
                    cause = f"{transition.job.row}:{transition.new_state}"
                    announcer.progress_update(run, jobs, decided, cause)
        self.metrics.export(self.store)  # the textfile, every poll
        return False

    def _record_poll(self, result: PollResult) -> None:
        health = self.health
        health.polls += 1
        health.last_poll_at = self.clock.time()
        health.last_poll_ok = result.ok
        health.last_poll_error = result.error
        self.metrics.polled(result.ok, health.last_poll_at)
        if not result.ok:
            health.sacct_errors += 1
            log.warning("poll failed; states may be stale", error=result.error)
        elif result.transitions:
            log.info("polled", jobs=result.jobs_seen, changes=len(result.transitions))

    def healthy(self, period: float) -> bool:
        """Polls are happening (succeeding or failing cleanly)."""
        last = self.health.last_poll_at
        return last is not None and self.clock.time() - last < 3 * period + 30

    # ------------------------------------------------------------------ follow
    def follow_cycle(self) -> bool:
        """Read running jobs' new log lines (no lock held); alert on fatal errors and stalls.
        Positions and alerts commit together, so a crash can neither skip an alert nor repeat
        one. A log that shows its job ending (the trailer) is confirmed by ONE targeted `sacct
        -j` for such jobs, and an end Slurm confirms is reviewed at once, not at the next
        poll."""
        now = self.clock.time()
        running = [
            job
            for job in self.store.unfinished_jobs()
            if job.state is JobState.RUNNING and job.run_id is not None
        ]
        paths = {path for job in running for path in job.log_paths}
        known = {path: p for path in paths if (p := self.store.log_position(path)) is not None}
        followed = follow_jobs(known, self.settings.catalog, running, policy_of=self._job_policy)
        announcer = self.announcer()
        with self.store.transaction():
            for position in followed.positions:
                self.store.set_log_position(position)
            for seen in followed.progress:
                run = self.store.run(seen.job.run_id) if seen.job.run_id is not None else None
                if run is not None:
                    announcer.progress(run, seen, now)
                if seen.ending and seen.job.row not in self._ending:
                    job = seen.job
                    self._ending[job.row] = _Ending(job.job_id, now + ENDING_WATCH_SECONDS, now)
        still_running = {job.row for job in running}
        self._ending = {
            row: ending
            for row, ending in self._ending.items()
            if ending.until > now and row in still_running
        }
        self._confirm_endings()
        return followed.budget_left == 0 and bool(followed.positions)

    def _confirm_endings(self) -> None:
        """Ask sacct of the jobs whose logs say they ended (one `sacct -j` for all that are
        due), record what it says, and wake the review when it confirms an end. sacct may not
        have heard of the end yet: soon rechecks wait here (briefly), later ones are left to
        the next follow cycles."""
        for _ in range(ASKS_PER_FOLLOW):
            if not self._ending or self.stopping.is_set():
                return
            now = self.clock.time()
            due = [ending for ending in self._ending.values() if ending.next_ask <= now]
            if due:
                self._ask_about_endings(due, now)
            upcoming = min((e.next_ask for e in self._ending.values()), default=None)
            if upcoming is None or upcoming - now > WAIT_IN_FOLLOW_SECONDS:
                return
            self.pause(max(0.0, upcoming - now))

    def _ask_about_endings(self, due: list[_Ending], now: float) -> None:
        for ending in due:
            ending.asked_now(now)
        watch = self.config.watch_settings()
        result = record_endings(self.backend, self.store, watch, [e.job_id for e in due])
        if not result.ok:
            log.warning("sacct could not confirm ending jobs; the poll will", error=result.error)
            return
        ended = [transition.job for transition in result.transitions if transition.final]
        if not ended:
            return
        self._ending = {row: e for row, e in self._ending.items()
                        if row not in {job.row for job in ended}}  # fmt: skip
        log.info("ended, as the logs said", jobs=[job.display_id for job in ended])
        self.wake("review")

    def _job_policy(self, job: StoredJob) -> ReadPolicy:
        run = self.store.run(job.run_id) if job.run_id is not None else None
        if run is None:
            return ReadPolicy(deny_all="the job belongs to no run")
        return self._read_policy(run)

    def _read_policy(self, run: StoredRun) -> ReadPolicy:
        """What may be quoted for this run: inside the experiment roots, readable by its owner."""
        return policy_for(run.user, self.config.watch_settings().experiment_roots)

    # ------------------------------------------------------------------ review
    def review_cycle(self) -> bool:
        """Review one run that has ended jobs not yet announced, then announce them. True when
        another such run is waiting."""
        if self.stopping.is_set():
            return False
        run_id = self._claims.take(self._runs_to_review())
        if run_id is None:
            self.reviewer.retire_idle()  # nothing to review: idle workers give memory back
            self.store.checkpoint_after_burst()
            return False
        try:
            run = self.store.run(run_id)
            if run is not None:
                self._review_and_announce(run)
        finally:
            self._claims.release(run_id)
        return bool(self._runs_to_review())

    def _runs_to_review(self) -> list[int]:
        now = self.clock.time()
        return [
            run_id
            for run_id in self.outbox.runs_owing_final_replies()
            if self._review_failures.get(run_id, _ReviewFailures()).retry_at <= now
        ]

    def _review_and_announce(self, run: StoredRun) -> None:
        jobs = self.store.jobs_of_run(run.id)
        settings = replace(self.config.review_settings(), read_policy=self._read_policy(run))
        started = time.monotonic()
        try:
            reviewed = self.reviewer.review(run, jobs, settings)
        except ReviewError as error:  # a bug, a hostile file or a dead worker: never silence
            self.metrics.reviewed(time.monotonic() - started, None)
            if self.stopping.is_set():  # the stop killed it: the run is reviewed after restart
                log.info("review stopped by the shutdown", run=run.run_key)
                return
            self._review_failed(run, jobs, error)
            return
        self._review_failures.pop(run.id, None)
        review = reviewed.review
        self.metrics.reviewed(time.monotonic() - started, review.bytes_scanned)
        recalled = self._recall(run, jobs, review)
        with self.store.transaction():
            review_id = self.store.save_review(run.id, reviewed.document)
            announced = self.announcer().review(run, jobs, review, review_id, recalled.memory)
            recalled.keep(self.store, announced)
        log.info("reviewed", run=run.run_key, verdict=str(review.verdict),
                 announced=[job.display_id for job in announced])  # fmt: skip

    def _recall(self, run: StoredRun, jobs: list[StoredJob], review: RunReview) -> Recalled:
        """The failed tasks' fingerprints and what the daemon remembers of each (database,
        Slack permalinks, experiments on disk: no lock held). A lookup that raises costs the
        replies their memory, never the replies."""
        policy = self._read_policy(run)
        recall = Recall(self.store, self.sender.transport, policy, self.clock.time())
        try:
            return recall.review(run, jobs, review)
        except Exception:
            log.exception("failure memory lookup failed; replying without it", run=run.run_key)
            return Recalled()

    def _review_failed(self, run: StoredRun, jobs: list[StoredJob], error: ReviewError) -> None:
        self.health.review_errors += 1
        failures = self._review_failures.setdefault(run.id, _ReviewFailures())
        failures.count += 1
        # in-process: the traceback is the cause's; from a worker: its text in `detail`
        log.exception("review failed", run=run.run_key, attempt=failures.count,
                      detail=error.detail or None)  # fmt: skip
        if failures.count < REVIEW_ATTEMPTS:
            failures.retry_at = self.clock.time() + REVIEW_RETRY_SECONDS
            return
        reason = redact(error.reason)[:300]
        with self.store.transaction():
            self.announcer().review_failed(run, jobs, reason)
        self._review_failures.pop(run.id, None)

    # ------------------------------------------------------------------ send
    def send_cycle(self) -> bool:
        """Deliver what the outbox owes (no lock held while Slack answers). True when rows
        are still due after this cycle's time budget."""
        result = self.sender.drain(deadline=self.clock.monotonic() + SEND_BUDGET_SECONDS)
        self._record_delivery(result)
        if result.more:
            return not self.stopping.is_set()
        self.store.checkpoint_after_burst()  # a backlog sent: the WAL it left is folded back
        return False

    def _record_delivery(self, result: DrainResult) -> None:
        """One warning when Slack starts failing, one line when it answers again; permanent
        refusals (a parked message, a bad token) each say what they were."""
        health = self.health
        health.slack_blocked = result.blocked
        if result.outage_began is not None:
            log.warning("slack is failing; messages wait in the outbox",
                        error=result.outage_began.last_error)  # fmt: skip
        if result.outage_ended is not None:
            ended = result.outage_ended
            log.info("slack answers again; sending the backlog",
                     after_seconds=round(self.clock.time() - ended.since, 1),
                     failed_tries=ended.failures, last_error=ended.last_error)  # fmt: skip
            health.slack_errors = []
        outage = self.sender.outage
        health.slack_failing_since = outage.since if outage else None
        health.slack_last_error = outage.last_error if outage else None
        health.slack_failed_tries = outage.failures if outage else 0
        refused = result.refused
        if refused:
            health.slack_errors = (health.slack_errors + refused)[-20:]
            log.warning("slack refused messages", errors=refused[:5], blocked=result.blocked)

    # ------------------------------------------------------------------ housekeeping
    def housekeeping_cycle(self) -> bool:
        """Drop ended jobs' log positions; checkpoint the WAL. Outbox rows stay: their keys are
        what keeps a job from being announced twice."""
        with self.store.lock:
            forgotten = self.store.forget_positions_of_ended_jobs()
            self.store.checkpoint()
        self.check_roots()  # a root made readable (or not) since
        log.debug("housekeeping", positions_forgotten=forgotten)
        return False
