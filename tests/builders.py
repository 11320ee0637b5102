"""Small helpers to lay out experiments for tests."""

from __future__ import annotations

import random
from pathlib import Path

from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import (
    TaskPlan,
    healthy_plan,
    plan_failing_at,
    write_experiment,
)
from eagle3_monitor.simulate.logtext import benchmark_log, training_log
from eagle3_monitor.vocabulary import Role


def benchmark_plan(log_tail: str, exit_code: int | None = 0) -> list[TaskPlan]:
    """A pipeline whose first three tasks pass and whose benchmark printed `log_tail`."""
    plans = healthy_plan()
    prefix = benchmark_log(random.Random(3), finish=False)
    plans[3] = TaskPlan(Role.BENCHMARK, task_log=prefix + log_tail, exit_code=exit_code)
    return plans


def experiment_with_benchmark(root: Path, log_tail: str) -> Path:
    return write_experiment(root, benchmark_plan(log_tail))


def partial_training_log() -> str:
    return training_log(random.Random(5), steps=2, finish=False)


def review_failing_at(root: Path, index: int, plan: TaskPlan, catalog: Catalog) -> RunReview:
    """Review a run whose tasks before `index` passed, task `index` is `plan`, the rest never
    ran."""
    return review_path(write_experiment(root, plan_failing_at(index, plan)), catalog)
