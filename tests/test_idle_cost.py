"""An idle daemon's work does not grow with its history: with nothing owed, the sender's and
the review check's every-few-seconds questions are answered without asking SQLite, and a burst
of writes is folded out of the WAL when it ends. Real SQLite, statements seen through its trace
callback; the console notifier records what is sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.daemon import SystemClock
from eagle3_monitor.service.runtime import Service
from eagle3_monitor.service.status import Health, StatusService
from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.outbox import Event, Notification, Outbox, Sender
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobState
from eagle3_monitor.state.store import Store
from tests.daemon_harness import (
    FakeClock,
    RecordingConsole,
    in_process_daemon,
    next_run_in,
    serving,
)

CHANNEL = "C-RUNS"
SUBMIT = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "state.db")
    opened.create_run("c:r1", "c", "M_EAGLE3", experiment_dir=None, experiment_id="cicd_1",
                      user="u", first_submit=None)  # fmt: skip
    return opened


def statements_during(store: Store, action: object) -> list[str]:
    seen: list[str] = []
    store.connection.set_trace_callback(seen.append)
    try:
        assert callable(action)
        action()
    finally:
        store.connection.set_trace_callback(None)
    return seen


def ended_job(store: Store, job_id: str) -> int:
    record = JobRecord(key=JobKey("c", job_id, SUBMIT), display_id=job_id,
                       name="acct.M_EAGLE3_0", state=JobState.FAILED, raw_state="FAILED",
                       exit_code=1, signal=0, start=SUBMIT, end=SUBMIT)  # fmt: skip
    transition = store.record_job(record, run_id=1, task_index=0, log_paths=[], final=True)
    assert transition is not None
    return transition.job.row


def test_an_idle_sender_asks_the_database_nothing_until_a_row_is_added(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = Sender(outbox, slack, pace=0, clock=clock.monotonic, wall_clock=clock.time,
                    sleep=clock.advance)  # fmt: skip
    outbox.add(Notification.parent(1), CHANNEL, Message("parent 1"))
    sender.drain()  # sends it, then finds nothing owed

    idle = statements_during(store, sender.drain)
    outbox.add(Notification.finished(1), CHANNEL, Message("run 1 finished"))
    sender.drain()

    assert idle == []
    assert [sent.message.text for sent in slack.sent] == ["parent 1", "run 1 finished"]


def test_a_row_refused_for_a_bad_token_is_owed_again(store: Store) -> None:
    outbox = Outbox(store)
    outbox.add(Notification.parent(1), CHANNEL, Message("parent 1"))
    [row] = outbox.owed_notifications(0)
    outbox.claim(row)
    outbox.mark_sent(row, "1.0")
    assert outbox.owed_notifications(0) == []

    outbox.refuse(row, "invalid_auth")

    assert [owed.key for owed in outbox.owed_notifications(0)] == ["run1:parent"]


def test_the_review_check_asks_again_only_after_a_job_ended(store: Store) -> None:
    outbox = Outbox(store)
    first = ended_job(store, "41")
    assert outbox.runs_owing_final_replies() == [1]
    outbox.add(Notification.final(1, first), CHANNEL, Message("job 41 failed"))
    assert outbox.runs_owing_final_replies() == []

    idle = statements_during(store, outbox.runs_owing_final_replies)
    ended_job(store, "42")

    assert idle == []
    assert outbox.runs_owing_final_replies() == [1]


def test_the_status_snapshot_still_counts_what_the_writer_owes(store: Store) -> None:
    ended_job(store, "41")
    Outbox(store).add(Notification.parent(1), CHANNEL, Message("parent 1"))

    with store.read() as snapshot:
        outbox = Outbox(snapshot)
        owed = outbox.owed_notifications(0)
        owing = outbox.runs_owing_final_replies()

    assert [row.key for row in owed] == ["run1:parent"]
    assert owing == [1]
    assert store.run_count() == 1


def test_a_burst_of_writes_is_checkpointed_when_it_ends(store: Store, tmp_path: Path) -> None:
    outbox = Outbox(store)
    assert not store.checkpoint_after_burst(rows=50)  # nothing written yet
    for number in range(60):
        outbox.add(Notification.update(1, f"step{number}"), CHANNEL, Message("x" * 2000))
    wal = tmp_path / "state.db-wal"
    assert wal.stat().st_size > 0

    assert store.checkpoint_after_burst(rows=50)
    assert wal.stat().st_size == 0
    assert not store.checkpoint_after_burst(rows=50)  # nothing written since
    assert len(outbox.owed_notifications(0)) == 60
    assert outbox.owed_notifications(0)[0].event == Event.UPDATE


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_idle_cycles_wait_to_be_woken_and_a_new_row_is_sent_at_once(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    monitor = in_process_daemon(tmp_path, catalog, clock=SystemClock(),
                                status={"socket": str(searchable_dir / "status.sock")})  # fmt: skip
    service = Service(monitor.daemon, None)
    with serving(service):
        # nothing owed, no job running
        wait_for(lambda: next_run_in(service, "send") > 30, "the idle send cycle")
        wait_for(lambda: next_run_in(service, "follow") > 30, "the idle follow cycle")
        run = monitor.store.create_run("c:r1", "c", "M_EAGLE3", experiment_dir=None,
                                       experiment_id="cicd_1", user="u", first_submit=None)  # fmt: skip
        monitor.daemon.outbox.add(Notification.parent(run.id), CHANNEL, Message("parent 1"))

        wait_for(lambda: [sent.message.text for sent in monitor.slack.sent] == ["parent 1"],
                 "the woken send cycle")  # fmt: skip
        wait_for(lambda: next_run_in(service, "send") > 30, "the send cycle idle again")


def test_the_systemd_status_line_counts_again_only_after_the_store_wrote(store: Store) -> None:
    status = StatusService(store, Health(), request_poll=lambda: None)
    first = status.summary()

    reads = statements_during(store, status.summary)  # the writer connection: untouched
    opened: list[object] = []
    real_read = store.read

    def counted_read() -> object:
        opened.append(1)
        return real_read()

    store.read = counted_read  # type: ignore[method-assign,assignment]
    again = status.summary()
    Outbox(store).add(Notification.parent(1), CHANNEL, Message("parent 1"))
    after_write = status.summary()

    assert reads == [] and again == first
    assert len(opened) == 1  # counted once more, after the write, not for the unchanged one
    assert first.startswith("1 runs;") and "outbox 0" in first
    assert "outbox 1" in after_write
