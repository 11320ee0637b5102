"""Root-cause accuracy on the held-out set (bench/accuracy/cases/*.yaml): pipeline runs built
from public bug reports whose wording the rules were not written from (bench/accuracy/README.md).

Each case becomes a real experiment directory in the launcher's layout (or one lone log file);
`review` judges it offline (no Slurm) and the result is scored against the case's answer: the
run's verdict and, for a failed run, the task and category of its root cause. Prints accuracy
by category, the false alarms (passing runs reported as failures) and, with --verbose, every
miss.

    python bench/accuracy.py [--cases DIR] [--verbose] [--min 0.95]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eagle3_monitor.review.layout import LogKind, discover
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import load_catalog
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.simulate.experiment import TaskPlan, write_experiment
from eagle3_monitor.simulate.logtext import TaskNames
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX

CASES = Path(__file__).resolve().parent / "accuracy" / "cases"
JOB_BASE = "Qwen3-8B_EAGLE3_offline"
FIRST_JOB_ID = 9176000


@dataclass(frozen=True)
class Outcome:
    case: str
    expected: str
    got: str
    right: bool
    false_alarm: bool = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.add_argument("--min", type=float, default=None, help="exit 1 below this accuracy")
    options = parser.parse_args(argv)
    files = sorted(options.cases.glob("*.yaml"))
    if not files:
        print(f"accuracy: no cases in {options.cases}", file=sys.stderr)
        return 2
    catalog = load_catalog()
    outcomes = [score(path, catalog) for path in files]
    print(report(outcomes, options.verbose))
    accuracy = sum(o.right for o in outcomes) / len(outcomes)
    return 1 if options.min is not None and accuracy < options.min else 0


def score(path: Path, catalog: Catalog) -> Outcome:
    case = yaml.safe_load(path.read_text("utf-8"))
    with tempfile.TemporaryDirectory(prefix="e3acc") as directory:
        root = Path(directory)
        if "lone_file" in case:
            return _score_lone_file(path.stem, case, root, catalog)
        review = review_path(build_experiment(case, root), catalog)
    return _judged(path.stem, case["expect"], review)


def build_experiment(case: dict[str, Any], root: Path) -> Path:
    """The case's tasks on disk, in the launcher's layout."""
    tasks = case["tasks"]
    plans = [_plan(task) for task in tasks]
    experiment = write_experiment(root, plans, job_base=JOB_BASE, first_job_id=FIRST_JOB_ID)
    for task in tasks:
        task_dir = experiment / TaskNames(JOB_BASE, task["index"]).directory
        if task.get("state") == "skipped":
            shutil.rmtree(task_dir)
        elif task.get("state") == "no_logs":
            for log in task_dir.glob("*.out"):
                log.unlink()
    return experiment


def _plan(task: dict[str, Any]) -> TaskPlan:
    state = task.get("state", "ran")
    role = ROLE_BY_TASK_INDEX[int(task["index"])]
    exit_code = task.get("exit_code", 0)
    plan = TaskPlan(
        role,
        ran=state in ("ran", "no_logs"),
        task_log=task.get("log") or "",  # no `log`: the task printed nothing
        exit_code=exit_code,
        sbatch_tail=task.get("sbatch_tail") or "",
        artifacts=bool(task.get("artifacts", exit_code == 0)),
    )
    if task.get("acceptance") is not None:
        plan.acceptance = float(task["acceptance"])
    return plan


def _judged(name: str, expect: dict[str, Any], review: RunReview) -> Outcome:
    run = str(review.verdict)
    if expect["run"] != "fail":
        got = run if run != "fail" else f"fail {_headline(review)}"
        alarm = expect["run"] == "pass" and run == "fail"
        return Outcome(name, expect["run"], got, run == expect["run"], alarm)
    wanted = f"fail task_{expect['task']} {expect['category']}"
    got = f"{run} {_headline(review)}" if run == "fail" else run
    return Outcome(name, wanted, got, got == wanted)


def _headline(review: RunReview) -> str:
    task, cause = review.root_cause_task, review.root_cause
    if task is None or cause is None:
        return "(no root cause)"
    return f"{task.task} {cause.category}"


def _score_lone_file(name: str, case: dict[str, Any], root: Path, catalog: Catalog) -> Outcome:
    lone = case["lone_file"]
    path = root / "downloads" / lone["name"]
    path.parent.mkdir(parents=True)
    path.write_text(lone["text"], "utf-8")
    [task] = discover(path).tasks
    log = task.logs[0]
    review = review_path(path, catalog)
    expect = case.get("expect", {})
    place = f"task_{lone.get('expect_index')} job {lone.get('expect_job_id')}"
    found = f"task_{task.index} job {log.job_id if log.kind is not LogKind.OTHER else None}"
    wanted, got = place, found
    if expect.get("run") == "fail":
        wanted += f" fail {expect.get('category')}"
        cause = review.tasks[0].root_cause
        got += f" {review.verdict} {cause.category if cause else '(no root cause)'}"
    else:
        wanted, got = f"{wanted} located", f"{got} located"
    return Outcome(name, wanted, got, got == wanted)


def report(outcomes: list[Outcome], verbose: bool) -> str:
    by_category: Counter[str] = Counter()
    right_by_category: Counter[str] = Counter()
    for outcome in outcomes:
        category = outcome.expected.split(" ")[-1]
        by_category[category] += 1
        right_by_category[category] += outcome.right
    lines = [f"{'category':<28} {'right':>5} / {'cases':<5}"]
    for category in sorted(by_category):
        right, cases = right_by_category[category], by_category[category]
        lines.append(f"{category:<28} {right:>5} / {cases:<5}")
    right = sum(o.right for o in outcomes)
    passing = [o for o in outcomes if o.expected == "pass"]
    alarms = sum(o.false_alarm for o in outcomes)
    lines += [
        "",
        f"accuracy: {right} of {len(outcomes)} right ({100 * right / len(outcomes):.1f}%)",
        f"false alarms: {alarms} of {len(passing)} passing runs reported as failures",
    ]
    if verbose:
        misses = [o for o in outcomes if not o.right]
        lines += ["", "misses:"]
        lines += [f"  {o.case}: expected {o.expected}, got {o.got}" for o in misses]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
