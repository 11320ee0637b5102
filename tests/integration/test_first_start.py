"""A first start on a real cluster: pipelines that ended before the daemon's first start are
recorded and shown by `status` but not posted to Slack; one that ends after it is; a new
database started with `--backfill HOURS` announces the older ones too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from eagle3_monitor.simulate.pipeline import SubmittedPipeline, submit_pipeline
from tests.integration.conftest import Cluster
from tests.integration.test_daemon import (
    DaemonHarness,
    harness,  # noqa: F401 - the fixture
    has_summary,
    wait_until,
)

pytestmark = pytest.mark.slurm


def ended_before_now(cluster: Cluster, pipeline: SubmittedPipeline) -> None:
    """Every job of the pipeline has left the queue, a whole second ago (Slurm's End has
    seconds, the daemon's start is later than all of them)."""
    for job_id in pipeline.job_ids:
        cluster.wait_for_squeue_state(job_id, "", timeout=180)
    time.sleep(2)


def runs_of(monitor: DaemonHarness) -> list[dict[str, Any]]:
    answer = monitor.status("--json")
    return list(json.loads(answer.stdout).get("runs", [])) if answer.returncode == 0 else []


def reviewed(monitor: DaemonHarness, pipeline: SubmittedPipeline) -> bool:
    """`status` shows the pipeline's run, every task ended, with its review's verdict."""
    return any(
        run["experiment"] == pipeline.experiment.name
        and run["verdict"] is not None
        and all(task["final"] for task in run["tasks"])
        for run in runs_of(monitor)
    )


def threads(monitor: DaemonHarness) -> list[str]:
    return [message.text for message in monitor.slack.messages() if message.thread_ts is None]


def test_a_first_start_announces_only_runs_ending_after_it_and_backfill_opts_in(
    harness: DaemonHarness,  # noqa: F811 - the fixture imported above
    cluster: Cluster,
    tmp_path: Path,
    base: str,
) -> None:
    old = submit_pipeline(tmp_path / "old", epoch=int(time.time()), job_base=base, pace=0.0)
    ended_before_now(cluster, old)

    harness.start()
    wait_until(lambda: reviewed(harness, old), 120, "the old run recorded and reviewed")
    new = submit_pipeline(tmp_path / "new", epoch=int(time.time()), job_base=base, pace=0.0)
    wait_until(lambda: has_summary(harness, "run passed"), 180, "the new run's summary")
    time.sleep(2)  # a send cycle or two more: nothing else may follow

    [parent] = threads(harness)
    assert new.experiment.name in parent and old.experiment.name not in parent
    assert not any(old.experiment.name in m.text for m in harness.slack.messages())
    [old_run] = [r for r in runs_of(harness) if r["experiment"] == old.experiment.name]
    assert old_run["verdict"] == "pass", "recorded silently, visible in status"
    assert harness.stop()[0] == 0

    harness.settings["state"]["database"] = str(tmp_path / "fresh.db")  # a new database
    harness.start("--backfill", "1")
    wait_until(lambda: len(threads(harness)) == 3, 120, "both runs announced from the backlog")

    announced = "\n".join(threads(harness)[1:])
    assert old.experiment.name in announced and new.experiment.name in announced
    assert harness.stop()[0] == 0
