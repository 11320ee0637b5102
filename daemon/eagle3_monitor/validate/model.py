"""What `validate` reports: checks per task and an overall verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from eagle3_monitor.vocabulary import Role


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class ValidationVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PARTIAL = "partial"  # some tasks have not run yet or were skipped


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    detail: str
    value: Any = None
    path: Path | None = None


@dataclass(frozen=True)
class TaskValidation:
    task: str | None
    index: int | None
    role: Role | None
    checks: tuple[Check, ...] = ()

    @property
    def status(self) -> CheckStatus:
        statuses = {check.status for check in self.checks}
        for status in (CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.PASS):
            if status in statuses:
                return status
        return CheckStatus.SKIP

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status is CheckStatus.FAIL]

    def check(self, name: str) -> Check | None:
        return next((check for check in self.checks if check.name == name), None)


@dataclass(frozen=True)
class Validation:
    """The validate view of a run's review: the same verdict, told as artifact checks."""

    path: Path
    experiment: str | None
    verdict: ValidationVerdict
    tasks: tuple[TaskValidation, ...]
    threshold: float
    acceptance_length: float | None = None
    per_topic: dict[str, float] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()
