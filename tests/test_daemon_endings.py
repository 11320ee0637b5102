"""A job's end noticed from its logs: the follow cycle sees the trailer, asks Slurm of that job
alone (one targeted lookup), records the end and wakes the review, so the failure reply needs
no poll. In-process: the real Store, the fake Slurm backend, the console notifier."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import TaskPlan, plan_failing_at, write_experiment
from eagle3_monitor.simulate.logtext import training_log
from eagle3_monitor.slurm.model import JobRecord, JobState
from eagle3_monitor.vocabulary import Role
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.fakes.slurm import pending, pipeline_job, running

OOM_LINE = "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.00 GiB.\n"
TRAILER = "+ echo 'job exited with code 1'\njob exited with code 1\n"


@pytest.fixture
def monitor(tmp_path: Path, catalog: Catalog) -> InProcessDaemon:
    return in_process_daemon(tmp_path / "daemon", catalog)


def training_running(tmp_path: Path, monitor: InProcessDaemon) -> tuple[Path, JobRecord]:
    """Task 1 (training) runs with its logs found; the poll has recorded it; returns its
    sbatch log and its job as Slurm will report it once it failed."""
    plan = TaskPlan(Role.TRAINING, task_log=training_log(random.Random(2), steps=3, finish=False),
                    exit_code=None)  # fmt: skip
    experiment = write_experiment(tmp_path, plan_failing_at(1, plan))
    done = pipeline_job(experiment, 0, JobState.COMPLETED)
    failed = pipeline_job(experiment, 1, JobState.FAILED, exit_code=1)
    later = [pipeline_job(experiment, i, JobState.PENDING) for i in (2, 3)]
    monitor.slurm.set(done, running(failed), *(pending(job) for job in later))
    monitor.settle()
    monitor.daemon.follow_cycle()  # reads what the logs hold so far
    [sbatch] = (experiment / "Qwen3-8B_EAGLE3_offline_1").glob("sbatch_*.out")
    return sbatch, failed


def end_in_log(sbatch: Path) -> None:
    [task_log] = sbatch.parent.glob("log-*.out")
    with task_log.open("a") as stream:
        stream.write(OOM_LINE)
    with sbatch.open("a") as stream:
        stream.write(TRAILER)


def test_a_trailer_is_confirmed_by_one_targeted_lookup_and_reviewed_without_a_poll(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    sbatch, failed = training_running(tmp_path, monitor)
    wakes: list[str] = []
    monitor.daemon.wake = wakes.append
    polls_before = monitor.daemon.health.polls
    end_in_log(sbatch)
    monitor.slurm.set(failed)  # sacct has heard of the end

    monitor.daemon.follow_cycle()
    while monitor.daemon.review_cycle():
        pass
    while monitor.daemon.send_cycle():
        pass

    assert monitor.slurm.targeted == 1
    assert "review" in wakes
    assert monitor.daemon.health.polls == polls_before, "no poll was needed"
    [job] = [job for job in monitor.store.jobs_of_run(1) if job.task_index == 1]
    assert job.final and job.state is JobState.FAILED
    replies = [sent.text for sent in monitor.slack.replies()]
    assert any(text.startswith(":x: *task_1* (training) *fail*") for text in replies), replies


def test_sacct_behind_the_log_is_asked_again_within_the_same_follow_cycle(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    sbatch, failed = training_running(tmp_path, monitor)
    end_in_log(sbatch)
    pauses: list[float] = []

    def slurm_catches_up(seconds: float) -> None:  # the end reaches slurmdbd meanwhile
        pauses.append(seconds)
        monitor.clock.advance(seconds)
        monitor.slurm.set(failed)

    monitor.daemon.pause = slurm_catches_up
    monitor.daemon.follow_cycle()

    assert monitor.slurm.targeted == 2
    assert pauses == [0.5]
    [job] = [job for job in monitor.store.jobs_of_run(1) if job.task_index == 1]
    assert job.final and job.state is JobState.FAILED


def test_an_end_sacct_never_confirms_is_asked_less_and_less_then_left_to_the_poll(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    sbatch, _ = training_running(tmp_path, monitor)
    end_in_log(sbatch)  # the log says it ended; Slurm keeps saying RUNNING

    for _ in range(40):  # a follow cycle every 2 s, for 80 s
        monitor.daemon.follow_cycle()
        monitor.clock.advance(2)

    # asks at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 23.5 s; none after the 30 s watch
    assert monitor.slurm.targeted == 7


def test_a_log_that_only_grows_asks_slurm_nothing_between_polls(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    sbatch, _ = training_running(tmp_path, monitor)
    questions = monitor.slurm.questions
    [task_log] = sbatch.parent.glob("log-*.out")

    for step in range(5):
        with task_log.open("a") as stream:
            stream.write(f"{{'loss': 1.{step}, 'step': {100 + step}}}\n")
        monitor.daemon.follow_cycle()

    assert monitor.slurm.targeted == 0
    assert monitor.slurm.questions == questions
