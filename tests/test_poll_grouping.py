"""Grouping jobs into pipeline runs, with a stand-in sacct (pure logic; the real thing is in
tests/integration)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER, Completed, SacctBackend
from eagle3_monitor.state.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


class Slurm:
    """Answers sacct with the rows it holds and scontrol with the live jobs it holds."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.live: list[str] = []

    def job(
        self, job_id: str, name: str, state: str, submit: datetime, work_dir: str = "/tmp"
    ) -> None:
        stamp = submit.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        end = stamp if state not in ("PENDING", "RUNNING") else "Unknown"
        self.rows.append(
            {"JobID": job_id, "JobIDRaw": job_id, "JobName": name, "State": state, "ExitCode": "0:0",
             "Submit": stamp, "Start": stamp, "End": end, "User": "alice", "WorkDir": work_dir, "Cluster": "c"}
        )  # fmt: skip

    def __call__(self, command: Sequence[str], timeout: float) -> Completed:
        if "--version" in command:
            return Completed(0, "slurm 22.05.8\n", "")
        if command[0] == "scontrol":
            return Completed(0, "\n".join(self.live) + "\n", "")
        lines = [DELIMITER.join(row.get(field, "") for field in BASE_FIELDS) for row in self.rows]
        return Completed(0, "\n".join(lines) + "\n", "")


def poll(slurm: Slurm, store: Store) -> None:
    result = poll_once(
        SacctBackend(runner=slurm), store, WatchSettings(DEFAULT_JOB_NAME_PATTERN), NOW
    )
    assert result.ok, result.error


def runs(store: Store) -> list[list[tuple[int | None, str]]]:
    return [
        [(job.task_index, job.job_id) for job in store.jobs_of_run(run.id)] for run in store.runs()
    ]


def test_grouping_by_experiment_dir(tmp_path: Path) -> None:
    slurm, store = Slurm(), Store.open(tmp_path / "s.db")
    for index in range(2):
        for epoch, first in ((1764000000, 10), (1764000100, 20)):
            slurm.job(str(first + index), f"a.M_{index}", "COMPLETED", NOW - timedelta(minutes=5),
                      work_dir=f"/x/cicd/cicd_{epoch}/M_{index}")  # fmt: skip

    poll(slurm, store)

    assert runs(store) == [[(0, "10"), (1, "11")], [(0, "20"), (1, "21")]]
    assert [run.experiment_id for run in store.runs()] == ["cicd_1764000000", "cicd_1764000100"]


def test_grouping_without_experiment_dir_by_base_and_submit_time(tmp_path: Path) -> None:
    slurm, store = Slurm(), Store.open(tmp_path / "s.db")
    first = NOW - timedelta(hours=3)
    slurm.job("1", "a.M_0", "COMPLETED", first)
    slurm.job("2", "a.M_1", "COMPLETED", first + timedelta(seconds=1))
    slurm.job("5", "a.M_0", "RUNNING", first + timedelta(hours=1))
    slurm.job("6", "a.M_1", "PENDING", first + timedelta(hours=1, seconds=1))

    poll(slurm, store)

    assert runs(store) == [[(0, "1"), (1, "2")], [(0, "5"), (1, "6")]]


def test_grouping_follows_the_dependency_chain(tmp_path: Path) -> None:
    slurm, store = Slurm(), Store.open(tmp_path / "s.db")
    first = NOW - timedelta(hours=2)
    slurm.job("1", "a.M_0", "RUNNING", first)
    slurm.job("3", "a.M_0", "RUNNING", first + timedelta(minutes=1))
    slurm.job("2", "a.M_1", "PENDING", first + timedelta(minutes=2))
    slurm.live = [
        "JobId=2 JobName=a.M_1 JobState=PENDING Reason=Dependency Dependency=afterok:1(unfulfilled)"
    ]

    poll(slurm, store)

    assert runs(store) == [[(0, "1"), (1, "2")], [(0, "3")]]
