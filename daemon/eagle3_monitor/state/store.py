"""The SQLite store: runs, jobs, their state transitions, reviews and poll watermarks.

One writer connection, shared by the daemon's threads under `Store.lock` (held only for quick
database work, never around Slurm, Slack or log reading); readers (`Store.read()`, used by the
status socket) open their own connection and, with WAL, never wait for the writer."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, wraps
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from eagle3_monitor.errors import MonitorError
from eagle3_monitor.slurm.model import (
    JobKey,
    JobRecord,
    JobState,
    SlurmView,
    exit_status,
    parse_state,
)
from eagle3_monitor.state.schema import MIGRATIONS

CHECKPOINT_AFTER_ROWS = 500


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True)
class StoredJob:
    row: int
    cluster: str
    job_id: str
    submit: str
    display_id: str
    run_id: int | None
    task_index: int | None
    name: str
    state: JobState
    exit_code: int | None
    reason: str
    start: str | None
    end: str | None
    work_dir: str
    log_paths: list[str]
    final: bool
    role: str | None = None
    raw_state: str = ""
    user: str = ""
    signal: int | None = None

    @property
    def exit_status(self) -> int | None:
        """The exit status as review shows it (`slurm/model.py:exit_status`)."""
        return exit_status(self.exit_code, self.signal)

    def slurm_view(self) -> SlurmView:
        """What Slurm said of this job when it was last polled."""
        return SlurmView(
            self.state,
            self.final,
            self.start is not None,
            self.exit_status,
            self.reason,
            self.raw_state,
            self.display_id,
        )


@dataclass(frozen=True)
class LogPosition:
    """How far live following has read a log: byte offset (after a newline), lines before it."""

    path: str
    inode: int
    offset: int
    lines: int = 0


@dataclass(frozen=True)
class NewRun:
    """A run to make: what its first job says of it."""

    run_key: str
    cluster: str
    job_base: str
    experiment_dir: str | None
    experiment_id: str | None
    user: str
    first_submit: datetime | None


@dataclass(frozen=True)
class StoredRun:
    id: int
    run_key: str
    cluster: str
    experiment_dir: str | None
    experiment_id: str | None
    job_base: str
    user: str
    first_submit: str | None


@dataclass(frozen=True)
class Transition:
    """A job's state change that this poll recorded."""

    job: StoredJob
    old_state: str | None
    new_state: str
    final: bool


@dataclass(frozen=True)
class JobUpdate:
    """What a poll says of one job: Slurm's record and what was found for it."""

    record: JobRecord
    run_id: int | None
    task_index: int | None
    log_paths: list[str]
    final: bool
    detail: dict[str, object]
    role: str | None = None

    def stored(self, existing: StoredJob | None, row: int) -> StoredJob:
        """The job as it will be stored in `row`."""
        record, key = self.record, self.record.key
        return StoredJob(
            row=row,
            cluster=key.cluster,
            job_id=key.job_id,
            submit=_iso(key.submit) or "",
            display_id=record.display_id,
            run_id=self.run_id,
            task_index=self.task_index,
            name=record.name,
            state=record.state,
            exit_code=record.exit_code,
            reason=record.reason,
            start=_iso(record.start),
            end=_iso(record.end),
            work_dir=record.work_dir,
            log_paths=list(self.log_paths),
            final=self.final,
            role=self.role or (existing.role if existing else None),
            raw_state=record.raw_state,
            user=record.user,
            signal=record.signal,
        )


@dataclass(frozen=True)
class JobEvent:
    at: str
    old_state: str | None
    new_state: str
    final: bool


@dataclass(frozen=True)
class NewFailure:
    """A failed job's fingerprinted root cause, to be kept (`Store.record_failure`)."""

    job: int
    run_id: int
    fingerprint: str
    cause: str
    job_base: str
    task_index: int | None
    role: str
    category: str
    rule: str
    pattern: str
    example: str
    seen_at: str  # when the job ended, UTC ISO


@dataclass(frozen=True)
class StoredFailure(NewFailure):
    """A kept failure with its run, job and where its Slack reply went."""

    experiment_id: str | None = None
    display_id: str = ""
    reply_channel: str | None = None
    reply_ts: str | None = None
    thread_channel: str | None = None
    thread_ts: str | None = None


_FAILURE_KEYS = {"fingerprint": "fingerprint", "cause": "cause"}
_FAILURE_SELECT = (
    "SELECT f.*, r.experiment_id, j.display_id,"
    " (SELECT o.channel FROM outbox o WHERE o.job = f.job AND o.event = 'final'"
    "  AND o.status = 'sent' ORDER BY o.id LIMIT 1) AS reply_channel,"
    " (SELECT o.slack_ts FROM outbox o WHERE o.job = f.job AND o.event = 'final'"
    "  AND o.status = 'sent' ORDER BY o.id LIMIT 1) AS reply_ts,"
    " t.channel AS thread_channel, t.ts AS thread_ts"
    " FROM failures f JOIN runs r ON r.id = f.run_id JOIN jobs j ON j.id = f.job"
    " LEFT JOIN slack_threads t ON t.run_id = f.run_id"
)


Method = TypeVar("Method", bound=Callable[..., Any])


class Database(Protocol):
    """A connection and the lock that guards it: the writer (`Store`) or a `Snapshot`; and
    what the writer knows without asking the database (so idle cycles need not ask it)."""

    connection: sqlite3.Connection
    lock: AbstractContextManager[Any]
    final_jobs_written: int
    unsent_maybe: bool

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


def _locked(method: Method) -> Method:
    """Run under the object's lock: the writer connection is shared by the daemon's threads, so
    even a read on it must not interleave with another thread's transaction."""

    @wraps(method)
    def wrapper(self: _Queries, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _Queries:
    """Reads shared by the writer (`Store`) and read-only snapshots (`Snapshot`)."""

    connection: sqlite3.Connection
    lock: AbstractContextManager[Any]

    @_locked
    def run(self, run_id: int) -> StoredRun | None:
        row = self.connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    @_locked
    def run_of_job(self, cluster: str, job_id: str) -> StoredRun | None:
        """The run of the newest job with this id on this cluster."""
        row = self.connection.execute(
            "SELECT run_id FROM jobs WHERE cluster = ? AND job_id = ? AND run_id IS NOT NULL"
            " ORDER BY submit DESC LIMIT 1",
            (cluster, job_id),
        ).fetchone()
        return self.run(row["run_id"]) if row else None

    @_locked
    def run_for_key(self, run_key: str) -> StoredRun | None:
        row = self.connection.execute("SELECT * FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        return _run(row) if row else None

    @_locked
    def runs(self) -> list[StoredRun]:
        rows = self.connection.execute("SELECT * FROM runs ORDER BY first_submit, id").fetchall()
        return [_run(row) for row in rows]

    @_locked
    def run_count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    @_locked
    def recent_runs_for_base(self, cluster: str, job_base: str, user: str) -> list[StoredRun]:
        rows = self.connection.execute(
            "SELECT * FROM runs WHERE cluster = ? AND job_base = ? AND user = ?"
            " ORDER BY first_submit DESC",
            (cluster, job_base, user),
        ).fetchall()
        return [_run(row) for row in rows]

    @_locked
    def job(self, cluster: str, job_id: str, submit: datetime | None) -> StoredJob | None:
        row = self.connection.execute(
            "SELECT * FROM jobs WHERE cluster = ? AND job_id = ? AND submit = ?",
            (cluster, job_id, _iso(submit) or ""),
        ).fetchone()
        return _job(row) if row else None

    @_locked
    def job_by_row(self, row: int) -> StoredJob | None:
        found = self.connection.execute("SELECT * FROM jobs WHERE id = ?", (row,)).fetchone()
        return _job(found) if found else None

    @_locked
    def jobs_of_run(self, run_id: int) -> list[StoredJob]:
        rows = self.connection.execute(
            "SELECT * FROM jobs WHERE run_id = ? ORDER BY task_index, submit", (run_id,)
        ).fetchall()
        return [_job(row) for row in rows]

    @_locked
    def jobs_by_keys(self, keys: Iterable[JobKey]) -> dict[JobKey, StoredJob]:
        """The stored jobs among `keys`, in one query per cluster (not one per job)."""
        wanted: dict[str, dict[str, list[JobKey]]] = {}
        for key in keys:
            wanted.setdefault(key.cluster, {}).setdefault(key.job_id, []).append(key)
        found: dict[JobKey, StoredJob] = {}
        for cluster, by_id in wanted.items():
            for row in self.connection.execute(
                "SELECT * FROM jobs WHERE cluster = ?"
                " AND job_id IN (SELECT value FROM json_each(?))",
                (cluster, json.dumps(list(by_id))),
            ):
                for key in by_id[row["job_id"]]:
                    if (_iso(key.submit) or "") == row["submit"]:
                        found[key] = _job(row)
        return found

    @_locked
    def unfinished_job_ids(self) -> list[str]:
        rows = self.connection.execute("SELECT job_id FROM jobs WHERE final = 0 ORDER BY id")
        return [row["job_id"] for row in rows]

    @_locked
    def unfinished_jobs(self) -> list[StoredJob]:
        rows = self.connection.execute("SELECT * FROM jobs WHERE final = 0 ORDER BY id").fetchall()
        return [_job(row) for row in rows]

    @_locked
    def events(self, job_row: int) -> list[JobEvent]:
        rows = self.connection.execute(
            "SELECT at, old_state, new_state, final FROM job_events WHERE job = ? ORDER BY id",
            (job_row,),
        ).fetchall()
        return [JobEvent(r["at"], r["old_state"], r["new_state"], bool(r["final"])) for r in rows]

    @_locked
    def latest_review(self, run_id: int) -> dict[str, Any] | None:
        row = self.connection.execute(
            "SELECT document FROM reviews WHERE run_id = ? ORDER BY id DESC LIMIT 1", (run_id,)
        ).fetchone()
        document = json.loads(row["document"]) if row else None
        return document if isinstance(document, dict) else None

    @_locked
    def log_position(self, path: str) -> LogPosition | None:
        row = self.connection.execute(
            "SELECT path, inode, offset, lines FROM log_positions WHERE path = ?", (path,)
        ).fetchone()
        return LogPosition(row["path"], row["inode"], row["offset"], row["lines"]) if row else None

    @_locked
    def watermark(self, name: str) -> str | None:
        row = self.connection.execute(
            "SELECT value FROM watermarks WHERE name = ?", (name,)
        ).fetchone()
        return str(row["value"]) if row else None

    # ------------------------------------------------------------------ failures (issue 16)
    @_locked
    def failures_with(
        self, column: str, value: str, *, before: str, limit: int | None = None
    ) -> list[StoredFailure]:
        """Failures whose `column` (fingerprint or cause) is `value`, seen before `before`,
        newest first."""
        rows = self.connection.execute(
            f"{_FAILURE_SELECT} WHERE f.{_FAILURE_KEYS[column]} = ? AND f.seen_at < ?"
            " ORDER BY f.seen_at DESC, f.id DESC LIMIT ?",
            (value, before, -1 if limit is None else limit),
        ).fetchall()
        return [_failure(row) for row in rows]

    @_locked
    def failures_since(self, since: str, job_base: str | None = None) -> list[StoredFailure]:
        """Every failure seen since `since` (UTC ISO), of one pipeline or all, oldest first."""
        where = "WHERE f.seen_at >= ?" + (" AND f.job_base = ?" if job_base is not None else "")
        arguments = (since,) if job_base is None else (since, job_base)
        rows = self.connection.execute(
            f"{_FAILURE_SELECT} {where} ORDER BY f.seen_at, f.id", arguments
        ).fetchall()
        return [_failure(row) for row in rows]

    @_locked
    def has_failure(self, job_row: int) -> bool:
        found = self.connection.execute("SELECT 1 FROM failures WHERE job = ?", (job_row,))
        return found.fetchone() is not None


class Snapshot(_Queries):
    """A consistent read-only view of the database on its own connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.lock = nullcontext()  # its own connection, used by one thread
        self.final_jobs_written = 0  # a snapshot sees no writes: ask the database
        self.unsent_maybe = True

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        raise MonitorError("a read-only snapshot cannot write")
        yield self.connection  # pragma: no cover - unreachable, makes this a generator


class Store(_Queries):
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self.lock = threading.RLock()  # the writer connection: quick database work only
        # Changed under the lock, by this process (the only writer): how many times a job of a
        # run became final (a final reply may be owed), and whether an outbox row may be unsent
        # (set by each new row, cleared by the sender when it finds none).
        self.final_jobs_written = 0
        self.unsent_maybe = True
        self._changes_at_checkpoint = 0

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and migrating) the database at `path`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # shared by the daemon's threads, one at a time (Store.lock)
            connection = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as error:
            raise MonitorError(f"{path}: cannot open the state database: {error}") from None
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        store = cls(connection, path)
        store._migrate()
        return store

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def version(self) -> int:
        """Changes written through this store since it was opened: equal numbers, same data
        (this process is the only writer)."""
        with self.lock:
            return self.connection.total_changes

    @contextmanager
    def read(self) -> Iterator[Snapshot]:
        """A read-only snapshot on a connection of its own: never waits for the writer."""
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("BEGIN")
            yield Snapshot(connection)
        finally:
            connection.close()

    @property
    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise MonitorError(
                f"{self.path}: schema version {version} is newer than this eagle3-monitor knows "
                f"({len(MIGRATIONS)}); upgrade eagle3-monitor"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript runs the whole migration and its version bump as one transaction
            self.connection.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the writer lock for its length."""
        with self.lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    # ------------------------------------------------------------------ runs
    @_locked
    def create_run(
        self,
        run_key: str,
        cluster: str,
        job_base: str,
        *,
        experiment_dir: str | None,
        experiment_id: str | None,
        user: str,
        first_submit: datetime | None,
    ) -> StoredRun:
        """The run with this key, made if new."""
        new = NewRun(run_key, cluster, job_base, experiment_dir, experiment_id, user, first_submit)
        return self.create_runs([new])[run_key]

    @_locked
    def create_runs(self, runs: Sequence[NewRun]) -> dict[str, StoredRun]:
        """The runs with these keys, by key, those not stored yet made: two statements for
        any number (a first poll makes thousands)."""
        stamp = now_iso()
        self.connection.executemany(
            "INSERT INTO runs (run_key, cluster, experiment_dir, experiment_id, job_base, user,"
            " first_submit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_key) DO NOTHING",
            [
                (run.run_key, run.cluster, run.experiment_dir, run.experiment_id, run.job_base,
                 run.user, _iso(run.first_submit), stamp, stamp)
                for run in runs
            ],
        )  # fmt: skip
        rows = self.connection.execute(
            "SELECT * FROM runs WHERE run_key IN (SELECT value FROM json_each(?))",
            (json.dumps([run.run_key for run in runs]),),
        )
        return {row["run_key"]: _run(row) for row in rows}

    # ------------------------------------------------------------------ jobs
    @_locked
    def record_job(
        self,
        record: JobRecord,
        *,
        run_id: int | None,
        task_index: int | None,
        log_paths: list[str],
        final: bool,
        detail: dict[str, object] | None = None,
        role: str | None = None,
    ) -> Transition | None:
        """Insert or update a job; a state change (or its first sighting) is appended to the
        event log and returned. A job already recorded as final is never changed again, and a
        job whose stored values are the same is not written."""
        update = JobUpdate(record, run_id, task_index, log_paths, final, detail or {}, role)
        key = record.key
        existing = self.job(key.cluster, key.job_id, key.submit)
        written = self.write_jobs([(update, existing)], now_iso())
        return written[0] if written else None

    @_locked
    def write_jobs(
        self, changes: Sequence[tuple[JobUpdate, StoredJob | None]], stamp: str
    ) -> list[Transition]:
        """`record_job` for many jobs whose stored rows the caller read already (in one batched
        read): a job's row is written only when a value changed, an event appended only when
        its state did or it became final; final jobs are never changed. Batched statements,
        in one transaction (the caller's, if one is open)."""
        inserts: list[StoredJob] = []
        updates: list[StoredJob] = []
        transitions: list[Transition] = []
        events: list[tuple[object, ...]] = []
        with nullcontext() if self.connection.in_transaction else self.transaction():
            next_row = self._next_job_row()
            for update, existing in changes:
                if existing is not None and existing.final:
                    continue
                job = update.stored(existing, existing.row if existing else next_row)
                if existing is not None:
                    if existing == job:
                        continue
                    updates.append(job)
                else:
                    inserts.append(job)
                    next_row += 1
                old_state = str(existing.state) if existing else None
                if old_state != str(job.state) or job.final:
                    transition = Transition(job, old_state, str(job.state), job.final)
                    transitions.append(transition)
                    events.append((job.row, stamp, old_state, transition.new_state,
                                   int(job.final), _json(update.detail)))  # fmt: skip
            self._write_rows(inserts, updates, stamp)
            if any(job.final and job.run_id is not None for job in (*inserts, *updates)):
                self.final_jobs_written += 1
            self.connection.executemany(
                "INSERT INTO job_events (job, at, old_state, new_state, final, detail)"
                " VALUES (?,?,?,?,?,?)",
                events,
            )
        return transitions

    def _next_job_row(self) -> int:
        """Rows are numbered here, so a batch of inserts is one statement (under the lock)."""
        row = self.connection.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM jobs").fetchone()
        return int(row[0])

    def _write_rows(self, inserts: list[StoredJob], updates: list[StoredJob], stamp: str) -> None:
        def values(job: StoredJob) -> tuple[object, ...]:
            return (
                job.display_id, job.run_id, job.task_index, job.name, job.user, str(job.state),
                job.raw_state, job.exit_code, job.signal, job.reason, job.start, job.end,
                job.work_dir, _json(job.log_paths), int(job.final), stamp, job.role,
            )  # fmt: skip

        self.connection.executemany(
            "INSERT INTO jobs (display_id, run_id, task_index, name, user, state, raw_state,"
            " exit_code, signal, reason, start, end, work_dir, log_paths, final, updated_at,"
            " role, cluster, job_id, submit, first_seen, id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*values(j), j.cluster, j.job_id, j.submit, stamp, j.row) for j in inserts],
        )
        self.connection.executemany(
            "UPDATE jobs SET display_id=?, run_id=?, task_index=?, name=?, user=?, state=?,"
            " raw_state=?, exit_code=?, signal=?, reason=?, start=?, end=?, work_dir=?,"
            " log_paths=?, final=?, updated_at=?, role=? WHERE id = ?",
            [(*values(job), job.row) for job in updates],
        )

    # ------------------------------------------------------------------ reviews
    @_locked
    def save_review(self, run_id: int, document: dict[str, Any]) -> int:
        """Keep the run's latest review (review/1 JSON); older ones are history. Its row id."""
        cursor = self.connection.execute(
            "INSERT INTO reviews (run_id, created_at, document) VALUES (?, ?, ?)",
            (run_id, now_iso(), json.dumps(document)),
        )
        return int(cursor.lastrowid or 0)

    # ------------------------------------------------------------------ failures (issue 16)
    @_locked
    def record_failure(self, failure: NewFailure) -> bool:
        """Keep a failed job's fingerprinted root cause: once per job (a restart that reviews
        the run again adds nothing). True when it was new."""
        cursor = self.connection.execute(
            "INSERT INTO failures (job, run_id, fingerprint, cause, job_base, task_index, role,"
            " category, rule, pattern, example, seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (job) DO NOTHING",
            (
                failure.job, failure.run_id, failure.fingerprint, failure.cause,
                failure.job_base, failure.task_index, failure.role, failure.category,
                failure.rule, failure.pattern, failure.example, failure.seen_at,
            ),
        )  # fmt: skip
        return cursor.rowcount == 1

    # ------------------------------------------------------------------ log positions
    @_locked
    def set_log_position(self, position: LogPosition) -> None:
        self.connection.execute(
            "INSERT INTO log_positions (path, inode, offset, lines, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET inode = excluded.inode,"
            " offset = excluded.offset, lines = excluded.lines, updated_at = excluded.updated_at",
            (position.path, position.inode, position.offset, position.lines, now_iso()),
        )

    @_locked
    def forget_positions_of_ended_jobs(self) -> int:
        """Live-following positions of jobs that ended are no longer needed."""
        cursor = self.connection.execute(
            "DELETE FROM log_positions WHERE path IN"
            " (SELECT value FROM jobs, json_each(jobs.log_paths) WHERE jobs.final = 1)"
        )
        return cursor.rowcount

    @_locked
    def checkpoint(self) -> None:
        """Refresh the planner's statistics and fold the WAL (with them) back into the database
        file."""
        self.connection.execute("PRAGMA optimize")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._changes_at_checkpoint = self.connection.total_changes

    @_locked
    def checkpoint_after_burst(self, rows: int = CHECKPOINT_AFTER_ROWS) -> bool:
        """`checkpoint` when at least `rows` rows were written since the last one (a burst of
        reviews or messages just ended): the idle daemon then reads a small WAL and tables
        the planner knows, not what the burst left until the next housekeeping."""
        if self.connection.total_changes - self._changes_at_checkpoint < rows:
            return False
        self.checkpoint()
        return True

    # ------------------------------------------------------------------ watermarks
    @_locked
    def set_watermark(self, name: str, value: str) -> None:
        self.connection.execute(
            "INSERT INTO watermarks (name, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value, updated_at = excluded.updated_at",
            (name, value, now_iso()),
        )


@contextmanager
def read_only_snapshot(path: Path, need_version: int = 0) -> Iterator[Snapshot]:
    """A snapshot of the database at `path`, opened read-only and never migrated (for a command
    run beside the daemon); MonitorError when it cannot be read or its schema is older than
    `need_version` (the daemon has not run this version yet)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as error:
        raise MonitorError(f"{path}: cannot read the state database: {error}") from None
    try:
        if version < need_version:
            raise MonitorError(
                f"{path}: schema version {version} is older than this eagle3-monitor's "
                f"({len(MIGRATIONS)}); the daemon has not run this version yet"
            )
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN")
        yield Snapshot(connection)
    finally:
        connection.close()


def _json(value: object) -> str:
    """`json.dumps(value)`, quicker for what a poll writes per job (json.dumps makes a new
    encoder each call): a list of paths is joined from the C string encoder, and a detail dict
    (a handful of distinct ones per poll) is encoded once per distinct dict."""
    if isinstance(value, list):
        try:
            return f"[{', '.join(map(encode_basestring_ascii, value))}]"
        except TypeError:  # not all strings
            return json.dumps(value)
    if isinstance(value, dict):
        try:  # the value's type is part of the key: 1, 1.0 and True are equal, not the same
            return _json_of_items(tuple((k, v.__class__, v) for k, v in value.items()))
        except TypeError:  # an unhashable value
            return json.dumps(value)
    return json.dumps(value)


@lru_cache(maxsize=1024)
def _json_of_items(items: tuple[tuple[Any, type, Any], ...]) -> str:
    return json.dumps({key: value for key, _, value in items})


def _job(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        row=row["id"],
        cluster=row["cluster"],
        job_id=row["job_id"],
        submit=row["submit"],
        display_id=row["display_id"],
        run_id=row["run_id"],
        task_index=row["task_index"],
        name=row["name"],
        state=parse_state(row["state"]),
        exit_code=row["exit_code"],
        reason=row["reason"],
        start=row["start"],
        end=row["end"],
        work_dir=row["work_dir"],
        log_paths=json.loads(row["log_paths"]),
        final=bool(row["final"]),
        role=row["role"],
        raw_state=row["raw_state"],
        user=row["user"],
        signal=row["signal"],
    )


def _run(row: sqlite3.Row) -> StoredRun:
    return StoredRun(
        id=row["id"],
        run_key=row["run_key"],
        cluster=row["cluster"],
        experiment_dir=row["experiment_dir"],
        experiment_id=row["experiment_id"],
        job_base=row["job_base"],
        user=row["user"],
        first_submit=row["first_submit"],
    )


def _failure(row: sqlite3.Row) -> StoredFailure:
    return StoredFailure(
        job=row["job"],
        run_id=row["run_id"],
        fingerprint=row["fingerprint"],
        cause=row["cause"],
        job_base=row["job_base"],
        task_index=row["task_index"],
        role=row["role"],
        category=row["category"],
        rule=row["rule"],
        pattern=row["pattern"],
        example=row["example"],
        seen_at=row["seen_at"],
        experiment_id=row["experiment_id"],
        display_id=row["display_id"],
        reply_channel=row["reply_channel"],
        reply_ts=row["reply_ts"],
        thread_channel=row["thread_channel"],
        thread_ts=row["thread_ts"],
    )
