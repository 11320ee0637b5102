"""What `poll --once` prints of each job agrees with what `review` says of it: an OOM kill is
exit 137 in both (one function turns Slurm's ExitCode into the number shown), and a job that
ended without starting says why instead of `no logs yet`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import PollResult, WatchSettings, poll_once
from eagle3_monitor.report import review_to_text
from eagle3_monitor.report.poll import poll_to_json, poll_to_text
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.run_review import review_run
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.slurm.model import JobState, SlurmView, exit_status
from eagle3_monitor.slurm.sacct import parse_exit_code
from eagle3_monitor.state.store import Store
from eagle3_monitor.vocabulary import Role
from tests.fakes.slurm import FakeSlurm, pipeline_job

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
SLURM_OOM = "0:125"  # sacct's ExitCode of a job the OOM killer ended (tests/fixtures/slurm)


def polled(
    tmp_path: Path, plans: list[TaskPlan], *jobs_of: tuple[JobState, dict[str, object]]
) -> tuple[PollResult, Store]:
    """The experiment written from `plans` and its jobs as given, polled once into a new
    store."""
    experiment = write_experiment(tmp_path, plans)
    slurm = FakeSlurm()
    for index, (state, fields) in enumerate(jobs_of):
        started = bool(fields.pop("started", True))
        record = pipeline_job(experiment, index, state, started=started)
        slurm.set(replace(record, **fields))  # type: ignore[arg-type]
    store = Store.open(tmp_path / "state.db")
    result = poll_once(slurm, store, WatchSettings(DEFAULT_JOB_NAME_PATTERN), NOW)
    assert result.ok, result.error
    return result, store


def line_of(text: str, task: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(task))


@pytest.mark.parametrize(
    ("sacct", "shown"),
    [("0:125", 137), ("0:9", 137), ("0:15", 143), ("1:0", 1), ("0:0", 0), ("", None)],
)
def test_exit_status_is_what_the_batch_shell_says(sacct: str, shown: int | None) -> None:
    assert exit_status(*parse_exit_code(sacct)) == shown


@pytest.mark.parametrize("trailer", [None, 137], ids=["killed-before-the-trailer", "trailer"])
def test_an_oom_kill_is_exit_137_in_poll_and_in_review(
    tmp_path: Path, catalog: Catalog, trailer: int | None
) -> None:
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n", exit_code=trailer)
    plans[2].ran = plans[3].ran = False
    code, signal = parse_exit_code(SLURM_OOM)
    never = {"started": False, "reason": "DependencyNeverSatisfied"}
    result, store = polled(
        tmp_path,
        plans,
        (JobState.COMPLETED, {}),
        (JobState.OUT_OF_MEMORY, {"exit_code": code, "signal": signal}),
        (JobState.CANCELLED, dict(never)),
        (JobState.CANCELLED, dict(never)),
    )

    text = poll_to_text(result, store)
    [run] = store.runs()
    review = review_run(run, store.jobs_of_run(run.id), catalog, MonitorConfig().review_settings())
    assert "OUT_OF_MEMORY  exit 137" in line_of(text, "task_1")
    assert "exit 137" in line_of(review_to_text(review), "task_1")
    [task_1] = [job for job in poll_to_json(result, store)["runs"][0]["tasks"] if job["index"] == 1]
    assert (task_1["exit_code"], task_1["signal"], task_1["exit_status"]) == (0, 125, 137)


def test_tasks_that_never_ran_say_why_instead_of_no_logs_yet(tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n", exit_code=1)
    plans[2].ran = plans[3].ran = False
    result, store = polled(
        tmp_path,
        plans,
        (JobState.COMPLETED, {}),
        (JobState.FAILED, {"exit_code": 1}),
        (JobState.CANCELLED, {"started": False, "reason": "DependencyNeverSatisfied"}),
        (JobState.CANCELLED, {"started": False, "reason": "None"}),
    )

    text = poll_to_text(result, store)
    assert line_of(text, "task_2").endswith("final never ran (dependency never satisfied)")
    assert line_of(text, "task_3").endswith("final cancelled before start")
    assert "exit" not in line_of(text, "task_2") and "no logs yet" not in text
    assert "FAILED         exit 1" in line_of(text, "task_1")


def test_a_job_cancelled_while_it_waited_on_its_dependency_says_so(tmp_path: Path) -> None:
    """What sacct 22.05 keeps of a job Slurm cancelled for a failed afterok (its pending
    reason, `Dependency`; tests/integration/test_slurm_states.py)."""
    plans = healthy_plan()[:2]
    plans[0] = TaskPlan(Role.SYNTHESIS, task_log="RANK 0 GPU count: 8\n", exit_code=1)
    plans[1].ran = False
    result, store = polled(
        tmp_path,
        plans,
        (JobState.FAILED, {"exit_code": 1}),
        (JobState.CANCELLED, {"started": False, "reason": "Dependency"}),
    )

    text = poll_to_text(result, store)
    assert line_of(text, "task_1").endswith(
        "final cancelled before start while waiting on a dependency"
    )


def test_a_job_cancelled_on_its_dependency_never_ran_even_when_slurm_gave_it_a_start() -> None:
    """Slurm 22.05 may record Start (= End) for a job it cancelled while it still waited on a
    failed afterok; seen on the real cluster (tests/integration/test_slurm_states.py)."""
    cancelled = SlurmView(JobState.CANCELLED, True, True, 0, "Dependency", "CANCELLED", "64")
    ran_then_cancelled = SlurmView(JobState.CANCELLED, True, True, 0, "None", "CANCELLED", "65")

    assert cancelled.never_ran == "cancelled before start while waiting on a dependency"
    assert ran_then_cancelled.never_ran is None
