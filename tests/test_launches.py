"""An idle daemon polls rarely, and a new experiment directory under a root makes it poll at
once. Real inotify on real directories; the service test runs the real scheduler."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from eagle3_monitor.config import DaemonSection
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service import launches
from eagle3_monitor.service.daemon import SystemClock
from eagle3_monitor.service.launches import LaunchWatcher
from eagle3_monitor.service.runtime import Service
from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment
from eagle3_monitor.slurm.model import JobRecord, JobState
from eagle3_monitor.slurm.sacct import SlurmError
from tests.daemon_harness import in_process_daemon, next_run_in, serving
from tests.fakes.slurm import pipeline_job


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.count += 1


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = tmp_path / "experiments"
    made.mkdir()
    return made


@pytest.fixture(autouse=True)
def every_event_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's directories a call each (the flood test sets the real pacing)."""
    monkeypatch.setattr(launches, "CALL_EVERY_SECONDS", 0.0)


@contextmanager
def watching(roots: list[Path], on_launch: Callable[[], None]) -> Iterator[LaunchWatcher]:
    watcher = LaunchWatcher(roots, on_launch)
    assert watcher.start()
    try:
        yield watcher
    finally:
        watcher.close()


@pytest.fixture
def watched(root: Path) -> Iterator[tuple[LaunchWatcher, Calls]]:
    calls = Calls()
    with watching([root], calls) as watcher:
        yield watcher, calls


def test_a_new_experiment_directory_in_a_root_is_seen_at_once(
    root: Path, watched: tuple[LaunchWatcher, Calls]
) -> None:
    _, calls = watched
    (root / "cicd_1").mkdir()
    eventually(lambda: calls.count >= 1, "the callback")


def test_a_run_directory_in_a_new_title_directory_is_seen_too(
    root: Path, watched: tuple[LaunchWatcher, Calls]
) -> None:
    watcher, calls = watched
    (root / "eagle3_llama").mkdir()  # the launcher's <title>/<title>_<id> layout
    eventually(lambda: root / "eagle3_llama" in watcher.watching, "the title watched")
    seen = calls.count
    (root / "eagle3_llama" / "eagle3_llama_1732900000").mkdir()
    eventually(lambda: calls.count > seen, "the run directory")


def test_files_and_deeper_directories_are_not_launches(
    root: Path, watched: tuple[LaunchWatcher, Calls]
) -> None:
    watcher, calls = watched
    (root / "title").mkdir()
    eventually(lambda: root / "title" in watcher.watching, "the title watched")
    (root / "title" / "run").mkdir()
    eventually(lambda: calls.count == 2, "title and run")
    (root / "notes.txt").write_text("a file")
    (root / "title" / "run" / "task_0").mkdir()  # a task's directory inside a run
    (root / "title" / "run.log").write_text("a file")
    time.sleep(0.5)
    assert calls.count == 2


def test_a_flood_of_new_directories_costs_one_call_a_second(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launches, "CALL_EVERY_SECONDS", 1.0)
    monkeypatch.setattr(launches, "MAX_WATCHES", 50)
    calls = Calls()
    with watching([root], calls) as watcher:
        started = time.monotonic()
        for number in range(2000):
            (root / f"flood{number}").mkdir()
        eventually(lambda: calls.count >= 1, "the first call")
        time.sleep(0.3)
        elapsed = time.monotonic() - started
        assert 1 <= calls.count <= int(elapsed) + 1
        assert len(watcher.watching) == 50  # the bound holds


def test_subdirectories_already_there_are_watched_newest_first_up_to_the_bound(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(5):
        (root / f"title{number}").mkdir()
        stamp = 1_700_000_000 + number
        os.utime(root / f"title{number}", (stamp, stamp))
    (root / "linked").symlink_to(root / "title0")
    monkeypatch.setattr(launches, "MAX_WATCHES", 3)
    with watching([root], Calls()) as watcher:
        assert watcher.watching == [root, root / "title3", root / "title4"]


def test_a_missing_root_is_skipped_and_the_others_are_watched(root: Path, tmp_path: Path) -> None:
    calls = Calls()
    with watching([tmp_path / "nowhere", root], calls) as watcher:
        assert watcher.watching == [root]
        (root / "cicd_2").mkdir()
        eventually(lambda: calls.count == 1, "the callback")


def test_a_callback_that_raises_does_not_stop_the_watcher(root: Path) -> None:
    seen: list[int] = []

    def failing() -> None:
        seen.append(1)
        raise RuntimeError("the daemon's hook failed")

    with watching([root], failing):
        (root / "one").mkdir()
        eventually(lambda: len(seen) == 1, "the first call")
        (root / "two").mkdir()
        eventually(lambda: len(seen) == 2, "the second call")


def test_close_stops_the_thread_and_without_roots_nothing_starts(root: Path) -> None:
    watcher = LaunchWatcher([root], Calls())
    assert watcher.start()
    watcher.close()
    assert not any(thread.name == "launch-watcher" for thread in threading.enumerate())
    assert watcher.watching == []
    assert LaunchWatcher([], Calls()).start() is False


def test_a_removed_directory_is_no_longer_counted(
    root: Path, watched: tuple[LaunchWatcher, Calls]
) -> None:
    watcher, _ = watched
    (root / "title").mkdir()
    eventually(lambda: root / "title" in watcher.watching, "the title watched")
    (root / "title").rmdir()
    eventually(lambda: root / "title" not in watcher.watching, "the watch dropped")


def test_the_idle_interval_is_never_shorter_than_the_busy_one() -> None:
    assert DaemonSection().idle_poll_seconds == 60
    section = DaemonSection(poll_interval_seconds=120, idle_poll_interval_seconds=30)
    assert section.idle_poll_seconds == 120


def test_the_poll_rests_only_while_nothing_is_pending_or_running_and_no_experiment_is_new(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = in_process_daemon(tmp_path, catalog)
    daemon = monitor.daemon
    woken: list[str] = []
    daemon.wake = woken.append
    assert not daemon.nothing_to_poll_for()  # no poll yet

    experiment = write_experiment(tmp_path / "runs", healthy_plan())
    monitor.slurm.set(pipeline_job(experiment, 0, JobState.PENDING))
    daemon.poll_cycle()
    assert not daemon.nothing_to_poll_for()  # a job waits in the queue
    daemon.experiment_appeared()
    assert woken.count("poll") == 0  # busy: the next poll is seconds away anyway
    monitor.clock.advance(301)

    monitor.slurm.set(*(pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)))
    daemon.poll_cycle()
    assert daemon.nothing_to_poll_for()

    daemon.experiment_appeared()
    daemon.experiment_appeared()  # the same burst: one wake
    assert woken.count("poll") == 1 and not daemon.nothing_to_poll_for()
    monitor.clock.advance(301)
    assert daemon.nothing_to_poll_for()

    def unreachable(start: datetime) -> list[JobRecord]:
        raise SlurmError("sacct: error: Problem talking to the database: Connection refused")

    monitor.slurm.jobs_since = unreachable  # type: ignore[method-assign]
    daemon.poll_cycle()
    assert daemon.health.last_poll_ok is False
    assert not daemon.nothing_to_poll_for()  # a failing Slurm is asked again soon


def test_an_idle_service_polls_at_once_when_an_experiment_appears(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    root = tmp_path / "experiments"
    root.mkdir()
    monitor = in_process_daemon(
        tmp_path, catalog, clock=SystemClock(),
        status={"socket": str(searchable_dir / "status.sock")},
        watch={"experiment_roots": [str(root)]},
        daemon={"poll_interval_seconds": 5, "idle_poll_interval_seconds": 3600},
    )  # fmt: skip
    service = Service(monitor.daemon, None)
    with serving(service):
        eventually(lambda: next_run_in(service, "poll") > 3000, "the idle poll's rest")
        polls = monitor.daemon.health.polls
        (root / "cicd_1732900000").mkdir()
        eventually(lambda: monitor.daemon.health.polls > polls, "the woken poll")
        eventually(lambda: next_run_in(service, "poll") <= 5, "the busy interval")
    assert not any(thread.name == "launch-watcher" for thread in threading.enumerate())


def test_a_reload_that_changes_the_roots_watches_the_new_ones(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    old_root, new_root = tmp_path / "old", tmp_path / "new"
    old_root.mkdir()
    new_root.mkdir()
    sections = {
        "state": {"database": str(tmp_path / "state.db")},
        "status": {"socket": str(searchable_dir / "status.sock")},
        "slack": {"mode": "console", "pace_seconds": 0},
    }
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        yaml.safe_dump({**sections, "watch": {"experiment_roots": [str(old_root)]}})
    )
    monitor = in_process_daemon(tmp_path, catalog, clock=SystemClock(), status=sections["status"],
                                watch={"experiment_roots": [str(old_root)]})  # fmt: skip
    service = Service(monitor.daemon, config_path)
    assert service.launches.start()
    try:
        assert service.launches.watching == [old_root]
        config_path.write_text(
            yaml.safe_dump({**sections, "watch": {"experiment_roots": [str(new_root)]}})
        )
        service.reload()
        assert service.launches.watching == [new_root]
        assert sum(thread.name == "launch-watcher" for thread in threading.enumerate()) == 1
    finally:
        service.launches.close()
