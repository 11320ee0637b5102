"""The pipeline simulator on a real Slurm, watched by the poller and judged by the reviewer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eagle3_monitor.monitor.poll import PollResult
from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.pipeline import submit_pipeline
from eagle3_monitor.state.store import Store, StoredJob, StoredRun
from eagle3_monitor.vocabulary import Category, RunVerdict, TaskVerdict
from tests.integration.conftest import Cluster, poll_until

pytestmark = pytest.mark.slurm


def run_of(store: Store, experiment: Path) -> StoredRun | None:
    return next((r for r in store.runs() if r.experiment_dir == str(experiment)), None)


def tasks(store: Store, experiment: Path) -> list[StoredJob]:
    run = run_of(store, experiment)
    return store.jobs_of_run(run.id) if run else []


def all_final(store: Store, experiment: Path, count: int) -> Callable[[], bool]:
    def check() -> bool:
        jobs = tasks(store, experiment)
        return len(jobs) == count and all(job.final for job in jobs)

    return check


def test_simulated_pipeline_passes_and_is_one_run(
    cluster: Cluster,
    poller: Callable[[], PollResult],
    store: Store,
    tmp_path: Path,
    catalog: Catalog,
) -> None:
    pipeline = submit_pipeline(tmp_path, epoch=int(time.time()), pace=0.0)

    poll_until(poller, all_final(store, pipeline.experiment, 4), timeout=180)

    run = run_of(store, pipeline.experiment)
    assert run is not None and run.experiment_id == pipeline.experiment.name
    jobs = tasks(store, pipeline.experiment)
    assert [(j.task_index, j.job_id, j.state) for j in jobs] == [
        (i, job_id, "COMPLETED") for i, job_id in enumerate(pipeline.job_ids)
    ]
    assert [job.role for job in jobs] == ["synthesis", "dump", "training", "benchmark"]
    for job in jobs:
        names = sorted(Path(path).name for path in job.log_paths)
        assert [n.split("_")[0] for n in names] == ["log-coreai", "sbatch"], names
    review = review_path(pipeline.experiment, catalog)
    assert review.verdict is RunVerdict.PASS, [
        (t.task, t.verdict, t.root_cause) for t in review.tasks
    ]


def test_simulated_pipeline_failing_in_task_1_blocks_the_rest(
    cluster: Cluster,
    poller: Callable[[], PollResult],
    store: Store,
    tmp_path: Path,
    catalog: Catalog,
) -> None:
    pipeline = submit_pipeline(tmp_path, epoch=int(time.time()), failures={1: "cuda_oom"}, pace=0.0)

    poll_until(poller, all_final(store, pipeline.experiment, 4), timeout=180)

    jobs = tasks(store, pipeline.experiment)
    assert [j.state for j in jobs] == ["COMPLETED", "FAILED", "CANCELLED", "CANCELLED"]
    # sacct 22.05 keeps the pending reason; 25.11's accounting says "None" for it
    reason = "Dependency" if cluster.version == "22.05" else "None"
    assert [j.reason for j in jobs[2:]] == [reason, reason]
    review = review_path(pipeline.experiment, catalog)
    assert review.root_cause is not None and review.root_cause.category is Category.GPU_OOM
    assert review.root_cause_task is review.tasks[1]
    assert [t.verdict for t in review.tasks[2:]] == [TaskVerdict.BLOCKED] * 2


def test_simulated_completed_job_whose_log_shows_failure(
    cluster: Cluster,
    poller: Callable[[], PollResult],
    store: Store,
    tmp_path: Path,
    catalog: Catalog,
) -> None:
    pipeline = submit_pipeline(
        tmp_path, epoch=int(time.time()), failures={0: "exit0_traceback"}, tasks=1, pace=0.0
    )

    poll_until(poller, all_final(store, pipeline.experiment, 1), timeout=120)

    assert tasks(store, pipeline.experiment)[0].state == "COMPLETED"
    review = review_path(pipeline.experiment, catalog)
    assert review.tasks[0].verdict is TaskVerdict.FAIL
    assert review.tasks[0].root_cause is not None
    assert review.tasks[0].root_cause.category is Category.SERVER_STARTUP
