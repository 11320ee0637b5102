"""Reviews in worker processes, so the memory a review takes is given back to the system.

A review reads logs and artifacts, imports the renderers and compiles regex databases: a long
daemon that did that in-process kept the high-water mark for good. Here each review runs in a
child process (a fresh interpreter started with `sys.executable`, nothing inherited from the
daemon's threads or its `__main__`, talking over a socket pair) that the daemon keeps while
reviews keep coming and retires after `idle_seconds` without one, or after
`reviews_per_worker` reviews; the daemon itself only stores and announces the result.

The child gets the run, its jobs and the `ReviewSettings` with the run's read policy, exactly
as the daemon built them, runs `service/run_review.review_run` and sends back the frozen
`RunReview` and its JSON document. Anything that goes wrong becomes a `ReviewError` in the
daemon, never a crash there: the child raised (its exception's type and message, its traceback
for the log), died (killed, out of memory) or took longer than `timeout` (then it is killed).
The child ignores SIGINT (a terminal's ^C is the daemon's to handle) and exits when the daemon
goes away (its pipe closes)."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import structlog

from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.run import ReviewSettings
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.rules.model import Rule
from eagle3_monitor.state.store import StoredJob, StoredRun

log = structlog.get_logger("eagle3_monitor")
REVIEW_TIMEOUT_SECONDS = 900.0  # a scan is cut short after 120 s; the rest is artifacts
WORKER_IDLE_SECONDS = 30.0
REVIEWS_PER_WORKER = 50
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Reviewed:
    """A finished review and the JSON document the store keeps."""

    review: RunReview
    document: dict[str, Any]


class ReviewError(Exception):
    """The review could not be done; `reason` is what the run's failure message says and
    `detail` (the child's traceback, or what happened to it) what the log says."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Reviewer(Protocol):
    """How the daemon has a run reviewed."""

    def review(
        self, run: StoredRun, jobs: Sequence[StoredJob], settings: ReviewSettings
    ) -> Reviewed: ...

    def use_catalog(self, catalog: Catalog) -> None: ...

    def retire_idle(self) -> None: ...

    def close(self) -> None: ...


def review_document(
    run: StoredRun, jobs: Sequence[StoredJob], catalog: Catalog, settings: ReviewSettings
) -> Reviewed:
    """The review and its JSON document (what a worker does, and in-process reviews too)."""
    from eagle3_monitor.report.json_report import review_to_json  # noqa: PLC0415 - only here
    from eagle3_monitor.service.run_review import review_run  # noqa: PLC0415 - only here

    review = review_run(run, jobs, catalog, settings)
    return Reviewed(review, review_to_json(review))


class InProcessReviewer:
    """Reviews in the calling thread (unit tests, and anyone who wants no child process)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def review(
        self, run: StoredRun, jobs: Sequence[StoredJob], settings: ReviewSettings
    ) -> Reviewed:
        try:
            return review_document(run, jobs, self.catalog, settings)
        except Exception as error:  # the traceback is the cause's
            raise ReviewError(_reason(error)) from error

    def use_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def retire_idle(self) -> None:
        pass

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------- the child
@dataclass(frozen=True)
class WorkerOptions:
    """What a child is started with: the catalog's rules (compiled again there) and how the
    daemon logs."""

    rules: tuple[Rule, ...]
    log_level: str = "info"
    log_json: bool | None = None


# The child's command line: the daemon's import path, then the worker's loop on its socket.
_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from eagle3_monitor.service.review_worker import main; main(int(sys.argv[2]))"
)


def main(descriptor: int) -> None:
    """The child's entry: its options come first on the socket, then requests."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C on a terminal is the daemon's to handle
    connection = Connection(descriptor)
    try:
        options: WorkerOptions = connection.recv()
    except (EOFError, OSError):
        return
    serve(connection, options)


def serve(connection: Connection, options: WorkerOptions) -> None:
    """One request in, one answer out, until the daemon closes the socket."""
    from eagle3_monitor.service.logging_setup import configure_logging  # noqa: PLC0415

    configure_logging(options.log_level, options.log_json)
    catalog = compile_rules(options.rules)
    connection.send(("ready", None))
    while True:
        try:
            run, jobs, settings = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", review_document(run, jobs, catalog, settings))
        except BaseException as error:  # everything goes back to the daemon, as text
            answer = ("error", (_reason(error), traceback.format_exc()))
        try:
            connection.send(answer)
        except (OSError, ValueError):
            return


def compile_rules(rules: Sequence[Rule]) -> Catalog:
    """The daemon's catalog rebuilt from its (validated, enabled) rules."""
    import re2  # noqa: PLC0415

    from eagle3_monitor.rules.catalog import CompiledRule, re2_options  # noqa: PLC0415

    options = re2_options()
    compiled = [CompiledRule(rule, re2.compile(rule.regex.encode(), options)) for rule in rules]
    return Catalog(compiled)


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------- the daemon's side
@dataclass(eq=False)  # compared and hashed by identity
class _Worker:
    process: subprocess.Popen[bytes]
    connection: Connection
    generation: int
    reviews: int = 0
    idle_since: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Close the socket (the child exits), reap it; killed when it does not go at once."""
        self.connection.close()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL and reap (a child never stays a zombie)."""
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
            log.warning("a review worker outlived SIGKILL", pid=self.pid)
        self.connection.close()

    def death(self) -> str:
        """What ended a child that stopped answering."""
        try:
            code = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return "the review worker stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            oom = " (out of memory?)" if name == "SIGKILL" else ""
            return f"the review worker was killed by {name}{oom}"
        return f"the review worker exited with status {code}"


class WorkerPool:
    """Child processes that review, one review at a time each. `review` is called from
    several daemon threads at once; each takes an idle worker or starts one."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        timeout: float = REVIEW_TIMEOUT_SECONDS,
        idle_seconds: float = WORKER_IDLE_SECONDS,
        reviews_per_worker: int = REVIEWS_PER_WORKER,
    ) -> None:
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self.reviews_per_worker = reviews_per_worker
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self._generation = 0
        self._options = _options_for(catalog)

    # ------------------------------------------------------------------ reviewing
    def review(
        self, run: StoredRun, jobs: Sequence[StoredJob], settings: ReviewSettings
    ) -> Reviewed:
        worker = self._take()
        try:
            kind, payload = self._ask(worker, (run, list(jobs), settings))
        except BaseException:  # a worker that failed is killed, never reused
            self._discard(worker)
            raise
        self._give_back(worker)
        if kind == "ok" and isinstance(payload, Reviewed):
            return payload
        reason, detail = payload
        raise ReviewError(str(reason), str(detail))

    def _ask(self, worker: _Worker, request: object) -> tuple[str, Any]:
        try:
            worker.connection.send(request)
            if not worker.connection.poll(self.timeout):
                raise ReviewError(
                    f"the review took longer than {self.timeout:g} s and was stopped",
                    f"review worker {worker.pid} killed after {self.timeout:g} s",
                )
            answer: tuple[str, Any] = worker.connection.recv()
        except (EOFError, OSError) as error:
            reason = "the daemon is stopping" if self._closed else worker.death()
            raise ReviewError(reason, f"review worker {worker.pid}: {error!r}") from None
        return answer

    # ------------------------------------------------------------------ the workers
    def _take(self) -> _Worker:
        with self._lock:
            self._refuse_when_closed()
            while self._idle:
                worker = self._idle.pop()
                if worker.generation == self._generation and worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.stop()
            options, generation = self._options, self._generation
        worker = _start(options, generation)
        with self._lock:
            if self._closed:
                worker.kill()
            self._refuse_when_closed()
            self._busy.add(worker)
        return worker

    def _refuse_when_closed(self) -> None:
        if self._closed:
            raise ReviewError("the daemon is stopping")

    def _give_back(self, worker: _Worker) -> None:
        worker.reviews += 1
        worker.idle_since = time.monotonic()
        with self._lock:
            self._busy.discard(worker)
            keep = (
                not self._closed
                and worker.generation == self._generation
                and worker.reviews < self.reviews_per_worker
            )
            if keep:
                self._idle.append(worker)
                return
        worker.stop()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    # ------------------------------------------------------------------ lifecycle
    def use_catalog(self, catalog: Catalog) -> None:
        """A reloaded config: new workers compile the new catalog; old ones finish and go."""
        with self._lock:
            self._options = _options_for(catalog)
            self._generation += 1
            stale, self._idle = self._idle, []
        for worker in stale:
            worker.stop()

    def retire_idle(self) -> None:
        """Stop workers idle for `idle_seconds`: their memory goes back to the system."""
        now = time.monotonic()
        with self._lock:
            retired = [w for w in self._idle if now - w.idle_since >= self.idle_seconds]
            self._idle = [w for w in self._idle if w not in retired]
        for worker in retired:
            worker.stop()
            log.debug("review worker retired", pid=worker.pid)

    def close(self) -> None:
        """Shutdown: kill every worker, busy or not, and reap them. Reviews in flight fail
        with "the daemon is stopping" and are done after the restart."""
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle = []
        for worker in workers:
            worker.kill()

    def pids(self) -> list[int]:
        """The live workers' process ids."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [worker.pid for worker in workers if worker.alive()]


def _start(options: WorkerOptions, generation: int) -> _Worker:
    """A new child, its catalog compiled; ReviewError when it does not come up."""
    ours, theirs = socket.socketpair()
    with theirs:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", _BOOTSTRAP, json.dumps(sys.path), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
    worker = _Worker(process, Connection(ours.detach()), generation)
    try:
        worker.connection.send(options)
        if not worker.connection.poll(START_TIMEOUT_SECONDS):
            worker.kill()
            raise ReviewError("the review worker did not start in time")
        worker.connection.recv()
    except (EOFError, OSError):
        reason = worker.death()
        worker.kill()
        raise ReviewError(reason) from None
    log.debug("review worker started", pid=worker.pid)
    return worker


def _options_for(catalog: Catalog) -> WorkerOptions:
    root = logging.getLogger()
    return WorkerOptions(
        tuple(compiled.rule for compiled in catalog.rules),
        logging.getLevelName(root.getEffectiveLevel()).lower(),
        _logs_as_json(root),
    )


def _logs_as_json(root: logging.Logger) -> bool | None:
    """Whether the daemon's log handler renders JSON (so its child's lines look the same)."""
    for handler in root.handlers:
        processors = getattr(handler.formatter, "processors", None)
        if processors:
            return any(isinstance(p, structlog.processors.JSONRenderer) for p in processors)
    return None
