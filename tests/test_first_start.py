"""A new database does not flood Slack: runs that ended before the daemon's first start are
recorded, reviewed and shown by `status`, never announced; a job ending after the start is;
`--backfill HOURS` opts in to the older ones; a restart is not a first start. In-process, on a
real SQLite file (tests/daemon_harness.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.announce import ANNOUNCING_SINCE, EVERYTHING
from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment
from eagle3_monitor.slack.messages import Message
from eagle3_monitor.slack.outbox import Notification, Outbox
from eagle3_monitor.slurm.model import JobRecord, JobState
from eagle3_monitor.state.store import Store
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.fakes.slurm import SUBMITTED, pipeline_job, running

FIRST_START = SUBMITTED + timedelta(days=1)  # the old pipeline ended a day before


def daemon_at(
    tmp_path: Path, catalog: Catalog, moment: datetime, backfill: float | None = None
) -> InProcessDaemon:
    return in_process_daemon(
        tmp_path / "daemon", catalog, clock_start=moment.timestamp(), backfill_hours=backfill
    )


def old_pipeline(root: Path) -> list[JobRecord]:
    """Four jobs that all ended on SUBMITTED's day."""
    experiment = write_experiment(root / "old", healthy_plan())
    return [pipeline_job(experiment, i, JobState.COMPLETED) for i in range(4)]


def new_pipeline(root: Path, ended: datetime) -> list[JobRecord]:
    """Another run (its own experiment and job ids) whose last job ends at `ended`."""
    experiment = write_experiment(root / "new", healthy_plan(), epoch=1764200000)
    jobs = [pipeline_job(experiment, i, JobState.COMPLETED, first_job_id=518200) for i in range(4)]
    jobs[3] = replace(jobs[3], end=ended)
    return jobs


def threads(monitor: InProcessDaemon) -> list[str]:
    """The parent messages posted, as text."""
    return [sent.text for sent in monitor.slack.sent if sent.thread_ts is None]


def test_runs_that_ended_before_the_first_start_are_recorded_and_reviewed_but_not_announced(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START)
    monitor.slurm.set(*old_pipeline(tmp_path))

    monitor.settle()

    assert monitor.slack.sent == []
    [run] = monitor.runs()
    assert [task["verdict"] for task in run["tasks"]] == ["pass"] * 4, "reviewed, in status"
    assert run["verdict"] == "pass"
    assert monitor.daemon.nothing_to_review(), "no reply is owed for them"
    assert monitor.daemon.nothing_to_send()


def test_a_job_ending_after_the_first_start_is_announced_with_its_whole_run(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START)
    new = new_pipeline(tmp_path, FIRST_START + timedelta(minutes=5))
    monitor.slurm.set(*old_pipeline(tmp_path), *new[:3], running(new[3]))
    monitor.settle()
    [parent] = threads(monitor)
    assert "cicd_1764200000" in parent, "the run with a job still running has its thread"
    assert len(monitor.slack.replies()) == 3, "its tasks that ended already have their replies"

    monitor.clock.advance(600)
    monitor.slurm.set(new[3])
    monitor.settle()

    assert len(threads(monitor)) == 1, "the old run stays quiet"
    replies = [sent.text for sent in monitor.slack.replies()]
    assert [text.split("*", 2)[1] for text in replies[:4]] == [f"task_{i}" for i in range(4)]
    assert replies[-1].startswith(":tada: *Run passed*")


def test_backfill_announces_runs_that_ended_within_its_hours(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START, backfill=48)
    monitor.slurm.set(*old_pipeline(tmp_path))

    monitor.settle()

    [parent] = threads(monitor)
    assert "cicd_1764115200" in parent
    assert monitor.slack.replies()[-1].text.startswith(":tada: *Run passed*")


def test_backfill_shorter_than_the_runs_age_keeps_them_quiet(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START, backfill=1)
    monitor.slurm.set(*old_pipeline(tmp_path))

    monitor.settle()

    assert monitor.slack.sent == []


def test_backfill_in_the_config_is_the_default_of_the_option(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = in_process_daemon(
        tmp_path / "daemon", catalog, clock_start=FIRST_START.timestamp(),
        watch={"backfill_hours": 48},
    )  # fmt: skip
    monitor.slurm.set(*old_pipeline(tmp_path))

    monitor.settle()

    assert len(threads(monitor)) == 1


def test_a_restart_is_not_a_first_start_nothing_is_repeated_or_lost(
    tmp_path: Path, catalog: Catalog
) -> None:
    first = daemon_at(tmp_path, catalog, FIRST_START)
    first.slurm.set(*old_pipeline(tmp_path))
    first.settle()
    first.store.close()
    # down for an hour; a run ended meanwhile; restarted (with --backfill, which no longer counts)
    restart = FIRST_START + timedelta(hours=1)
    again = daemon_at(tmp_path, catalog, restart, backfill=48)
    again.slurm.set(
        *old_pipeline(tmp_path), *new_pipeline(tmp_path, restart - timedelta(minutes=30))
    )

    again.settle()
    again.settle()

    [parent] = threads(again)
    assert "cicd_1764200000" in parent, "the run that ended while it was down is announced"
    assert len(again.slack.replies()) == 5, "its four tasks and its summary, once each"
    assert again.daemon.first_start.since == FIRST_START
    assert not again.daemon.first_start.now


def test_a_database_that_announced_before_this_rule_keeps_announcing_everything(
    tmp_path: Path, catalog: Catalog
) -> None:
    database = tmp_path / "daemon" / "state.db"
    store = Store.open(database)
    run = store.create_run("dev:/gone", "dev", "Gone_EAGLE3", experiment_dir=None,
                           experiment_id=None, user="alice", first_submit=None)  # fmt: skip
    Outbox(store).add(Notification.parent(run.id), "#runs", Message("an old thread"))
    store.close()
    monitor = daemon_at(tmp_path, catalog, FIRST_START)
    monitor.slurm.set(*old_pipeline(tmp_path))

    monitor.settle()

    assert monitor.daemon.first_start.since == EVERYTHING
    assert any("cicd_1764115200" in text for text in threads(monitor))


def test_the_start_is_kept_in_the_database(tmp_path: Path, catalog: Catalog) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START)
    monitor.store.close()

    with sqlite3.connect(tmp_path / "daemon" / "state.db") as database:
        [(value,)] = database.execute(
            "SELECT value FROM watermarks WHERE name = ?", (ANNOUNCING_SINCE,)
        ).fetchall()

    assert datetime.fromisoformat(value) == FIRST_START.astimezone(UTC)


def test_a_quiet_run_that_gets_a_new_job_after_the_start_is_announced(
    tmp_path: Path, catalog: Catalog
) -> None:
    monitor = daemon_at(tmp_path, catalog, FIRST_START)
    jobs = old_pipeline(tmp_path)
    monitor.slurm.set(*jobs)
    monitor.settle()
    assert monitor.slack.sent == []
    # task 3 run again by hand into the same experiment, after the start
    again = replace(
        jobs[3],
        key=jobs[3].key._replace(job_id="418999", submit=FIRST_START + timedelta(minutes=1)),
        display_id="418999",
        start=FIRST_START + timedelta(minutes=2),
        end=FIRST_START + timedelta(minutes=9),
    )
    monitor.slurm.set(again)
    monitor.clock.advance(600)

    monitor.settle()

    [parent] = threads(monitor)
    assert "cicd_1764115200" in parent
    assert any("418999" in sent.text or "task_3" in sent.text for sent in monitor.slack.replies())
