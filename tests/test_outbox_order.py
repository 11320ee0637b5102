"""Which outbox row the sender delivers next: a failure reply never waits behind another run's
backlog, threads stay in order, edits fill the gaps between posts. Real SQLite outbox, the
console notifier recording what it got, a clock the sender's pacing moves."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.outbox import Event, Notification, Outbox, Sender
from eagle3_monitor.slack.transport import Posted
from eagle3_monitor.state.store import Store
from tests.daemon_harness import FakeClock, RecordingConsole

CHANNEL = "C-RUNS"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "state.db")
    for run in (1, 2, 3):
        opened.create_run(f"c:r{run}", "c", "M_EAGLE3", experiment_dir=None,
                          experiment_id=f"cicd_{run}", user="u", first_submit=None)  # fmt: skip
    return opened


def paced_sender(store: Store, clock: FakeClock, slack: RecordingConsole) -> Sender:
    return Sender(Outbox(store), slack, pace=1.0, clock=clock.monotonic, wall_clock=clock.time,
                  sleep=clock.advance)  # fmt: skip


def reply(outbox: Outbox, run: int, text: str, event: Event = Event.FINAL) -> None:
    outbox.add(Notification(f"r{run}:{text}", event, run), CHANNEL, Message(text))


def posted(slack: RecordingConsole) -> list[str]:
    return [sent.message.text for sent in slack.sent]


def test_a_failure_reply_goes_before_another_runs_backlog(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = paced_sender(store, clock, slack)
    for run in (1, 2):
        outbox.add(Notification.parent(run), CHANNEL, Message(f"parent {run}"))
    sender.drain()
    for task in (1, 2, 3):
        reply(outbox, 1, f"run 1 task {task} blocked")
    reply(outbox, 1, "run 1 finished", Event.FINISHED)
    reply(outbox, 2, "run 2 task 0 failed")

    sender.drain()

    assert posted(slack)[2:] == [
        "run 1 task 1 blocked",  # run 1's turn came first (lower row)
        "run 2 task 0 failed",  # then run 2's: it waited longer than run 1
        "run 1 task 2 blocked",
        "run 1 task 3 blocked",
        "run 1 finished",
    ]


def test_a_reply_queued_while_the_sender_drains_goes_next_not_last(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    for run in (1, 2):
        outbox.add(Notification.parent(run), CHANNEL, Message(f"parent {run}"))
    for step in range(5):
        reply(outbox, 1, f"run 1 step {step}")
    calls = 0

    def pace_and_queue(seconds: float) -> None:  # run 2 fails while run 1's thread drains
        nonlocal calls
        calls += 1
        clock.advance(seconds)
        if calls == 3:  # the wait for the slot "run 1 step 2" was to take
            reply(outbox, 2, "run 2 failed")

    sender = Sender(Outbox(store), slack, pace=1.0, clock=clock.monotonic,
                    wall_clock=clock.time, sleep=pace_and_queue)  # fmt: skip
    sender.drain()

    texts = posted(slack)
    assert texts[3:5] == ["parent 2", "run 2 failed"], "the reply (and its parent) took it"
    assert [t for t in texts if t.startswith("run 1")] == [f"run 1 step {n}" for n in range(5)]


def test_a_new_threads_parent_is_not_held_back_by_other_threads_replies(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = paced_sender(store, clock, slack)
    outbox.add(Notification.parent(1), CHANNEL, Message("parent 1"))
    sender.drain()
    for step in range(4):
        reply(outbox, 1, f"run 1 step {step}")
    outbox.add(Notification.parent(2), CHANNEL, Message("parent 2"))
    reply(outbox, 2, "run 2 failed")

    sender.drain()

    texts = posted(slack)
    assert texts.index("run 2 failed") <= 3, texts
    assert texts.index("parent 2") < texts.index("run 2 failed")


def test_edits_fill_the_gaps_between_posts_and_posts_stay_one_pace_apart(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = paced_sender(store, clock, slack)
    outbox.add(Notification.parent(1), CHANNEL, Message("parent 1"))
    sender.drain()
    post_times: list[float] = []
    original = slack.post

    def timed_post(channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        post_times.append(clock.monotonic())
        return original(channel, message, thread_ts=thread_ts, key=key)

    slack.post = timed_post  # type: ignore[method-assign]
    for step in range(3):
        reply(outbox, 1, f"step {step}")
        outbox.add(Notification.update(1, f"step{step}"), CHANNEL, Message(f"edit {step}"))
    started = clock.monotonic()

    sender.drain()

    assert posted(slack)[1:] == ["step 0", "step 1", "step 2"]
    assert [message.text for _, message in slack.edits] == ["edit 2"], "only the newest edit"
    assert all(b - a >= 1.0 for a, b in pairwise(post_times))
    assert clock.monotonic() - started <= 3.0, "the edit took no post's slot"


def test_the_outbox_says_when_a_row_is_added_and_not_when_its_key_exists(store: Store) -> None:
    added: list[int] = []
    outbox = Outbox(store, on_added=lambda: added.append(1))

    first = outbox.add(Notification.parent(1), CHANNEL, Message("parent"))
    again = outbox.add(Notification.parent(1), CHANNEL, Message("parent"))

    assert (first, again) == (True, False)
    assert added == [1]


def test_an_edit_waiting_for_its_parent_does_not_hold_its_thread_back(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = paced_sender(store, clock, slack)
    outbox.add(Notification.parent(1), CHANNEL, Message("parent 1"))
    sender.drain()
    for step in range(3):
        reply(outbox, 1, f"run 1 step {step}")
    for run in (2, 3):
        outbox.add(Notification.parent(run), CHANNEL, Message(f"parent {run}"))
        outbox.add(Notification.update(run, "RUNNING"), CHANNEL, Message(f"edit {run}"))
    reply(outbox, 3, "run 3 failed")

    sender.drain()

    texts = posted(slack)
    assert texts[1:5] == ["run 1 step 0", "parent 3", "run 3 failed", "run 1 step 1"], texts
    assert "parent 2" in texts, "a parent with no reply waiting goes after the replies"
    assert sorted(message.text for _, message in slack.edits) == ["edit 2", "edit 3"]


def test_an_edit_of_a_parent_does_not_use_up_its_threads_turn(store: Store) -> None:
    clock, slack, outbox = FakeClock(), RecordingConsole(), Outbox(store)
    sender = paced_sender(store, clock, slack)
    for run in (1, 2):
        outbox.add(Notification.parent(run), CHANNEL, Message(f"parent {run}"))
    sender.drain()
    for task in (1, 2, 3):
        reply(outbox, 1, f"run 1 task {task} blocked")
    reply(outbox, 2, "run 2 failed")
    outbox.add(Notification.update(2, "review"), CHANNEL, Message("run 2: fail"))

    sender.drain()

    assert posted(slack)[2:] == [
        "run 1 task 1 blocked", "run 2 failed", "run 1 task 2 blocked", "run 1 task 3 blocked"
    ]  # fmt: skip
    assert [message.text for _, message in slack.edits] == ["run 2: fail"]
