"""Reviews in worker processes (service/review_worker.py): the same review as in-process, the
read policy applied in the child, and every way a worker can fail (raise, be killed, exit, hang,
be stopped) turned into a failed review in the daemon, which lives on, retries once, announces
the failure once and reviews the run again after a restart. Real child processes throughout;
the faults are jobs that misbehave inside the child (tests/fakes/review_faults.py)."""

from __future__ import annotations

import contextlib
import getpass
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.review.run import ReviewSettings
from eagle3_monitor.rules import Catalog
from eagle3_monitor.safe_read import ReadPolicy
from eagle3_monitor.service import daemon as daemon_module
from eagle3_monitor.service.review_worker import (
    InProcessReviewer,
    Reviewed,
    ReviewError,
    WorkerPool,
    compile_rules,
)
from eagle3_monitor.service.runtime import Service
from eagle3_monitor.simulate.experiment import TaskPlan, plan_failing_at, write_experiment
from eagle3_monitor.simulate.logtext import ACCOUNT_PREFIX, training_log
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER
from eagle3_monitor.state.store import StoredJob, StoredRun
from eagle3_monitor.vocabulary import Role
from tests.cli_runner import executable
from tests.daemon_harness import in_process_daemon
from tests.fakes.review_faults import ExitingJob, HangingJob, KilledJob, RaisingJob, faulty
from tests.fakes.slurm import pipeline_job

OOM_LINE = "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.50 GiB.\n"


def failing_experiment(root: Path) -> Path:
    """Tasks 0-1 pass, task 2 (training) runs out of GPU memory, task 3 never runs."""
    log = training_log(random.Random(3), steps=2, finish=False) + OOM_LINE
    return write_experiment(root, plan_failing_at(2, TaskPlan(Role.TRAINING, task_log=log,
                                                              exit_code=1)))  # fmt: skip


def ended_jobs(experiment: Path) -> list[StoredJob]:
    states = [JobState.COMPLETED, JobState.COMPLETED, JobState.FAILED]
    return [
        StoredJob(
            row=i + 1,
            cluster="dev",
            job_id=str(418200 + i),
            submit="",
            display_id=str(418200 + i),
            run_id=1,
            task_index=i,
            name=f"Qwen3-8B_EAGLE3_offline_{i}",
            state=state,
            exit_code=0 if state is JobState.COMPLETED else 1,
            reason="None",
            start="s",
            end="e",
            work_dir=str(experiment / f"Qwen3-8B_EAGLE3_offline_{i}"),
            log_paths=[],
            final=True,
            raw_state=str(state),
        )
        for i, state in enumerate(states)
    ]


def run_of(experiment: Path) -> StoredRun:
    return StoredRun(1, f"dev:{experiment}", "dev", str(experiment), experiment.name,
                     "Qwen3-8B_EAGLE3_offline", os.environ.get("USER", "root"), None)  # fmt: skip


@pytest.fixture
def pool(catalog: Catalog) -> Iterator[WorkerPool]:
    workers = WorkerPool(catalog, timeout=30)
    yield workers
    workers.close()


def gone(pid: int) -> bool:
    """The process ended and was reaped (no zombie left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# ---------------------------------------------------------------------------- the worker
def test_a_review_in_a_worker_is_the_in_process_review(
    tmp_path: Path, catalog: Catalog, pool: WorkerPool
) -> None:
    experiment = failing_experiment(tmp_path)
    run, jobs = run_of(experiment), ended_jobs(experiment)

    in_worker = pool.review(run, jobs, ReviewSettings())
    in_process = InProcessReviewer(catalog).review(run, jobs, ReviewSettings())

    assert in_worker == in_process
    assert [str(task.verdict) for task in in_worker.review.tasks] == [
        "pass", "pass", "fail", "blocked"]  # fmt: skip
    assert in_worker.review.tasks[2].root_cause is not None
    assert str(in_worker.review.tasks[2].root_cause.category) == "gpu_oom"


def test_the_runs_read_policy_is_applied_in_the_worker(
    tmp_path: Path, catalog: Catalog, pool: WorkerPool
) -> None:
    experiment = failing_experiment(tmp_path)
    run, jobs = run_of(experiment), ended_jobs(experiment)
    denied = ReviewSettings(read_policy=ReadPolicy(deny_all="the job's owner 'x' is unknown here"))
    elsewhere = ReviewSettings(read_policy=ReadPolicy(roots=(tmp_path / "elsewhere",)))

    for settings in (denied, elsewhere):
        in_worker = pool.review(run, jobs, settings)
        assert in_worker == InProcessReviewer(catalog).review(run, jobs, settings)
        assert in_worker.review.tasks[2].root_cause is None or (
            str(in_worker.review.tasks[2].root_cause.category) != "gpu_oom"
        ), "a log the policy forbids was read"


def test_an_error_in_the_worker_fails_the_review_with_its_message_and_traceback(
    tmp_path: Path, pool: WorkerPool
) -> None:
    experiment = failing_experiment(tmp_path)
    jobs = [faulty(job, RaisingJob) for job in ended_jobs(experiment)]

    with pytest.raises(ReviewError) as failed:
        pool.review(run_of(experiment), jobs, ReviewSettings())

    assert failed.value.reason == "RuntimeError: the disk went away"
    assert "Traceback" in failed.value.detail and "slurm_view" in failed.value.detail
    assert isinstance(pool.review(run_of(experiment), ended_jobs(experiment), ReviewSettings()),
                      Reviewed)  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (KilledJob, "the review worker was killed by SIGKILL (out of memory?)"),
        (ExitingJob, "the review worker exited with status 7"),
    ],
)
def test_a_worker_that_dies_mid_review_fails_it_and_the_next_review_gets_a_new_worker(
    tmp_path: Path, pool: WorkerPool, fault: type[StoredJob], reason: str
) -> None:
    experiment = failing_experiment(tmp_path)
    run, jobs = run_of(experiment), ended_jobs(experiment)
    pool.review(run, jobs, ReviewSettings())
    [first] = pool.pids()

    with pytest.raises(ReviewError) as failed:
        pool.review(run, [faulty(job, fault) for job in jobs], ReviewSettings())

    assert failed.value.reason == reason
    assert gone(first) and pool.pids() == []
    assert isinstance(pool.review(run, jobs, ReviewSettings()), Reviewed)
    assert pool.pids() != [first]


def test_a_review_that_hangs_is_stopped_at_the_timeout_and_its_worker_killed(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = failing_experiment(tmp_path)
    jobs = [faulty(job, HangingJob) for job in ended_jobs(experiment)]
    pool = WorkerPool(catalog, timeout=1)
    try:
        pool.review(run_of(experiment), ended_jobs(experiment), ReviewSettings())  # warm
        [pid] = pool.pids()
        started = time.monotonic()
        with pytest.raises(ReviewError) as failed:
            pool.review(run_of(experiment), jobs, ReviewSettings())
        assert time.monotonic() - started < 10
    finally:
        pool.close()
    assert failed.value.reason == "the review took longer than 1 s and was stopped"
    assert gone(pid)


def test_an_idle_worker_is_reused_then_retired_and_its_process_ends(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = failing_experiment(tmp_path)
    run, jobs = run_of(experiment), ended_jobs(experiment)
    pool = WorkerPool(catalog, idle_seconds=0.5)
    try:
        pool.review(run, jobs, ReviewSettings())
        [pid] = pool.pids()
        pool.review(run, jobs, ReviewSettings())
        assert pool.pids() == [pid], "a worker serves reviews while they keep coming"
        pool.retire_idle()
        assert pool.pids() == [pid], "not idle long enough yet"
        time.sleep(0.6)
        pool.retire_idle()
        assert pool.pids() == [] and gone(pid)
    finally:
        pool.close()


def test_a_worker_is_replaced_after_its_share_of_reviews(tmp_path: Path, catalog: Catalog) -> None:
    experiment = failing_experiment(tmp_path)
    pool = WorkerPool(catalog, reviews_per_worker=1)
    try:
        pool.review(run_of(experiment), ended_jobs(experiment), ReviewSettings())
        assert pool.pids() == []
    finally:
        pool.close()


def test_close_kills_a_busy_worker_and_its_review_fails_as_stopping(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = failing_experiment(tmp_path)
    jobs = [faulty(job, HangingJob) for job in ended_jobs(experiment)]
    pool = WorkerPool(catalog)
    outcome: list[BaseException] = []

    def review() -> None:
        try:
            pool.review(run_of(experiment), jobs, ReviewSettings())
        except ReviewError as error:
            outcome.append(error)

    thread = threading.Thread(target=review)
    thread.start()
    deadline = time.monotonic() + 30
    while not pool.pids():
        assert time.monotonic() < deadline, "no worker started"
        time.sleep(0.05)
    [pid] = pool.pids()
    time.sleep(0.3)  # the request is in the worker

    pool.close()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert [str(error) for error in outcome] == ["the daemon is stopping"]
    assert gone(pid)
    with pytest.raises(ReviewError, match="stopping"):
        pool.review(run_of(experiment), ended_jobs(experiment), ReviewSettings())


def test_a_reloaded_catalog_is_what_new_reviews_use(
    tmp_path: Path, catalog: Catalog, pool: WorkerPool
) -> None:
    experiment = failing_experiment(tmp_path)
    run, jobs = run_of(experiment), ended_jobs(experiment)
    before = pool.review(run, jobs, ReviewSettings())
    [old] = pool.pids()
    cause = before.review.tasks[2].root_cause
    assert cause is not None
    without = compile_rules([c.rule for c in catalog.rules if c.id != cause.rule])

    pool.use_catalog(without)
    after = pool.review(run, jobs, ReviewSettings())

    assert gone(old)
    assert after == InProcessReviewer(without).review(run, jobs, ReviewSettings())
    assert after.review.tasks[2].root_cause != cause


# ---------------------------------------------------------------------------- the daemon
class FaultyPool(WorkerPool):
    """The real pool, with the run's jobs swapped for ones that misbehave in the worker."""

    def __init__(self, catalog: Catalog, fault: type[StoredJob], **options: float) -> None:
        super().__init__(catalog, **options)  # type: ignore[arg-type]
        self.fault = fault

    def review(
        self, run: StoredRun, jobs: Sequence[StoredJob], settings: ReviewSettings
    ) -> Reviewed:
        return super().review(run, [faulty(job, self.fault) for job in jobs], settings)


def test_the_daemon_reviews_in_a_worker_and_announces_what_in_process_reviews_announce(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = failing_experiment(tmp_path / "runs")
    threads = []
    for name, reviewer in (("worker", WorkerPool(catalog)), ("in-process", None)):
        monitor = in_process_daemon(tmp_path / name, catalog)
        if reviewer is not None:
            monitor.daemon.reviewer = reviewer
        monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(2)),
                          pipeline_job(experiment, 2, JobState.FAILED, exit_code=1))  # fmt: skip
        monitor.settle()
        monitor.daemon.reviewer.close()
        threads.append([sent.text for sent in monitor.slack.sent])
    worker, in_process = threads
    assert worker == in_process
    assert any(text.startswith(":x: *task_2* (training)") for text in worker), worker


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (RaisingJob, "RuntimeError: the disk went away"),
        (KilledJob, "the review worker was killed by SIGKILL (out of memory?)"),
        (HangingJob, "the review took longer than 1 s and was stopped"),
    ],
)
def test_a_failing_worker_is_retried_once_then_announced_once_and_the_daemon_goes_on(
    tmp_path: Path, catalog: Catalog, fault: type[StoredJob], reason: str
) -> None:
    monitor = in_process_daemon(tmp_path / "daemon", catalog)
    monitor.daemon.reviewer = FaultyPool(catalog, fault, timeout=1)
    experiment = failing_experiment(tmp_path / "runs")
    monitor.slurm.set(pipeline_job(experiment, 0, JobState.FAILED, exit_code=1))
    try:
        monitor.settle(rounds=1)
        assert monitor.slack.replies() == [], "the first failure is only logged"
        monitor.clock.advance(daemon_module.REVIEW_RETRY_SECONDS)
        monitor.settle(rounds=2)
        monitor.clock.advance(daemon_module.REVIEW_RETRY_SECONDS)
        monitor.settle(rounds=2)
    finally:
        monitor.daemon.reviewer.close()

    [reply, summary] = [sent.text for sent in monitor.slack.replies()]
    assert reply.startswith(":warning: *task_0* (synthesis) ended FAILED (exit 1); review failed")
    assert reason in reply
    assert summary.startswith(":x: *Run failed* — the run's review failed")
    assert monitor.status()["review_errors"] == 2


def test_a_stop_during_a_review_kills_the_worker_and_the_run_is_reviewed_after_the_restart(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    experiment = failing_experiment(tmp_path / "runs")
    jobs = [pipeline_job(experiment, 0, JobState.COMPLETED)]
    sections: dict[str, Any] = {"status": {"socket": str(searchable_dir / "status.sock")},
                "daemon": {"shutdown_timeout_seconds": 5}}  # fmt: skip
    monitor = in_process_daemon(tmp_path / "daemon", catalog, **sections)
    pool = FaultyPool(catalog, HangingJob)
    monitor.daemon.reviewer = pool
    monitor.slurm.set(*jobs)
    service = Service(monitor.daemon, None)
    service.start()
    runner = threading.Thread(target=service.run_forever)
    runner.start()
    deadline = time.monotonic() + 30
    while not pool.pids():
        assert time.monotonic() < deadline, "the review never started"
        time.sleep(0.05)
    [pid] = pool.pids()
    time.sleep(0.3)

    started = time.monotonic()
    service.stop_event.set()
    runner.join(timeout=30)

    assert not runner.is_alive() and time.monotonic() - started < 5
    assert gone(pid), "the worker is killed and reaped at the stop"
    assert monitor.slack.replies() == [] and monitor.daemon.health.review_errors == 0

    restarted = in_process_daemon(tmp_path / "daemon", catalog)
    restarted.daemon.reviewer = WorkerPool(catalog)
    restarted.slurm.set(*jobs)
    try:
        restarted.settle()
    finally:
        restarted.daemon.reviewer.close()
    replies = [sent.text for sent in restarted.slack.replies()]
    assert replies[0] == ":white_check_mark: *task_0* (synthesis) passed", replies


def test_the_in_process_reviewer_reports_an_error_as_a_failed_review(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = failing_experiment(tmp_path)
    jobs = [faulty(job, RaisingJob) for job in ended_jobs(experiment)]
    with pytest.raises(ReviewError) as failed:
        InProcessReviewer(catalog).review(run_of(experiment), jobs, ReviewSettings())
    assert failed.value.reason == "RuntimeError: the disk went away"
    assert isinstance(failed.value.__cause__, RuntimeError)


def test_jobs_are_sent_as_the_daemon_stored_them(tmp_path: Path, pool: WorkerPool) -> None:
    """A job's own fields reach the worker unchanged (the review weighs Slurm's view)."""
    experiment = failing_experiment(tmp_path)
    jobs = ended_jobs(experiment)
    cancelled = [*jobs[:2], replace(jobs[2], state=JobState.CANCELLED, raw_state="CANCELLED by 0")]
    review = pool.review(run_of(experiment), cancelled, ReviewSettings()).review
    assert str(review.tasks[2].verdict) == "cancelled"


# ---------------------------------------------------------------------------- the service
STAND_IN_SACCT = """#!/bin/sh
case " $* " in *" --version "*) echo "slurm 22.05.8"; exit 0;; esac
cat {rows}
"""


def sacct_rows(experiment: Path) -> str:
    """The experiment's first three jobs as sacct prints them: two completed, one failed,
    ending now (after the daemon's first start: a new database announces only those)."""
    end = datetime.now().replace(microsecond=0)  # noqa: DTZ005 - sacct prints local time
    start = end - timedelta(minutes=8)
    lines = []
    for index, (state, code) in enumerate([("COMPLETED", 0), ("COMPLETED", 0), ("FAILED", 1)]):
        job_id = str(418200 + index)
        values = {
            "JobID": job_id, "JobIDRaw": job_id, "State": state, "ExitCode": f"{code}:0",
            "JobName": f"{ACCOUNT_PREFIX}.Qwen3-8B_EAGLE3_offline_{index}",
            "Submit": (start - timedelta(seconds=60 - index)).isoformat(),
            "Start": start.isoformat(), "End": end.isoformat(), "User": getpass.getuser(),
            "WorkDir": str(experiment / f"Qwen3-8B_EAGLE3_offline_{index}"), "Partition": "batch",
            "Reason": "None", "NodeList": "gpu-a001", "Timelimit": "04:00:00", "Comment": "",
            "Cluster": "dev",
        }  # fmt: skip
        lines.append(DELIMITER.join(values[field] for field in BASE_FIELDS) + "\n")
    return "".join(lines)


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_the_service_reviews_in_a_worker_and_sigterm_leaves_no_worker_behind(
    searchable_dir: Path,
) -> None:
    experiment = failing_experiment(searchable_dir / "runs")
    rows = searchable_dir / "rows.txt"
    rows.write_text("")  # the jobs end once the daemon has started
    sacct = searchable_dir / "sacct"
    sacct.write_text(STAND_IN_SACCT.format(rows=rows))
    scontrol = searchable_dir / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'No jobs in the system'\nexit 1\n")
    for tool in (sacct, scontrol):
        tool.chmod(0o755)
    database = searchable_dir / "state.db"
    config = {
        "slurm": {"sacct": str(sacct), "scontrol": str(scontrol)},
        "state": {"database": str(database)},
        "status": {"socket": str(searchable_dir / "run" / "status.sock")},
        "slack": {"mode": "console", "pace_seconds": 0},
        "daemon": {
            "shutdown_timeout_seconds": 5,
            "poll_interval_seconds": 1,
            "idle_poll_interval_seconds": 1,
        },
    }
    (searchable_dir / "monitor.yaml").write_text(yaml.safe_dump(config))
    command = [*executable(), "run", "--config", str(searchable_dir / "monitor.yaml"), "--log-json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (searchable_dir / "run" / "status.sock").exists():
            assert process.poll() is None and time.monotonic() < deadline, "never started"
            time.sleep(0.1)
        rows.write_text(sacct_rows(experiment))
        while not (database.exists() and reviews_in(database)):
            assert process.poll() is None and time.monotonic() < deadline, "no review stored"
            time.sleep(0.1)
        workers = [pid for pid in children_of(process.pid) if "review_worker" in command_of(pid)]
        assert len(workers) >= 1, "the review ran in a worker, which waits for more"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output[-3000:]
    assert all(gone(pid) for pid in workers), "SIGTERM kills and reaps the workers"
    assert "*task_2* (training)" in output and "gpu_oom" in output
    assert "Traceback" not in output


def reviews_in(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM reviews").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
