"""The service around the daemon's cycles: its scheduler runs every cycle, the status socket
answers while Slurm hangs, and SIGTERM ends it within its shutdown timeout whatever is in
flight. A real `eagle3-monitor run` process with a sacct stand-in that hangs; no Slurm needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.daemon import SystemClock
from eagle3_monitor.service.runtime import Service
from eagle3_monitor.service.status_socket import query
from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment
from eagle3_monitor.slack.outbox import Outbox
from eagle3_monitor.slack.transport import BotTransport
from eagle3_monitor.slurm.model import JobState
from tests.cli_runner import executable
from tests.daemon_harness import in_process_daemon, next_run_in, serving
from tests.fakes.slurm import pipeline_job
from tests.slack_server import SlackTestServer

HANGING_SACCT = """#!{python}
import sys, time
if "--version" in sys.argv:
    print("slurm 22.05.8")
    sys.exit(0)
time.sleep({seconds})
"""
SHUTDOWN_TIMEOUT = 3.0
TOKEN = "xoxb-runtime-test"


def stand_in(path: Path, seconds: float) -> Path:
    path.write_text(HANGING_SACCT.format(python=sys.executable, seconds=seconds))
    path.chmod(0o755)
    return path


@pytest.fixture
def hanging_daemon(searchable_dir: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    sacct = stand_in(searchable_dir / "sacct-that-hangs", 20)
    config = {
        "slurm": {"sacct": str(sacct), "scontrol": str(stand_in(searchable_dir / "sc", 0))},
        "state": {"database": str(searchable_dir / "state.db")},
        "status": {"socket": str(searchable_dir / "run" / "status.sock")},
        "daemon": {"shutdown_timeout_seconds": SHUTDOWN_TIMEOUT},
    }
    path = searchable_dir / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [*executable(), "run", "--config", str(path), "--log-json"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    yield process, searchable_dir / "run" / "status.sock", sacct
    if process.poll() is None:
        process.kill()
        process.communicate()


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def sacct_running(sacct: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", str(sacct)], capture_output=True, check=False)
    return found.returncode == 0


def test_status_answers_at_once_while_sacct_hangs_and_sigterm_ends_the_daemon_in_time(
    hanging_daemon: tuple[subprocess.Popen[str], Path, Path],
) -> None:
    process, socket_path, sacct = hanging_daemon
    wait_for(socket_path, 30)
    deadline = time.monotonic() + 10
    while not sacct_running(sacct):  # the first poll is now waiting for sacct
        assert time.monotonic() < deadline, "the daemon never asked sacct"
        time.sleep(0.05)

    for command in ("status", "runs"):
        started = time.monotonic()
        answer = query(socket_path, {"command": command}, timeout=5)
        assert time.monotonic() - started < 1.0, f"{command} waited for sacct"
        assert answer["ok"], answer
    assert query(socket_path, {"command": "status"})["last_poll"] is None

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=SHUTDOWN_TIMEOUT + 10)
    elapsed = time.monotonic() - started
    assert process.returncode == 0, output
    assert elapsed < SHUTDOWN_TIMEOUT + 1.5, f"stopping took {elapsed:.1f}s:\n{output[-3000:]}"
    assert not sacct_running(sacct), "the hung sacct is killed, not left behind"
    assert not socket_path.exists()
    assert "Traceback" not in output


def test_every_cycle_runs_on_its_schedule_and_stop_is_clean(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    monitor = in_process_daemon(
        tmp_path,
        catalog,
        status={"socket": str(searchable_dir / "status.sock")},
        daemon={"poll_interval_seconds": 1, "send_interval_seconds": 0.2},
    )
    experiment = write_experiment(tmp_path / "runs", healthy_plan())
    monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)))
    service = Service(monitor.daemon, None)
    service.start()
    assert all(job.next_run_time is not None for job in service.scheduler.get_jobs())
    runner = threading.Thread(target=service.run_forever)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not any("Run passed" in sent.text for sent in monitor.slack.sent):
            assert time.monotonic() < deadline, [sent.text for sent in monitor.slack.sent]
            time.sleep(0.05)
        answer = query(searchable_dir / "status.sock", {"command": "runs"})
        assert [task["verdict"] for task in answer["runs"][0]["tasks"]] == ["pass"] * 4
    finally:
        service.stop_event.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert not (searchable_dir / "status.sock").exists()
    assert os.path.exists(tmp_path / "state.db")


def test_a_slack_call_in_flight_neither_delays_the_stop_nor_is_lost_or_repeated(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    with SlackTestServer(TOKEN) as slack:
        sections: dict[str, Any] = {
            "status": {"socket": str(searchable_dir / "status.sock")},
            "slack": {"mode": "bot", "default_channel": "C-RUNS", "pace_seconds": 0},
            "daemon": {"shutdown_timeout_seconds": 2, "send_interval_seconds": 0.2},
        }
        bot = BotTransport(TOKEN, slack.base_url, retries=0)
        monitor = in_process_daemon(tmp_path, catalog, bot, SystemClock(), **sections)
        experiment = write_experiment(tmp_path / "runs", healthy_plan()[:1])
        ended = replace(pipeline_job(experiment, 0, JobState.COMPLETED), end=datetime.now(UTC))
        monitor.slurm.set(ended)  # after the first start: a new database announces it
        slack.fail_next("chat.postMessage", times=1, delay=6)  # the parent: a slow Slack
        service = Service(monitor.daemon, None)
        service.start()
        runner = threading.Thread(target=service.run_forever)
        runner.start()
        deadline = time.monotonic() + 20
        while not slack.call_times("chat.postMessage"):
            assert time.monotonic() < deadline, "the daemon never posted"
            time.sleep(0.05)

        started = time.monotonic()
        service.stop_event.set()
        runner.join(timeout=10)
        assert time.monotonic() - started < 2.5, "the stop waited for Slack"
        assert next(row["status"] for row in Outbox(monitor.store).rows()) == "sending"

        while not slack.messages():  # Slack took the parent after all
            assert time.monotonic() < deadline + 10
            time.sleep(0.05)
        restarted = in_process_daemon(
            tmp_path, catalog, BotTransport(TOKEN, slack.base_url), SystemClock(), **sections
        )
        restarted.slurm.set(ended)
        restarted.settle()
        texts = [message.text for message in slack.messages()]
        assert len([t for t in texts if t.startswith("EAGLE3 run")]) == 1, texts
        assert "task_0 passed" in texts and any(t.startswith("run passed") for t in texts)


def test_a_reload_applies_new_intervals_to_the_running_schedule(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    sacct = tmp_path / "sacct"  # answers that no job exists
    sacct.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "slurm 25.11.7"\nexit 0\n')
    sacct.chmod(0o755)
    sections: dict[str, Any] = {
        "state": {"database": str(tmp_path / "state.db")},
        "status": {"socket": str(searchable_dir / "status.sock")},
        "slack": {"mode": "console", "pace_seconds": 0},
        "slurm": {"sacct": str(sacct)},
    }
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(yaml.safe_dump(sections))
    monitor = in_process_daemon(tmp_path, catalog, clock=SystemClock(),
                                status=sections["status"])  # fmt: skip
    service = Service(monitor.daemon, config_path)
    with serving(service):
        deadline = time.monotonic() + 10
        while next_run_in(service, "poll") < 40:  # the first poll done: resting for a minute
            assert time.monotonic() < deadline, next_run_in(service, "poll")
            time.sleep(0.05)
        rhythm = {"poll_interval_seconds": 30, "idle_poll_interval_seconds": 900,
                  "send_interval_seconds": 2}  # fmt: skip
        config_path.write_text(yaml.safe_dump({**sections, "daemon": rhythm}))
        service.reload()
        poll, send = service.scheduler.get_job("poll"), service.scheduler.get_job("send")
        assert poll is not None and poll.trigger.interval.total_seconds() == 30
        assert send is not None and send.trigger.interval.total_seconds() == 2

        polls = monitor.daemon.health.polls
        service._wake("poll")  # no job pending or running: the poll rests for the new idle time
        deadline = time.monotonic() + 10
        while not (monitor.daemon.health.polls > polls and next_run_in(service, "poll") > 800):
            assert time.monotonic() < deadline, monitor.daemon.health
            time.sleep(0.05)
