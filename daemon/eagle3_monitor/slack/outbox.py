"""The durable Slack outbox (one repository over its tables) and its sender.

Every notification is a row, written with its idempotency key before any delivery; the key is
built here and only here (`Notification`'s constructors), and what a row is about is a column
(`event`), never parsed back out of the key. The sender delivers in row order per run thread,
at most one message per `pace` seconds per channel. Exactly-once: a row is claimed (`sending`,
committed) before the post, which happens without any lock, and marked `sent` with Slack's ts
after it; a row found `sending` (the process died in between) is first looked for in the
thread by the key in its message metadata and re-posted only when absent (at-least-once where
the token lacks the history scopes). Which row goes next is chosen when its pacing slot comes:
jobs' replies first (with the parent one waits for), then new threads, then summaries, and
among replies the thread that had one least recently (threads take turns), so a failure reply
never waits behind another run's backlog; edits (chat.update) are paced apart from posts and
fill the gaps between them. Transient failures (429, 5xx, no connection) leave the row
pending with a backoff; permanent ones park it; a bad token stops the sender until the
configuration changes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.transport import DeliveryError, Transport
from eagle3_monitor.state.store import Database, now_iso

PACE_SECONDS = 1.0
# Which due row goes first (lower first), by event: a job's reply, then a new thread's parent,
# then a run's summary, edits of parents last (they have their own pacing: they fill the gaps).
# A run's thread stays in row order: its next post ranks by its most urgent waiting post, so a
# parent a reply waits for goes as soon as that reply would.
URGENCY = {"final": 0, "early": 0, "stall": 0, "recovered": 0, "parent": 1, "finished": 2}
EDIT_URGENCY = 3
MAX_TURNS_KEPT = 4096
MAX_PROBE_SECONDS = 5.0  # during an outage, how long at most between two tries


class Event(StrEnum):
    """What a notification is about."""

    PARENT = "parent"  # the run's thread parent
    UPDATE = "update"  # an edit of the parent
    FINAL = "final"  # a job's final reply
    FINISHED = "finished"  # the run's summary
    EARLY = "early"  # a running job's fatal error
    STALL = "stall"  # a running job's silence
    RECOVERED = "recovered"  # ... and its end


@dataclass(frozen=True)
class Notification:
    """One notification's identity: the key that makes it once-only, and what it is about."""

    key: str
    event: Event
    run_id: int
    job: int | None = None

    @property
    def kind(self) -> str:
        """How it is delivered: a new thread, an edit of its parent, or a reply in it."""
        if self.event is Event.PARENT:
            return "parent"
        return "update" if self.event is Event.UPDATE else "reply"

    @classmethod
    def parent(cls, run_id: int) -> Notification:
        return cls(f"run{run_id}:parent", Event.PARENT, run_id)

    @classmethod
    def update(cls, run_id: int, cause: str) -> Notification:
        return cls(f"run{run_id}:update:{cause}", Event.UPDATE, run_id)

    @classmethod
    def finished(cls, run_id: int) -> Notification:
        return cls(f"run{run_id}:finished", Event.FINISHED, run_id)

    @classmethod
    def final(cls, run_id: int, job: int) -> Notification:
        return cls(f"job{job}:final", Event.FINAL, run_id, job)

    @classmethod
    def blocked_task(cls, run_id: int, index: int | None) -> Notification:
        """A blocked task's reply, said before Slurm listed its job."""
        return cls(f"run{run_id}:task{index}:blocked", Event.FINAL, run_id)

    @classmethod
    def early(cls, run_id: int, job: int) -> Notification:
        return cls(f"job{job}:early", Event.EARLY, run_id, job)

    @classmethod
    def stall(cls, run_id: int, job: int, episode: int) -> Notification:
        return cls(f"job{job}:stall:{episode}", Event.STALL, run_id, job)

    @classmethod
    def recovered(cls, run_id: int, job: int, episode: int) -> Notification:
        return cls(f"job{job}:recovered:{episode}", Event.RECOVERED, run_id, job)


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    run_id: int
    kind: str
    channel: str
    status: str
    attempts: int
    event: str = ""
    job: int | None = None


class DeliveryObserver(Protocol):
    """Told of every message Slack accepted and every failure (service/metrics.py counts
    them): the event, and for a job's final reply the seconds since Slurm's End of the job."""

    def accepted(self, event: str, since_job_end: float | None) -> None: ...

    def failed(self, kind: str) -> None: ...


class Outbox:
    """The outbox and slack_threads tables. Every method holds the database's lock for one
    quick statement (or joins the transaction its caller has opened). Over a read-only
    `Snapshot` (the status socket) only the reading methods work. `on_added` is called after
    each new row (the daemon wakes its sender: a reply goes out without waiting for the next
    send cycle; inside a transaction the sender's first read waits for its commit)."""

    def __init__(self, store: Database, on_added: Callable[[], object] | None = None) -> None:
        self.store = store
        self.on_added = on_added
        # `store.final_jobs_written` when no final reply was owed: until a job becomes final
        # again none is, and the review check need not ask (its cost would grow with history)
        self._no_reply_owed_at: int | None = None

    def add(self, notification: Notification, channel: str, message: Message) -> bool:
        """Record a notification; False when one with its key exists already (never twice)."""
        with self.store.lock:
            cursor = self.store.connection.execute(
                "INSERT INTO outbox (idempotency_key, run_id, job, kind, event, channel, payload,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (notification.key, notification.run_id, notification.job, notification.kind,
                 str(notification.event), channel, json.dumps(message.to_payload()), now_iso()),
            )  # fmt: skip
            added = cursor.rowcount == 1
            if added:
                self.store.unsent_maybe = True
        if added and self.on_added is not None:
            self.on_added()
        return added

    def cover(self, notification: Notification, by: Notification) -> bool:
        """Record `notification` as said by an earlier one (`by`): never posted."""
        with self.store.lock:
            cursor = self.store.connection.execute(
                "INSERT INTO outbox (idempotency_key, run_id, job, kind, event, channel, payload,"
                " status, created_at, sent_at) VALUES (?, ?, ?, ?, ?, '', ?, 'covered', ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (notification.key, notification.run_id, notification.job, notification.kind,
                 str(notification.event), json.dumps({"covered_by": by.key, "text": ""}),
                 now_iso(), now_iso()),
            )  # fmt: skip
        return cursor.rowcount == 1

    def keep_quiet(self, notification: Notification, reason: str) -> bool:
        """Record `notification` as owed to nobody: its run ended before the daemon began
        announcing (`service/announce.py:announcing_since`). Never posted; its key keeps the
        run from being owed a reply after every restart."""
        with self.store.lock:
            cursor = self.store.connection.execute(
                "INSERT INTO outbox (idempotency_key, run_id, job, kind, event, channel, payload,"
                " status, created_at, sent_at) VALUES (?, ?, ?, ?, ?, '', ?, 'quiet', ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (notification.key, notification.run_id, notification.job, notification.kind,
                 str(notification.event), json.dumps({"quiet": reason, "text": ""}),
                 now_iso(), now_iso()),
            )  # fmt: skip
        return cursor.rowcount == 1

    def has(self, notification: Notification) -> bool:
        return self._one("SELECT 1 FROM outbox WHERE idempotency_key = ?", notification.key)

    def count(self, job: int, event: Event) -> int:
        """How many notifications of this kind a job has had (stall episodes, ...)."""
        with self.store.lock:
            row = self.store.connection.execute(
                "SELECT COUNT(*) FROM outbox WHERE job = ? AND event = ?", (job, str(event))
            ).fetchone()
        return int(row[0])

    def runs_owing_final_replies(self) -> list[int]:
        """Runs with a job Slurm ended whose final reply is not in the outbox yet, oldest
        first. Asked again only after a job became final since none was owed: replies are
        never taken back, so until then none is."""
        with self.store.lock:
            written = self.store.final_jobs_written
            if written == self._no_reply_owed_at:
                return []
            rows = self.store.connection.execute(
                "SELECT j.run_id FROM jobs j WHERE j.final = 1 AND j.run_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.job = j.id AND o.event = ?)"
                " GROUP BY j.run_id ORDER BY MIN(j.id)",
                (str(Event.FINAL),),
            ).fetchall()
            if not rows:
                self._no_reply_owed_at = written
        return [int(row[0]) for row in rows]

    def runs_without_parent(self, among: set[int] | None = None) -> list[int]:
        """Runs with no parent message yet: all of them (after a start), or `among` those."""
        if among is not None and not among:
            return []
        where = "" if among is None else f" AND r.id IN ({','.join('?' * len(among))})"
        # `where` holds only placeholders: the run ids are parameters.
        query = (
            "SELECT r.id FROM runs r WHERE NOT EXISTS"  # noqa: S608
            " (SELECT 1 FROM outbox o WHERE o.run_id = r.id AND o.event = ?)"
            f"{where} ORDER BY r.id"
        )
        with self.store.lock:
            rows = self.store.connection.execute(
                query, (str(Event.PARENT), *sorted(among or ()))
            ).fetchall()
        return [int(row[0]) for row in rows]

    def owed_notifications(self, now: float) -> list[Row]:
        """What is still to be delivered and due by `now` (unix time), in row order. Each
        run's thread is a strict queue: a row waiting for its retry holds back every later
        row of its run, so a thread never reads out of order. Nothing is read while the store
        knows no row is unsent (idle, the sender's every-second check costs no query)."""
        with self.store.lock:
            if not self.store.unsent_maybe:
                return []
            rows = self.store.connection.execute(
                "SELECT id, idempotency_key, run_id, kind, channel, status, attempts, event,"
                " next_attempt_at, job FROM outbox WHERE status IN ('pending', 'sending')"
                " ORDER BY id"
            ).fetchall()
            if not rows:
                self.store.unsent_maybe = False
        held: set[int] = set()
        due = []
        for r in rows:
            if r["run_id"] in held:
                continue
            if r["next_attempt_at"] > now:
                held.add(r["run_id"])
                continue
            due.append(
                Row(r["id"], r["idempotency_key"], r["run_id"], r["kind"], r["channel"] or "",
                    r["status"], r["attempts"], r["event"] or "", r["job"])
            )  # fmt: skip
        return due

    def message(self, row: Row) -> Message:
        """The row's message, read and decoded only for the row about to be sent (never for
        the whole backlog)."""
        with self.store.lock:
            found = self.store.connection.execute(
                "SELECT payload FROM outbox WHERE id = ?", (row.id,)
            ).fetchone()
        return Message.from_payload(json.loads(found[0]))

    def retry_now(self, now: float) -> int:
        """Slack answers again: every row waiting out a backoff is due now (the backlog then
        drains at the paced rate). The number of rows made due."""
        with self.store.transaction() as connection:
            cursor = connection.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE status IN ('pending', 'sending')"
                " AND next_attempt_at > ?",
                (now, now),
            )
        return int(cursor.rowcount)

    def counts(self) -> dict[str, int]:
        """Rows by status, for status: queued, unconfirmed (sending), parked."""
        with self.store.lock:
            rows = self.store.connection.execute(
                "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status"
            ).fetchall()
        return {row["status"]: int(row["n"]) for row in rows}

    def job_ended_at(self, job: int) -> float | None:
        """When Slurm says the job ended (unix time), if it has said."""
        with self.store.lock:
            row = self.store.connection.execute("SELECT end FROM jobs WHERE id = ?", (job,))
            found = row.fetchone()
        if found is None or not found[0]:
            return None
        return datetime.fromisoformat(found[0]).timestamp()

    def depth(self) -> int:
        with self.store.lock:
            row = self.store.connection.execute(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            ).fetchone()
        return int(row[0])

    def thread(self, run_id: int) -> tuple[str, str] | None:
        with self.store.lock:
            row = self.store.connection.execute(
                "SELECT channel, ts FROM slack_threads WHERE run_id = ?", (run_id,)
            ).fetchone()
        return (row["channel"], row["ts"]) if row else None

    def superseded(self, row: Row) -> bool:
        """A newer edit of the same parent is waiting: only the newest needs sending."""
        return self._one(
            "SELECT 1 FROM outbox WHERE run_id = ? AND kind = 'update' AND id > ?"
            " AND status IN ('pending', 'sending') LIMIT 1",
            row.run_id,
            row.id,
        )

    def parent_parked(self, run_id: int) -> bool:
        return self._one(
            "SELECT 1 FROM outbox WHERE run_id = ? AND kind = 'parent' AND status = 'parked'",
            run_id,
        )

    def claim(self, row: Row) -> None:
        """About to post: from now on a crash leaves the row `sending`, to be looked for."""
        self._execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?", row.id
        )

    def mark_sent(self, row: Row, ts: str | None, thread_channel: str | None = None) -> None:
        """Delivered (with Slack's ts); a parent's ts becomes its run's thread."""
        with self.store.transaction() as connection:
            connection.execute(
                "UPDATE outbox SET status = 'sent', slack_ts = ?, sent_at = ?, last_error = NULL"
                " WHERE id = ?",
                (ts, now_iso(), row.id),
            )
            if row.kind == "parent" and ts is not None and thread_channel is not None:
                connection.execute(
                    "INSERT OR IGNORE INTO slack_threads (run_id, channel, ts) VALUES (?, ?, ?)",
                    (row.run_id, thread_channel, ts),
                )

    def defer(self, row: Row, error: str, attempts: int, retry_at: float) -> None:
        """A transient failure: try again at `retry_at`. A row left `sending` may have reached
        Slack: the next try looks for it first."""
        self._execute(
            "UPDATE outbox SET status = CASE WHEN status = 'sending' THEN 'sending'"
            " ELSE 'pending' END, attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
            attempts,
            error,
            retry_at,
            row.id,
        )

    def park(self, row: Row, error: str) -> None:
        """A permanent failure: never tried again; reported in status."""
        self._execute(
            "UPDATE outbox SET status = 'parked', last_error = ? WHERE id = ?", error, row.id
        )

    def refuse(self, row: Row, error: str) -> None:
        """Refused for a bad token, so not delivered: pending again, for after the fix."""
        with self.store.lock:
            self.store.connection.execute(
                "UPDATE outbox SET status = 'pending', last_error = ? WHERE id = ?", (error, row.id)
            )
            self.store.unsent_maybe = True

    def rows(self) -> list[dict[str, Any]]:
        """Every row, for status and tests."""
        with self.store.lock:
            rows = self.store.connection.execute("SELECT * FROM outbox ORDER BY id").fetchall()
        return [dict(row) for row in rows]

    def _one(self, sql: str, *parameters: object) -> bool:
        with self.store.lock:
            return self.store.connection.execute(sql, parameters).fetchone() is not None

    def _execute(self, sql: str, *parameters: object) -> None:
        with self.store.lock:
            self.store.connection.execute(sql, parameters)


@dataclass
class DrainResult:
    sent: int = 0
    parked: int = 0
    deferred: int = 0
    blocked: str | None = None
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # permanent: parked, or a bad token
    more: bool = False  # stopped at the deadline with rows still due
    outage_began: Outage | None = None  # this drain found Slack failing
    outage_ended: Outage | None = None  # ... or answering again after an outage


@dataclass
class Outage:
    """Slack failing transiently (5xx, 429, unreachable): one state for the whole sender, so
    one warning per outage, a probe at growing intervals (at most MAX_PROBE_SECONDS apart)
    instead of a backoff per row, and the whole backlog due the moment Slack answers."""

    since: float  # wall clock
    last_error: str
    failures: int = 1
    retry_at: float = 0.0

    def failed_again(self, now: float, error: str) -> None:
        self.failures += 1
        self.last_error = error
        self.retry_at = now + min(MAX_PROBE_SECONDS, 2.0 ** min(self.failures, 10))


class Sender:
    """Delivers what the outbox owes. One drain at a time (a second caller gets nothing)."""

    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        pace: float = PACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.outbox = outbox
        self.observer = observer
        self.transport = transport
        self.pace = pace
        self.clock = clock
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.last_post: dict[str, float] = {}  # pacing key (channel, or its edits) -> clock
        self.last_turn: dict[int, float] = {}  # run -> when its thread last had a call
        self.blocked: str | None = None  # set by a bad token: nothing is tried until reload
        self.outage: Outage | None = None
        self._draining = threading.Lock()

    def drain(self, deadline: float | None = None) -> DrainResult:
        """Deliver what is due, in order per run; stop at `deadline` (clock time)."""
        result = DrainResult(blocked=self.blocked)
        if self.blocked or not self._draining.acquire(blocking=False):
            return result
        try:
            self._drain(deadline, result)
        finally:
            self._draining.release()
        return result

    def _drain(self, deadline: float | None, result: DrainResult) -> None:
        if self.outage is not None and self.wall_clock() < self.outage.retry_at:
            return  # Slack is failing: wait for the next probe
        again = True
        while again:  # once more when Slack came back: the backlog is due now
            again = self._drain_once(deadline, result)

    def _drain_once(self, deadline: float | None, result: DrainResult) -> bool:
        stalled_runs: set[int] = set()
        tried: set[int] = set()
        waited = False
        while (row := self._next_row(stalled_runs, tried, result)) is not None:
            if deadline is not None and self.clock() >= deadline:
                result.more = True
                return False
            wait = self._wait_before(row)
            if wait > 0 and not waited:  # wait for the slot, then choose again: a reply
                self.sleep(wait)  # queued meanwhile goes in it
                waited = True
                continue
            waited = False
            tried.add(row.id)
            try:
                delivered = self._deliver(row)
            except DeliveryError as error:
                self._failed(row, error, result)
                stalled_runs.add(row.run_id)
                if error.blocking or not error.permanent:
                    return False  # a bad token, or Slack failing: no point trying the rest
                continue
            if self.outage is not None:
                return self._recovered(result)
            if row.kind == "reply":  # threads take turns at replies (a parent is no turn)
                self.last_turn[row.run_id] = self.clock()
            if delivered:
                result.sent += 1
            else:
                stalled_runs.add(row.run_id)  # a reply waiting for its parent
                result.deferred += 1
        return False

    def _next_row(self, stalled_runs: set[int], tried: set[int], result: DrainResult) -> Row | None:
        """The most urgent row due now, read again before every call so a reply queued meanwhile
        goes next: one whose pacing allows it now (an edit goes in the gap between two posts
        of its channel), then by urgency, then the run whose thread had a reply least recently
        (threads take turns: a failure reply never waits for another run's backlog), then row
        order. Each run's posts stay in row order; edits may go at any time."""
        heads: dict[int, Row] = {}
        urgency: dict[int, int] = {}
        edits: list[Row] = []
        for row in self.outbox.owed_notifications(self.wall_clock()):
            if row.id in tried:
                continue
            if row.run_id in stalled_runs:
                result.deferred += 1
                tried.add(row.id)
                continue
            if row.kind == "update":
                edits.append(row)
                continue
            heads.setdefault(row.run_id, row)
            rank = URGENCY.get(row.event, EDIT_URGENCY - 1)
            urgency[row.run_id] = min(urgency.get(row.run_id, rank), rank)
        ranked = [(urgency[run], head) for run, head in heads.items()]
        ranked += [  # an edit waits for its thread's parent to be posted
            (EDIT_URGENCY, edit)
            for edit in edits
            if edit.run_id not in heads or heads[edit.run_id].kind != "parent"
        ]
        if len(self.last_turn) > MAX_TURNS_KEPT:  # only runs with rows waiting need theirs
            waiting = {row.run_id for _, row in ranked}
            self.last_turn = {run: at for run, at in self.last_turn.items() if run in waiting}
        if not ranked:
            return None
        return min(ranked, key=lambda item: self._rank(*item))[1]

    def _rank(self, urgency: int, row: Row) -> tuple[bool, int, float, int]:
        turn = self.last_turn.get(row.run_id, float("-inf"))
        return (not self._ready(row), urgency, turn, row.id)

    def _ready(self, row: Row) -> bool:
        """May this row's call go now, as its channel's pacing goes?"""
        return self._wait_before(row) <= 0

    def _wait_before(self, row: Row) -> float:
        last = self.last_post.get(_pace_key(row.kind, row.channel))
        return 0.0 if last is None else self.pace - (self.clock() - last)

    def _recovered(self, result: DrainResult) -> bool:
        """The first success after an outage: it is over, and every waiting row is due."""
        assert self.outage is not None
        result.sent += 1
        result.outage_ended, self.outage = self.outage, None
        self.outbox.retry_now(self.wall_clock())
        return True

    def _deliver(self, row: Row) -> bool:
        """True when the row is done; False when it must wait (a reply before its parent)."""
        thread = self.outbox.thread(row.run_id)
        if row.kind == "parent" and thread is not None:
            self.outbox.mark_sent(row, thread[1])  # a parent exists already: never a second
            return True
        waits_for_parent = (
            row.kind != "parent" and thread is None and self.transport.supports_threads
        )
        if waits_for_parent and not self.outbox.parent_parked(row.run_id):
            return False  # the parent comes first; if it was parked, post without a thread
        if row.kind == "update":
            self._deliver_update(row, thread)
        else:
            self._deliver_post(row, thread)
        return True

    def _deliver_update(self, row: Row, thread: tuple[str, str] | None) -> None:
        """Edit the run's parent in place; only the newest pending edit is sent."""
        if thread is not None and not self.outbox.superseded(row):
            channel, ts = thread
            edits = _pace_key(row.kind, channel)
            message = self.outbox.message(row)
            self._call(edits, lambda: self.transport.update(channel, ts, message))
            self._accepted(row)
        self.outbox.mark_sent(row, thread[1] if thread else None)

    def _deliver_post(self, row: Row, thread: tuple[str, str] | None) -> None:
        channel = thread[0] if thread else row.channel
        thread_ts = thread[1] if thread and row.kind == "reply" else None
        found = (
            self.transport.find(channel, thread_ts, row.key) if row.status == "sending" else None
        )
        if found is not None:
            ts: str | None = found
        else:
            message = self.outbox.message(row)
            self.outbox.claim(row)
            posted = self._call(
                channel,
                lambda: self.transport.post(channel, message, thread_ts=thread_ts, key=row.key),
            )
            ts = posted.ts
            self._accepted(row)
        self.outbox.mark_sent(row, ts, channel)

    def _accepted(self, row: Row) -> None:
        """Slack took the row's message: tell the observer, with a final reply's latency from
        its job's end."""
        if self.observer is None:
            return
        ended = None
        if row.event == Event.FINAL and row.job is not None:
            ended = self.outbox.job_ended_at(row.job)
        since = max(0.0, self.wall_clock() - ended) if ended is not None else None
        self.observer.accepted(row.event, since)

    def _pace(self, channel: str) -> None:
        """Wait until `pace` seconds have passed since the last call to this channel ended
        (posts and edits of a channel are paced apart: Slack limits them separately)."""
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

    def _failed(self, row: Row, error: DeliveryError, result: DrainResult) -> None:
        if self.observer is not None:
            self.observer.failed(error.kind)
        message = str(error)
        result.errors.append(f"{row.key}: {message}")
        if error.blocking or error.permanent:
            result.refused.append(f"{row.key}: {message}")
        if error.blocking:  # a bad token: keep the row for after the fix, stop trying
            self.outbox.refuse(row, message)
            self.blocked = result.blocked = message
            return
        if error.permanent:
            self.outbox.park(row, message)
            result.parked += 1
            return
        now = self.wall_clock()
        if self.outage is None:
            self.outage = result.outage_began = Outage(now, message)
            self.outage.retry_at = now + 2.0
        else:
            self.outage.failed_again(now, message)
        self.outbox.defer(row, message, row.attempts + 1, self.outage.retry_at)
        result.deferred += 1


def _pace_key(kind: str, channel: str) -> str:
    """Posts and edits of a channel are paced apart: Slack limits them separately."""
    return f"{channel} edits" if kind == "update" else channel
