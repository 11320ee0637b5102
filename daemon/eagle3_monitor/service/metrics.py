"""The daemon's metrics for Prometheus, without opening a port: after every poll they are
written in the text exposition format to `metrics.textfile` for node_exporter's textfile
collector (a temporary file in the same directory, fsync'd, renamed over the old one: a reader
never sees half a file), and, when `metrics.listen` names a loopback address, served there too.

One `Metrics` per daemon, on a registry of its own (never prometheus_client's global one, so
tests and two daemons in one process do not mix). The daemon's parts are handed its methods as
observers (`slurm_call` to the Slurm backend, itself to the Slack sender); the store's gauges
(runs and tasks by verdict and root-cause category, Slurm jobs by state, the outbox) are read
after a poll and only when the database changed since the last reading. Labels are bounded:
verdicts, categories, Slurm states, call and error kinds; never a run, job, user or path.
Writing the metrics never stops the daemon: a failure is logged once (and again only after a
success), counted, and the next poll tries again."""

from __future__ import annotations

import collections
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from eagle3_monitor import __version__
from eagle3_monitor.config import MetricsSection, loopback_address
from eagle3_monitor.slack.transport import ERROR_KINDS
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.state.store import Store
from eagle3_monitor.vocabulary import Category, RunVerdict, TaskVerdict

log = structlog.get_logger("eagle3_monitor")
PREFIX = "eagle3_monitor"
TEXTFILE_MODE = 0o644  # node_exporter runs as another user: it must be able to read the file
# Job end → Slack accepted its reply: the daemon aims at seconds; a Slack outage makes minutes.
LATENCY_BUCKETS = (1, 2, 3, 5, 10, 15, 30, 60, 120, 300, 900, 3600)
SLURM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
REVIEW_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)
SLURM_CALLS = ("sacct", "scontrol", "slurmdbd", "slurmctld")  # sacct CLI; pyslurm's daemons
NO_VALUE = "none"  # a run or task with no root cause; a run not reviewed yet is "unreviewed"
UNREVIEWED = "unreviewed"
OTHER = "other"  # a value outside the known vocabulary (a newer review document)
_KNOWN_CATEGORIES = {str(category) for category in Category}
_KNOWN_TASK_VERDICTS = {str(verdict) for verdict in TaskVerdict}
_KNOWN_RUN_VERDICTS = {str(verdict) for verdict in RunVerdict}
_KNOWN_JOB_STATES = {str(state) for state in JobState}
Labels = TypeVar("Labels", bound=tuple[str, ...])


def _bounded(value: object, known: set[str]) -> str:
    if value is None:
        return NO_VALUE
    return str(value) if str(value) in known else OTHER


@dataclass
class _RunFigures:
    """What one run's latest review says, for the gauges: read once per review, not per poll."""

    review_id: int
    verdict: str
    category: str
    tasks: list[tuple[str, str]]  # (verdict, root-cause category) per task


@dataclass
class StoreFigures:
    """The store's side of the metrics, as of the last reading."""

    runs: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    tasks: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    jobs: collections.Counter[str] = field(default_factory=collections.Counter)  # Slurm state
    outbox_pending: int = 0
    outbox_parked: int = 0
    oldest_pending_at: float | None = None  # unix time the oldest unsent row was queued


class StoreGauges(Collector):
    """Gauges read from the database: refreshed by the poll thread (`refresh`), reported from
    the figures last read (a scrape never touches the database)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.figures = StoreFigures()
        self._runs: dict[int, _RunFigures] = {}
        self._changes_seen: int | None = None

    def refresh(self, store: Store) -> None:
        """Read the figures again, unless nothing was written since the last reading."""
        with store.lock:
            changes = store.connection.total_changes
            if changes == self._changes_seen:
                return
            self._changes_seen = changes
            self.figures = self._read(store)

    def _read(self, store: Store) -> StoreFigures:
        connection = store.connection
        latest = {
            int(run_id): int(review_id)
            for run_id, review_id in connection.execute(
                "SELECT run_id, MAX(id) FROM reviews WHERE run_id IS NOT NULL GROUP BY run_id"
            )
        }
        self._forget_and_read_new(store, latest)
        figures = StoreFigures()
        for run in self._runs.values():
            figures.runs[(run.verdict, run.category)] += 1
            figures.tasks.update(run.tasks)
        runs = int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        if runs > len(self._runs):
            figures.runs[(UNREVIEWED, NO_VALUE)] = runs - len(self._runs)
        for state, count in connection.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            figures.jobs[_bounded(state, _KNOWN_JOB_STATES)] += int(count)
        pending, oldest = connection.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        figures.outbox_pending = int(pending)
        figures.oldest_pending_at = datetime.fromisoformat(oldest).timestamp() if oldest else None
        parked = connection.execute("SELECT COUNT(*) FROM outbox WHERE status = 'parked'")
        figures.outbox_parked = int(parked.fetchone()[0])
        return figures

    def _forget_and_read_new(self, store: Store, latest: dict[int, int]) -> None:
        """Keep each run's figures while its latest review is the same; read the new ones."""
        self._runs = {
            run: figures
            for run, figures in self._runs.items()
            if latest.get(run) == figures.review_id
        }
        for run_id, review_id in latest.items():
            if run_id not in self._runs:
                row = store.connection.execute(
                    "SELECT document FROM reviews WHERE id = ?", (review_id,)
                ).fetchone()
                self._runs[run_id] = _run_figures(review_id, row[0])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = self.figures
        yield _family("runs", "Pipeline runs by their latest review's verdict and root-cause "
                      "category (`unreviewed`: no job ended yet)", ["verdict", "category"],
                      figures.runs)  # fmt: skip
        yield _family("tasks", "Tasks of the runs by their latest review's verdict and "
                      "root-cause category", ["verdict", "category"], figures.tasks)  # fmt: skip
        yield _family("slurm_jobs", "Slurm jobs of the runs by their last polled state",
                      ["state"], {(state,): n for state, n in figures.jobs.items()})  # fmt: skip
        yield GaugeMetricFamily(f"{PREFIX}_outbox_pending_messages",
                                "Slack messages queued and not yet accepted by Slack",
                                value=figures.outbox_pending)  # fmt: skip
        yield GaugeMetricFamily(f"{PREFIX}_outbox_parked_messages",
                                "Slack messages given up on (refused permanently)",
                                value=figures.outbox_parked)  # fmt: skip
        oldest = figures.oldest_pending_at
        age = max(0.0, self.clock() - oldest) if oldest is not None else 0.0
        yield GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds",
                                "Age of the oldest Slack message still queued (0: none is)",
                                value=age)  # fmt: skip


def _family(
    name: str, documentation: str, labels: list[str], values: Mapping[Labels, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
    for label_values, count in sorted(values.items()):
        family.add_metric(list(label_values), count)
    return family


def _run_figures(review_id: int, document_text: str) -> _RunFigures:
    """A stored review/1 document's verdicts and categories, each from a bounded set."""
    try:
        document = json.loads(document_text)
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    tasks = [task for task in document.get("tasks") or [] if isinstance(task, dict)]
    return _RunFigures(
        review_id,
        _bounded(document.get("verdict"), _KNOWN_RUN_VERDICTS),
        _bounded(_cause_category(document), _KNOWN_CATEGORIES),
        [
            (
                _bounded(task.get("verdict"), _KNOWN_TASK_VERDICTS),
                _bounded(_cause_category(task), _KNOWN_CATEGORIES),
            )
            for task in tasks
        ],
    )


def _cause_category(document: dict[str, object]) -> object:
    cause = document.get("root_cause")
    return cause.get("category") if isinstance(cause, dict) else None


class TextfileWriter:
    """Writes the registry to a `*.prom` file atomically: a temporary file in the same
    directory (so the rename stays on one filesystem; not `*.prom`, so the collector never
    reads it), fsync'd, mode 0644, renamed over the old one, the directory fsync'd."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, content: bytes) -> None:
        """Raises OSError when it cannot; leaves no temporary file behind."""
        directory = self.path.parent
        descriptor, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                os.fchmod(file.fileno(), TEXTFILE_MODE)
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """The rename made durable (best effort: some filesystems refuse a directory's fsync)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class Metrics:
    """Every metric of one daemon, on its own registry; the textfile and HTTP exports."""

    def __init__(
        self, settings: MetricsSection | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: they double every counter's lines
        self.settings = settings or MetricsSection()
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()  # the textfile is written by one thread at a time
        self._write_failing = False
        self._server: WSGIServer | None = None
        self._define()
        self.store = StoreGauges(clock)
        self.registry.register(self.store)

    def _define(self) -> None:
        registry, p = self.registry, PREFIX
        self.build_info = Gauge(f"{p}_build_info", "The running eagle3-monitor (value 1)",
                                ["version", "python"], registry=registry)  # fmt: skip
        self.build_info.labels(__version__, platform.python_version()).set(1)
        self.start_time = Gauge(f"{p}_start_time_seconds", "When the daemon started (unix time)",
                                registry=registry)  # fmt: skip
        self.start_time.set(self.clock())
        self.polls = Counter(f"{p}_polls", "Polls of Slurm, by result (ok, failed)", ["result"],
                             registry=registry)  # fmt: skip
        self.last_successful_poll = Gauge(
            f"{p}_last_successful_poll_timestamp_seconds",
            "When a poll of Slurm last succeeded (unix time; 0: none yet)", registry=registry,
        )  # fmt: skip
        self.slurm_calls = Counter(
            f"{p}_slurm_calls", "Calls to Slurm (sacct, scontrol; pyslurm: slurmdbd, slurmctld)",
            ["call"], registry=registry,
        )  # fmt: skip
        self.slurm_call_errors = Counter(
            f"{p}_slurm_call_errors", "Calls to Slurm that failed or timed out", ["call"],
            registry=registry,
        )  # fmt: skip
        self.slurm_call_duration = Histogram(
            f"{p}_slurm_call_duration_seconds", "How long a call to Slurm took", ["call"],
            buckets=SLURM_BUCKETS, registry=registry,
        )  # fmt: skip
        self.alert_latency = Histogram(
            f"{p}_alert_latency_seconds",
            "From a job's end (Slurm's End) to Slack accepting its reply",
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.slack_messages = Counter(
            f"{p}_slack_messages", "Messages Slack accepted, by event (parent, update, final, "
            "finished, early, stall, recovered)", ["event"], registry=registry,
        )  # fmt: skip
        self.slack_errors = Counter(
            f"{p}_slack_errors", f"Failed Slack calls, by kind ({', '.join(ERROR_KINDS)})",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.reviews = Counter(f"{p}_reviews", "Reviews of runs, by result (ok, failed)",
                               ["result"], registry=registry)  # fmt: skip
        self.review_duration = Histogram(
            f"{p}_review_duration_seconds", "How long a run's review took (worker included)",
            buckets=REVIEW_BUCKETS, registry=registry,
        )  # fmt: skip
        self.review_bytes = Counter(f"{p}_review_scanned_bytes", "Log bytes the reviews read",
                                    registry=registry)  # fmt: skip
        self.write_errors = Counter(
            f"{p}_metrics_write_errors", "Failed writes of the metrics textfile", registry=registry
        )
        for call in SLURM_CALLS[:2]:  # the usual ones shown at 0 before their first call
            self.slurm_calls.labels(call)
            self.slurm_call_errors.labels(call)
        for result in ("ok", "failed"):
            self.polls.labels(result)
            self.reviews.labels(result)
        for kind in ERROR_KINDS:
            self.slack_errors.labels(kind)

    # ------------------------------------------------------------------ observers
    def slurm_call(self, call: str, seconds: float, ok: bool) -> None:
        """A call to Slurm (the backends' observer)."""
        call = call if call in SLURM_CALLS else OTHER
        self.slurm_calls.labels(call).inc()
        self.slurm_call_duration.labels(call).observe(seconds)
        errors = self.slurm_call_errors.labels(call)  # shown at 0 until the first error
        if not ok:
            errors.inc()

    def accepted(self, event: str, since_job_end: float | None) -> None:
        """Slack accepted a message (the sender's observer)."""
        self.slack_messages.labels(event or OTHER).inc()
        if since_job_end is not None:
            self.alert_latency.observe(since_job_end)

    def failed(self, kind: str) -> None:
        """A Slack call failed (the sender's observer)."""
        self.slack_errors.labels(kind if kind in ERROR_KINDS else OTHER).inc()

    def polled(self, ok: bool, at: float) -> None:
        self.polls.labels("ok" if ok else "failed").inc()
        if ok:
            self.last_successful_poll.set(at)

    def reviewed(self, seconds: float, bytes_scanned: int | None) -> None:
        """A review done (`bytes_scanned`) or failed (None)."""
        self.reviews.labels("failed" if bytes_scanned is None else "ok").inc()
        self.review_duration.observe(seconds)
        if bytes_scanned:
            self.review_bytes.inc(bytes_scanned)

    # ------------------------------------------------------------------ exports
    @property
    def exported(self) -> bool:
        return bool(self.settings.textfile or self._server is not None)

    def export(self, store: Store) -> None:
        """After a poll: the store's gauges read again and the textfile written, when either
        export is on. Never raises."""
        if not self.exported:
            return
        try:
            self.store.refresh(store)
        except Exception as error:  # a locked or closing database: the old figures stay
            log.warning("could not read the metrics from the database", error=str(error))
        if self.settings.textfile:
            self.write_textfile(Path(self.settings.textfile).expanduser())

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def write_textfile(self, path: Path) -> bool:
        """Write the textfile; a failure is counted and logged once until a write works again.
        True when written."""
        with self._lock:
            try:
                TextfileWriter(path).write(self.render())
            except Exception as error:
                self.write_errors.inc()
                if not self._write_failing:
                    log.warning("cannot write the metrics file; the daemon goes on without it",
                                path=str(path), error=str(error))  # fmt: skip
                self._write_failing = True
                return False
            if self._write_failing:
                log.info("metrics file written again", path=str(path))
            self._write_failing = False
            return True

    def serve(self) -> None:
        """Serve /metrics on the loopback address `metrics.listen`, if set (raises OSError
        when the port is taken: the daemon then does not start)."""
        if not self.settings.listen or self._server is not None:
            return
        host, port = loopback_address(self.settings.listen)
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("serving metrics", address=self.settings.listen)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def configure(self, settings: MetricsSection) -> None:
        """SIGHUP: a new textfile path applies from the next poll; a new listen address needs a
        restart (the port stays as it was)."""
        if settings.listen != self.settings.listen:
            log.warning("metrics.listen changed: it applies after a restart")
            settings = settings.model_copy(update={"listen": self.settings.listen})
        self.settings = settings


def metric_names(registry: CollectorRegistry) -> Iterable[str]:
    """Every sample name the registry exports (for tests and the dashboard check)."""
    for family in registry.collect():
        for sample in family.samples:
            yield sample.name
