"""The pipeline's keys and value types against the launcher's own dataclasses: an unknown key
fails at launch (`No parameter named 'sript' exists`), so each gets a did-you-mean; a value of
the wrong type or format (`time: 4h`) is caught before a job waits in the queue for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eagle3_monitor.launcher.conventions import LAUNCHER_ENVIRONMENT
from eagle3_monitor.launcher.schema import LauncherSchema, closest
from eagle3_monitor.lint.findings import LintFinding, Severity
from eagle3_monitor.lint.pipeline import PipelineSpec
from eagle3_monitor.yamlpos import KeyPath

# Slurm's --time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (and UNLIMITED).
SLURM_TIME = re.compile(
    r"^(?:[0-9]+(?::[0-9]{1,2}){0,2}|[0-9]+-[0-9]{1,2}(?::[0-9]{1,2}){0,2}|UNLIMITED|INFINITE)$"
)
_MEMORY = re.compile(r"^[0-9]+(?:[KMGT]B?)?$", re.IGNORECASE)
_GLOBAL_VAR = re.compile(r"<<\s*global_vars\.[A-Za-z0-9_]*\s*>>")
_SHELL_SPECIAL = re.compile(r"[\s;&|<>`$()\"'\\*?]")
_LEVEL_OF_TYPE = {
    "SandboxPipeline": "pipeline",
    "SandboxTask": "task",
    "GlobalVariables": "global_vars",
    "SlurmConfig": "slurm_config",
}
_LEVEL_NAMES = {
    "launch": "a top-level key of the launcher's YAML",
    "pipeline": "a `pipeline` key",
    "task": "a task key",
    "global_vars": "a GlobalVariables field",
    "slurm_config": "a slurm_config field",
}


@dataclass
class KeyCheck:
    """The findings, and the keys a misspelt key stands for (`sript` → (…, 'script')), so
    other checks do not also report the intended key as missing."""

    findings: list[LintFinding] = field(default_factory=list)
    intended: set[KeyPath] = field(default_factory=set)


def check_keys(spec: PipelineSpec, schema: LauncherSchema) -> KeyCheck:
    check = KeyCheck()
    data = spec.document.data
    if isinstance(data, dict):
        _walk(spec, schema, check, data, (), "launch")
    return check


def _walk(  # noqa: PLR0917 - the walk's state, passed down each level
    spec: PipelineSpec,
    schema: LauncherSchema,
    check: KeyCheck,
    mapping: dict[str, Any],
    path: KeyPath,
    level: str,
) -> None:
    fields = schema.keys(level)
    for key, value in mapping.items():
        where = (*path, key)
        kind = fields.get(key)
        if kind is None:
            check.findings.append(_unknown_key(spec, key, where, level, fields, mapping))
            suggestion = closest(key, set(fields) - set(mapping))
            if suggestion:
                check.intended.add((*path, suggestion))
            continue
        check.findings.extend(_type_findings(spec, key, value, where, kind))
        nested = _LEVEL_OF_TYPE.get(kind)
        if nested and isinstance(value, dict):
            _walk(spec, schema, check, value, where, nested)
        if level == "task" and key == "environment":
            check.findings.extend(_environment_findings(spec, value, where))
        if level in ("task", "slurm_config") and key != "args":
            check.findings.extend(_misplaced_global_vars(spec, value, where, key))


def _unknown_key(  # noqa: PLR0917 - where the key is and what was expected there
    spec: PipelineSpec,
    key: str,
    where: KeyPath,
    level: str,
    fields: dict[str, str],
    mapping: dict[str, Any],
) -> LintFinding:
    task = _task_of(where)
    if level == "pipeline" and re.fullmatch(r"task_[0-9]+", key):
        message = f"`{key}`: the launcher has five task slots, task_0 … task_4"
        fix = "Renumber the tasks into task_0 … task_4."
    else:
        suggestion = closest(key, set(fields) - set(mapping)) or closest(key, set(fields))
        hint = f"did you mean `{suggestion}`? " if suggestion else ""
        message = f"`{key}` is not {_LEVEL_NAMES[level]}: the launcher stops with " + (
            f"\"No parameter named '{key}' exists\""
        )
        known = ", ".join(sorted(name for name in fields if not name.startswith("_")))
        fix = f"{hint}Known here: {known}."
    return LintFinding(
        Severity.ERROR, "unknown-key", task, message, fix, spec.document.where_key(where)
    )


def _type_findings(
    spec: PipelineSpec, key: str, value: Any, where: KeyPath, kind: str
) -> Iterator[LintFinding]:
    task = _task_of(where)
    problem = _type_problem(spec, key, value, where, kind)
    if problem is not None:
        message, fix = problem
        yield LintFinding(Severity.ERROR, "wrong-type", task, message, fix, spec.where(where))


def _type_problem(
    spec: PipelineSpec, key: str, value: Any, where: KeyPath, kind: str
) -> tuple[str, str] | None:
    if value is None:
        return None
    if key == "time":
        return _time_problem(spec, value, where)
    if key == "mem" and not (isinstance(value, str | int) and _MEMORY.match(str(value))):
        return f"mem: {value!r} is not a Slurm memory size", "Write it like `128G` (or 0: all)."
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"{key}: {value!r} is not a whole number", f"Write {key} as a number, e.g. `1`."
    if kind == "int" and key in ("nodes", "gpus_per_node", "ntasks_per_node") and value < 1:
        return f"{key}: {value} — it must be at least 1", f"Set {key} to 1 or more."
    if kind == "bool" and not isinstance(value, bool):
        return f"{key}: {value!r} is not true or false", f"Write `{key}: true` or `{key}: false`."
    if kind.startswith("list") and not isinstance(value, list):
        return f"{key} must be a list", f"Write {key} as a YAML list (`- item` per line)."
    if kind in ("str",) and not isinstance(value, str | int | float):
        return f"{key} must be a single value, not a {type(value).__name__}", "Write one value."
    if kind in _LEVEL_OF_TYPE and not isinstance(value, dict):
        return f"{key} must be a mapping of keys", f"Indent {key}'s keys under it."
    return None


def _time_problem(spec: PipelineSpec, value: Any, where: KeyPath) -> tuple[str, str] | None:
    written = spec.document.scalars.get(where, str(value))
    fix = 'Write a Slurm time in quotes, e.g. `time: "08:00:00"` (or "1-00:00:00" for a day).'
    if isinstance(value, int) and not isinstance(value, bool) and ":" in written:
        return (
            f"time: {written} unquoted is the number {value} to YAML (base 60), which "
            f"Slurm reads as {value} minutes",
            fix,
        )
    if not isinstance(value, str | int) or isinstance(value, bool):
        return f"time: {written!r} is not a Slurm time limit", fix
    if not SLURM_TIME.match(str(value)):
        return f"time: {written!r} is not a Slurm time limit", fix
    return None


def _environment_findings(spec: PipelineSpec, raw: Any, where: KeyPath) -> Iterator[LintFinding]:
    task = _task_of(where)
    entries: list[tuple[KeyPath, Any]] = []
    if isinstance(raw, dict):
        entries = [((*where,), raw)]
    elif isinstance(raw, list):
        entries = [((*where, index), item) for index, item in enumerate(raw)]
    for entry_path, entry in entries:
        if not isinstance(entry, dict):
            yield LintFinding(
                Severity.ERROR,
                "wrong-type",
                task,
                f"environment entry {entry!r} is not `NAME: value`",
                "Write each variable as `- NAME: value`.",
                spec.where(entry_path),
            )
            continue
        for name, value in entry.items():
            yield from _variable_findings(spec, task, str(name), value, (*entry_path, name))


def _variable_findings(
    spec: PipelineSpec, task: str | None, name: str, value: Any, where: KeyPath
) -> Iterator[LintFinding]:
    text = "" if value is None else str(value)
    if name.upper() in LAUNCHER_ENVIRONMENT:
        yield LintFinding(
            Severity.WARNING,
            "environment-overridden",
            task,
            f"{name} is set by the launcher after the task's environment: this value is lost",
            f"Drop {name} here (the launcher sets it for every task).",
            spec.where(where),
        )
    if "${" in text:
        yield LintFinding(
            Severity.ERROR,
            "environment-interpolation",
            task,
            f"{name}: `${{…}}` is an OmegaConf interpolation when the launcher reads the YAML",
            "Write the value out, or escape it as `\\${…}`.",
            spec.where(where),
        )
    elif _SHELL_SPECIAL.search(_GLOBAL_VAR.sub("", text)):
        yield LintFinding(
            Severity.WARNING,
            "environment-unquoted",
            task,
            f"{name}={text!r}: the launcher exports it unquoted (`export {name}={text}`), so "
            "spaces and shell characters break it",
            "Use a value without spaces or shell characters (or a file that holds it).",
            spec.where(where),
        )


def _misplaced_global_vars(
    spec: PipelineSpec, value: Any, where: KeyPath, key: str
) -> Iterator[LintFinding]:
    if key == "environment" or not isinstance(value, str) or not _GLOBAL_VAR.search(value):
        return
    yield LintFinding(
        Severity.ERROR,
        "global-var-not-substituted",
        _task_of(where),
        f"{key}: the launcher substitutes <<global_vars.…>> only in args and environment, so "
        "this stays literal",
        f"Write the value of {key} out.",
        spec.where(where),
    )


def _task_of(path: KeyPath) -> str | None:
    return (
        str(path[1])
        if len(path) > 1 and path[0] == "pipeline" and str(path[1]).startswith("task_")
        else None
    )
