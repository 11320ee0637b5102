"""The metrics of `eagle3-monitor run` as a real process on the real cluster: two simulated
pipelines (one passes, one's task_1 dies of a CUDA out-of-memory error), slack_sdk against the
Slack test server; the textfile it writes after every poll, read back with prometheus_client's
parser, says what happened, and its loopback endpoint says the same."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from eagle3_monitor.simulate.pipeline import submit_pipeline
from tests.integration.test_daemon import DaemonHarness, harness
from tests.test_metrics import Samples, samples_of, total, value

pytestmark = pytest.mark.slurm
__all__ = ["harness"]  # the fixture, shared with test_daemon.py


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def final_replies_with_a_job(harness: DaemonHarness) -> int:
    """Replies Slack accepted that are a job's final reply (their key is `job<row>:final`)."""
    keys = [
        str(((m.metadata or {}).get("event_payload") or {}).get("key", ""))
        for m in harness.slack.messages()
    ]
    return sum(key.startswith("job") and key.endswith(":final") for key in keys)


def read_metrics(path: Path) -> Samples:
    return samples_of(path.read_text()) if path.exists() else {}


def settled(path: Path, harness: DaemonHarness) -> bool:
    """Both runs reviewed, all eight jobs ended, every message sent, and a poll since then
    wrote it down. The dependents of the failed task are told as blocked before Slurm cancels
    them, or as cancelled after: either way, each final reply of a job is one latency."""
    samples = read_metrics(path)
    runs = {labels: v for (name, labels), v in samples.items() if name == "eagle3_monitor_runs"}
    finals = final_replies_with_a_job(harness)
    return (
        runs.get((("category", "none"), ("verdict", "pass"))) == 1
        and runs.get((("category", "gpu_oom"), ("verdict", "fail"))) == 1
        and total(samples, "eagle3_monitor_slurm_jobs") == 8
        and samples.get(("eagle3_monitor_outbox_pending_messages", ())) == 0
        and finals >= 6  # the six jobs that ran, at least
        and samples.get(("eagle3_monitor_alert_latency_seconds_count", ())) == finals
    )


def summary(path: Path, harness: DaemonHarness) -> str:
    """What the file and Slack say, when the test gives up waiting."""
    text = path.read_text() if path.exists() else "(no metrics file)"
    lines = [
        line for line in text.splitlines() if not line.startswith("#") and "_bucket" not in line
    ]
    return "\n".join([*lines, f"final replies with a job: {final_replies_with_a_job(harness)}"])


def test_the_metrics_file_tells_what_two_pipelines_did_on_the_real_cluster(
    harness: DaemonHarness, tmp_path: Path, base: str
) -> None:
    textfiles = tmp_path / "textfile-collector"
    textfiles.mkdir()
    path = textfiles / "eagle3-monitor.prom"
    port = free_port()
    harness.settings["metrics"] = {"textfile": str(path), "listen": f"127.0.0.1:{port}"}
    harness.start()
    started = time.time()
    submit_pipeline(tmp_path / "a", epoch=int(started), job_base=base, pace=0.0)
    submit_pipeline(tmp_path / "b", epoch=int(started) + 1, job_base=base,
                    failures={1: "cuda_oom"}, pace=0.0)  # fmt: skip

    deadline = time.monotonic() + 240
    while not settled(path, harness):
        assert time.monotonic() < deadline, f"not settled in 240 s:\n{summary(path, harness)}"
        time.sleep(0.5)
    samples = read_metrics(path)

    assert total(samples, "eagle3_monitor_runs") == 2
    assert value(samples, "eagle3_monitor_tasks", verdict="pass", category="none") == 5
    assert value(samples, "eagle3_monitor_tasks", verdict="fail", category="gpu_oom") == 1
    # task_2 and task_3 of the failing run never ran: Slurm cancels them (kill_invalid_depend)
    ended_unrun = sum(
        total(samples, "eagle3_monitor_tasks", verdict=v) for v in ("blocked", "cancelled")
    )
    assert ended_unrun == 2
    assert value(samples, "eagle3_monitor_slurm_jobs", state="COMPLETED") == 5
    assert value(samples, "eagle3_monitor_slurm_jobs", state="FAILED") == 1
    assert value(samples, "eagle3_monitor_slurm_jobs", state="CANCELLED") == 2
    assert value(samples, "eagle3_monitor_slurm_calls_total", call="sacct") > 0
    assert value(samples, "eagle3_monitor_slurm_call_duration_seconds_count", call="sacct") > 0
    alerts = final_replies_with_a_job(harness)
    assert value(samples, "eagle3_monitor_alert_latency_seconds_count") == alerts
    assert value(samples, "eagle3_monitor_alert_latency_seconds_sum") / alerts < 30, "seconds"
    assert value(samples, "eagle3_monitor_slack_messages_total", event="final") == 8
    assert value(samples, "eagle3_monitor_outbox_pending_messages") == 0
    assert value(samples, "eagle3_monitor_outbox_oldest_pending_age_seconds") == 0
    assert total(samples, "eagle3_monitor_slack_errors_total") == 0
    assert value(samples, "eagle3_monitor_reviews_total", result="ok") >= 2
    assert value(samples, "eagle3_monitor_review_scanned_bytes_total") > 0
    last_poll = value(samples, "eagle3_monitor_last_successful_poll_timestamp_seconds")
    assert started < last_poll <= time.time()
    assert value(samples, "eagle3_monitor_metrics_write_errors_total") == 0

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        served = samples_of(answer.read().decode())
    for name in ("eagle3_monitor_runs", "eagle3_monitor_tasks", "eagle3_monitor_slurm_jobs"):
        assert {k: v for k, v in served.items() if k[0] == name} == {
            k: v for k, v in samples.items() if k[0] == name
        }, name
    families = {family.name for family in text_string_to_metric_families(path.read_text())}
    assert "eagle3_monitor_build_info" in families
    assert harness.stop()[0] == 0
