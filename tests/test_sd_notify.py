"""The systemd notify protocol against a real datagram socket."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eagle3_monitor.service.sd_notify import SystemdNotifier, watchdog_interval


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.settimeout(2)
        yield sock


def test_sends_ready_status_watchdog_and_stopping(receiver: socket.socket) -> None:
    notifier = SystemdNotifier(receiver.getsockname())
    notifier.ready("3 runs; poll ok")
    notifier.watchdog()
    notifier.stopping()
    assert receiver.recv(4096) == b"READY=1\nSTATUS=3 runs; poll ok"
    assert receiver.recv(4096) == b"WATCHDOG=1"
    assert receiver.recv(4096) == b"STOPPING=1\nSTATUS=stopping"


def test_status_is_sent_only_when_it_changes(receiver: socket.socket) -> None:
    notifier = SystemdNotifier(receiver.getsockname())
    for status in ("a", "a", "b", "b"):
        notifier.status(status)
    assert [receiver.recv(4096), receiver.recv(4096)] == [b"STATUS=a", b"STATUS=b"]


def test_a_receiver_that_stops_reading_never_blocks_the_daemon(receiver: socket.socket) -> None:
    notifier = SystemdNotifier(receiver.getsockname())
    started = time.monotonic()
    sent = [notifier.send(WATCHDOG="1") for _ in range(2000)]
    assert time.monotonic() - started < 5
    assert sent[0] is True and sent[-1] is False  # the queue filled up; later pings were dropped


def test_unset_socket_is_a_no_op_and_abstract_addresses_work() -> None:
    assert SystemdNotifier("").send(READY="1") is False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0eagle3-monitor-test-notify")
        assert SystemdNotifier("@eagle3-monitor-test-notify").send(READY="1") is True
        assert sock.recv(64) == b"READY=1"


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval() is None
