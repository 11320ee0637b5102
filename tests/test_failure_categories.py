"""Every root-cause category, on at least two realistic experiments each."""

from __future__ import annotations

from pathlib import Path

import pytest

from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.vocabulary import Category, RunVerdict, TaskVerdict
from tests.failure_cases import FailureCase, build_experiment, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_review_failing_task_names_the_expected_root_cause(
    case: FailureCase, catalog: Catalog, tmp_path: Path
) -> None:
    review = review_path(build_experiment(case, tmp_path), catalog)

    task = review.tasks[case.task]
    assert task.verdict == TaskVerdict(case.verdict), task
    assert task.root_cause is not None
    assert task.root_cause.category == Category(case.expect), task.root_cause
    assert task.root_cause.evidence, "a root cause always comes with evidence"
    assert review.verdict is RunVerdict.FAIL
    for earlier in review.tasks[: case.task]:
        assert earlier.verdict is TaskVerdict.PASS, earlier


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_review_run_root_cause_points_at_the_right_task(
    case: FailureCase, catalog: Catalog, tmp_path: Path
) -> None:
    review = review_path(build_experiment(case, tmp_path), catalog)

    expected = case.run_expect or {"task": f"task_{case.task}", "category": case.expect}
    assert review.root_cause_task is not None
    assert review.root_cause_task.task == expected["task"]
    assert review.root_cause is not None
    assert review.root_cause.category == Category(expected["category"])


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.later_expect or c.later], ids=lambda c: c.id
)
def test_review_tasks_after_the_failure_are_explained(
    case: FailureCase, catalog: Catalog, tmp_path: Path
) -> None:
    review = review_path(build_experiment(case, tmp_path), catalog)

    for later in review.tasks[case.task + 1 :]:
        assert later.root_cause is not None, later
        offset = later.index - case.task - 1 if later.index is not None else 0
        ran = case.later[offset] if offset < len(case.later) else None
        expected = ran["expect"] if ran else case.later_expect
        assert later.root_cause.category == Category(str(expected))


def test_fixtures_cover_every_category_at_least_twice() -> None:
    counts = dict.fromkeys(Category, 0)
    for case in CASES:
        counts[Category(case.category)] += 1
    assert {category: n for category, n in counts.items() if n < 2} == {}
