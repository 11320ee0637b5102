"""The daemon built in-process from parts a test controls: a real SQLite file, the fake Slurm
backend, the console notifier (recording what it prints) and a clock the test moves."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.daemon import Clock, Daemon, DaemonConfig
from eagle3_monitor.service.runtime import Service
from eagle3_monitor.slack.messages import Message, readable
from eagle3_monitor.slack.transport import ConsoleTransport, Posted, Transport
from eagle3_monitor.state.store import Store
from tests.fakes.slurm import FakeSlurm

_TASK_LINE = re.compile(r"`(task_[0-9]+)` [^:\n]*: \*([a-z ]+)\*")


class FakeClock:
    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start
        self.ticks = 0.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.ticks += seconds


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str
    thread_ts: str | None
    message: Message

    @property
    def text(self) -> str:
        return readable(self.message)


@dataclass
class RecordingConsole(ConsoleTransport):
    """The console notifier, keeping what it printed as messages too."""

    sent: list[Sent] = field(default_factory=list)
    edits: list[tuple[str, Message]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(io.StringIO())

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        posted = super().post(channel, message, thread_ts=thread_ts, key=key)
        self.sent.append(Sent(channel, posted.ts or "", thread_ts, message))
        return posted

    def update(self, channel: str, ts: str, message: Message) -> None:
        super().update(channel, ts, message)
        self.edits.append((ts, message))

    def replies(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.thread_ts is not None]

    def parent_versions(self) -> list[str]:
        """The parent message as first posted, then after each edit, as readable text."""
        parents = [sent for sent in self.sent if sent.thread_ts is None]
        assert len(parents) <= 1, [p.text for p in parents]
        if not parents:
            return []
        return [parents[0].text, *(readable(m) for ts, m in self.edits if ts == parents[0].ts)]


def task_words(parent_text: str) -> dict[str, str]:
    """`task_1` → `fail`, as the parent message shows each task."""
    return dict(_TASK_LINE.findall(parent_text))


@dataclass
class InProcessDaemon:
    daemon: Daemon
    slurm: FakeSlurm
    slack: RecordingConsole
    clock: FakeClock
    store: Store

    def settle(self, rounds: int = 3) -> None:
        """Poll, then review and send until nothing is waiting, as the scheduler would."""
        for _ in range(rounds):
            self.daemon.poll_cycle()
            while self.daemon.review_cycle():
                pass
            while self.daemon.send_cycle():
                pass
            self.clock.advance(1)

    def status(self, **request: Any) -> dict[str, Any]:
        return self.daemon.status.handle({"command": "status", **request})

    def runs(self) -> list[dict[str, Any]]:
        answer = self.daemon.status.handle({"command": "runs"})
        assert answer["ok"], answer
        return list(answer["runs"])


def in_process_daemon(
    tmp_path: Path,
    catalog: Catalog,
    notifier: Transport | None = None,
    clock: Clock | None = None,
    *,
    clock_start: float | None = None,
    backfill_hours: float | None = None,
    **sections: Any,
) -> InProcessDaemon:
    """The daemon on a database in `tmp_path`; `sections` override the config's. The fake
    clock starts at `clock_start` (its default is before every FakeSlurm job, so a first start
    announces them all); `backfill_hours` is `run --backfill`."""
    settings: dict[str, Any] = {
        "state": {"database": str(tmp_path / "state.db")},
        "slack": {"pace_seconds": 0},
        **sections,
    }
    config = MonitorConfig.model_validate(settings)
    store = Store.open(tmp_path / "state.db")
    fake_clock = FakeClock() if clock_start is None else FakeClock(clock_start)
    slurm, console = FakeSlurm(), RecordingConsole()
    daemon = Daemon(
        DaemonConfig(config, catalog), store, slurm, notifier or console, clock or fake_clock,
        backfill_hours=backfill_hours,
    )  # fmt: skip
    if clock is None:
        daemon.pause = fake_clock.advance  # a recheck's wait moves the test's clock
    return InProcessDaemon(daemon, slurm, console, fake_clock, store)


def next_run_in(service: Service, cycle: str) -> float:
    """Seconds until the service's scheduler next runs `cycle`."""
    job = service.scheduler.get_job(cycle)
    assert job is not None and job.next_run_time is not None
    return float((job.next_run_time - datetime.now(UTC)).total_seconds())


@contextmanager
def serving(service: Service) -> Iterator[Service]:
    """The service started, its main loop in a thread; stopped (and its loop ended) after."""
    service.start()
    runner = threading.Thread(target=service.run_forever)
    runner.start()
    try:
        yield service
    finally:
        service.stop_event.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
