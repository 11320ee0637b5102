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
from eagle3_monitor.validate.model import Check
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
    """Every task's artifact checks by task index (the benchmark's: its result files)."""
    templates = settings.artifacts
    checks: dict[int, tuple[Check, ...]] = {}
    data_summary: DataSummary | None = None
    benchmark: BenchmarkResults | None = None
    for task in tasks:
        if task.role is Role.SYNTHESIS:
            data = resolve(templates.data, root, None)
            if task.ran or data.exists():
                found, data_summary = check_synthesized_data(data)
                checks[task.index] = tuple(found)
        elif task.role is Role.DUMP:
            states = resolve(templates.hidden_states, root, None)
            if task.ran or states.exists():
                conversations = (
                    data_summary.samples if data_summary else _count_data(root, settings)
                )
                found = check_hidden_states(states, conversations, settings.hidden_states_min_share)
                checks[task.index] = tuple(found)
        elif task.role is Role.TRAINING:
            export = resolve(templates.export, root, None)
            if task.ran or export.exists():
                output = resolve(templates.training_output, root, None)
                losses = list(task.train_losses)
                checks[task.index] = (*check_export(export), *check_training_loss(output, losses))
        elif task.role is Role.BENCHMARK:
            directories = [resolve(t, root, task.directory) for t in templates.benchmark_results]
            results = read_benchmark_results(directories)
            benchmark = results if task.ran or results.files else None
    return ArtifactReport(checks, benchmark)


def _count_data(root: Path, settings: ValidationSettings) -> int | None:
    data = resolve(settings.artifacts.data, root, None)
    if not data.is_dir():
        return None
    _, summary = check_synthesized_data(data)
    return summary.samples if summary else None
