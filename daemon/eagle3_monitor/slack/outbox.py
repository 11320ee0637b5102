"""The durable Slack outbox and its sender.

Every notification is a row, written with its idempotency key (run, job, event, attempt)
before any delivery. The sender delivers in row order per run thread, at most one message per
second per channel. Exactly-once: a row is marked `sending` and committed before the post, and
`sent` with Slack's ts after it; a row found `sending` (the process died in between) is first
looked for in the thread by the key in its message metadata and re-posted only when absent
(at-least-once where the token lacks the history scopes). Transient failures (429, 5xx, no
connection) leave the row pending with a backoff; permanent ones park it; a bad token stops the
sender until the configuration changes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.transport import DeliveryError, Transport
from eagle3_monitor.state.store import Store, now_iso

PACE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


def enqueue(
    store: Store,
    *,
    key: str,
    run_id: int,
    kind: str,
    channel: str,
    message: Message,
    job: int | None = None,
) -> bool:
    """Record a notification; False when one with this key already exists (never twice)."""
    if kind not in ("parent", "reply", "update"):
        raise ValueError(f"unknown outbox kind {kind!r}")
    cursor = store.connection.execute(
        "INSERT INTO outbox (idempotency_key, run_id, job, kind, channel, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (key, run_id, job, kind, channel, json.dumps(message.to_payload()), now_iso()),
    )
    return cursor.rowcount == 1


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    run_id: int
    kind: str
    channel: str
    message: Message
    status: str
    attempts: int


@dataclass
class DrainResult:
    sent: int = 0
    parked: int = 0
    deferred: int = 0
    blocked: str | None = None
    errors: list[str] = field(default_factory=list)


class Sender:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        pace: float = PACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.transport = transport
        self.pace = pace
        self.clock = clock
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.last_post: dict[str, float] = {}
        self.blocked: str | None = None  # set by a bad token: nothing is tried until restart/reload

    def pending(self) -> int:
        row = self.store.connection.execute(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return int(row[0])

    def drain(self, deadline: float | None = None) -> DrainResult:
        """Deliver what is due, in order per run; stop at `deadline` (clock time)."""
        result = DrainResult(blocked=self.blocked)
        if self.blocked:
            return result
        stalled_runs: set[int] = set()
        for row in self._due_rows():
            if deadline is not None and self.clock() >= deadline:
                break
            if row.run_id in stalled_runs:
                result.deferred += 1
                continue
            try:
                delivered = self._deliver(row)
            except DeliveryError as error:
                self._failed(row, error, result)
                stalled_runs.add(row.run_id)
                if error.blocking:
                    break
                continue
            if delivered:
                result.sent += 1
            else:
                stalled_runs.add(row.run_id)  # a reply waiting for its parent
                result.deferred += 1
        return result

    def _due_rows(self) -> list[Row]:
        rows = self.store.connection.execute(
            "SELECT * FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?"
            " ORDER BY id",
            (self.wall_clock(),),
        ).fetchall()
        return [
            Row(r["id"], r["idempotency_key"], r["run_id"], r["kind"], r["channel"] or "",
                Message.from_payload(json.loads(r["payload"])), r["status"], r["attempts"])
            for r in rows
        ]  # fmt: skip

    def _thread(self, run_id: int) -> tuple[str, str] | None:
        row = self.store.connection.execute(
            "SELECT channel, ts FROM slack_threads WHERE run_id = ?", (run_id,)
        ).fetchone()
        return (row["channel"], row["ts"]) if row else None

    def _deliver(self, row: Row) -> bool:
        """True when the row is done; False when it must wait (a reply before its parent)."""
        thread = self._thread(row.run_id)
        if row.kind == "parent" and thread is not None:
            self._mark_sent(row, thread[1])  # a parent exists already: never a second thread
            return True
        waits_for_parent = (
            row.kind != "parent" and thread is None and self.transport.supports_threads
        )
        if waits_for_parent and not self._parent_parked(row.run_id):
            return False  # the parent comes first; if it was parked, post without a thread
        if row.kind == "update":
            self._deliver_update(row, thread)
        else:
            self._deliver_post(row, thread)
        return True

    def _deliver_update(self, row: Row, thread: tuple[str, str] | None) -> None:
        """Edit the run's parent in place; only the newest pending edit is sent."""
        if thread is not None and not self._superseded(row):
            channel, ts = thread
            self._call(channel, lambda: self.transport.update(channel, ts, row.message))
        self._mark_sent(row, thread[1] if thread else None)

    def _deliver_post(self, row: Row, thread: tuple[str, str] | None) -> None:
        channel = thread[0] if thread else row.channel
        thread_ts = thread[1] if thread and row.kind == "reply" else None
        found = self._find_unconfirmed(row, channel, thread_ts)
        if found is not None:
            ts: str | None = found
        else:
            self._mark_sending(row)
            posted = self._call(
                channel,
                lambda: self.transport.post(channel, row.message, thread_ts=thread_ts, key=row.key),
            )
            ts = posted.ts
        with self.store.transaction():
            self._mark_sent(row, ts)
            if row.kind == "parent" and ts is not None:
                self.store.connection.execute(
                    "INSERT OR IGNORE INTO slack_threads (run_id, channel, ts) VALUES (?, ?, ?)",
                    (row.run_id, channel, ts),
                )

    def _find_unconfirmed(self, row: Row, channel: str, thread_ts: str | None) -> str | None:
        """A row left `sending` may have reached Slack before the process died: look first."""
        if row.status != "sending":
            return None
        return self.transport.find(channel, thread_ts, row.key)

    def _superseded(self, row: Row) -> bool:
        """Only the newest pending edit of a run's parent needs sending."""
        newer = self.store.connection.execute(
            "SELECT 1 FROM outbox WHERE run_id = ? AND kind = 'update' AND id > ?"
            " AND status IN ('pending', 'sending') LIMIT 1",
            (row.run_id, row.id),
        ).fetchone()
        return newer is not None

    def _parent_parked(self, run_id: int) -> bool:
        row = self.store.connection.execute(
            "SELECT 1 FROM outbox WHERE run_id = ? AND kind = 'parent' AND status = 'parked'",
            (run_id,),
        ).fetchone()
        return row is not None

    def _pace(self, channel: str) -> None:
        """Wait until `pace` seconds have passed since the last call to this channel ended."""
        last = self.last_post.get(channel)
        if last is not None:
            wait = self.pace - (self.clock() - last)
            if wait > 0:
                self.sleep(wait)

    def _call(self, channel: str, call: Callable[[], Any]) -> Any:
        self._pace(channel)
        try:
            return call()
        finally:
            self.last_post[channel] = self.clock()

    def _mark_sending(self, row: Row) -> None:
        self.store.connection.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?", (row.id,)
        )

    def _mark_sent(self, row: Row, ts: str | None) -> None:
        self.store.connection.execute(
            "UPDATE outbox SET status = 'sent', slack_ts = ?, sent_at = ?, last_error = NULL"
            " WHERE id = ?",
            (ts, now_iso(), row.id),
        )

    def _failed(self, row: Row, error: DeliveryError, result: DrainResult) -> None:
        message = str(error)
        result.errors.append(f"{row.key}: {message}")
        if error.blocking:  # a bad token: keep the row for after the fix, stop trying
            self.store.connection.execute(  # refused, so not delivered: back to pending
                "UPDATE outbox SET status = 'pending', last_error = ? WHERE id = ?",
                (message, row.id),
            )
            self.blocked = result.blocked = message
            return
        if error.permanent:
            self.store.connection.execute(
                "UPDATE outbox SET status = 'parked', last_error = ? WHERE id = ?",
                (message, row.id),
            )
            result.parked += 1
            return
        attempts = row.attempts + 1
        backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 10))
        self.store.connection.execute(
            # a row left 'sending' may have reached Slack: the next try looks for it first
            "UPDATE outbox SET status = CASE WHEN status = 'sending' THEN 'sending'"
            " ELSE 'pending' END,"
            " attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
            (attempts, message, self.wall_clock() + backoff, row.id),
        )
        result.deferred += 1


def outbox_rows(store: Store) -> list[dict[str, Any]]:
    """Every outbox row, for status and tests."""
    rows = store.connection.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    return [dict(row) for row in rows]
