"""Validate an experiment's artifacts task by task, and fold the result into its review."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.review.layout import Experiment
from eagle3_monitor.review.model import AcceptanceLength, Evidence, RootCause, TaskReview
from eagle3_monitor.validate.artifacts import (
    DataSummary,
    check_export,
    check_hidden_states,
    check_synthesized_data,
    check_training_loss,
)
from eagle3_monitor.validate.benchmark import read_benchmark_results
from eagle3_monitor.validate.model import (
    Check,
    CheckStatus,
    TaskValidation,
    Validation,
    ValidationVerdict,
)
from eagle3_monitor.vocabulary import Category, Role, TaskVerdict


@dataclass(frozen=True)
class ArtifactTemplates:
    """Where each role's artifacts are; `{experiment}` and `{task_dir}` are filled in."""

    data: str = "{experiment}/data"
    hidden_states: str = "{experiment}/offline_hidden_states"
    training_output: str = "{experiment}/eagle3"
    export: str = "{experiment}/export"
    benchmark_results: tuple[str, ...] = ("{task_dir}", "{experiment}")


@dataclass(frozen=True)
class ValidationSettings:
    threshold: float
    hidden_states_min_share: float = 0.9
    artifacts: ArtifactTemplates = field(default_factory=ArtifactTemplates)


def resolve(template: str, experiment: Path, task_dir: Path | None) -> Path:
    text = template.replace("{experiment}", str(experiment))
    text = text.replace("{task_dir}", str(task_dir or experiment))
    path = Path(text).expanduser()
    if path.is_absolute() or template.startswith(("{experiment}", "{task_dir}")):
        return path
    return experiment / path


_FIX_BY_CHECK = {
    "data_dir": "task_0 wrote nothing: check its --save path and its log, then re-run task_0.",
    "data_shards": "task_0 wrote no shards: check --data (prompts exist?) and query.py's log.",
    "data_samples": "task_0's shards are empty: check the prompt data and the server's answers.",
    "hidden_states_dir": "task_1 wrote nothing: check --output-dir and its log, then re-run it.",
    "hidden_states_files": "task_1 dumped nothing: check --max-seq-len and the input data format.",
    "export_config": "The export is missing or broken: re-run task_2 (and check its export step).",
    "export_config_fields": "Patch export/config.json (e.g. use_cache: true) or fix the export "
    "template, then re-run task_3.",
    "export_weights": "export/model.safetensors is missing or corrupt: re-run task_2's export.",
    "training_loss": "Lower the learning rate; check the dumped hidden states for NaN/inf.",
    "acceptance_length": "Train longer or on more data, or tune the draft head; then re-run "
    "task_2 and task_3.",
}
_CATEGORY_BY_CHECK = {"training_loss": Category.TRAINING_DIVERGENCE}


def validate_tasks(
    experiment: Experiment, reviews: list[TaskReview], settings: ValidationSettings
) -> Validation:
    """Check every task's artifacts; a task that has not run is skipped unless its artifacts
    are already there (a re-run that skips finished tasks)."""
    root = experiment.path
    data_summary: DataSummary | None = None
    results: list[TaskValidation] = []
    acceptance: AcceptanceLength | None = None
    per_topic: dict[str, float] = {}
    task_dirs = {task.index: task.directory for task in experiment.tasks}
    for review in reviews:
        validation = TaskValidation(review.task, review.index, review.role)
        templates = settings.artifacts
        if review.role is Role.SYNTHESIS:
            data = resolve(templates.data, root, None)
            if _should_check(review, data, validation):
                validation.checks, data_summary = check_synthesized_data(data)
        elif review.role is Role.DUMP:
            states = resolve(templates.hidden_states, root, None)
            if _should_check(review, states, validation):
                conversations = (
                    data_summary.samples if data_summary else _count_data(root, templates)
                )
                validation.checks = check_hidden_states(
                    states, conversations, settings.hidden_states_min_share
                )
        elif review.role is Role.TRAINING:
            export = resolve(templates.export, root, None)
            if _should_check(review, export, validation):
                output = resolve(templates.training_output, root, None)
                losses = review.metrics.get("train_loss", [])
                validation.checks = [*check_export(export), *check_training_loss(output, losses)]
        elif review.role is Role.BENCHMARK and _should_check(review, None, validation, True):
            task_dir = task_dirs.get(review.index)
            directories = [resolve(t, root, task_dir) for t in templates.benchmark_results]
            check, acceptance, per_topic = _check_acceptance(
                review, directories, settings.threshold
            )
            validation.checks = [check]
        results.append(validation)
    verdict = _verdict(results, reviews)
    return Validation(
        path=root,
        experiment=experiment.experiment_id,
        verdict=verdict,
        tasks=results,
        threshold=settings.threshold,
        acceptance_length=acceptance.value if acceptance else None,
        per_topic=per_topic,
        next_steps=_next_steps(results, reviews),
    )


def _should_check(
    review: TaskReview, artifact: Path | None, validation: TaskValidation, results: bool = False
) -> bool:
    """Running tasks are skipped; tasks that have not run too, unless their artifacts exist.
    (`results`: the benchmark, whose result files are looked for when it ran.)"""
    if review.verdict is TaskVerdict.RUNNING:
        validation.checks = [Check("task", CheckStatus.SKIP, f"{review.task} is still running")]
        return False
    missing = results or artifact is None or not artifact.exists()
    if review.verdict is TaskVerdict.NOT_RUN and missing:
        validation.checks = [Check("task", CheckStatus.SKIP, f"{review.task} has not run")]
        return False
    return True


def _count_data(root: Path, templates: ArtifactTemplates) -> int | None:
    data = resolve(templates.data, root, None)
    if not data.is_dir():
        return None
    _, summary = check_synthesized_data(data)
    return summary.samples if summary else None


def _check_acceptance(
    review: TaskReview, directories: list[Path], threshold: float
) -> tuple[Check, AcceptanceLength | None, dict[str, float]]:
    results = read_benchmark_results(directories)
    acceptance = review.acceptance
    if acceptance is None and results.acceptance_length is not None and results.source:
        evidence = Evidence(results.source, 0, f"acceptance length {results.acceptance_length}")
        acceptance = AcceptanceLength(results.acceptance_length, evidence, results.per_topic)
    per_topic = {**results.per_topic, **(acceptance.per_topic if acceptance else {})}
    if acceptance is None:
        status = CheckStatus.SKIP if review.verdict is TaskVerdict.NOT_RUN else CheckStatus.FAIL
        detail = "no acceptance length in the log or in " + ", ".join(
            sorted({p.name for p in results.files}) or ["result files"]
        )
        return Check("acceptance_length", status, detail), None, per_topic
    topics = ", ".join(f"{topic} {value:.2f}" for topic, value in sorted(per_topic.items()))
    where = f" (per topic: {topics})" if topics else ""
    passed = acceptance.value >= threshold
    relation = ">=" if passed else "<"
    detail = f"acceptance length {acceptance.value:.2f} {relation} threshold {threshold:.2f}{where}"
    status = CheckStatus.PASS if passed else CheckStatus.FAIL
    check = Check("acceptance_length", status, detail, acceptance.value, acceptance.evidence.file)
    return check, acceptance, per_topic


def _verdict(results: list[TaskValidation], reviews: list[TaskReview]) -> ValidationVerdict:
    if any(task.failures() for task in results):
        return ValidationVerdict.FAILED
    unfinished = (TaskVerdict.NOT_RUN, TaskVerdict.RUNNING)
    if any(review.verdict in unfinished for review in reviews) or any(
        task.status is CheckStatus.SKIP for task in results
    ):
        return ValidationVerdict.PARTIAL
    return ValidationVerdict.PASSED


def _next_steps(results: list[TaskValidation], reviews: list[TaskReview]) -> list[str]:
    steps = []
    for task in results:
        for check in task.failures():
            fix = _FIX_BY_CHECK.get(check.name, "Look at the task's log and artifacts.")
            steps.append(f"{task.task}: {check.name}: {check.detail}. {fix}")
    waiting = [r.task for r in reviews if r.verdict in (TaskVerdict.NOT_RUN, TaskVerdict.RUNNING)]
    if waiting and not steps:
        steps.append(f"Validate again when {', '.join(str(t) for t in waiting)} have run.")
    return steps


def apply_validation(reviews: list[TaskReview], validation: Validation) -> None:
    """A task whose log looks fine but whose artifacts fail fails too; a benchmark whose AR was
    only in its JSON results is judged on that value."""
    by_index = {task.index: task for task in validation.tasks}
    for review in reviews:
        checks = by_index.get(review.index)
        if checks is None:
            continue
        if review.role is Role.BENCHMARK:
            _apply_acceptance(review, checks, validation)
        elif review.verdict is TaskVerdict.PASS and checks.failures():
            failed = checks.failures()[0]
            review.verdict = TaskVerdict.FAIL
            review.root_cause = RootCause(
                _CATEGORY_BY_CHECK.get(failed.name, Category.EMPTY_OUTPUT),
                f"artifact-{failed.name.replace('_', '-')}",
                f"the log looks fine but {failed.detail}",
                _FIX_BY_CHECK.get(failed.name, "Look at the task's artifacts."),
                (Evidence(failed.path or validation.path, 0, failed.detail),),
            )


def _apply_acceptance(review: TaskReview, checks: TaskValidation, validation: Validation) -> None:
    """The log had no acceptance length but the result files do: judge the gate on them."""
    cause = review.root_cause
    if review.acceptance is not None or cause is None or cause.rule != "no-acceptance-length":
        return
    check = next((c for c in checks.checks if c.name == "acceptance_length"), None)
    if check is None or not isinstance(check.value, float):
        return
    evidence = Evidence(check.path or validation.path, 0, check.detail)
    review.acceptance = AcceptanceLength(check.value, evidence, validation.per_topic)
    if check.status is CheckStatus.PASS:
        review.verdict, review.root_cause = TaskVerdict.PASS, None
    else:
        review.root_cause = RootCause(
            Category.LOW_ACCEPTANCE,
            "acceptance-threshold",
            check.detail,
            _FIX_BY_CHECK["acceptance_length"],
            (evidence,),
        )
