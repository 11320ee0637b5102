"""`eagle3-monitor run`: the service around the daemon's cycles.

Startup builds the real parts (the state database, the Slurm backend, the Slack transport),
opens the status socket, starts the scheduler, then says READY=1. An APScheduler
BackgroundScheduler runs each cycle as `while cycle(): ...` (no overlapping polls, late runs
coalesced; reviews in up to `review_workers` threads). A cycle also runs at once when woken
(`Daemon.wake`: an ended job to review, an outbox row to send); woken while it runs, it goes
round once more. The main thread owns signals (handlers only set flags), watchdog pings (only
while polls happen), SIGHUP reloads and a bounded shutdown: after `shutdown_timeout_seconds`
the process exits whatever is still in flight (a hung sacct is killed; a half-sent Slack
message is found again after a restart). A second SIGINT forces the exit."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from eagle3_monitor import __version__
from eagle3_monitor.config import load_config_and_catalog
from eagle3_monitor.service.daemon import Daemon, DaemonConfig
from eagle3_monitor.service.launches import LaunchWatcher
from eagle3_monitor.service.metrics import Metrics
from eagle3_monitor.service.review_worker import WorkerPool
from eagle3_monitor.service.sd_notify import SystemdNotifier, watchdog_interval
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from eagle3_monitor.slack.setup import make_transport
from eagle3_monitor.slurm.backend import make_backend
from eagle3_monitor.state.store import Store

log = structlog.get_logger("eagle3_monitor")
EXIT_STARTUP_FAILED = 3
HOUSEKEEPING_SECONDS = 600.0
# Every poll and every end a log announces wake the review at once; this check only finds
# retries that came due and retires idle review workers, so it need not run often.
REVIEW_CHECK_SECONDS = 5.0
# On a login node's VM a thread that wakes from a sleep costs milliseconds of CPU however little
# it does (its memory went cold: bench/daemon_bench.py), so an idle daemon wakes as few threads
# as it can: the poll's (every `idle_poll_interval_seconds` while nothing is pending or running),
# and these rare ones.
STATUS_SECONDS = 60.0  # systemd's STATUS= line (`systemctl status` shows it; a minute is fresh)
# A cycle with nothing to do (nothing owed to Slack, no job running) is not run at its interval
# but woken when work comes (a row added, a poll that sees a running job); this is how often it
# still looks, in case.
IDLE_RECHECK_SECONDS = 300.0
MAIN_LOOP_SECONDS = 300.0  # the main thread's longest sleep (signals and wakes interrupt it)


def load_daemon_config(config_path: Path | None) -> DaemonConfig:
    loaded, catalog = load_config_and_catalog(config_path)
    return DaemonConfig(loaded.config, catalog)


class _Flag(threading.Event):
    """A flag for the main thread: setting it also wakes the main thread's sleep."""

    def __init__(self, attention: threading.Event) -> None:
        super().__init__()
        self.attention = attention

    def set(self) -> None:
        super().set()
        self.attention.set()


class Service:
    """Runs a `Daemon`'s cycles on a schedule, serves its status socket, talks to systemd."""

    def __init__(self, daemon: Daemon, config_path: Path | None) -> None:
        self.daemon = daemon
        self.config_path = config_path
        self.systemd = SystemdNotifier()
        self.attention = threading.Event()  # the main thread has a flag to look at
        self.stop_event = _Flag(self.attention)
        self.reload_event = _Flag(self.attention)
        self._busy = threading.Condition()
        self._cycles_running = 0
        self._running: dict[str, int] = {}  # cycle name -> instances running now
        self._instances: dict[str, int] = {}
        self._woken: dict[str, threading.Event] = {}
        self._period: dict[str, float] = {}  # cycle name -> its interval as last scheduled
        self._rhythm: dict[str, tuple[float, float]] = {}  # cycle name -> (busy, idle) interval
        config = daemon.config
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        policy = AccessPolicy(config.status.allowed_users, config.status.allowed_groups)
        self.socket = StatusSocket(config.socket_path(), daemon.status.handle, policy)
        self.launches = self._launch_watcher()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        daemon = self.daemon
        daemon.metrics.serve()  # metrics.listen: /metrics on loopback
        self.socket.start()
        daemon.wake = self._wake
        self._rhythm = self._configured_rhythm()
        self._every("poll", daemon.poll_cycle, first_now=True, idle=daemon.nothing_to_poll_for)
        self._every("follow", daemon.follow_cycle, idle=daemon.nothing_to_follow)
        self._every("review", daemon.review_cycle, idle=daemon.nothing_to_review,
                    instances=daemon.config.daemon.review_workers)  # fmt: skip
        self._every("send", daemon.send_cycle, idle=daemon.nothing_to_send)
        self._every("housekeeping", daemon.housekeeping_cycle)
        self.scheduler.start()
        self.launches.start()
        self.systemd.ready(daemon.status.summary())
        log.info(
            "started",
            version=__version__,
            database=str(daemon.store.path),
            socket=str(self.socket.path),
        )

    def _configured_rhythm(self) -> dict[str, tuple[float, float]]:
        """Each cycle's interval while it has work, and while it has none."""
        rhythm = self.daemon.config.daemon
        return {
            "poll": (rhythm.poll_interval_seconds, rhythm.idle_poll_seconds),
            "follow": (rhythm.follow_interval_seconds, IDLE_RECHECK_SECONDS),
            "review": (REVIEW_CHECK_SECONDS, IDLE_RECHECK_SECONDS),
            "send": (rhythm.send_interval_seconds, IDLE_RECHECK_SECONDS),
            "housekeeping": (HOUSEKEEPING_SECONDS, HOUSEKEEPING_SECONDS),
        }

    def _every(
        self,
        name: str,
        cycle: Callable[[], bool],
        *,
        instances: int = 1,
        first_now: bool = False,
        idle: Callable[[], bool] | None = None,
    ) -> None:
        """Run `cycle` at its rhythm's busy interval, or, while `idle()` says it has nothing
        to do, only when woken (and at its idle interval)."""
        woken = self._woken[name] = threading.Event()
        self._instances[name] = instances
        seconds = self._period[name] = self._rhythm[name][0]

        def drain() -> None:
            with self._busy:
                self._cycles_running += 1
                self._running[name] = self._running.get(name, 0) + 1
            try:
                self._drain(cycle, woken)
                busy, idle_seconds = self._rhythm[name]
                resting = idle is not None and idle()
                self._period[name] = idle_seconds if resting else busy
                if resting:
                    self._postpone(name, idle_seconds)
            except Exception:  # one failing cycle must not end the service
                log.exception("cycle failed", cycle=name)
            finally:
                with self._busy:
                    self._cycles_running -= 1
                    self._running[name] -= 1
                    self._busy.notify_all()
            if name == "poll":
                if not self.daemon.nothing_to_review():  # a job the poll saw end
                    self._wake("review")
                if not self.daemon.nothing_to_follow():  # a job the poll saw start
                    self._wake("follow")
            elif woken.is_set():  # woken between its last round (or its postponing) and its end
                self._wake(name)

        first = {"next_run_time": _now()} if first_now else {}  # None would add it paused
        self.scheduler.add_job(
            drain, "interval", seconds=seconds, id=name, max_instances=instances, **first
        )

    def _postpone(self, name: str, seconds: float) -> None:
        """The cycle's next run in `seconds`, unless woken before (a wake moves it to now)."""
        try:
            self.scheduler.modify_job(name, next_run_time=_now() + timedelta(seconds=seconds))
        except Exception as error:  # the scheduler shutting down meanwhile
            log.debug("could not postpone a cycle", cycle=name, error=str(error))

    def _drain(self, cycle: Callable[[], bool], woken: threading.Event) -> None:
        """`while cycle(): ...`, and round again when woken meanwhile."""
        while not self.stop_event.is_set():
            woken.clear()
            while not self.stop_event.is_set() and cycle():
                pass
            if not woken.is_set():
                return

    def _wake(self, name: str) -> None:
        """Run a cycle now: started when it may run another instance, else the running one
        goes round once more."""
        woken = self._woken.get(name)
        if woken is None or self.stop_event.is_set() or not self.scheduler.running:
            return
        woken.set()
        with self._busy:
            full = self._running.get(name, 0) >= self._instances[name]
        if not full:
            woken.clear()
            try:  # called inside the daemon's transactions: must never raise
                self.scheduler.modify_job(name, next_run_time=_now())
            except Exception as error:  # the scheduler shutting down meanwhile
                log.debug("could not wake a cycle", cycle=name, error=str(error))

    def run_forever(self) -> int:
        interval = watchdog_interval()
        status_due = time.monotonic() + STATUS_SECONDS
        while not self.stop_event.is_set():
            # woken by a signal's flag (stop, reload); else at the next watchdog ping or STATUS=
            self.attention.wait(self._main_loop_sleep(interval, status_due))
            self.attention.clear()
            if self.reload_event.is_set():
                self.reload_event.clear()
                self.reload()
            healthy = self.daemon.healthy(self._period["poll"])
            if interval is not None and self.scheduler.running and healthy:
                self.systemd.watchdog()
            if self.systemd.enabled and time.monotonic() >= status_due:
                status_due = time.monotonic() + STATUS_SECONDS
                self.systemd.status(self.daemon.status.summary())
        return self.shutdown()

    def _main_loop_sleep(self, watchdog: float | None, status_due: float) -> float:
        sleep = MAIN_LOOP_SECONDS if watchdog is None else min(watchdog, MAIN_LOOP_SECONDS)
        if self.systemd.enabled:
            sleep = min(sleep, max(0.0, status_due - time.monotonic()))
        return sleep

    def shutdown(self) -> int:
        """Bounded: whatever is in flight after the timeout is abandoned, never waited for."""
        budget = self.daemon.config.daemon.shutdown_timeout_seconds
        deadline = time.monotonic() + budget
        self.systemd.stopping()
        log.info("stopping")
        self.daemon.stopping.set()
        self.daemon.backend.close()  # a hung sacct is killed, not waited out
        self.daemon.reviewer.close()  # review workers killed and reaped: redone after a restart
        self.socket.close()
        self.launches.close()
        self.daemon.metrics.close()
        self.scheduler.shutdown(wait=False)
        idle = self._wait_for_cycles(deadline - min(5.0, budget / 2))
        if idle:  # one last delivery within what is left of the budget
            self.daemon.sender.drain(deadline=deadline)
            self.daemon.store.close()
        log.info("stopped", clean=idle)
        return 0

    def _wait_for_cycles(self, deadline: float) -> bool:
        """Wait until no cycle runs any more, or the deadline; True when none runs."""
        with self._busy:
            return self._busy.wait_for(
                lambda: self._cycles_running == 0, timeout=max(0.0, deadline - time.monotonic())
            )

    def reload(self) -> None:
        """SIGHUP: re-read the config; a bad one is logged and the old one kept."""
        try:
            config = load_daemon_config(self.config_path)
            transport = make_transport(config.config)
            backend = make_backend(config.config.slurm.backend, config.config.sacct_settings(),
                                   self.daemon.metrics.slurm_call)  # fmt: skip
        except Exception as error:
            log.error("reload failed, keeping the old config", error=str(error))
            return
        self.daemon.reconfigure(config, backend, transport)
        self._retime()
        watcher = self._launch_watcher()
        if watcher.roots != self.launches.roots:
            self.launches.close()
            self.launches = watcher
            watcher.start()
        log.info("reloaded the config")

    def _retime(self) -> None:
        """A reload's new intervals, counted from now (the review workers' number and the
        status socket take a restart)."""
        for name, (busy, idle) in self._configured_rhythm().items():
            if name not in self._rhythm or self._rhythm[name] == (busy, idle):
                continue
            self._rhythm[name] = (busy, idle)
            self._period[name] = busy
            try:
                self.scheduler.reschedule_job(name, trigger="interval", seconds=busy)
            except Exception as error:  # the scheduler shutting down meanwhile
                log.warning("could not apply a new interval", cycle=name, error=str(error))
                continue
            log.info("new interval", cycle=name, seconds=busy, idle_seconds=idle)

    def _launch_watcher(self) -> LaunchWatcher:
        roots = self.daemon.config.watch_settings().experiment_roots
        return LaunchWatcher(roots, self.daemon.experiment_appeared)


def _now() -> datetime:
    return datetime.now(UTC)


def install_signal_handlers(service: Service) -> None:
    """Handlers only set flags; a second SIGINT forces the exit."""
    interrupts = 0

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupts
        if signum == signal.SIGINT:
            interrupts += 1
            if interrupts > 1:
                os._exit(130)
        service.stop_event.set()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        service.reload_event.set()

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: thread stacks to stderr
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


def build_daemon(config: DaemonConfig, backfill_hours: float | None = None) -> Daemon:
    """The real parts: the state database, the configured Slurm backend and Slack transport,
    reviews in worker processes."""
    settings = config.config
    store = Store.open(settings.database_path())
    metrics = Metrics(settings.metrics)
    backend = make_backend(settings.slurm.backend, settings.sacct_settings(), metrics.slurm_call)
    transport = make_transport(settings)
    return Daemon(config, store, backend, transport, reviewer=WorkerPool(config.catalog),
                  backfill_hours=backfill_hours, metrics=metrics)  # fmt: skip


def run_daemon(config_path: Path | None, backfill_hours: float | None = None) -> int:
    """Start, serve until SIGTERM/SIGINT, stop. Exit 3 when startup fails. Threads still busy
    after the bounded shutdown (a Slack call in its retries) do not hold the exit up.
    `backfill_hours` (`run --backfill`): see `Daemon`."""
    try:
        daemon = build_daemon(load_daemon_config(config_path), backfill_hours)
        service = Service(daemon, config_path)
        install_signal_handlers(service)
        service.start()
    except Exception as error:
        log.error("startup failed", error=str(error))
        return EXIT_STARTUP_FAILED
    code = service.run_forever()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # worker threads are joined at interpreter exit: do not wait for them
