"""Load tests/fixtures/failures/*.yaml and build an experiment directory around each case."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eagle3_monitor.simulate.experiment import TaskPlan, plan_failing_at, write_experiment
from eagle3_monitor.simulate.logtext import benchmark_log, dump_log, synthesis_log, training_log
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX, Role

FIXTURES = Path(__file__).parent / "fixtures" / "failures"
_PARTIAL_OUTPUT = {
    Role.SYNTHESIS: lambda rng: synthesis_log(rng, shards=2, finish=False),
    Role.DUMP: lambda rng: dump_log(rng, finish=False),
    Role.TRAINING: lambda rng: training_log(rng, steps=3, finish=False),
    Role.BENCHMARK: lambda rng: benchmark_log(rng, finish=False),
}


@dataclass
class FailureCase:
    category: str
    name: str
    task: int
    log: str
    exit_code: int | None = 1
    sbatch_tail: str = ""
    expect: str = ""
    verdict: str = "fail"
    later_expect: str | None = None
    later: list[dict[str, Any]] = field(default_factory=list)
    run_expect: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


def load_cases() -> list[FailureCase]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text())["cases"]:
            cases.append(FailureCase(category=path.stem, **raw))
    return cases


def build_experiment(case: FailureCase, root: Path) -> Path:
    rng = random.Random(case.name)
    role = ROLE_BY_TASK_INDEX[case.task]
    log = _PARTIAL_OUTPUT[role](rng) + case.log if case.log else ""
    failed = TaskPlan(
        role, task_log=log, exit_code=case.exit_code, sbatch_tail=case.sbatch_tail, artifacts=False
    )
    plans = plan_failing_at(case.task, failed)
    for offset, later in enumerate(case.later, start=case.task + 1):
        plans[offset] = TaskPlan(
            ROLE_BY_TASK_INDEX[offset],
            task_log=later["log"],
            exit_code=later.get("exit_code", 1),
            sbatch_tail=later.get("sbatch_tail", ""),
            artifacts=False,
        )
    return write_experiment(root, plans)
