"""`eagle3-monitor run` as a real process: a real Slurm cluster, slack_sdk against the Slack
test server, a real SQLite file, a real status socket and a real systemd notify socket."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.service.status_socket import query
from eagle3_monitor.simulate.pipeline import submit_pipeline
from tests.integration.conftest import Cluster
from tests.slack_server import SlackTestServer, StoredMessage

pytestmark = pytest.mark.slurm
TOKEN = "xoxb-daemon-test-token"
CLI = str(Path(sys.executable).parent / "eagle3-monitor")


@dataclass
class DaemonHarness:
    config: Path
    settings: dict[str, dict[str, Any]]
    database: Path
    status_socket: Path
    notify: socket.socket
    slack: SlackTestServer
    process: subprocess.Popen[str] | None = None

    def start(self, *arguments: str, **extra_env: str) -> None:
        self.config.write_text(yaml.safe_dump(self.settings))
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify.getsockname()), **extra_env}
        self.process = subprocess.Popen(
            [CLI, "run", "--config", str(self.config), "--log-json", *arguments],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert "READY=1" in self.wait_for_notification("READY=1", timeout=60)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            output, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # thread stacks, to see what hangs
            time.sleep(1)
            self.process.kill()
            output, _ = self.process.communicate()
            raise AssertionError(f"the daemon did not stop:\n{output[-6000:]}") from None
        code = self.process.returncode
        self.process = None
        return code, output

    def wait_for_notification(self, wanted: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                datagram = self.notify.recv(4096).decode()
            except TimeoutError:
                break
            if wanted in datagram:
                return datagram
        raise AssertionError(f"no {wanted} on the notify socket within {timeout:g}s")

    def peak_memory_mb(self) -> float:
        """The daemon's peak resident memory so far (VmHWM)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024

    def health(self) -> dict[str, Any]:
        answer = self.status("--json")
        return dict(json.loads(answer.stdout)["status"]) if answer.returncode == 0 else {}

    def final_tasks(self) -> int:
        answer = self.status("--json")
        runs = json.loads(answer.stdout).get("runs", []) if answer.returncode == 0 else []
        return sum(task["final"] for run in runs for task in run["tasks"])

    def status(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "status", "--config", str(self.config), *arguments],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:g}s")


@pytest.fixture
def harness(cluster: Cluster, tmp_path: Path, base: str) -> Iterator[DaemonHarness]:
    short = Path(tempfile.mkdtemp(prefix="e3d", dir="/tmp"))  # sun_path is 108 bytes
    token_file = tmp_path / "slack-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    config: dict[str, dict[str, Any]] = {
        # the default idle poll (a minute): a new experiment under the root wakes the poll
        "watch": {"job_name_pattern": rf"^(?:[^.]+\.)?(?P<base>{base})_(?P<index>[0-9]+)$",
                  "experiment_roots": [str(tmp_path)]},
        "state": {"database": str(tmp_path / "state.db")},
        "status": {"socket": str(short / "run" / "status.sock")},
        "daemon": {"poll_interval_seconds": 1, "send_interval_seconds": 1},
        "slack": {"mode": "bot", "token_file": str(token_file), "default_channel": "C-RUNS",
                  "pace_seconds": 0},
    }  # fmt: skip
    with SlackTestServer(TOKEN) as slack:
        config["slack"]["base_url"] = slack.base_url
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config))
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(short / "notify.sock"))
        harness = DaemonHarness(
            path, config, tmp_path / "state.db", short / "run" / "status.sock", notify, slack
        )
        yield harness
        if harness.process is not None:
            harness.process.kill()
            harness.process.communicate()
        notify.close()
    shutil.rmtree(short, ignore_errors=True)


def has_summary(harness: DaemonHarness, wanted: str) -> bool:
    """A thread reply whose fallback text starts with e.g. "run failed"."""
    return any(m.thread_ts and m.text.startswith(wanted) for m in harness.slack.messages())


def thread_of(messages: list[StoredMessage]) -> tuple[StoredMessage, list[StoredMessage]]:
    parents = [m for m in messages if m.thread_ts is None]
    assert len(parents) == 1, [m.text for m in parents]
    return parents[0], [m for m in messages if m.thread_ts == parents[0].ts]


def seconds_from_job_end_to_outbox(harness: DaemonHarness, task_index: int) -> float:
    with sqlite3.connect(harness.database) as database:
        end, queued = database.execute(
            "SELECT j.end, o.created_at FROM jobs j JOIN outbox o"
            " ON o.idempotency_key = 'job' || j.id || ':final' WHERE j.task_index = ?",
            (task_index,),
        ).fetchone()
    return datetime.fromisoformat(queued).timestamp() - datetime.fromisoformat(end).timestamp()


def test_daemon_posts_one_thread_with_the_root_cause_and_never_repeats_after_restart(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    harness.settings["daemon"] = {}  # the default rhythm: the 15 s promise is about it
    harness.start()
    pipeline = submit_pipeline(
        tmp_path, epoch=int(time.time()), job_base=base, failures={1: "cuda_oom"}, pace=0.0
    )

    wait_until(lambda: has_summary(harness, "run failed"), 180, "the run's final summary")
    assert seconds_from_job_end_to_outbox(harness, 1) <= 15
    parent, replies = thread_of(harness.slack.messages("C-RUNS"))
    assert pipeline.experiment.name in parent.text
    assert parent.updates >= 1, "the parent message is edited in place as tasks end"
    texts = "\n".join(json.dumps(m.blocks) + m.text for m in replies)
    assert "gpu_oom" in texts or "out of memory" in texts.lower()
    assert "blocked" in texts
    before = [(m.ts, m.text) for m in harness.slack.messages()]

    answer = harness.status("--json")
    assert answer.returncode == 0, answer.stderr
    document = json.loads(answer.stdout)
    assert document["status"]["last_poll_ok"] is True
    [run] = document["runs"]
    assert [t["state"] for t in run["tasks"]] == ["COMPLETED", "FAILED", "CANCELLED", "CANCELLED"]
    text = harness.status(pipeline.experiment.name)
    assert "FAILED" in text.stdout and "task_1" in text.stdout
    assert harness.peak_memory_mb() <= 200

    code, output = harness.stop()
    assert code == 0, output
    assert not harness.status_socket.exists(), "the socket is removed on a clean stop"
    harness.wait_for_notification("STOPPING=1", timeout=5)

    harness.start()
    # every job ended: the restarted daemon polls once, then rests for the idle interval
    wait_until(lambda: harness.health().get("polls", 0) >= 1, 30, "a poll after restart")
    time.sleep(3)  # review and send cycles, woken by that poll
    assert [(m.ts, m.text) for m in harness.slack.messages()] == before
    assert harness.stop()[0] == 0


def test_daemon_keeps_alerts_while_slack_is_down_and_sends_them_once_it_is_back(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    harness.slack.fail_next("chat.postMessage", times=10_000, status=503)
    harness.start()
    pipeline = submit_pipeline(tmp_path, epoch=int(time.time()), job_base=base, pace=0.0)
    wait_until(lambda: harness.final_tasks() == 4, 180, "all four tasks ending")
    code, output = harness.stop()  # Slack still down: the alerts wait in the outbox on disk
    assert code == 0, output
    assert harness.slack.messages() == []

    harness.slack.state.faults.clear()
    harness.start()
    wait_until(lambda: has_summary(harness, "run passed"), 60, "the queued pass summary")
    parent, replies = thread_of(harness.slack.messages("C-RUNS"))
    assert pipeline.experiment.name in parent.text
    [final] = [m for m in replies if "run passed" in m.text.lower()]
    assert "acceptance length 2.62" in final.text, "PASS with its acceptance length"
    assert harness.stop()[0] == 0


def test_daemon_pings_the_watchdog_keeps_its_config_on_a_bad_reload_and_refuses_bad_startup(
    harness: DaemonHarness,
) -> None:
    harness.start(WATCHDOG_USEC="2000000")  # WatchdogSec=2: a ping every second while healthy
    harness.wait_for_notification("WATCHDOG=1", timeout=10)
    good = harness.config.read_text()
    harness.config.write_text(good.replace("poll_interval_seconds: 1", "poll_interval_seconds: x"))
    assert harness.process is not None
    harness.process.send_signal(signal.SIGHUP)
    time.sleep(2)
    assert harness.status("--json").returncode == 2  # the CLI itself reads the broken file
    harness.config.write_text(good)
    assert harness.status("--json").returncode == 0, "the daemon still answers after a bad reload"
    code, output = harness.stop()
    assert code == 0
    assert "reload failed, keeping the old config" in output
    assert "Traceback" not in output

    harness.config.write_text(good.replace("poll_interval_seconds: 1", "poll_interval_seconds: x"))
    done = subprocess.run(
        [CLI, "run", "--config", str(harness.config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "poll_interval_seconds" in line and str(harness.config) in line


def replies_for(harness: DaemonHarness, start: str) -> list[StoredMessage]:
    return [m for m in harness.slack.messages() if m.thread_ts and m.text.startswith(start)]


def test_daemon_alerts_a_hung_job_while_it_runs_then_its_stall_once(
    harness: DaemonHarness, cluster: Cluster, tmp_path: Path, base: str
) -> None:
    harness.settings["daemon"]["stall_after_minutes"] = {"default": 0.1}  # 6 s of silence
    harness.start()
    pipeline = submit_pipeline(
        tmp_path, epoch=int(time.time()), job_base=base, failures={0: "nccl_hang"}, pace=0.0
    )
    wait_until(lambda: bool(replies_for(harness, "task_0 still running")), 60, "the early alert")
    [early] = replies_for(harness, "task_0 still running")
    assert "nccl" in early.text and early.reply_broadcast
    assert f"scancel {pipeline.job_ids[0]}" in json.dumps(early.blocks)
    wait_until(lambda: bool(replies_for(harness, "task_0 stalled")), 60, "the stall alert")
    time.sleep(8)  # more cycles of silence: still one alert of each
    assert len(replies_for(harness, "task_0 stalled")) == 1
    assert len(replies_for(harness, "task_0 still running")) == 1

    cluster.run("scancel", pipeline.job_ids[0])
    wait_until(lambda: bool(replies_for(harness, "task_0 cancelled")), 60, "the cancel reply")
    assert harness.stop()[0] == 0


def test_daemon_fails_a_completed_job_whose_log_shows_a_crash(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    harness.start()
    submit_pipeline(
        tmp_path, epoch=int(time.time()), job_base=base, failures={0: "exit0_traceback"},
        pace=0.0, tasks=1,
    )  # fmt: skip
    wait_until(lambda: bool(replies_for(harness, "task_0")), 90, "task_0's reply")
    [reply] = replies_for(harness, "task_0")
    assert reply.text.startswith("task_0 fail"), reply.text
    assert harness.status("--json").stdout.count('"COMPLETED"') == 1
    assert harness.stop()[0] == 0


def running_tasks(harness: DaemonHarness) -> int:
    answer = harness.status("--json")
    runs = json.loads(answer.stdout).get("runs", []) if answer.returncode == 0 else []
    return sum(task["state"] == "RUNNING" for run in runs for task in run["tasks"])


def test_a_failing_jobs_reply_comes_from_its_log_without_waiting_for_a_poll(
    harness: DaemonHarness, cluster: Cluster, tmp_path: Path, base: str
) -> None:
    """Polls are five minutes apart: one asked-for poll finds the job running; its end is then
    noticed in its log, confirmed by a targeted sacct, reviewed and replied to with no poll."""
    harness.settings["daemon"] = {"poll_interval_seconds": 300}
    harness.start()
    pipeline = submit_pipeline(
        tmp_path, epoch=int(time.time()), job_base=base, failures={0: "cuda_oom"},
        pace=0.3, tasks=1,
    )  # fmt: skip
    cluster.wait_for_squeue_state(pipeline.job_ids[0], "R")

    def asked_poll_found_it() -> bool:  # slurmdbd may list the job a moment after squeue
        assert query(harness.status_socket, {"command": "poll"})["ok"]
        time.sleep(1.5)
        return running_tasks(harness) == 1

    wait_until(asked_poll_found_it, 20, "an asked-for poll finding the running job")
    polls = harness.health()["polls"]

    wait_until(lambda: bool(replies_for(harness, "task_0 fail")), 60, "task_0's failure reply")
    assert harness.health()["polls"] == polls, "no poll came between the job's start and reply"
    assert seconds_from_job_end_to_outbox(harness, 0) <= 10
    assert harness.stop()[0] == 0


def test_daemon_restarted_mid_run_announces_every_task_exactly_once(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    harness.start()
    pipeline = submit_pipeline(tmp_path, epoch=int(time.time()), job_base=base, pace=0.15)
    wait_until(lambda: bool(replies_for(harness, "task_0")), 90, "task_0's reply")
    assert harness.final_tasks() < 4, "the restart must happen mid-run"
    code, output = harness.stop()
    assert code == 0, output

    harness.start()
    wait_until(lambda: has_summary(harness, "run passed"), 180, "the run's summary")
    parent, replies = thread_of(harness.slack.messages("C-RUNS"))
    assert pipeline.experiment.name in parent.text
    for task in ("task_0", "task_1", "task_2", "task_3"):
        assert len([m for m in replies if m.text.startswith(f"{task} passed")]) == 1, task
    assert len([m for m in replies if m.text.startswith("run passed")]) == 1

    answer = json.loads(harness.status("--json", pipeline.experiment.name).stdout)
    assert answer["run"]["review"]["verdict"] == "pass"
    assert json.loads(harness.status("--json", "--failed").stdout)["runs"] == []
    mine = json.loads(harness.status("--json", "--user", getpass.getuser()).stdout)
    assert len(mine["runs"]) == 1
    assert harness.stop()[0] == 0


def test_a_daemon_killed_after_slack_took_a_reply_never_repeats_it_while_lookups_fail(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    """SIGKILL the daemon the moment Slack has accepted a thread reply (before the answer
    reaches it), then make the history lookups fail for a while: the restarted daemon keeps
    the row unconfirmed instead of posting it again, and finds it once lookups work."""
    killed: list[str] = []

    def kill_on_first_reply(message: StoredMessage) -> None:
        if message.thread_ts and not killed and harness.process is not None:
            killed.append(message.text)
            os.kill(harness.process.pid, signal.SIGKILL)

    harness.slack.state.after_post = kill_on_first_reply
    harness.start()
    submit_pipeline(tmp_path, epoch=int(time.time()), job_base=base, pace=0.0)
    wait_until(lambda: bool(killed), 120, "the first reply reaching Slack")
    assert harness.process is not None
    harness.process.wait(timeout=30)
    harness.process = None
    harness.slack.state.after_post = None
    harness.slack.fail_next("conversations.replies", times=4, status=500, error="internal_error")

    harness.start()
    wait_until(lambda: has_summary(harness, "run passed"), 180, "the run's summary")

    _parent, replies = thread_of(harness.slack.messages("C-RUNS"))
    keys = [(m.metadata or {}).get("event_payload", {}).get("key") for m in replies]
    assert len(keys) == len(set(keys)), keys  # no message twice
    assert [m.text for m in replies].count(killed[0]) == 1
    task_replies = [m.text.split(" ", 1)[0] for m in replies if m.text.startswith("task_")]
    assert task_replies == sorted(task_replies), "the thread reads in task order"
    assert len(harness.slack.call_times("conversations.replies")) >= 5, "lookups were retried"
    assert harness.stop()[0] == 0
