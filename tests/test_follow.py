"""Live following on real files and a real SQLite store: new bytes only, positions that survive
restarts, fatal errors and trailers spotted while a job runs, stalls alerted once per silence."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eagle3_monitor.config import DaemonSection, MonitorConfig
from eagle3_monitor.monitor.follow import JobProgress, follow_jobs
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.announce import Announcer
from eagle3_monitor.slack.outbox import Outbox
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobState
from eagle3_monitor.state.store import Store, StoredJob, StoredRun
from eagle3_monitor.vocabulary import Category

# Lines as PyTorch and CUDA print them in public bug reports (not the simulator's wording).
NCCL_WATCHDOG = (
    "[E ProcessGroupNCCL.cpp:475] [Rank 1] Watchdog caught collective operation timeout: "
    "WorkNCCL(SeqNum=15, OpType=BROADCAST, Timeout(ms)=1800000) ran for 1800472 milliseconds "
    "before timing out.\n"
)
ILLEGAL_ACCESS = "RuntimeError: CUDA error: an illegal memory access was encountered\n"
TRAINING_STEP = "{'loss': 2.3141, 'grad_norm': 1.02, 'learning_rate': 9.9e-05, 'epoch': 0.1}\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


def running_job(logs: list[Path], row: int = 1, role: str = "training") -> StoredJob:
    return StoredJob(
        row=row, cluster="c", job_id=str(100 + row), submit="", display_id=str(100 + row),
        run_id=1, task_index=2, name="p.X_2", state=JobState.RUNNING, exit_code=None, reason="None",
        start=None, end=None, work_dir="", log_paths=[str(p) for p in logs], final=False,
        role=role,
    )  # fmt: skip


def follow(store: Store, catalog: Catalog, job: StoredJob, budget: int = 8 << 20) -> JobProgress:
    """One cycle as the daemon runs it: positions read from the store, written back after."""
    known = {path: at for path in job.log_paths if (at := store.log_position(path)) is not None}
    result = follow_jobs(known, catalog, [job], budget)
    with store.transaction():
        for position in result.positions:
            store.set_log_position(position)
    [progress] = result.progress
    return progress


def test_only_new_complete_lines_are_read_and_positions_survive_a_restart(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = tmp_path / "log-train_101_0.out"
    log.write_text(TRAINING_STEP * 3 + "partial line without its end")
    database = tmp_path / "state.db"
    with_store = Store.open(database)
    job = running_job([log])
    assert follow(with_store, catalog, job).fatal == []
    position = with_store.log_position(str(log))
    assert position is not None
    assert (position.offset, position.lines) == (len(TRAINING_STEP) * 3, 3)
    with_store.close()

    with log.open("a") as stream:
        stream.write(" now ended\n" + NCCL_WATCHDOG)
    reopened = Store.open(database)
    progress = follow(reopened, catalog, job)
    [hit] = progress.fatal
    assert hit.rule.rule.category is Category.NCCL
    assert hit.line == 5, "line numbers count the lines read in earlier cycles"
    assert follow(reopened, catalog, job).fatal == [], "nothing is read twice"
    reopened.close()


def test_a_truncated_or_replaced_log_is_read_from_the_start(
    tmp_path: Path, store: Store, catalog: Catalog
) -> None:
    log = tmp_path / "log.out"
    log.write_text(TRAINING_STEP * 50)
    follow(store, catalog, running_job([log]))
    log.write_text(ILLEGAL_ACCESS)  # shorter than what was read: truncated and rewritten
    [hit] = follow(store, catalog, running_job([log])).fatal
    assert hit.line == 1 and hit.rule.rule.category is Category.CUDA_ERROR

    replacement = tmp_path / "new.out"
    replacement.write_text(TRAINING_STEP * 60 + NCCL_WATCHDOG)
    position = store.log_position(str(log))
    assert position is not None
    replacement.replace(log)  # another inode at the same path
    [hit] = follow(store, catalog, running_job([log])).fatal
    assert hit.line == 61


def test_trailer_marks_the_job_as_ending(tmp_path: Path, store: Store, catalog: Catalog) -> None:
    log = tmp_path / "sbatch.out"
    log.write_text(TRAINING_STEP)
    assert follow(store, catalog, running_job([log])).ending is False
    with log.open("a") as stream:
        stream.write("+ echo 'job exited with code 0'\njob exited with code 0\n")
    assert follow(store, catalog, running_job([log])).ending is True

    cancelled = tmp_path / "other.out"
    cancelled.write_text(
        "slurmstepd: error: *** JOB 4242 ON gpu-17 CANCELLED AT 2026-11-26T03:00:00 "
        "DUE TO TIME LIMIT ***\n"
    )
    assert follow(store, catalog, running_job([cancelled], row=2)).ending is True


def test_fifos_missing_files_and_the_byte_budget_never_block_or_overread(
    tmp_path: Path, store: Store, catalog: Catalog
) -> None:
    fifo = tmp_path / "hostile.out"
    os.mkfifo(fifo)  # opening a FIFO for reading would block forever without O_NONBLOCK
    big = tmp_path / "big.out"
    big.write_text(TRAINING_STEP * 10_000)
    job = running_job([fifo, tmp_path / "missing.out", big])
    started = time.monotonic()
    progress = follow(store, catalog, job, budget=len(TRAINING_STEP) * 100 + 5)
    assert time.monotonic() - started < 5
    assert progress.fatal == []
    position = store.log_position(str(big))
    assert position is not None and position.offset == len(TRAINING_STEP) * 100
    assert store.log_position(str(fifo)) is None


def announcer(store: Store, stall_minutes: float) -> Announcer:
    config = MonitorConfig(daemon=DaemonSection(stall_after_minutes={"default": stall_minutes}))
    return Announcer(Outbox(store), config)


def stored_run_and_job(store: Store, log: Path) -> tuple[StoredRun, StoredJob]:
    run = store.create_run(
        "k", "c", "X", experiment_dir=None, experiment_id="cicd_1", user="alice", first_submit=None
    )
    started = datetime.now(UTC) - timedelta(hours=1)
    record = JobRecord(
        key=JobKey("c", "101", started), display_id="101", name="p.X_2", state=JobState.RUNNING,
        raw_state="RUNNING", exit_code=None, signal=None, start=started, end=None,
    )  # fmt: skip
    store.record_job(
        record, run_id=run.id, task_index=2, log_paths=[str(log)], final=False, role="training"
    )
    [job] = store.jobs_of_run(run.id)
    return run, job


def alerts(store: Store) -> list[tuple[str, str]]:
    rows = Outbox(store).rows()
    return [(str(row["idempotency_key"]), json.loads(row["payload"])["text"]) for row in rows]


def test_fatal_error_is_alerted_once_and_stalls_once_per_silence(
    tmp_path: Path, store: Store, catalog: Catalog
) -> None:
    log = tmp_path / "log.out"
    log.write_text(TRAINING_STEP + NCCL_WATCHDOG)
    run, job = stored_run_and_job(store, log)
    speaker = announcer(store, stall_minutes=1)
    now = time.time()
    os.utime(log, (now, now))

    speaker.progress(run, follow(store, catalog, job), now)
    speaker.progress(run, follow(store, catalog, job), now + 10)
    assert [key for key, _ in alerts(store)] == [f"job{job.row}:early"]
    assert "still running with nccl" in alerts(store)[0][1]

    speaker.progress(run, follow(store, catalog, job), now + 61)
    speaker.progress(run, follow(store, catalog, job), now + 90)
    assert [key for key, _ in alerts(store)][1:] == [f"job{job.row}:stall:1"]

    with log.open("a") as stream:
        stream.write(TRAINING_STEP)
    os.utime(log, (now + 100, now + 100))
    speaker.progress(run, follow(store, catalog, job), now + 101)
    speaker.progress(run, follow(store, catalog, job), now + 200)
    assert [key.split(":", 1)[1] for key, _ in alerts(store)][1:] == [
        "stall:1",
        "recovered:1",
        "stall:2",
    ]


def test_stall_limits_follow_the_task_role() -> None:
    section = DaemonSection(stall_after_minutes={"default": 10, "benchmark": 2})
    assert section.stall_after_seconds("benchmark") == 120
    assert section.stall_after_seconds("training") == 600
    assert section.stall_after_seconds(None) == 600
    assert DaemonSection().stall_after_seconds("synthesis") == 3600


def test_no_early_alert_when_the_job_is_already_ending_or_only_ran_out_of_gpu_memory(
    tmp_path: Path, store: Store, catalog: Catalog
) -> None:
    log = tmp_path / "log.out"
    log.write_text(
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 3 has a "
        "total capacity of 79.10 GiB of which 1.07 GiB is free.\n"
    )
    run, job = stored_run_and_job(store, log)
    speaker = announcer(store, stall_minutes=60)
    now = time.time()
    speaker.progress(run, follow(store, catalog, job), now)
    with log.open("a") as stream:
        stream.write(NCCL_WATCHDOG + "job exited with code 1\n")
    progress = follow(store, catalog, job)
    assert progress.fatal and progress.ending
    speaker.progress(run, progress, now)
    assert alerts(store) == []


def test_an_endless_line_without_newline_is_consumed_not_reread_forever(
    tmp_path: Path, store: Store, catalog: Catalog
) -> None:
    log = tmp_path / "progress.out"
    log.write_bytes(b"\r" + b"#" * (3 << 20))  # a progress bar that never prints a newline
    job = running_job([log])
    follow(store, catalog, job, budget=2 << 20)
    first = store.log_position(str(log))
    follow(store, catalog, job, budget=2 << 20)
    second = store.log_position(str(log))
    assert first is not None and second is not None
    assert first.offset == 2 << 20 and second.offset == (3 << 20) + 1
