"""Check what each task of an experiment left on disk. A leaf: it returns checks and knows
nothing of reviews; `review/decide.py` weighs them into the task's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.validate.artifacts import (
    DataSummary,
    check_export,
    check_hidden_states,
    check_synthesized_data,
    check_training_loss,
)
from eagle3_monitor.validate.benchmark import BenchmarkResults, read_benchmark_results
from eagle3_monitor.validate.model import Check, CheckStatus
from eagle3_monitor.vocabulary import Category, Role

DEFAULT_HIDDEN_STATES_MIN_SHARE = 0.9


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
    hidden_states_min_share: float = DEFAULT_HIDDEN_STATES_MIN_SHARE
    artifacts: ArtifactTemplates = field(default_factory=ArtifactTemplates)


@dataclass(frozen=True)
class ArtifactTask:
    """What validation needs to know of one task. A task that has not run is checked only
    when its artifacts are there already (a re-run that skipped it)."""

    index: int
    role: Role
    directory: Path | None
    ran: bool
    train_losses: tuple[float, ...] = ()


@dataclass(frozen=True)
class ArtifactReport:
    checks: dict[int, tuple[Check, ...]]
    benchmark: BenchmarkResults | None = None  # the benchmark's result files, when it ran


def resolve(template: str, experiment: Path, task_dir: Path | None) -> Path:
    text = template.replace("{experiment}", str(experiment))
    text = text.replace("{task_dir}", str(task_dir or experiment))
    path = Path(text).expanduser()
    if path.is_absolute() or template.startswith(("{experiment}", "{task_dir}")):
        return path
    return experiment / path


FIX_BY_CHECK = {
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
CATEGORY_BY_CHECK = {"training_loss": Category.TRAINING_DIVERGENCE}


def check_artifacts(
    root: Path, tasks: Sequence[ArtifactTask], settings: ValidationSettings
) -> ArtifactReport:
    """Every task's artifact checks by task index (the benchmark's: its result files). A check
    that breaks on a hostile file is a failed check naming the error, never an exception."""
    checker = _Checker(root, settings)
    checks: dict[int, tuple[Check, ...]] = {}
    for task in tasks:
        try:
            found = checker.check(task)
        except Exception as error:
            found = (_broken_check(task, error),)
        if found is not None:
            checks[task.index] = found
    return ArtifactReport(checks, checker.benchmark)


class _Checker:
    """The checks per role, carrying what one role's checks tell the next (task_0's sample
    count for task_1's coverage)."""

    def __init__(self, root: Path, settings: ValidationSettings) -> None:
        self.root, self.settings = root, settings
        self.data_summary: DataSummary | None = None
        self.benchmark: BenchmarkResults | None = None

    def path(self, template: str, task_dir: Path | None = None) -> Path:
        return resolve(template, self.root, task_dir)

    def check(self, task: ArtifactTask) -> tuple[Check, ...] | None:
        templates = self.settings.artifacts
        if task.role is Role.SYNTHESIS:
            data = self.path(templates.data)
            if task.ran or data.exists():
                found, self.data_summary = check_synthesized_data(data)
                return tuple(found)
        elif task.role is Role.DUMP:
            states = self.path(templates.hidden_states)
            if task.ran or states.exists():
                summary = self.data_summary
                conversations = (
                    summary.samples if summary else _count_data(self.root, self.settings)
                )
                share = self.settings.hidden_states_min_share
                return tuple(check_hidden_states(states, conversations, share))
        elif task.role is Role.TRAINING:
            export = self.path(templates.export)
            if task.ran or export.exists():
                output = self.path(templates.training_output)
                losses = list(task.train_losses)
                return (*check_export(export), *check_training_loss(output, losses))
        elif task.role is Role.BENCHMARK:
            directories = [self.path(t, task.directory) for t in templates.benchmark_results]
            results = read_benchmark_results(directories)
            self.benchmark = results if task.ran or results.files else None
        return None


def _broken_check(task: ArtifactTask, error: Exception) -> Check:
    reason = f"{type(error).__name__}: {error!s:.300}"
    return Check(f"{task.role}_artifacts", CheckStatus.FAIL, f"could not be checked: {reason}")


def _count_data(root: Path, settings: ValidationSettings) -> int | None:
    data = resolve(settings.artifacts.data, root, None)
    if not data.is_dir():
        return None
    _, summary = check_synthesized_data(data)
    return summary.samples if summary else None
