"""The pyslurm backend's logic against a stand-in with pyslurm 25.11's API shape; the real
pyslurm 25.11.2 on Slurm 25.11.7 runs in the integration suite's 25.11 lane."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eagle3_monitor.slurm.backend import make_backend
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.slurm.pyslurm_backend import PyslurmBackend
from eagle3_monitor.slurm.sacct import SacctSettings, SlurmError
from tests.fakes import pyslurm as standin
from tests.fakes.pyslurm import db

SUBMIT = int(datetime(2026, 11, 26, 5, 0, tzinfo=UTC).timestamp())


@pytest.fixture(autouse=True)
def fresh_standin() -> Iterator[None]:
    db.DATABASE_JOBS.clear()
    db.LAST_FILTER.clear()
    standin.CONTROLLER_JOBS.clear()
    yield


def backend(
    installed: tuple[int, int] = (25, 11),
    users: tuple[str, ...] = (),
    clusters: tuple[str, ...] = (),
) -> PyslurmBackend:
    settings = SacctSettings(users=users, clusters=clusters)
    return PyslurmBackend(settings, module=standin, installed_version=lambda: installed)


def fake_pyslurm(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `pyslurm` on the path of this process and its children, whose import runs `body`."""
    package = tmp_path / "site" / "pyslurm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    monkeypatch.setenv("PYTHONPATH", str(package.parent))


def test_pyslurm_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pyslurm(tmp_path, "raise ImportError('No module named pyslurm')\n", monkeypatch)

    with pytest.raises(SlurmError, match=r"importing it fails \(ImportError: No module.*sacct"):
        make_backend("pyslurm", SacctSettings())


def test_a_pyslurm_whose_import_would_end_the_daemon_is_refused_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what libslurm does on import without a configuration: print and _exit
    fake_pyslurm(tmp_path, (
        "import os, sys\n"
        "sys.stderr.write('python: fatal: Could not establish a configuration source\\n')\n"
        "os._exit(1)\n"
    ), monkeypatch)  # fmt: skip
    before = sys.modules.get("pyslurm")  # an earlier test may have imported the real one

    with pytest.raises(
        SlurmError, match=r"\(python: fatal: Could not establish a config.*SLURM_CONF"
    ):
        make_backend("pyslurm", SacctSettings())
    assert sys.modules.get("pyslurm") is before  # not imported by this call


def test_pyslurm_version_must_match_the_installed_slurm() -> None:
    with pytest.raises(
        SlurmError, match=r"pyslurm 25\.11 does not match the installed Slurm 22\.05: "
    ):
        backend(installed=(22, 5)).jobs_by_id(["1"])


def test_pyslurm_jobs_become_the_same_records_as_sacct_gives() -> None:
    db.DATABASE_JOBS.extend(
        [
            db.Job(7, "acct.M_EAGLE3_0", "TIMEOUT", submit_time=SUBMIT, start_time=SUBMIT + 5, end_time=SUBMIT + 90,
                   steps={"batch": db.JobStep("CANCELLED", 0)}),
            db.Job(12, "acct.M_EAGLE3_1", "OUT_OF_MEMORY", exit_code=0, exit_code_signal=125, submit_time=SUBMIT,
                   start_time=SUBMIT + 1, end_time=SUBMIT + 2, array_id=6, array_task_id=2),
            db.Job(13, "acct.M_EAGLE3_2", "PENDING", submit_time=SUBMIT),
        ]
    )  # fmt: skip

    records = {
        r.job_id: r
        for r in backend(users=("alice",), clusters=("dev",)).jobs_since(datetime.now(UTC))
    }

    assert (
        records["7"].state is JobState.TIMEOUT and records["7"].steps[0].state is JobState.CANCELLED
    )
    assert records["7"].is_final()
    assert (records["12"].display_id, records["12"].signal) == ("6_2", 125)
    assert records["12"].key.submit == datetime.fromtimestamp(SUBMIT, UTC)
    assert not records["13"].is_final() and records["13"].end is None
    assert db.LAST_FILTER[-1].conditions["users"] == ["alice"]
    assert db.LAST_FILTER[-1].conditions["clusters"] == ["dev"]


def test_pyslurm_tracked_jobs_by_id_in_one_load() -> None:
    db.DATABASE_JOBS.extend([db.Job(1, "a.M_0", "COMPLETED"), db.Job(2, "a.M_1", "FAILED")])

    records = backend().jobs_by_id(["2", "2"])

    assert [r.job_id for r in records] == ["2"]
    assert db.LAST_FILTER[-1].conditions["ids"] == [2]


def test_pyslurm_live_jobs_give_log_paths() -> None:
    standin.CONTROLLER_JOBS[5] = db.Job(
        5, "a.M_0", "RUNNING", standard_output="/x/sbatch_a.M_0_5.out"
    )

    live = backend().live_jobs()

    assert live["5"].queued and live["5"].stdout == "/x/sbatch_a.M_0_5.out"


def test_a_job_never_eligible_is_found_by_its_id_from_the_controller() -> None:
    # slurmdbd's window leaves out a job cancelled while its dependency was pending, and
    # pyslurm's JobFilter has no states to widen it (sacct -s does): slurmctld still knows it
    never_ran = db.Job(10, "a.M_1", "CANCELLED", submit_time=SUBMIT, eligible=False)
    db.DATABASE_JOBS.extend([db.Job(9, "a.M_0", "FAILED", submit_time=SUBMIT), never_ran])
    standin.CONTROLLER_JOBS.update({9: db.DATABASE_JOBS[0], 10: never_ran})

    records = backend().jobs_since(datetime(2026, 11, 26, 4, 0, tzinfo=UTC))

    assert sorted(r.job_id for r in records) == ["10", "9"]
    assert db.LAST_FILTER[-1].conditions["ids"] == [10]  # only the one the window missed


def test_array_task_zero_is_shown_as_sacct_shows_it_though_pyslurm_reads_it_as_none() -> None:
    db.DATABASE_JOBS.extend([
        db.Job(180, "a.M_0", "COMPLETED", array_id=179, array_task_id=None),  # task 0
        db.Job(179, "a.M_0", "COMPLETED", array_id=179, array_task_id=3),
        db.Job(183, "a.M_0", "PENDING", array_id=183, array_task_id=None,
               array_tasks_waiting="0-3"),
    ])  # fmt: skip

    records = backend().jobs_by_id(["179", "180", "183"])

    assert sorted(r.display_id for r in records) == ["179_0", "179_3", "183_[0-3]"]
