"""The daemon's Prometheus metrics (service/metrics.py): the textfile written atomically and
parsed back with prometheus_client's own text parser, the values a scripted in-process run
leaves, the Slurm and Slack observers, the loopback HTTP endpoint, and that a metrics file the
daemon cannot write never stops it. On the real cluster: tests/integration/test_metrics.py."""

from __future__ import annotations

import os
import socket
import stat
import threading
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from eagle3_monitor.config import MetricsSection, MonitorConfig
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.metrics import Metrics, TextfileWriter
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.transport import BotTransport, DeliveryError, Posted
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.slurm.pyslurm_backend import PyslurmBackend
from eagle3_monitor.slurm.sacct import Completed, SacctBackend, SacctSettings, SlurmError
from eagle3_monitor.vocabulary import Role
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.fakes import pyslurm as standin
from tests.fakes.pyslurm import db
from tests.fakes.slurm import pipeline_job
from tests.slack_server import SlackTestServer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(text: str) -> Samples:
    """Every sample of an exposition text, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    return sum(
        v
        for (sample, sample_labels), v in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


# ---------------------------------------------------------------------------- the textfile
def test_the_textfile_is_replaced_whole_readable_by_node_exporter_and_parses(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eagle3-monitor.prom"
    metrics = Metrics(MetricsSection(textfile=str(path)))
    metrics.polled(True, at=1_795_000_000.0)

    assert metrics.write_textfile(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["eagle3-monitor.prom"], "no temporary file is left"
    samples = samples_of(path.read_text())
    assert value(samples, "eagle3_monitor_last_successful_poll_timestamp_seconds") == 1.795e9
    assert value(samples, "eagle3_monitor_polls_total", result="ok") == 1
    [build] = [labels for (name, labels) in samples if name == "eagle3_monitor_build_info"]
    assert dict(build)["version"]


def test_a_reader_never_sees_half_a_textfile_while_it_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "eagle3-monitor.prom"
    metrics = Metrics(MetricsSection(textfile=str(path)))
    metrics.write_textfile(path)
    done = threading.Event()
    seen: list[str] = []

    def read_all_the_time() -> None:
        while not done.is_set():
            seen.append(path.read_text())

    reader = threading.Thread(target=read_all_the_time)
    reader.start()
    try:
        for poll in range(40):
            metrics.polled(True, at=float(poll))
            assert metrics.write_textfile(path)
    finally:
        done.set()
        reader.join()

    assert seen
    for text in seen:  # every version read whole: it parses and ends with the last family
        assert "eagle3_monitor_build_info" in text
        assert text.endswith("\n")
        samples_of(text)


def test_the_temporary_file_is_never_a_prom_file_and_is_removed_when_the_write_fails(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "textfiles"
    directory.mkdir()
    (directory / "eagle3-monitor.prom").mkdir()  # a directory in the way: the rename fails

    with pytest.raises(OSError):
        TextfileWriter(directory / "eagle3-monitor.prom").write(b"x 1\n")

    assert sorted(p.name for p in directory.iterdir()) == ["eagle3-monitor.prom"]


def test_a_metrics_file_the_daemon_cannot_write_is_logged_once_counted_and_polls_go_on(
    tmp_path: Path, catalog: Catalog
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the textfile directory should be\n")
    path = blocker / "eagle3-monitor.prom"
    monitor = in_process_daemon(tmp_path / "daemon", catalog, metrics={"textfile": str(path)})

    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            monitor.daemon.poll_cycle()
    warnings = [e for e in logs if e["event"].startswith("cannot write the metrics file")]

    assert len(warnings) == 1 and str(path) in warnings[0]["path"]
    assert monitor.daemon.health.polls == 3 and monitor.daemon.health.last_poll_ok
    assert monitor.status()["ok"]
    assert monitor.daemon.metrics.write_errors._value.get() == 3

    blocker.unlink()
    blocker.mkdir()
    with structlog.testing.capture_logs() as logs:
        monitor.daemon.poll_cycle()
    assert [e["event"] for e in logs if "metrics file" in e["event"]] == [
        "metrics file written again"
    ]
    assert value(samples_of(path.read_text()), "eagle3_monitor_metrics_write_errors_total") == 3


def test_no_export_configured_reads_nothing_and_writes_nothing(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = in_process_daemon(tmp_path / "daemon", catalog)
    monitor.daemon.poll_cycle()

    assert not monitor.daemon.metrics.exported
    assert monitor.daemon.metrics.store.figures.runs == {}
    assert not list((tmp_path / "daemon").glob("*.prom"))


# ---------------------------------------------------------------------------- a scripted run
def passing_and_failing_runs(tmp_path: Path, monitor: InProcessDaemon) -> None:
    """Two runs: one passes; in the other task_1 (dump) dies of host OOM, its dependents are
    cancelled by Slurm (blocked)."""
    passing = write_experiment(tmp_path / "passing", healthy_plan())
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n", exit_code=None,
                        artifacts=False)  # fmt: skip
    plans[2].ran = plans[3].ran = False
    failing = write_experiment(tmp_path / "failing", plans, epoch=1_764_115_300, first_job_id=500)
    monitor.slurm.set(*(pipeline_job(passing, i, JobState.COMPLETED) for i in range(4)))
    monitor.slurm.set(
        pipeline_job(failing, 0, JobState.COMPLETED, first_job_id=500),
        pipeline_job(failing, 1, JobState.OUT_OF_MEMORY, first_job_id=500),
        *(pipeline_job(failing, i, JobState.CANCELLED, started=False, first_job_id=500)
          for i in (2, 3)),
    )  # fmt: skip
    monitor.settle()


def test_the_textfile_counts_runs_and_tasks_by_verdict_and_category_after_a_scripted_run(
    tmp_path: Path, catalog: Catalog
) -> None:
    path = tmp_path / "eagle3-monitor.prom"
    monitor = in_process_daemon(tmp_path / "daemon", catalog, metrics={"textfile": str(path)})

    passing_and_failing_runs(tmp_path, monitor)
    monitor.daemon.poll_cycle()  # the textfile is written after a poll: this one sees the end
    samples = samples_of(path.read_text())

    assert value(samples, "eagle3_monitor_runs", verdict="pass", category="none") == 1
    assert value(samples, "eagle3_monitor_runs", verdict="fail", category="host_oom") == 1
    assert total(samples, "eagle3_monitor_runs") == 2
    assert value(samples, "eagle3_monitor_tasks", verdict="pass", category="none") == 5
    assert value(samples, "eagle3_monitor_tasks", verdict="fail", category="host_oom") == 1
    assert total(samples, "eagle3_monitor_tasks", verdict="blocked") == 2
    assert value(samples, "eagle3_monitor_slurm_jobs", state="COMPLETED") == 5
    assert value(samples, "eagle3_monitor_slurm_jobs", state="OUT_OF_MEMORY") == 1
    assert value(samples, "eagle3_monitor_outbox_pending_messages") == 0
    assert value(samples, "eagle3_monitor_outbox_oldest_pending_age_seconds") == 0
    finals = [s for s in monitor.daemon.outbox.rows() if s["event"] == "final" and s["job"]]
    assert value(samples, "eagle3_monitor_alert_latency_seconds_count") == len(finals) == 8
    assert value(samples, "eagle3_monitor_slack_messages_total", event="final") == 8
    assert value(samples, "eagle3_monitor_reviews_total", result="ok") >= 2
    assert value(samples, "eagle3_monitor_review_scanned_bytes_total") > 0
    assert value(samples, "eagle3_monitor_polls_total", result="ok") == 4


def test_the_outbox_gauges_show_what_waits_while_slack_fails_and_errors_count_by_kind(
    tmp_path: Path, catalog: Catalog
) -> None:
    class Down:
        supports_threads = True

        def post(self, channel: str, message: Message, *, thread_ts: str | None,
                 key: str) -> Posted:  # fmt: skip
            raise DeliveryError("Slack answered HTTP 503", permanent=False, kind="server_error")

        def update(self, channel: str, ts: str, message: Message) -> None:
            raise AssertionError("nothing was posted to edit")

        def find(self, channel: str, thread_ts: str | None, key: str) -> str | None:
            return None

        def permalink(self, channel: str, ts: str) -> str | None:
            return None

    path = tmp_path / "eagle3-monitor.prom"
    monitor = in_process_daemon(tmp_path / "daemon", catalog, Down(),
                                metrics={"textfile": str(path)})  # fmt: skip
    passing = write_experiment(tmp_path / "passing", healthy_plan())
    monitor.slurm.set(*(pipeline_job(passing, i, JobState.COMPLETED) for i in range(4)))
    monitor.settle(rounds=2)
    samples = samples_of(path.read_text())

    queued = monitor.daemon.outbox.depth()
    assert queued > 0
    assert value(samples, "eagle3_monitor_outbox_pending_messages") == queued
    assert value(samples, "eagle3_monitor_outbox_oldest_pending_age_seconds") >= 0
    assert value(samples, "eagle3_monitor_slack_errors_total", kind="server_error") >= 1
    assert value(samples, "eagle3_monitor_slack_errors_total", kind="auth") == 0
    assert value(samples, "eagle3_monitor_alert_latency_seconds_count") == 0


# ---------------------------------------------------------------------------- observers
def test_every_sacct_and_scontrol_call_is_counted_timed_and_its_failures_counted() -> None:
    answers = {
        "--version": Completed(0, "slurm 22.05.8\n", ""),
        "--parsable2": Completed(1, "", "sacct: error: Problem talking to the database\n"),
        "show": Completed(1, "No jobs in the system\n", ""),
    }

    def runner(command: Sequence[str], timeout: float) -> Completed:
        if "--parsable2" in command and "-X" not in command:
            raise SlurmError("sacct timed out after 60s")
        return next(done for word, done in answers.items() if word in command)

    metrics = Metrics()
    backend = SacctBackend(SacctSettings(), runner, observe=metrics.slurm_call)
    with pytest.raises(SlurmError):
        backend.jobs_by_id(["1"])  # --version, then a sacct that times out
    with pytest.raises(SlurmError):
        backend.jobs_named(["a.M_0"], start=datetime(2026, 1, 1, tzinfo=UTC))
    assert backend.live_jobs() == {}  # "No jobs in the system": an answer, not an error
    samples = samples_of(metrics.render().decode())

    assert value(samples, "eagle3_monitor_slurm_calls_total", call="sacct") == 3
    assert value(samples, "eagle3_monitor_slurm_call_errors_total", call="sacct") == 2
    assert value(samples, "eagle3_monitor_slurm_calls_total", call="scontrol") == 1
    assert value(samples, "eagle3_monitor_slurm_call_errors_total", call="scontrol") == 0
    assert value(samples, "eagle3_monitor_slurm_call_duration_seconds_count", call="sacct") == 3


def test_pyslurm_calls_are_counted_by_the_daemon_they_ask() -> None:
    db.DATABASE_JOBS.clear()
    standin.CONTROLLER_JOBS.clear()
    db.DATABASE_JOBS.append(db.Job(1, "a.M_0", "COMPLETED"))
    metrics = Metrics()
    backend = PyslurmBackend(SacctSettings(), module=standin,
                             installed_version=lambda: (25, 11), observe=metrics.slurm_call)  # fmt: skip

    backend.jobs_by_id(["1"])
    backend.live_jobs()
    samples = samples_of(metrics.render().decode())

    assert value(samples, "eagle3_monitor_slurm_calls_total", call="slurmdbd") == 1
    assert value(samples, "eagle3_monitor_slurm_calls_total", call="slurmctld") == 1
    assert value(samples, "eagle3_monitor_slurm_call_errors_total", call="slurmdbd") == 0


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 429, "error": "ratelimited", "retry_after": 0}, "rate_limited"),
        ({"status": 503, "error": "service_unavailable"}, "server_error"),
        ({"status": 200, "error": "invalid_auth"}, "auth"),
        ({"status": 200, "error": "channel_not_found"}, "channel"),
        ({"status": 200, "error": "msg_too_long"}, "refused"),
    ],
)
def test_slack_web_api_failures_get_a_bounded_kind(fault: dict[str, Any], kind: str) -> None:
    with SlackTestServer("xoxb-kinds") as slack:
        slack.fail_next("chat.postMessage", **fault)
        transport = BotTransport("xoxb-kinds", slack.base_url, retries=0)
        with pytest.raises(DeliveryError) as raised:
            transport.post("C-RUNS", Message("hello"), thread_ts=None, key="k1")
    assert raised.value.kind == kind


def test_an_unreachable_slack_is_its_own_kind() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    transport = BotTransport("xoxb-kinds", f"http://127.0.0.1:{port}/api/", retries=0, timeout=2)
    with pytest.raises(DeliveryError) as raised:
        transport.post("C-RUNS", Message("hello"), thread_ts=None, key="k1")
    assert raised.value.kind == "unreachable"


# ---------------------------------------------------------------------------- HTTP, config
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_http_endpoint_serves_the_same_metrics_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    metrics = Metrics(MetricsSection(listen=f"127.0.0.1:{port}"))
    metrics.slurm_call("sacct", 0.2, ok=True)
    metrics.serve()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        metrics.close()

    assert value(samples_of(text), "eagle3_monitor_slurm_calls_total", call="sacct") == 1


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "10.1.2.3:9464", "login01:9464", "9464"])
def test_metrics_listen_refuses_anything_but_loopback(listen: str) -> None:
    with pytest.raises(ValidationError, match=r"loopback|host:port"):
        MonitorConfig.model_validate({"metrics": {"listen": listen}})


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "[::1]:9464", "localhost:9464"])
def test_metrics_listen_accepts_loopback_addresses(listen: str) -> None:
    assert MonitorConfig.model_validate({"metrics": {"listen": listen}}).metrics.listen == listen


def test_the_textfile_must_be_a_prom_file_or_node_exporter_would_ignore_it() -> None:
    with pytest.raises(ValidationError, match=r"\*\.prom"):
        MonitorConfig.model_validate({"metrics": {"textfile": "/var/lib/x/eagle3.txt"}})


def test_metric_names_and_labels_follow_prometheus_conventions(
    tmp_path: Path, catalog: Catalog
) -> None:
    path = tmp_path / "eagle3-monitor.prom"
    monitor = in_process_daemon(tmp_path / "daemon", catalog, metrics={"textfile": str(path)})
    passing_and_failing_runs(tmp_path, monitor)
    monitor.daemon.poll_cycle()

    for family in text_string_to_metric_families(path.read_text()):
        assert family.name.startswith("eagle3_monitor_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        if family.type == "histogram":
            assert family.name.endswith(("_seconds", "_bytes")), family.name
        for sample in family.samples:
            assert not set(sample.labels) & {"run", "job", "job_id", "user", "path", "experiment"}
