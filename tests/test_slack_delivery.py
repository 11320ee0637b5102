"""Slack delivery through the real slack_sdk WebClient against the Web API test server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from eagle3_monitor.errors import ConfigError
from eagle3_monitor.review.model import Evidence, RootCause
from eagle3_monitor.slack.messages import (
    Message,
    RunHeader,
    TaskLine,
    failure_message,
    parent_message,
    passed_message,
)
from eagle3_monitor.slack.outbox import MAX_PROBE_SECONDS, Event, Notification, Outbox, Sender
from eagle3_monitor.slack.transport import (
    BotTransport,
    ConsoleTransport,
    Posted,
    WebhookTransport,
    load_token,
    redact,
)
from eagle3_monitor.state.store import Store
from eagle3_monitor.vocabulary import Category
from tests.slack_server import SlackTestServer

TOKEN = "xoxb-test-token"
CHANNEL = "C-RUNS"
GOLDEN = Path(__file__).parent / "golden"


class Clock:
    """Wall time the test moves forward (for retry backoff)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """A sleep that takes no time: the sender's pacing moves the clock instead."""
        self.now += seconds


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(TOKEN) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state.db")
    opened.create_run(
        "c:r1",
        "c",
        "M_EAGLE3",
        experiment_dir=None,
        experiment_id="cicd_1",
        user="alice",
        first_submit=None,
    )
    opened.create_run(
        "c:r2",
        "c",
        "N_EAGLE3",
        experiment_dir=None,
        experiment_id="cicd_2",
        user="bob",
        first_submit=None,
    )
    yield opened
    opened.close()


def transport(slack: SlackTestServer, token: str = TOKEN, retries: int = 0) -> BotTransport:
    return BotTransport(token, slack.base_url, timeout=5, retries=retries)


def header(states: list[str]) -> RunHeader:
    roles = ["synthesis", "dump", "training", "benchmark"]
    tasks = [TaskLine(f"task_{i}", roles[i], state, "0:10:00") for i, state in enumerate(states)]
    return RunHeader("M_EAGLE3_offline", "cicd_1", "alice", "dev", tasks)


def cause(text: str = "torch.OutOfMemoryError: CUDA out of memory.") -> RootCause:
    evidence = (Evidence(Path("M_1/log-x_5_0.out"), 812, text),)
    return RootCause(
        Category.GPU_OOM, "cuda-oom", "CUDA out of memory on GPU 0", "Use the HF backend.", evidence
    )


EVENT_OF_KIND = {"parent": Event.PARENT, "update": Event.UPDATE, "reply": Event.FINAL}


def enqueue(
    store: Store, *, key: str, run_id: int, kind: str, channel: str, message: Message
) -> bool:
    return Outbox(store).add(Notification(key, EVENT_OF_KIND[kind], run_id), channel, message)


def outbox_rows(store: Store) -> list[dict[str, object]]:
    return Outbox(store).rows()


def put(store: Store, key: str, kind: str, message: Message, run_id: int = 1) -> None:
    enqueue(store, key=key, run_id=run_id, kind=kind, channel=CHANNEL, message=message)


def test_one_thread_per_run_with_in_place_updates(slack: SlackTestServer, store: Store) -> None:
    put(store, "r1:parent", "parent", parent_message(header(["running", "pending"])))
    put(store, "r1:0:passed", "reply", passed_message("task_0", "synthesis"))
    put(store, "r1:update:1", "update", parent_message(header(["pass", "running"])))
    put(store, "r1:update:2", "update", parent_message(header(["pass", "fail"])))
    assert not enqueue(
        store, key="r1:parent", run_id=1, kind="parent", channel=CHANNEL, message=Message("again")
    )

    result = Sender(Outbox(store), transport(slack), pace=0).drain()

    parents = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(parents) == 1 and result.sent == 4
    [reply] = [m for m in slack.messages(CHANNEL) if m.thread_ts == parents[0].ts]
    assert "task_0" in reply.text
    assert parents[0].updates == 1  # the first edit was superseded by the second
    assert "task_1 fail" in parents[0].text


def test_failure_reply_escapes_untrusted_text_and_broadcasts(
    slack: SlackTestServer, store: Store
) -> None:
    put(store, "r1:parent", "parent", parent_message(header(["fail"])))
    hostile = "RuntimeError: <!channel> see <https://evil.example|the docs> & more"
    message = failure_message(
        "task_1",
        "dump",
        "fail",
        cause(hostile),
        [
            "eagle3-monitor rerun /x --yaml <pipeline.yaml> > rerun.yaml",
            "  task_1: --input-data /scratchspace/data → /cicd/<!here>/data",
        ],
        mention="<@U123>",
    )
    enqueue(store, key="r1:1:failed", run_id=1, kind="reply", channel=CHANNEL, message=message)

    Sender(Outbox(store), transport(slack), pace=0).drain()

    reply = slack.messages(CHANNEL)[-1]
    body = "\n".join(block["text"]["text"] for block in reply.blocks)
    assert reply.reply_broadcast and reply.thread_ts == slack.messages(CHANNEL)[0].ts
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert "&lt;https://evil.example|the docs&gt; &amp; more" in body
    assert "M_1/log-x_5_0.out:812:" in body and "`gpu_oom`" in body
    assert "--yaml &lt;pipeline.yaml&gt;" in body
    assert "/cicd/&lt;!here&gt;/data" in body and "<!here>" not in body
    assert body.startswith("<@U123> ")  # the configured mention is not escaped
    assert reply.metadata == {
        "event_type": "eagle3_monitor_notification",
        "event_payload": {"key": "r1:1:failed"},
    }


def test_megabyte_of_evidence_is_cut_within_slack_limits(
    slack: SlackTestServer, store: Store
) -> None:
    message = failure_message("task_2", "training", "fail", cause("x" * (1 << 20)), [])
    put(store, "r1:parent", "parent", parent_message(header(["fail"])))
    enqueue(store, key="r1:2:failed", run_id=1, kind="reply", channel=CHANNEL, message=message)

    result = Sender(Outbox(store), transport(slack), pace=0).drain()

    assert result.sent == 2 and result.parked == 0
    reply = slack.messages(CHANNEL)[-1]
    assert all(len(block["text"]["text"]) <= 3000 for block in reply.blocks)
    assert sum(len(block["text"]["text"]) for block in reply.blocks) < 12000
    assert "…" in reply.blocks[1]["text"]["text"]


def test_burst_of_429s_delivers_everything_once_in_order_and_paced(
    slack: SlackTestServer, store: Store
) -> None:
    clock = Clock()
    put(store, "r1:parent", "parent", parent_message(header(["running"])))
    for number in range(4):
        put(store, f"r1:{number}", "reply", Message(f"event {number}"))
    slack.fail_next("chat.postMessage", times=5, status=429, retry_after=0)
    sender = Sender(Outbox(store), transport(slack, retries=1), pace=0.2, wall_clock=clock)

    for _ in range(10):
        sender.drain()
        clock.now += 600
        if sender.outbox.depth() == 0:
            break

    messages = slack.messages(CHANNEL)
    assert [m.text for m in messages[1:]] == [f"event {n}" for n in range(4)]
    assert len(messages) == 5
    gaps = [b.at - a.at for a, b in pairwise(messages)]
    assert min(gaps) >= 0.19


def test_server_down_for_a_while_then_everything_arrives(
    slack: SlackTestServer, store: Store
) -> None:
    clock = Clock()
    put(store, "r1:parent", "parent", parent_message(header(["running"])))
    enqueue(store, key="r1:a", run_id=1, kind="reply", channel=CHANNEL, message=Message("a"))
    sender = Sender(Outbox(store), transport(slack), pace=0, wall_clock=clock)
    slack.stop()

    down = sender.drain()
    slack.start()
    clock.now += 600
    up = sender.drain()

    assert down.sent == 0 and down.deferred >= 1 and "unreachable" in down.errors[0]
    assert up.sent == 2
    assert [m.text for m in slack.messages(CHANNEL)][1:] == ["a"]


def test_invalid_auth_is_reported_and_not_retried_in_a_loop(
    slack: SlackTestServer, store: Store
) -> None:
    put(store, "r1:parent", "parent", parent_message(header(["running"])))
    sender = Sender(Outbox(store), transport(slack, token="xoxb-revoked-1234"), pace=0)

    first = sender.drain()
    calls = len(slack.call_times("chat.postMessage"))
    second = sender.drain()

    assert first.blocked == "Slack refused: invalid_auth" == second.blocked
    assert len(slack.call_times("chat.postMessage")) == calls == 1
    [row] = outbox_rows(store)
    assert (row["status"], row["last_error"]) == ("pending", "Slack refused: invalid_auth")


def test_unknown_channel_parks_the_message_and_others_go_on(
    slack: SlackTestServer, store: Store
) -> None:
    enqueue(
        store, key="r1:parent", run_id=1, kind="parent", channel="C-GONE", message=Message("lost")
    )
    enqueue(
        store, key="r2:parent", run_id=2, kind="parent", channel=CHANNEL, message=Message("fine")
    )

    result = Sender(Outbox(store), transport(slack), pace=0).drain()

    assert (result.parked, result.sent) == (1, 1)
    assert [row["status"] for row in outbox_rows(store)] == ["parked", "sent"]


class DiesAfterPosting(BotTransport):
    """The process is killed after Slack accepted the message, before the local commit."""

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        super().post(channel, message, thread_ts=thread_ts, key=key)
        raise KeyboardInterrupt


@pytest.mark.parametrize("kind", ["parent", "reply"])
def test_killed_between_post_and_commit_gives_no_duplicate(
    kind: str, slack: SlackTestServer, store: Store
) -> None:
    enqueue(
        store, key="r1:parent", run_id=1, kind="parent", channel=CHANNEL, message=Message("parent")
    )
    if kind == "reply":
        Sender(Outbox(store), transport(slack), pace=0).drain()
        enqueue(
            store, key="r1:reply", run_id=1, kind="reply", channel=CHANNEL, message=Message("reply")
        )

    with pytest.raises(KeyboardInterrupt):
        Sender(Outbox(store), DiesAfterPosting(TOKEN, slack.base_url, retries=0), pace=0).drain()
    restarted = Sender(Outbox(store), transport(slack), pace=0).drain()

    assert restarted.sent == 1
    assert [m.text for m in slack.messages(CHANNEL)].count(kind) == 1
    assert all(row["status"] == "sent" for row in outbox_rows(store))


def test_webhook_fallback_posts_without_threads(slack: SlackTestServer, store: Store) -> None:
    enqueue(
        store, key="r1:parent", run_id=1, kind="parent", channel="#runs", message=Message("parent")
    )
    enqueue(
        store, key="r1:reply", run_id=1, kind="reply", channel="#runs", message=Message("reply")
    )
    enqueue(
        store, key="r1:update", run_id=1, kind="update", channel="#runs", message=Message("edit")
    )

    result = Sender(Outbox(store), WebhookTransport(slack.webhook_url), pace=0).drain()

    assert result.sent == 3
    assert [m.text for m in slack.messages("webhook")] == ["parent", "reply"]


def test_console_notifier_output_is_pinned(store: Store) -> None:
    stream = io.StringIO()
    enqueue(
        store,
        key="r1:parent",
        run_id=1,
        kind="parent",
        channel="#eagle3",
        message=parent_message(header(["pass", "fail"])),
    )
    failure = failure_message(
        "task_1",
        "dump",
        "fail",
        cause(),
        ["eagle3-monitor rerun /x > rerun.yaml && uv run launch.py --yaml rerun.yaml --yes"],
    )
    enqueue(store, key="r1:1:failed", run_id=1, kind="reply", channel="#eagle3", message=failure)

    Sender(Outbox(store), ConsoleTransport(stream), pace=0).drain()

    assert stream.getvalue() == (GOLDEN / "console_failure.txt").read_text()


def test_token_from_file_env_or_credentials_never_from_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("xoxb-from-file\n")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "slack-token").write_text("xoxb-from-credentials")
    monkeypatch.setenv("MY_SLACK_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))

    assert load_token(str(token_file), "MY_SLACK_TOKEN") == "xoxb-from-file"
    assert load_token(None, "MY_SLACK_TOKEN") == "xoxb-from-env"
    assert load_token(None, None) == "xoxb-from-credentials"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(
        ConfigError, match=r"no Slack bot token found \(tried slack.token_file .*missing"
    ):
        load_token(str(tmp_path / "missing"), None)


def test_tokens_are_redacted_from_errors() -> None:
    assert redact("bad token xoxb-1234-abcd in request") == "bad token xox?-…redacted… in request"
    assert redact("xoxp-12_ab.cd/ef=gh") == "xox?-…redacted…"
    assert redact("POST https://hooks.slack.com/services/T0/B0/s3cr3t failed") == (
        "POST https://hooks.slack.com/services/…redacted… failed"
    )
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer …redacted…"


def test_server_errors_are_retried_then_delivered_once(
    slack: SlackTestServer, store: Store
) -> None:
    clock = Clock()
    enqueue(
        store, key="r1:parent", run_id=1, kind="parent", channel=CHANNEL, message=Message("parent")
    )
    slack.fail_next("chat.postMessage", times=3, status=500, error="internal_error")
    sender = Sender(Outbox(store), transport(slack, retries=1), pace=0, wall_clock=clock)

    first = sender.drain()
    clock.now += 600
    second = sender.drain()

    assert (first.sent, second.sent) == (0, 1)
    assert [m.text for m in slack.messages(CHANNEL)] == ["parent"]


def test_the_test_server_enforces_slack_block_limits(slack: SlackTestServer, store: Store) -> None:
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    put(store, "r1:parent", "parent", Message("long", [too_long]))
    put(store, "r2:parent", "parent", Message("many", too_many), run_id=2)

    result = Sender(Outbox(store), transport(slack), pace=0).drain()

    assert result.parked == 2
    assert [row["last_error"] for row in outbox_rows(store)] == [
        "Slack refused: invalid_blocks"
    ] * 2


@pytest.mark.parametrize("kind", ["parent", "reply"])
def test_a_crash_then_a_failing_history_lookup_postpones_and_never_reposts(
    kind: str, slack: SlackTestServer, store: Store
) -> None:
    """Killed after Slack accepted the post; on restart the lookup fails (HTTP 500) three
    times: the row waits (unconfirmed), and once the lookup answers it is found, not re-sent."""
    clock = Clock()
    put(store, "r1:parent", "parent", Message("parent"))
    if kind == "reply":
        Sender(Outbox(store), transport(slack), pace=0, wall_clock=clock).drain()
        put(store, "r1:reply", "reply", Message("reply"))
    with pytest.raises(KeyboardInterrupt):
        Sender(Outbox(store), DiesAfterPosting(TOKEN, slack.base_url, retries=0), pace=0).drain()
    lookup = "conversations.replies" if kind == "reply" else "conversations.history"
    slack.fail_next(lookup, times=3, status=500, error="internal_error")
    restarted = Sender(Outbox(store), transport(slack), pace=0, wall_clock=clock)

    for _ in range(3):
        result = restarted.drain()
        assert result.sent == 0
        assert Outbox(store).counts().get("sending") == 1  # unconfirmed, counted, kept
        clock.now += 60
    final = restarted.drain()

    assert final.sent == 1
    assert [m.text for m in slack.messages(CHANNEL)].count(kind) == 1
    assert all(row["status"] == "sent" for row in outbox_rows(store))


def test_after_an_outage_threads_stay_in_order_and_the_backlog_drains_at_the_pace(
    slack: SlackTestServer, store: Store
) -> None:
    """Two runs' threads, 20 replies queued during a 4-minute outage: when Slack answers, the
    next probe finds it within MAX_PROBE_SECONDS, every row is due at once, each thread arrives
    in order, and the 20 replies take the paced time (0.5 s apart), not a backoff each."""
    clock = Clock()
    for run in (1, 2):
        put(store, f"r{run}:parent", "parent", Message(f"parent {run}"), run_id=run)
    sender = Sender(Outbox(store), transport(slack), pace=0.5, wall_clock=clock,
                    clock=clock, sleep=clock.advance)  # fmt: skip
    sender.drain()
    for number in range(10):
        for run in (1, 2):
            put(store, f"r{run}:{number}", "reply", Message(f"r{run} event {number}"), run_id=run)
    slack.stop()
    outage_start = clock.now
    while clock.now < outage_start + 240:
        sender.drain()
        clock.advance(1)
    assert sender.outage is not None and sender.outage.retry_at - clock.now <= MAX_PROBE_SECONDS
    slack.start()

    recovered_at = clock.now
    while Outbox(store).depth() and clock.now < recovered_at + 60:
        sender.drain()
        clock.advance(0.1)

    assert Outbox(store).depth() == 0
    assert clock.now - recovered_at <= MAX_PROBE_SECONDS + 20 * 0.5 + 1
    for run in (1, 2):
        replies = [m.text for m in slack.messages(CHANNEL) if m.text.startswith(f"r{run} ")]
        assert replies == [f"r{run} event {n}" for n in range(10)]
    assert sender.outage is None


def test_a_row_waiting_for_its_retry_holds_back_the_rest_of_its_thread(store: Store) -> None:
    put(store, "r1:parent", "parent", Message("parent"))
    put(store, "r1:a", "reply", Message("a"))
    put(store, "r1:b", "reply", Message("b"))
    put(store, "r2:parent", "parent", Message("other"), run_id=2)
    outbox = Outbox(store)
    [parent, first, *_] = outbox.owed_notifications(0)
    outbox.defer(first, "HTTP 500", 1, retry_at=100)

    due = [row.key for row in outbox.owed_notifications(50)]

    assert due == ["r1:parent", "r2:parent"]  # r1:b waits behind r1:a
    assert parent.key == "r1:parent"
