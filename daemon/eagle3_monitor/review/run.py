"""Review a whole experiment (or one task, or one log file): scan, judge each task, then find
the run's root cause. This is what `eagle3-monitor review` and the daemon call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review.judge import ScannedLog, judge_task
from eagle3_monitor.review.layout import Experiment, LogFile, LogKind, TaskLogs, discover
from eagle3_monitor.review.model import RootCause, RunReview, TaskReview
from eagle3_monitor.review.scanner import scan_file
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.validate.run import (
    ArtifactTemplates,
    ValidationSettings,
    apply_validation,
    validate_tasks,
)
from eagle3_monitor.vocabulary import (
    DEFAULT_ACCEPTANCE_THRESHOLD,
    Category,
    RunVerdict,
    TaskVerdict,
)

_FILE_ORDER = {LogKind.TASK: 0, LogKind.LOCAL: 1, LogKind.OTHER: 2, LogKind.SBATCH: 3}
_CAUSED_UPSTREAM = {Category.MISSING_INPUT, Category.DEPENDENCY_NEVER_SATISFIED}


@dataclass(frozen=True)
class ReviewSettings:
    threshold: float = DEFAULT_ACCEPTANCE_THRESHOLD
    hidden_states_min_share: float = 0.9
    artifacts: ArtifactTemplates = field(default_factory=ArtifactTemplates)
    # The daemon's check that a log may be quoted for this run (monitor/access.py); None: all.
    may_read: Callable[[Path], bool] | None = None

    def validation(self) -> ValidationSettings:
        return ValidationSettings(self.threshold, self.hidden_states_min_share, self.artifacts)


def review_path(path: Path, catalog: Catalog, settings: ReviewSettings | None = None) -> RunReview:
    """Review whatever is at `path`; UnusableInputError when nothing there can be reviewed.
    For a whole experiment the artifacts are validated too, and count in the verdicts."""
    settings = settings or ReviewSettings()
    experiment = discover(path)
    tasks = [review_task(task, catalog, settings) for task in experiment.tasks]
    problems = [problem for task in tasks for problem in task.problems]
    if problems and not any(task.logs for task in tasks):
        raise UnusableInputError(problems[0])
    validation = None
    if experiment.is_experiment_dir:
        validation = validate_tasks(experiment, tasks, settings.validation())
        apply_validation(tasks, validation)
    review = assemble_run(experiment, tasks, settings)
    review.validation = validation
    return review


def validate_path(
    path: Path, catalog: Catalog, settings: ReviewSettings | None = None
) -> RunReview:
    """`review_path` for `validate`: the path must be a whole experiment directory."""
    if path.is_file() or (path.is_dir() and not discover(path).is_experiment_dir):
        raise UnusableInputError(
            f"{path}: validate needs an experiment directory (cicd_<epoch>/), not a task or a file"
        )
    return review_path(path, catalog, settings)


def review_task(task: TaskLogs, catalog: Catalog, settings: ReviewSettings) -> TaskReview:
    """Scan every log of one task and judge it."""
    current = set(task.current_logs())
    scanned: list[ScannedLog] = []
    problems: list[str] = []
    for order, log in enumerate(sorted(task.logs, key=_file_order)):
        if settings.may_read is not None and not settings.may_read(log.path):
            problems.append(f"{log.path}: skipped: outside the roots or unreadable by the owner")
            continue
        try:
            scan = scan_file(log.path, catalog)
        except UnusableInputError as error:
            problems.append(str(error))
            continue
        scanned.append(ScannedLog(order, log.kind, log in current, scan))
    judgement = judge_task(scanned, task.index, settings.threshold)
    return TaskReview(
        task=task.task_label,
        index=task.index,
        name=task.name,
        job_name=task.slurm_job_name or task.name,
        job_id=task.latest_job_id,
        role=judgement.role,
        verdict=judgement.verdict,
        root_cause=judgement.root_cause,
        findings=judgement.findings,
        logs=[log.scan.path for log in scanned],
        exit_code=judgement.exit_code,
        acceptance=judgement.acceptance,
        problems=problems,
        metrics=judgement.metrics,
    )


def _file_order(log: LogFile) -> tuple[int, int, str]:
    return (_FILE_ORDER[log.kind], -log.restart, log.path.name)


def assemble_run(
    experiment: Experiment, tasks: list[TaskReview], settings: ReviewSettings
) -> RunReview:
    verdict = run_verdict(tasks)
    headline = headline_task(tasks)
    _mark_blocked_tasks(tasks, headline)
    return RunReview(
        path=experiment.path,
        experiment=experiment.experiment_id,
        verdict=verdict,
        tasks=tasks,
        root_cause=headline.root_cause if headline else None,
        root_cause_task=headline,
        threshold=settings.threshold,
        job_name=_pipeline_job_name(experiment, tasks),
    )


def run_verdict(tasks: list[TaskReview]) -> RunVerdict:
    if any(task.verdict.is_failure for task in tasks):
        return RunVerdict.FAIL
    if any(task.verdict in (TaskVerdict.RUNNING, TaskVerdict.NOT_RUN) for task in tasks):
        return RunVerdict.INCOMPLETE
    return RunVerdict.PASS


def headline_task(tasks: list[TaskReview]) -> TaskReview | None:
    """The task whose failure explains the run.

    A failed task that later tasks got past (they passed: `afterany` with allow_to_fail) was
    tolerated. The first failure that was not tolerated is the headline; when it only lacks
    input from upstream, an earlier failed task is the real cause."""
    failed = [task for task in tasks if task.verdict.is_failure]
    if not failed:
        return None
    ordered = sorted(tasks, key=lambda task: task.index if task.index is not None else 1 << 30)
    blocking = [task for task in failed if not _passed_after(task, ordered)]
    headline = blocking[0] if blocking else failed[-1]
    cause = headline.root_cause
    if cause is not None and cause.category in _CAUSED_UPSTREAM:
        upstream = [task for task in failed if _before(task, headline)]
        if upstream:
            return upstream[-1]
    return headline


def _passed_after(task: TaskReview, ordered: list[TaskReview]) -> bool:
    later = ordered[ordered.index(task) + 1 :]
    return any(other.verdict is TaskVerdict.PASS for other in later)


def _before(task: TaskReview, other: TaskReview) -> bool:
    return task.index is not None and other.index is not None and task.index < other.index


def _mark_blocked_tasks(tasks: list[TaskReview], headline: TaskReview | None) -> None:
    """Tasks that never ran after a failure were blocked by it (Slurm: afterok never satisfied)."""
    if headline is None or headline.index is None:
        return
    for task in tasks:
        if (
            task.verdict is TaskVerdict.NOT_RUN
            and task.index is not None
            and task.index > headline.index
        ):
            category = headline.root_cause.category if headline.root_cause else Category.UNKNOWN
            task.root_cause = RootCause(
                Category.DEPENDENCY_NEVER_SATISFIED,
                "upstream-failed",
                f"never ran: {headline.task} failed ({category})",
                f"Fix {headline.task} first, then re-run from it.",
            )


def _pipeline_job_name(experiment: Experiment, tasks: list[TaskReview]) -> str | None:
    name = experiment.metadata.get("job_name")
    if isinstance(name, str) and name:
        return name
    for task in tasks:
        if task.index is not None and task.name.endswith(f"_{task.index}"):
            return task.name[: -len(f"_{task.index}")]
    return None
