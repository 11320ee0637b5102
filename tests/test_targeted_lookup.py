"""The targeted lookup of jobs whose logs say they ended (`jobs_ending`): one query for all of
them, by id, with their steps, in both backends."""

from __future__ import annotations

from eagle3_monitor.slurm.sacct import SacctBackend
from tests.fakes.pyslurm import db
from tests.test_pyslurm_backend import backend as pyslurm_backend
from tests.test_slurm_parsing import FakeSlurm


def test_sacct_asks_of_ending_jobs_in_one_call_by_id_with_their_steps() -> None:
    fake = FakeSlurm()

    SacctBackend(runner=fake).jobs_ending(["12", "9", "9"])

    queries = [command for command in fake.commands if "--version" not in command]
    assert len(queries) == 1
    assert queries[0][-2:] == ["-j", "9,12"]
    assert "-X" not in queries[0], "steps say how a job ended (an OOM-killed batch step)"


def test_sacct_asks_nothing_when_no_job_is_ending() -> None:
    fake = FakeSlurm()

    assert SacctBackend(runner=fake).jobs_ending([]) == []
    assert fake.commands == []


def test_pyslurm_asks_of_ending_jobs_in_one_load_by_id() -> None:
    db.DATABASE_JOBS.clear()
    db.DATABASE_JOBS.extend([db.Job(1, "a.M_0", "RUNNING"), db.Job(2, "a.M_1", "FAILED")])
    loads = len(db.LAST_FILTER)

    records = pyslurm_backend().jobs_ending(["2"])

    assert [(r.job_id, r.raw_state) for r in records] == [("2", "FAILED")]
    assert len(db.LAST_FILTER) == loads + 1
    assert db.LAST_FILTER[-1].conditions["ids"] == [2]
