"""A poll costs what changed: unchanged jobs are neither grouped, looked up on disk nor written;
changes (state, end, exit code, a log that appears) are recorded; the sacct window starts at the
last poll and still lists jobs that started long before; a restarted daemon (a new store object,
the same database) sees changes and rewrites nothing. The real Store on a temporary SQLite file,
the real sacct backend with a stand-in that answers as sacct does (-S/-E/-s, -j)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eagle3_monitor.monitor import discovery
from eagle3_monitor.monitor import poll as poll_module
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import PollMemory, PollResult, WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER, Completed, SacctBackend
from eagle3_monitor.state.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = WatchSettings(DEFAULT_JOB_NAME_PATTERN)


def local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


class Sacct:
    """sacct as the daemon sees it: -X -S -E -s lists the jobs that were in one of the states
    during the window (ended after -S, or still pending or running), -j the jobs asked for,
    with a batch step. scontrol knows no jobs. Every command is kept."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, str]] = {}
        self.commands: list[list[str]] = []

    def job(self, job_id: str, name: str, state: str, submit: datetime, **fields: str) -> None:
        stamp = local(submit)
        ended = state not in ("PENDING", "RUNNING")
        self.jobs[job_id] = {
            "JobID": job_id, "JobIDRaw": job_id, "JobName": name, "State": state,
            "ExitCode": "0:0", "Submit": stamp, "Start": stamp,
            "End": stamp if ended else "Unknown", "User": "alice", "WorkDir": "/nowhere",
            "Cluster": "c", **fields,
        }  # fmt: skip

    def end(self, job_id: str, state: str, at: datetime, exit_code: str = "0:0") -> None:
        self.jobs[job_id].update(State=state, End=local(at), ExitCode=exit_code)

    def __call__(self, command: Sequence[str], timeout: float) -> Completed:
        if "--version" in command:
            return Completed(0, "slurm 22.05.8\n", "")
        if command[0] == "scontrol":
            return Completed(1, "", "No jobs in the system\n")
        self.commands.append(list(command))
        return Completed(0, "".join(self._lines(list(command))), "")

    def _lines(self, command: list[str]) -> list[str]:
        ids = set(command[command.index("-j") + 1].split(",")) if "-j" in command else set()
        since = command[command.index("-S") + 1] if "-S" in command else None
        lines = []
        for values in self.jobs.values():
            if ids and values["JobIDRaw"] not in ids:
                continue
            if since and values["End"] != "Unknown" and values["End"] < since:
                continue
            lines.append(DELIMITER.join(values.get(f, "") for f in BASE_FIELDS) + "\n")
            if "-X" not in command:
                step = {**values, "JobID": f"{values['JobID']}.batch", "JobName": "batch"}
                lines.append(DELIMITER.join(step.get(f, "") for f in BASE_FIELDS) + "\n")
        return lines


class Daemon:
    """One daemon process's view: an open store and a backend; `restart()` is a new process
    on the same database."""

    def __init__(self, path: Path, sacct: Sacct) -> None:
        self.path, self.sacct = path, sacct
        self.store = Store.open(path)
        self.backend = SacctBackend(runner=sacct)
        self.writes: list[str] = []
        self._trace()

    def _trace(self) -> None:
        def seen(statement: str) -> None:
            words = statement.lstrip().split(None, 1)
            writing = words and words[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE")
            if writing and "watermarks" not in statement:
                self.writes.append(statement)

        self.store.connection.set_trace_callback(seen)

    def poll(self, at: datetime = NOW) -> PollResult:
        self.writes.clear()
        result = poll_once(self.backend, self.store, SETTINGS, at)
        assert result.ok, result.error
        return result

    def restart(self) -> None:
        self.store.close()
        self.store = Store.open(self.path)
        self.backend = SacctBackend(runner=self.sacct)
        self._trace()


@pytest.fixture
def sacct() -> Sacct:
    slurm = Sacct()
    slurm.job("10", "a.M_0", "COMPLETED", NOW - timedelta(hours=2))
    slurm.job("11", "a.M_1", "RUNNING", NOW - timedelta(hours=1))
    slurm.job("12", "a.M_2", "PENDING", NOW - timedelta(minutes=30))
    return slurm


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The job ids whose logs the poll looked for (the real lookup, counted)."""
    calls: list[str] = []
    real: Callable[..., object] = discovery.locate_logs

    def counted(job_id: str, *args: object, **kwargs: object) -> object:
        calls.append(job_id)
        return real(job_id, *args, **kwargs)

    monkeypatch.setattr(poll_module, "locate_logs", counted)
    return calls


def states(store: Store) -> dict[str, tuple[str, bool]]:
    rows = store.connection.execute("SELECT job_id, state, final FROM jobs").fetchall()
    return {row["job_id"]: (row["state"], bool(row["final"])) for row in rows}


def test_an_unchanged_poll_writes_nothing_and_looks_for_no_logs(
    tmp_path: Path, sacct: Sacct, looks: list[str]
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    first = daemon.poll()
    assert first.jobs_examined == 3 and len(first.transitions) == 3
    assert sorted(looks) == ["10", "11", "12"]
    looks.clear()

    again = daemon.poll(NOW + timedelta(minutes=1))

    assert (again.jobs_seen, again.jobs_examined, again.transitions) == (2, 0, [])  # 10 ended
    assert looks == []
    assert daemon.writes == []


@pytest.mark.parametrize(
    ("job_id", "change", "expected"),
    [
        ("11", lambda s: s.end("11", "COMPLETED", NOW), ("COMPLETED", True)),
        ("11", lambda s: s.end("11", "FAILED", NOW, exit_code="1:0"), ("FAILED", True)),
        ("11", lambda s: s.jobs["11"].update(State="COMPLETED"), ("COMPLETED", False)),
        (
            "12",
            lambda s: s.jobs["12"].update(State="RUNNING", Start=local(NOW)),
            ("RUNNING", False),
        ),
    ],
    ids=["ended", "failed-with-exit-code", "ended-end-unknown", "started"],
)
def test_a_changed_row_is_recorded_and_only_it_is_looked_at(
    tmp_path: Path,
    sacct: Sacct,
    looks: list[str],
    job_id: str,
    change: Callable[[Sacct], None],
    expected: tuple[str, bool],
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    looks.clear()

    change(sacct)
    result = daemon.poll(NOW + timedelta(minutes=1))

    assert [(t.job.job_id, t.new_state, t.final) for t in result.transitions] == [
        (job_id, *expected)
    ]
    assert result.jobs_examined == 1 and looks == [job_id]
    assert states(daemon.store)[job_id] == expected


def test_an_end_time_that_becomes_known_makes_the_job_final(tmp_path: Path, sacct: Sacct) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    sacct.jobs["11"].update(State="COMPLETED")  # an accounting outage: End still Unknown
    daemon.poll()
    assert states(daemon.store)["11"] == ("COMPLETED", False)

    sacct.jobs["11"].update(End=local(NOW))
    result = daemon.poll(NOW + timedelta(minutes=1))

    assert [(t.old_state, t.new_state, t.final) for t in result.transitions] == [
        ("COMPLETED", "COMPLETED", True)
    ]
    assert states(daemon.store)["11"] == ("COMPLETED", True)


def test_an_exit_code_change_alone_is_written_without_an_event(
    tmp_path: Path, sacct: Sacct
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    sacct.jobs["11"].update(State="COMPLETED")  # End unknown: not final, may still change
    daemon.poll()

    sacct.jobs["11"].update(ExitCode="2:0")
    result = daemon.poll(NOW + timedelta(minutes=1))

    assert result.jobs_examined == 1 and result.transitions == []
    assert [w.split(None, 2)[:2] for w in daemon.writes] == [["UPDATE", "jobs"]]
    exit_code = daemon.store.connection.execute("SELECT exit_code FROM jobs WHERE job_id = '11'")
    assert exit_code.fetchone()[0] == 2


def test_the_window_starts_at_the_last_poll_and_still_lists_a_job_started_long_ago(
    tmp_path: Path,
) -> None:
    sacct = Sacct()
    sacct.job("5", "a.M_0", "RUNNING", NOW - timedelta(days=3))
    sacct.job("6", "a.M_1", "COMPLETED", NOW - timedelta(hours=3))
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    later = NOW + timedelta(hours=1)

    sacct.end("5", "TIMEOUT", later - timedelta(minutes=1))
    result = daemon.poll(later)

    window = next(c for c in sacct.commands[-2:] if "-S" in c)
    assert window[window.index("-S") + 1] == local(NOW - SETTINGS.overlap)
    assert [(t.job.job_id, t.new_state, t.final) for t in result.transitions] == [
        ("5", "TIMEOUT", True)
    ]
    assert result.jobs_seen == 1  # the job that ended 3 hours ago is outside the window


def test_a_running_job_is_seen_through_the_window_alone(tmp_path: Path) -> None:
    """Without the by-id question (nothing was unfinished when asked), the window lists a job
    that has been running for days, and its end."""
    sacct = Sacct()
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    sacct.job("7", "a.M_0", "RUNNING", NOW - timedelta(days=2))

    seen = daemon.poll(NOW + timedelta(minutes=5))
    sacct.end("7", "COMPLETED", NOW + timedelta(minutes=6))
    ended = daemon.poll(NOW + timedelta(minutes=10))

    assert [(t.job.job_id, t.new_state) for t in seen.transitions] == [("7", "RUNNING")]
    assert [(t.job.job_id, t.new_state, t.final) for t in ended.transitions] == [
        ("7", "COMPLETED", True)
    ]


def test_a_restarted_daemon_rewrites_nothing_and_still_sees_changes(
    tmp_path: Path, sacct: Sacct, looks: list[str]
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    daemon.restart()
    looks.clear()

    after_restart = daemon.poll(NOW + timedelta(minutes=1))
    assert after_restart.transitions == [] and daemon.writes == []
    assert sorted(looks) == ["11", "12"]  # the final job is not looked at again
    sacct.end("11", "COMPLETED", NOW + timedelta(minutes=2))
    changed = daemon.poll(NOW + timedelta(minutes=3))

    assert [(t.job.job_id, t.new_state, t.final) for t in changed.transitions] == [
        ("11", "COMPLETED", True)
    ]
    assert changed.jobs_examined == 1
    events = daemon.store.connection.execute("SELECT COUNT(*) FROM job_events").fetchone()[0]
    assert events == 4  # three first sightings and one end: nothing twice


def test_a_log_that_appears_while_the_job_runs_is_found_without_a_state_change(
    tmp_path: Path,
) -> None:
    experiment = tmp_path / "cicd" / "cicd_1764000000"
    sacct = Sacct()
    sacct.job("21", "a.M_0", "RUNNING", NOW - timedelta(minutes=5),
              WorkDir=str(experiment / "M_0"))  # fmt: skip
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    assert daemon.store.unfinished_jobs()[0].log_paths == []

    (experiment / "M_0").mkdir(parents=True)
    log = experiment / "M_0" / "log-M_0_21_0.out"
    log.write_text("starting\n")
    result = daemon.poll(NOW + timedelta(minutes=1))

    assert result.jobs_examined == 1 and result.transitions == []
    assert daemon.store.unfinished_jobs()[0].log_paths == [str(log)]
    assert daemon.poll(NOW + timedelta(minutes=2)).jobs_examined == 0


def test_a_failed_write_leaves_the_memory_as_it_was(
    tmp_path: Path, sacct: Sacct, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    sacct.end("11", "COMPLETED", NOW)

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "write_jobs", broken)
        with pytest.raises(RuntimeError):
            daemon.poll(NOW + timedelta(minutes=1))
    result = daemon.poll(NOW + timedelta(minutes=2))

    assert [(t.job.job_id, t.new_state) for t in result.transitions] == [("11", "COMPLETED")]


def test_a_memory_of_its_own_compares_with_the_database(tmp_path: Path, sacct: Sacct) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll()
    daemon.writes.clear()

    fresh = poll_once(daemon.backend, daemon.store, SETTINGS, NOW, memory=PollMemory())

    assert fresh.jobs_examined == 2 and fresh.transitions == []  # the final job: one read
    assert daemon.writes == []


def test_a_poll_that_records_nothing_moves_the_watermark_only_once_it_has_aged(
    tmp_path: Path, sacct: Sacct
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll(NOW)
    first_mark = daemon.store.watermark(poll_module.WATERMARK)
    changes = daemon.store.version()

    daemon.poll(NOW + timedelta(minutes=1))
    daemon.poll(NOW + poll_module.WATERMARK_REFRESH - timedelta(seconds=1))
    unchanged = daemon.store.version()
    mark_before = daemon.store.watermark(poll_module.WATERMARK)
    daemon.poll(NOW + poll_module.WATERMARK_REFRESH)

    assert unchanged == changes  # nothing written at all, not even the watermark
    assert mark_before == first_mark
    assert daemon.store.version() == changes + 1  # the aged watermark, and only it
    assert (
        daemon.store.watermark(poll_module.WATERMARK)
        == (NOW + poll_module.WATERMARK_REFRESH).isoformat()
    )


def test_a_poll_that_records_a_change_moves_the_watermark_with_it(
    tmp_path: Path, sacct: Sacct
) -> None:
    daemon = Daemon(tmp_path / "s.db", sacct)
    daemon.poll(NOW)
    sacct.end("11", "FAILED", NOW + timedelta(seconds=30), exit_code="1:0")

    result = daemon.poll(NOW + timedelta(minutes=1))

    assert [t.job.job_id for t in result.transitions] == ["11"]
    assert daemon.store.watermark(poll_module.WATERMARK) == (NOW + timedelta(minutes=1)).isoformat()
