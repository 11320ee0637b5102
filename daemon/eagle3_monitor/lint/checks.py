"""The lint checks: each looks at the pipeline (and the model's facts) and yields findings."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from eagle3_monitor.lint.model_config import ModelFacts
from eagle3_monitor.lint.pipeline import PipelineSpec, TaskSpec
from eagle3_monitor.roles import role_of_script
from eagle3_monitor.vocabulary import Role

TRT_LLM_DUMP = "dump_offline_data.sh"
TRUST_FLAGS = ("--trust-remote-code", "--trust_remote_code")
KNOWN_SCRIPTS = {
    "common/vllm/query.sh",
    "common/tensorrt_llm/query.sh",
    "common/eagle3/dump_offline_data.sh",
    "common/eagle3/dump_offline_data_hf.sh",
    "common/eagle3/dump_offline_data_vllm.sh",
    "common/eagle3/train_eagle.sh",
    "common/eagle3/offline_training.sh",
    "common/specdec_bench/quick_check.sh",
}
_INTERMEDIATE_OVERRIDE = re.compile(r"(?:^|\.)intermediate_size=(?P<value>[0-9]+)$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class LintFinding:
    severity: Severity
    code: str
    task: str | None
    message: str
    fix: str
    location: str


def role_of(task: TaskSpec) -> Role | None:
    return role_of_script(task.script or "")


def structure_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    for path, message in spec.problems:
        task = str(path[1]) if len(path) > 1 else None
        yield LintFinding(
            Severity.ERROR,
            "pipeline-structure",
            task,
            message,
            "Fix the pipeline YAML.",
            spec.where(path),
        )


def dependency_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    if spec.allow_to_fail:
        yield LintFinding(
            Severity.WARNING,
            "allow-to-fail",
            None,
            "allow_to_fail: true chains the tasks with afterany: a failed task does not stop the "
            "next one, which then runs on missing or partial input",
            "Keep it only if partial results are useful (e.g. a task_0 that may time out with "
            "its .done shards kept); the monitor then reports later tasks' missing_input "
            "against the upstream failure.",
            spec.where(("pipeline", "allow_to_fail")),
        )


def time_limit_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if not task.skip and "time" not in task.slurm_config:
            yield LintFinding(
                Severity.WARNING,
                "no-time-limit",
                task.key,
                f"{task.key} sets no slurm_config.time: it gets the default limit (the launcher's "
                "04:00:00, or the partition's)",
                "Set slurm_config.time for long tasks (data synthesis and training often need "
                "more than 4 hours).",
                spec.where((*task.path, "slurm_config")),
            )


def script_findings(spec: PipelineSpec, launcher_dir: Path | None) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if task.script is None:
            continue
        where = spec.where((*task.path, "script"))
        if launcher_dir is not None:
            if not (launcher_dir / task.script).is_file():
                yield LintFinding(
                    Severity.ERROR,
                    "unknown-script",
                    task.key,
                    f"{task.script} does not exist in {launcher_dir}",
                    _did_you_mean(task.script, launcher_dir),
                    where,
                )
        elif task.script not in KNOWN_SCRIPTS and role_of(task) is None:
            yield LintFinding(
                Severity.INFO,
                "unknown-script",
                task.key,
                f"{task.script} is not one of the EAGLE3 launcher scripts",
                "Pass --launcher-dir to check it against a launcher checkout.",
                where,
            )


def _did_you_mean(script: str, launcher_dir: Path) -> str:
    candidates = [str(p.relative_to(launcher_dir)) for p in launcher_dir.glob("common/**/*.sh")]
    close = difflib.get_close_matches(script, candidates, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"Fix the task's `script` ({hint}scripts live under common/ in the launcher)."


def model_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    yield from _backend_findings(spec, model)
    if model.custom_code:
        yield from _trust_remote_code_findings(spec, model)
    if model.is_moe:
        yield from _moe_findings(spec, model)


def _backend_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    reasons = []
    if model.is_vlm:
        reasons.append("a VLM")
    if model.sliding_window:
        reasons.append("uses sliding-window attention")
    if not reasons:
        return
    fix = (
        "Use common/eagle3/dump_offline_data_hf.sh (HF, device_map=auto; "
        "the text-only path for VLMs)"
    )
    if model.sliding_window and not model.is_vlm:
        fix += " or common/eagle3/dump_offline_data_vllm.sh"
    for task in spec.tasks:
        if task.script and task.script.endswith(TRT_LLM_DUMP):
            yield LintFinding(
                Severity.ERROR,
                "trtllm-dump-unsupported",
                task.key,
                "the TRT-LLM hidden-state dump cannot handle this model: it is "
                + " and ".join(reasons),
                fix + ".",
                spec.where((*task.path, "script")),
            )


def _trust_remote_code_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    for task in spec.tasks:
        role = role_of(task)
        if role in (Role.SYNTHESIS, Role.BENCHMARK):
            found, separator = task.arg_position(TRUST_FLAGS)
            where = spec.where((*task.path, "args"))
            if found is None:
                message = (
                    f"the model ships custom code (auto_map) but {task.key} does not pass "
                    "--trust-remote-code"
                )
            elif role is Role.SYNTHESIS and separator is not None and found > separator:
                message = (
                    f"{task.key} passes --trust-remote-code after the `--` separator: it goes "
                    "to query.py, not to the server"
                )
                where = spec.where((*task.path, "args", found))
            else:
                continue
            yield LintFinding(
                Severity.ERROR,
                "trust-remote-code",
                task.key,
                message,
                "Add `--trust-remote-code` to the task's args"
                + (" before the `--` separator." if role is Role.SYNTHESIS else "."),
                where,
            )
        elif role is Role.TRAINING and not any(
            "trust_remote_code=true" in arg.lower() for arg in task.args
        ):
            yield LintFinding(
                Severity.WARNING,
                "trust-remote-code",
                task.key,
                f"the model ships custom code but {task.key} does not set "
                "model.trust_remote_code=true",
                "Add `model.trust_remote_code=true` to the training args.",
                spec.where((*task.path, "args")),
            )


def _moe_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    expected = model.moe_intermediate_size
    if expected is None:
        return
    for task in spec.tasks:
        if role_of(task) is not Role.TRAINING:
            continue
        overrides = [m for arg in task.args if (m := _INTERMEDIATE_OVERRIDE.search(arg.strip()))]
        configured = int(overrides[-1].group("value")) if overrides else None
        if configured == expected:
            continue
        current = (
            f"is {configured}"
            if configured
            else f"defaults to the dense size ({model.intermediate_size})"
        )
        yield LintFinding(
            Severity.WARNING,
            "moe-draft-intermediate-size",
            task.key,
            f"MoE model ({model.experts} experts, moe_intermediate_size {expected}): the draft's "
            f"intermediate_size {current}",
            f"Set the draft's intermediate_size to {expected} (e.g. "
            f"`eagle.eagle_architecture_config.intermediate_size={expected}` "
            "or in eagle_config.json).",
            spec.where((*task.path, "args")),
        )
