"""What a review says: plain data, shared by the judge, the reports and (later) the daemon."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.validate.model import Validation
from eagle3_monitor.vocabulary import Category, Role, RunVerdict, TaskVerdict


@dataclass(frozen=True)
class Finding:
    """A log line a rule recognised."""

    category: Category
    rule: str
    file: Path
    line: int
    text: str


@dataclass(frozen=True)
class Evidence:
    file: Path
    line: int
    text: str


@dataclass(frozen=True)
class RootCause:
    category: Category
    rule: str
    summary: str
    fix: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class AcceptanceLength:
    """The benchmark's acceptance length (AR) and where it was read."""

    value: float
    evidence: Evidence
    per_topic: dict[str, float] = field(default_factory=dict)


@dataclass
class TaskReview:
    task: str | None
    index: int | None
    name: str
    job_name: str | None
    job_id: str | None
    role: Role | None
    verdict: TaskVerdict
    root_cause: RootCause | None = None
    findings: list[Finding] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    exit_code: int | None = None
    acceptance: AcceptanceLength | None = None
    problems: list[str] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class RunReview:
    path: Path
    experiment: str | None
    verdict: RunVerdict
    tasks: list[TaskReview]
    root_cause: RootCause | None = None
    root_cause_task: TaskReview | None = None
    threshold: float = 2.1
    job_name: str | None = None
    validation: Validation | None = None

    def rerun_skip_indices(self) -> list[int]:
        """Tasks to skip in a re-run: those that passed."""
        return [
            task.index
            for task in self.tasks
            if task.index is not None and task.verdict is TaskVerdict.PASS
        ]
