"""`eagle3-monitor lint`: load the pipeline, find the model's config, run every check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.launcher.schema import LauncherSchema, bundled_schema
from eagle3_monitor.lint.checks import (
    dependency_findings,
    missing_script_findings,
    model_findings,
    parallelism_findings,
    script_findings,
    structure_findings,
    time_limit_findings,
)
from eagle3_monitor.lint.draft_config import search_roots_for
from eagle3_monitor.lint.findings import LintFinding, Severity
from eagle3_monitor.lint.keys import check_keys
from eagle3_monitor.lint.model_config import ModelFacts, read_model_config
from eagle3_monitor.lint.pipeline import PipelineSpec, load_pipeline, parse_pipeline

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_MODEL_FLAG = re.compile(r"^--model(?:[= ]+)(?P<path>\S+)$")


@dataclass
class LintReport:
    path: Path
    model_config: Path | None
    findings: list[LintFinding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity is Severity.WARNING)


def lint_pipeline(
    path: Path, model_config: Path | None = None, launcher_dir: Path | None = None
) -> LintReport:
    """Raises ConfigError / UnusableInputError for input that cannot be linted at all."""
    if launcher_dir is not None and not launcher_dir.is_dir():
        raise UnusableInputError(f"{launcher_dir}: --launcher-dir is not a directory")
    spec = load_pipeline(path)
    model, note = _model_facts(spec, model_config)
    return lint_spec(
        spec,
        model,
        note,
        launcher_dir=launcher_dir,
        search_roots=search_roots_for(path, launcher_dir),
    )


def lint_text(text: str, source: str, model: ModelFacts | None) -> LintReport:
    """Lint a pipeline held in memory (what `new-model` and `rerun` write) against a model."""
    spec = parse_pipeline(text, source)
    return lint_spec(spec, model, None, launcher_dir=None, search_roots=[])


def lint_spec(
    spec: PipelineSpec,
    model: ModelFacts | None,
    note: LintFinding | None,
    *,
    launcher_dir: Path | None,
    search_roots: list[Path],
    schema: LauncherSchema | None = None,
) -> LintReport:
    schema = schema or bundled_schema()
    keys = check_keys(spec, schema)
    findings = [
        *structure_findings(spec),
        *keys.findings,
        *missing_script_findings(spec, keys.intended),
        *script_findings(spec, schema, launcher_dir),
        *dependency_findings(spec),
        *time_limit_findings(spec, keys.intended),
        *parallelism_findings(spec, model),
        *(model_findings(spec, model, search_roots) if model else []),
    ]
    if note:
        findings.append(note)
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], _line_of(f.location), f.code))
    source = Path(spec.document.source)
    return LintReport(source, model.path if model else None, findings)


def _line_of(location: str) -> int:
    parts = location.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def _model_facts(
    spec: PipelineSpec, given: Path | None
) -> tuple[ModelFacts | None, LintFinding | None]:
    if given is not None:
        return read_model_config(given), None
    model_dir = _model_path(spec)
    if model_dir is None:
        return None, _skipped("no model path in the pipeline (global_vars.hf_model, --model)", spec)
    config = Path(model_dir) / "config.json"
    try:
        return read_model_config(config), None
    except UnusableInputError as error:
        return None, _skipped(f"{error}", spec)


def _model_path(spec: PipelineSpec) -> str | None:
    if spec.global_vars.get("hf_model"):
        return spec.global_vars["hf_model"]
    for task in spec.tasks:
        for arg in task.args:
            if match := _MODEL_FLAG.match(arg.strip()):
                return match.group("path")
        if task.environment.get("HF_MODEL_CKPT"):
            return task.environment["HF_MODEL_CKPT"]
    return None


def _skipped(reason: str, spec: PipelineSpec) -> LintFinding:
    return LintFinding(
        Severity.INFO,
        "model-checks-skipped",
        None,
        f"model checks skipped: {reason}",
        "Pass --model-config path/to/config.json to check the pipeline against the model.",
        spec.where(("pipeline", "global_vars")),
    )
