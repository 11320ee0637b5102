"""Review a whole experiment (or one task, or one log file): scan each task's logs, judge them,
check the artifacts, then decide (`review/decide.py`). This is what `eagle3-monitor review`,
`validate` and the daemon call; only this module and the scanner touch files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review.decide import RunFacts, TaskFacts, decide_run, decide_task
from eagle3_monitor.review.judge import Judgement, ScannedLog, judge_task
from eagle3_monitor.review.layout import Experiment, LogFile, LogKind, TaskLogs, discover
from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.scanner import scan_file
from eagle3_monitor.rules.catalog import Catalog
from eagle3_monitor.safe_read import ReadPolicy
from eagle3_monitor.slurm.model import SlurmView
from eagle3_monitor.validate.run import (
    DEFAULT_HIDDEN_STATES_MIN_SHARE,
    ArtifactReport,
    ArtifactTask,
    ArtifactTemplates,
    ValidationSettings,
    check_artifacts,
)
from eagle3_monitor.vocabulary import DEFAULT_ACCEPTANCE_THRESHOLD, TaskVerdict

_FILE_ORDER = {LogKind.TASK: 0, LogKind.LOCAL: 1, LogKind.OTHER: 2, LogKind.SBATCH: 3}


@dataclass(frozen=True)
class ReviewSettings:
    threshold: float = DEFAULT_ACCEPTANCE_THRESHOLD
    hidden_states_min_share: float = DEFAULT_HIDDEN_STATES_MIN_SHARE
    artifacts: ArtifactTemplates = field(default_factory=ArtifactTemplates)
    # The daemon's policy for this run's files (monitor/access.py); None: the caller's rights.
    read_policy: ReadPolicy | None = None

    def validation(self) -> ValidationSettings:
        return ValidationSettings(self.hidden_states_min_share, self.artifacts)


@dataclass(frozen=True)
class _ScannedTask:
    task: TaskLogs
    logs: tuple[ScannedLog, ...]
    problems: tuple[str, ...]
    judgement: Judgement


def review_path(
    path: Path,
    catalog: Catalog,
    settings: ReviewSettings | None = None,
    slurm: Mapping[int, SlurmView] | None = None,
) -> RunReview:
    """Review whatever is at `path`; UnusableInputError when nothing there can be reviewed.
    For a whole experiment the artifacts are checked too, and count in the verdicts.
    `slurm`: Slurm's view of each task's job, by task index, when it was asked."""
    review = review_experiment(discover(path), catalog, settings, slurm)
    problems = [problem for task in review.tasks for problem in task.problems]
    if problems and not any(task.logs for task in review.tasks):
        raise UnusableInputError(problems[0])
    return review


def validate_path(
    path: Path,
    catalog: Catalog,
    settings: ReviewSettings | None = None,
    slurm: Mapping[int, SlurmView] | None = None,
) -> RunReview:
    """`review_path` for `validate`: the path must be a whole experiment directory."""
    if path.is_file() or (path.is_dir() and not discover(path).is_experiment_dir):
        raise UnusableInputError(
            f"{path}: validate needs an experiment directory (cicd_<epoch>/), not a task or a file"
        )
    return review_path(path, catalog, settings, slurm)


def review_experiment(
    experiment: Experiment,
    catalog: Catalog,
    settings: ReviewSettings | None = None,
    slurm: Mapping[int, SlurmView] | None = None,
) -> RunReview:
    """Scan, judge, check the artifacts, decide. Never raises for a task's unreadable logs:
    they are the task's `problems`, and Slurm's view still counts."""
    settings = settings or ReviewSettings()
    views = slurm or {}
    scanned = [
        _scan_task(task, catalog, settings, views.get(_key(task))) for task in experiment.tasks
    ]
    artifacts = _check_artifacts(experiment, scanned, settings)
    tasks = [
        decide_task(_facts(item, views.get(_key(item.task)), artifacts), item.judgement,
                    settings.threshold)
        for item in scanned
    ]  # fmt: skip
    facts = RunFacts(
        experiment.path,
        experiment.experiment_id,
        _pipeline_job_name(experiment),
        settings.threshold,
    )
    read = sum(log.scan.size - log.scan.skipped for item in scanned for log in item.logs)
    review = replace(decide_run(facts, tasks), bytes_scanned=read)
    if review.root_cause_task is None:
        return review
    # imported here: the daemon process needs this module's settings, not ruamel (1.6 MB)
    from eagle3_monitor.review.rerun_advice import rerun_advice  # noqa: PLC0415

    return replace(review, rerun=rerun_advice(review, settings.read_policy))


def _key(task: TaskLogs) -> int:
    return task.index if task.index is not None else -1


def _scan_task(
    task: TaskLogs, catalog: Catalog, settings: ReviewSettings, slurm: SlurmView | None
) -> _ScannedTask:
    """Scan every log of one task and judge it."""
    current = set(task.current_logs())
    scanned: list[ScannedLog] = []
    problems: list[str] = []
    for order, log in enumerate(sorted(task.logs, key=_file_order)):
        try:
            scan = scan_file(log.path, catalog, settings.read_policy)
            if scan.skipped:
                problems.append(
                    f"{log.path}: {scan.skipped / 1e6:,.0f} MB in the middle not read (the "
                    "scan's time ran out); its end was"
                )
        except UnusableInputError as error:
            problems.append(str(error))
            continue
        scanned.append(ScannedLog(order, log.kind, log in current, scan))
    judgement = judge_task(scanned, task.index, slurm)
    return _ScannedTask(task, tuple(scanned), tuple(problems), judgement)


def _check_artifacts(
    experiment: Experiment, scanned: list[_ScannedTask], settings: ReviewSettings
) -> ArtifactReport | None:
    """The artifacts of a whole experiment's tasks that ended (or were skipped with their
    artifacts in place); running tasks are left alone."""
    if not experiment.is_experiment_dir:
        return None
    wanted = [
        ArtifactTask(
            item.task.index,
            item.judgement.role,
            item.task.directory,
            ran=item.judgement.verdict.is_final,
            train_losses=item.judgement.metrics.get("train_loss", ()),
        )
        for item in scanned
        if item.task.index is not None
        and item.judgement.role is not None
        and item.judgement.verdict is not TaskVerdict.RUNNING
    ]
    return check_artifacts(experiment.path, wanted, settings.validation())


def _facts(
    item: _ScannedTask, slurm: SlurmView | None, artifacts: ArtifactReport | None
) -> TaskFacts:
    task = item.task
    checks = artifacts.checks.get(task.index) if artifacts and task.index is not None else None
    benchmark = artifacts.benchmark if artifacts else None
    return TaskFacts(
        task=task.task_label,
        index=task.index,
        name=task.name,
        job_name=task.slurm_job_name or task.name,
        job_id=task.latest_job_id or (slurm.job_id if slurm else None),
        logs=tuple(log.scan.path for log in item.logs),
        problems=item.problems,
        slurm=slurm,
        checks=checks,
        benchmark=benchmark,
        skipped=task.directory is None and not task.logs and slurm is None and checks is None,
    )


def _file_order(log: LogFile) -> tuple[int, int, str]:
    return (_FILE_ORDER[log.kind], -log.restart, log.path.name)


def _pipeline_job_name(experiment: Experiment) -> str | None:
    name = experiment.metadata.get("job_name")
    if isinstance(name, str) and name:
        return name
    for task in experiment.tasks:
        if task.index is not None and task.name.endswith(f"_{task.index}"):
            return task.name[: -len(f"_{task.index}")]
    return None
