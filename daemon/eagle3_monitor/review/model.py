"""What a review says: frozen data, decided once (`review/decide.py`) and then only rendered, by
the reports, the Slack messages, the stored review and `status` alike."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.slurm.model import SlurmView
from eagle3_monitor.validate.model import TaskValidation, Validation
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


MAX_DRAFT_LENGTH = 16  # when the benchmark's --draft_length is not known


@dataclass(frozen=True)
class AcceptanceLength:
    """The benchmark's acceptance length (AR), where it was read, and the benchmark's own bound
    when it printed its gate."""

    value: float
    evidence: Evidence
    per_topic: dict[str, float] = field(default_factory=dict)
    bound: float | None = None

    def impossible(self, draft_length: int | None) -> str | None:
        """Why the value cannot be an acceptance length (it lies in (0, draft length + 1]:
        each step accepts at most every drafted token plus one), or None when it can."""
        ceiling = (draft_length or MAX_DRAFT_LENGTH) + 1
        if not math.isfinite(self.value) or not 0 < self.value <= ceiling:
            shown = f"{self.value:.4g}" if math.isfinite(self.value) else str(self.value)
            known = f"a draft length of {draft_length}" if draft_length else "any draft length"
            return f"{shown} is not a possible acceptance length ({known} allows at most {ceiling})"
        return None


@dataclass(frozen=True)
class TaskReview:
    task: str | None
    index: int | None
    name: str
    job_name: str | None
    job_id: str | None
    role: Role | None
    verdict: TaskVerdict
    root_cause: RootCause | None = None
    findings: tuple[Finding, ...] = ()
    logs: tuple[Path, ...] = ()
    exit_code: int | None = None
    acceptance: AcceptanceLength | None = None
    problems: tuple[str, ...] = ()
    metrics: dict[str, tuple[float, ...]] = field(default_factory=dict)
    checks: TaskValidation | None = None  # its artifact checks, when it has a role
    slurm: SlurmView | None = None  # what Slurm said of its job, when asked

    @property
    def label(self) -> str:
        return self.task or self.name

    @property
    def verdict_text(self) -> str:
        """The verdict as people read it: `cancelled by alice` when Slurm knows who."""
        who = self.slurm.cancelled_by if self.slurm is not None else None
        if self.verdict is TaskVerdict.CANCELLED and who:
            return f"cancelled by {who}"
        return self.verdict.label


@dataclass(frozen=True)
class RerunAdvice:
    """How to re-run a failed pipeline: the command that writes the re-run YAML and launches
    it, and how that YAML differs from the original, one line per change."""

    command: str
    changes: tuple[str, ...] = ()
    note: str = ""  # why the changes could not be worked out, when they could not

    def summary(self, limit: int = 5) -> list[str]:
        """The first `limit` changes, and how many more there are."""
        shown = list(self.changes[:limit])
        if len(self.changes) > limit:
            shown.append(f"… and {len(self.changes) - limit} more (see the YAML's header)")
        return shown


@dataclass(frozen=True)
class RunReview:
    path: Path
    experiment: str | None
    verdict: RunVerdict
    tasks: tuple[TaskReview, ...]
    headline: str
    validation: Validation  # the same verdict, told as artifact checks (`validate`)
    root_cause_task: TaskReview | None = None
    threshold: float = 2.1
    job_name: str | None = None
    rerun: RerunAdvice | None = None  # set for a failed run (review/rerun_advice.py)
    bytes_scanned: int = 0  # log bytes the review read (the daemon's metrics count them)

    @property
    def root_cause(self) -> RootCause | None:
        return self.root_cause_task.root_cause if self.root_cause_task else None

    def task_at(self, index: int | None) -> TaskReview | None:
        return next((task for task in self.tasks if task.index == index), None)

    def rerun_skip_indices(self) -> list[int]:
        """Tasks to skip in a re-run: those that passed."""
        return [
            task.index
            for task in self.tasks
            if task.index is not None and task.verdict in (TaskVerdict.PASS, TaskVerdict.SKIPPED)
        ]
