"""The daemon's cycles in-process (fake Slurm, console notifier, real SQLite): what its Slack
thread, its status answers and its stored review say, and that they say the same thing."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import structlog

from eagle3_monitor.report.json_report import verdicts_of_document
from eagle3_monitor.report.status import status_to_text
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service import daemon as daemon_module
from eagle3_monitor.service import run_review as run_review_module
from eagle3_monitor.service.run_review import review_run
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.simulate.logtext import training_log
from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.transport import DeliveryError, Posted
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.vocabulary import Role
from tests.daemon_harness import InProcessDaemon, RecordingConsole, in_process_daemon, task_words
from tests.fakes.slurm import pending, pipeline_job, running

NCCL_WATCHDOG = (
    "[rank3]:[E1126 03:10:11.512 ProcessGroupNCCL.cpp:632] [Rank 3] Watchdog caught collective "
    "operation timeout: WorkNCCL(SeqNum=1812, OpType=ALLREDUCE, NumelIn=262144, NumelOut=262144, "
    "Timeout(ms)=1800000) ran for 1800093 milliseconds before timing out.\n"
)
OOM_LINE = "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.00 GiB.\n"
FINAL_WORDS = {"pass", "fail", "timeout", "cancelled", "blocked"}


@pytest.fixture
def monitor(tmp_path: Path, catalog: Catalog) -> InProcessDaemon:
    return in_process_daemon(tmp_path / "daemon", catalog)


def stored_verdicts(monitor: InProcessDaemon) -> dict[int, str]:
    [run] = monitor.store.runs()
    return {i: str(v) for i, v in verdicts_of_document(monitor.store.latest_review(run.id)).items()}


def assert_no_task_went_back(versions: list[str]) -> None:
    """Once the parent shows a task decided, later versions never show it pending or running."""
    decided: dict[str, str] = {}
    for version in versions:
        for task, word in task_words(version).items():
            if task in decided:
                assert word in FINAL_WORDS, (task, decided[task], word, versions)
            if word in FINAL_WORDS:
                decided[task] = word


def test_a_passing_pipeline_gets_one_thread_that_ends_in_pass(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)))

    monitor.settle()

    replies = [sent.text for sent in monitor.slack.replies()]
    assert [text.split(")", 1)[0] for text in replies[:4]] == [
        f":white_check_mark: *task_{i}* ({role}" for i, role in enumerate(Role)
    ]
    assert replies[-1].startswith(
        ":tada: *Run passed* — all 4 tasks passed; acceptance length 2.62"
    )
    assert task_words(monitor.slack.parent_versions()[-1]) == {
        f"task_{i}": "pass" for i in range(4)
    }
    assert [task["verdict"] for task in monitor.runs()[0]["tasks"]] == ["pass"] * 4


def test_a_benchmark_that_fails_its_own_gate_is_low_acceptance_everywhere(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    plans = healthy_plan()
    plans[3] = TaskPlan(
        Role.BENCHMARK,
        task_log="RANK 0 GPU count: 8\nAR 1.93 < lower bound 2.1\n",
        exit_code=1,
        acceptance=1.93,
    )
    experiment = write_experiment(tmp_path, plans)
    states = [JobState.COMPLETED] * 3 + [JobState.FAILED]
    monitor.slurm.set(
        *(pipeline_job(experiment, i, s, exit_code=int(i == 3)) for i, s in enumerate(states))
    )

    monitor.settle()

    [reply] = [s.text for s in monitor.slack.replies() if s.text.startswith(":x: *task_3*")]
    assert "`low_acceptance`" in reply and "acceptance length 1.93" in reply
    assert "unknown" not in reply
    summary = monitor.slack.replies()[-1].text
    assert summary.startswith(":x: *Run failed* — task_3 (benchmark) low_acceptance")
    [run] = monitor.runs()
    assert run["headline"].startswith("task_3 (benchmark) low_acceptance")


def test_a_failure_only_slurm_knows_is_failed_with_a_rerun_and_its_dependents_stay_blocked(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    plans = healthy_plan()
    plans[1] = TaskPlan(
        Role.DUMP, task_log="RANK 0 GPU count: 8\n", exit_code=None, artifacts=False
    )
    plans[2].ran = plans[3].ran = False
    experiment = write_experiment(tmp_path, plans)
    done, oom = (pipeline_job(experiment, i, s) for i, s in enumerate([JobState.COMPLETED,
                                                                       JobState.OUT_OF_MEMORY]))  # fmt: skip
    later = [pipeline_job(experiment, i, JobState.CANCELLED, started=False) for i in (2, 3)]

    monitor.slurm.set(done, running(oom), *(pending(job) for job in later))
    monitor.settle()
    monitor.slurm.set(oom, *(pending(job, "DependencyNeverSatisfied") for job in later))
    monitor.settle()
    monitor.slurm.set(*(job for job in later))  # Slurm cancels the dependents at last
    monitor.settle()

    replies = [sent.text for sent in monitor.slack.replies()]
    [failure] = [text for text in replies if text.startswith(":x: *task_1*")]
    assert "`host_oom`" in failure and "*Re-run:*" in failure
    assert [t for t in replies if "blocked" in t] == [
        ":no_entry: *task_2* (training) blocked: never ran: task_1 failed (host_oom)",
        ":no_entry: *task_3* (benchmark) blocked: never ran: task_1 failed (host_oom)",
    ]
    assert replies[-1].startswith(":x: *Run failed* — task_1 (dump) host_oom")
    versions = monitor.slack.parent_versions()
    assert task_words(versions[-1]) == {
        "task_0": "pass", "task_1": "fail", "task_2": "blocked", "task_3": "blocked"
    }  # fmt: skip
    assert_no_task_went_back(versions)
    assert [t["verdict"] for t in monitor.runs()[0]["tasks"]] == [
        "pass", "fail", "blocked", "blocked"
    ]  # fmt: skip


def test_a_running_job_cancelled_after_an_early_alert_is_cancelled_by_its_user_not_blocked(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING,
        task_log=training_log(random.Random(4), steps=3, finish=False) + NCCL_WATCHDOG,
        exit_code=None,
        artifacts=False,
    )
    plans[3].ran = False
    experiment = write_experiment(tmp_path, plans)
    jobs = [pipeline_job(experiment, i, JobState.COMPLETED) for i in range(2)]
    hung = pipeline_job(experiment, 2, JobState.CANCELLED, cancelled_by=0, reason="Dependency")
    never = pipeline_job(experiment, 3, JobState.CANCELLED, started=False, reason="Dependency")

    monitor.slurm.set(*jobs, running(hung), pending(never))
    monitor.settle()
    monitor.daemon.follow_cycle()
    monitor.settle()
    [sbatch] = (experiment / "Qwen3-8B_EAGLE3_offline_2").glob("sbatch_*.out")
    with sbatch.open("a") as stream:
        stream.write("slurmstepd: error: *** JOB 418202 ON gpu-a017 CANCELLED AT "
                     "2026-11-26T03:40:00 ***\n")  # fmt: skip
    monitor.slurm.set(hung, never)
    monitor.settle()

    replies = [sent.text for sent in monitor.slack.replies()]
    assert any(text.startswith(":rotating_light: *task_2*") for text in replies), replies
    [task_2] = [text for text in replies if "*task_2* (training) *" in text]
    assert task_2.startswith(":no_entry_sign: *task_2* (training) *cancelled by root*: `nccl`")
    assert not any("task_2* (training) blocked" in text for text in replies)
    assert any(text.startswith(":no_entry: *task_3* (benchmark) blocked") for text in replies)
    assert stored_verdicts(monitor) == {0: "pass", 1: "pass", 2: "cancelled", 3: "blocked"}


def test_a_review_that_raises_is_logged_retried_once_then_announced(
    tmp_path: Path, monitor: InProcessDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    monitor.slurm.set(pipeline_job(experiment, 0, JobState.FAILED, exit_code=1))

    def broken(*_args: object) -> None:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(run_review_module, "review_run", broken)
    with structlog.testing.capture_logs() as logs:
        monitor.settle(rounds=1)
        assert monitor.slack.replies() == [], "the first failure is only logged"
        monitor.clock.advance(daemon_module.REVIEW_RETRY_SECONDS)
        monitor.settle(rounds=1)

    failures = [entry for entry in logs if entry["event"] == "review failed"]
    assert [entry["attempt"] for entry in failures] == [1, 2]
    assert all(entry["log_level"] == "error" and entry["exc_info"] for entry in failures)
    [reply, summary] = [sent.text for sent in monitor.slack.replies()]
    assert reply.startswith(":warning: *task_0* (synthesis) ended FAILED (exit 1); review failed")
    assert "RuntimeError: the disk went away" in reply
    assert "no logs found" not in reply
    assert summary.startswith(":x: *Run failed* — the run's review failed")
    assert monitor.status()["review_errors"] == 2


def test_a_review_that_fails_once_then_works_announces_normally(
    tmp_path: Path, monitor: InProcessDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan()[:1])
    monitor.slurm.set(pipeline_job(experiment, 0, JobState.COMPLETED))
    calls: list[int] = []

    def flaky(*args: Any) -> RunReview:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("stale file handle")
        return review_run(*args)

    monkeypatch.setattr(run_review_module, "review_run", flaky)
    monitor.settle(rounds=1)
    monitor.clock.advance(daemon_module.REVIEW_RETRY_SECONDS)
    monitor.settle(rounds=1)

    replies = [sent.text for sent in monitor.slack.replies()]
    assert replies[0] == ":white_check_mark: *task_0* (synthesis) passed"
    assert replies[1].startswith(":tada: *Run passed* — all 1 tasks passed")
    assert len(replies) == 2


def test_status_and_the_stored_review_agree_with_the_thread(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING,
        task_log=training_log(random.Random(5), steps=2, finish=False)
        + "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.50 GiB.\n",
        exit_code=1,
    )
    plans[3].ran = False
    experiment = write_experiment(tmp_path, plans)
    states = [JobState.COMPLETED, JobState.COMPLETED, JobState.FAILED]
    monitor.slurm.set(
        *(pipeline_job(experiment, i, s, exit_code=int(i == 2)) for i, s in enumerate(states)),
        pipeline_job(experiment, 3, JobState.CANCELLED, started=False),
    )

    monitor.settle()

    words = task_words(monitor.slack.parent_versions()[-1])
    [run] = monitor.runs()
    assert {t["task"]: t["verdict"] for t in run["tasks"]} == words
    assert {f"task_{i}": v for i, v in stored_verdicts(monitor).items()} == words
    assert run["verdict"] == "fail"
    summary = monitor.slack.replies()[-1].text
    assert summary.startswith(f":x: *Run failed* — {run['headline']}")
    assert run["headline"].startswith("task_2 (training) gpu_oom: CUDA out of memory")


def test_blocked_tasks_whose_jobs_sacct_does_not_list_yet_are_said_before_the_summary(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    """sacct does not list a job pending on a dependency (slurmdbd hears of it when it becomes
    eligible): the blocked replies must not wait for it, nor be said twice when it shows up."""
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, task_log=f"RANK 0 GPU count: 8\n{OOM_LINE}", exit_code=1)
    plans[2].ran = plans[3].ran = False
    experiment = write_experiment(tmp_path, plans)
    done = pipeline_job(experiment, 0, JobState.COMPLETED)
    failed = pipeline_job(experiment, 1, JobState.FAILED, exit_code=1)
    later = [pipeline_job(experiment, i, JobState.CANCELLED, started=False) for i in (2, 3)]

    monitor.slurm.set(done, failed)  # tasks 2 and 3: not listed yet
    monitor.settle()
    monitor.slurm.set(*later)  # cancelled at last: now sacct lists them
    monitor.settle()

    replies = [sent.text.split("\n", 1)[0] for sent in monitor.slack.replies()]
    assert replies == [
        ":white_check_mark: *task_0* (synthesis) passed",
        ":x: *task_1* (dump) *fail*: `gpu_oom`",
        ":no_entry: *task_2* (training) blocked: never ran: task_1 failed (gpu_oom)",
        ":no_entry: *task_3* (benchmark) blocked: never ran: task_1 failed (gpu_oom)",
        ":x: *Run failed* — task_1 (dump) gpu_oom: CUDA out of memory (tried to allocate 3.00 GiB)",
    ]
    assert monitor.status()["reviews_pending"] == 0


class FlakySlack(RecordingConsole):
    """The console notifier with an outage switch: while `down`, every call fails as Slack's
    5xx would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        if self.down:
            raise DeliveryError("Slack answered HTTP 503", permanent=False)
        return super().post(channel, message, thread_ts=thread_ts, key=key)

    def update(self, channel: str, ts: str, message: Message) -> None:
        if self.down:
            raise DeliveryError("Slack answered HTTP 503", permanent=False)
        super().update(channel, ts, message)


def test_a_slack_outage_is_one_warning_shown_in_status_and_cleared_when_it_ends(
    tmp_path: Path, catalog: Catalog
) -> None:
    slack = FlakySlack()
    monitor = in_process_daemon(tmp_path / "daemon", catalog, notifier=slack)
    experiment = write_experiment(tmp_path, healthy_plan())
    monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)))
    slack.down = True

    with structlog.testing.capture_logs() as logs:
        for _ in range(12):
            monitor.settle(rounds=1)
            monitor.clock.advance(20)
        during = monitor.status()["slack"]
        during_text = status_to_text(monitor.status(), {})
        slack.down = False
        for _ in range(3):
            monitor.settle(rounds=1)
            monitor.clock.advance(20)
        after = monitor.status()["slack"]

    assert during["state"] == "failing" and during["last_error"] == "Slack answered HTTP 503"
    assert "SLACK FAILING for " in during_text and ": Slack answered HTTP 503" in during_text
    assert during["failing_since"] is not None and during["queued"] >= 6
    warnings = [entry for entry in logs if entry["log_level"] in ("warning", "error")]
    assert [entry["event"] for entry in warnings] == [
        "slack is failing; messages wait in the outbox"
    ]
    assert [entry["event"] for entry in logs if entry["event"].startswith("slack answers")] == [
        "slack answers again; sending the backlog"
    ]
    assert after == {**after, "state": "ok", "queued": 0, "recent_errors": [], "last_error": None}
    assert [sent.text.split(")", 1)[0] for sent in slack.replies()][:4] == [
        f":white_check_mark: *task_{i}* ({role}" for i, role in enumerate(Role)
    ]


def test_after_the_first_poll_only_touched_runs_are_checked_for_a_parent(
    tmp_path: Path, monitor: InProcessDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)))
    asked: list[set[int] | None] = []
    looked_up = monitor.daemon.outbox.runs_without_parent

    def spy(among: set[int] | None = None) -> list[int]:
        asked.append(None if among is None else set(among))
        return looked_up(among)

    monkeypatch.setattr(monitor.daemon.outbox, "runs_without_parent", spy)

    monitor.daemon.poll_cycle()
    monitor.daemon.poll_cycle()  # nothing moved

    assert asked == [None, set()]  # the whole history once after a start, then what changed


def test_a_poll_that_raises_is_a_failed_poll_in_status(
    monitor: InProcessDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(daemon_module, "poll_once", broken)

    assert monitor.daemon.poll_cycle() is False

    status = monitor.status()
    assert status["last_poll_ok"] is False
    assert status["last_poll_error"].startswith("UnicodeDecodeError")
