"""The SQLite store: migrations, transitions, final states, the append-only event log."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eagle3_monitor.errors import MonitorError
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobState
from eagle3_monitor.state.schema import MIGRATIONS
from eagle3_monitor.state.store import LogPosition, Store

SUBMIT = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def record(state: JobState, job_id: str = "42", end: datetime | None = None) -> JobRecord:
    return JobRecord(
        key=JobKey("dev", job_id, SUBMIT),
        display_id=job_id,
        name="acct.M_EAGLE3_0",
        state=state,
        raw_state=str(state),
        exit_code=0,
        signal=0,
        start=SUBMIT,
        end=end,
    )


def test_store_migrates_once_and_uses_wal(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    store = Store.open(tmp_path / "s.db")

    assert store.schema_version == len(MIGRATIONS)
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {
        row[0]
        for row in store.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {
        "runs",
        "jobs",
        "job_events",
        "watermarks",
        "outbox",
        "slack_threads",
        "reviews",
        "log_positions",
    } <= tables


def test_store_newer_schema_is_refused_with_one_line(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    store.connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store.close()

    with pytest.raises(MonitorError, match="newer than this eagle3-monitor knows"):
        Store.open(tmp_path / "s.db")


def test_store_records_each_transition_once_and_freezes_final_jobs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    run = store.create_run(
        "dev:x",
        "dev",
        "M_EAGLE3",
        experiment_dir=None,
        experiment_id=None,
        user="u",
        first_submit=SUBMIT,
    )
    end = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)

    transitions = [
        store.record_job(
            record(state, end=end if final else None),
            run_id=run.id,
            task_index=0,
            log_paths=[],
            final=final,
        )
        for state, final in (
            (JobState.PENDING, False),
            (JobState.PENDING, False),
            (JobState.RUNNING, False),
            (JobState.COMPLETED, True),
            (JobState.FAILED, True),
        )
    ]

    assert [t.new_state if t else None for t in transitions] == [
        "PENDING", None, "RUNNING", "COMPLETED", None,
    ]  # fmt: skip
    job = store.job("dev", "42", SUBMIT)
    assert job is not None and (job.state, job.final) == ("COMPLETED", True)
    assert [(e.old_state, e.new_state, e.final) for e in store.events(job.row)] == [
        (None, "PENDING", False),
        ("PENDING", "RUNNING", False),
        ("RUNNING", "COMPLETED", True),
    ]


def test_store_job_ids_reused_with_another_submit_time_are_other_jobs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    first = record(JobState.COMPLETED, end=SUBMIT)
    reused = replace(first, key=JobKey("dev", "42", datetime(2027, 1, 1, tzinfo=UTC)))

    store.record_job(first, run_id=None, task_index=0, log_paths=[], final=True)
    store.record_job(reused, run_id=None, task_index=0, log_paths=[], final=False)

    assert len(store.unfinished_jobs()) == 1


def test_store_event_log_is_append_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    store.record_job(record(JobState.RUNNING), run_id=None, task_index=0, log_paths=[], final=False)

    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.connection.execute("UPDATE job_events SET new_state = 'X'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.connection.execute("DELETE FROM job_events")


def test_store_watermark_round_trip(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")

    store.set_watermark("sacct", "2026-11-26T05:00:00+00:00")
    store.set_watermark("sacct", "2026-11-26T06:00:00+00:00")

    assert store.watermark("sacct") == "2026-11-26T06:00:00+00:00"
    assert store.watermark("other") is None


def test_store_unwritable_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(MonitorError, match="cannot open the state database"):
        Store.open(blocker / "s.db")


def test_store_forgets_log_positions_only_of_ended_jobs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    running, ended = record(JobState.RUNNING, "1"), record(JobState.COMPLETED, "2", end=SUBMIT)
    store.record_job(running, run_id=None, task_index=0, log_paths=["/l/run.out"], final=False)
    store.record_job(ended, run_id=None, task_index=1, log_paths=["/l/end.out"], final=True)
    for path in ("/l/run.out", "/l/end.out"):
        store.set_log_position(LogPosition(path, 1, 10, 2))

    assert store.forget_positions_of_ended_jobs() == 1
    store.checkpoint()

    assert store.log_position("/l/run.out") == LogPosition("/l/run.out", 1, 10, 2)
    assert store.log_position("/l/end.out") is None
    store.close()
