"""Fault recovery figures, in real time: how fast the Slack backlog drains after an outage and
how fast `status` answers through a connection burst.

1. Slack catch-up: 20 replies queued in one thread during an outage (the Web API stand-in on
   127.0.0.1 is stopped), the sender draining every second as the daemon does; when it is
   started again: the seconds until the first post (detection: the outage probe, at most
   MAX_PROBE_SECONDS apart) and from there to the last (the paced drain). Target: the drain
   takes the paced time, <= 10 s for 20 messages at pace 0.5 s; in order.
2. Status burst: 3,000 connections that say nothing and 300 slow clients while `status` is
   asked 7 times. Target: every call answered, the slowest < 1 s.

    python bench/fault_bench.py [--outage 30]
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.slack_server import SlackTestServer

from bench.results_file import Row, print_row, row, write_results
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket, query
from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.outbox import MAX_PROBE_SECONDS, Event, Notification, Outbox, Sender
from eagle3_monitor.slack.transport import BotTransport
from eagle3_monitor.state.store import Store

TOKEN = "xoxb-fault-bench"
QUEUED, PACE, DRAIN_TARGET = 20, 0.5, 10.0
STATUS_TARGET = 1.0
DEFAULT_OUTAGE = 30.0
DRAIN_TICK = 1.0  # the bench drains every second, as the daemon's send cycle does


def slack_catch_up(outage_seconds: float) -> list[Row]:
    with SlackTestServer(TOKEN) as slack, tempfile.TemporaryDirectory() as directory:
        store = Store.open(Path(directory) / "state.db")
        store.create_run("c:r1", "c", "M_EAGLE3", experiment_dir=None, experiment_id="cicd_1",
                         user="bench", first_submit=None)  # fmt: skip
        outbox = Outbox(store)
        outbox.add(Notification("r1:parent", Event.PARENT, 1), "C-RUNS", Message("parent"))
        sender = Sender(
            outbox, BotTransport(TOKEN, slack.base_url, timeout=2, retries=0), pace=PACE
        )
        sender.drain()
        for number in range(QUEUED):
            outbox.add(
                Notification(f"r1:{number}", Event.FINAL, 1), "C-RUNS", Message(f"event {number}")
            )
        slack.stop()
        ends = time.monotonic() + outage_seconds
        while time.monotonic() < ends:
            sender.drain()
            time.sleep(DRAIN_TICK)
        slack.start()
        back = time.monotonic()
        while outbox.depth() and time.monotonic() < back + 120:
            sender.drain()
            time.sleep(1)
        replies = slack.messages()[1:]
        detected, drained = replies[0].at - back, replies[-1].at - replies[0].at
        ordered = [m.text for m in replies] == [f"event {n}" for n in range(QUEUED)]
    return [
        row(f"Slack back after a {outage_seconds:g} s outage: first post", f"{detected:.1f} s",
            f"<= {MAX_PROBE_SECONDS + DRAIN_TICK:g} s (probe {MAX_PROBE_SECONDS:g} s apart, drain "
            f"every {DRAIN_TICK:g} s)", detected <= MAX_PROBE_SECONDS + DRAIN_TICK),
        row(f"{QUEUED} replies queued in one thread: drained in order", f"{drained:.1f} s, "
            f"{len(replies)} posted, in order: {ordered}", f"<= {DRAIN_TARGET:g} s at pace "
            f"{PACE:g} s", drained <= DRAIN_TARGET and ordered and len(replies) == QUEUED),
    ]  # fmt: skip


def status_burst() -> list[Row]:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
    directory = Path(tempfile.mkdtemp(prefix="e3b", dir="/tmp"))
    server = StatusSocket(
        directory / "run" / "status.sock", lambda r: {"ok": True}, AccessPolicy([], [])
    )
    server.start()
    held: list[socket.socket] = []

    def connect(count: int, payload: bytes) -> None:
        for _ in range(count):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(server.path))
            if payload:
                client.send(payload)
            held.append(client)

    crowd = [threading.Thread(target=connect, args=(1000, b"")) for _ in range(3)]
    crowd.append(threading.Thread(target=connect, args=(300, b'{"comm')))
    for thread in crowd:
        thread.start()
    latencies, failures = [], 0
    for _ in range(7):
        started = time.monotonic()
        try:
            failures += 0 if query(server.path, {"command": "status"}, timeout=5)["ok"] else 1
        except OSError:
            failures += 1
        latencies.append(time.monotonic() - started)
        time.sleep(0.1)
    for thread in crowd:
        thread.join()
    for client in held:
        client.close()
    server.close()
    slowest = max(latencies)
    return [
        row("status during 3,000 idle + 300 slow connections: slowest of 7 calls",
            f"{slowest * 1000:.0f} ms, {failures} failed", f"< {STATUS_TARGET * 1000:.0f} ms, "
            "none failed", failures == 0 and slowest < STATUS_TARGET),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--outage", type=float, default=DEFAULT_OUTAGE, help="seconds Slack is down"
    )
    options = parser.parse_args()
    rows = [*slack_catch_up(options.outage), *status_burst()]
    for found in rows:
        print_row(found)
    if options.outage == DEFAULT_OUTAGE:
        write_results("fault", "python bench/fault_bench.py", rows)
    return 0 if all(found["met"] for found in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
