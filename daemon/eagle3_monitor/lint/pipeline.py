"""Read a launcher pipeline YAML (job_name, pipeline.global_vars, task_N) with the position of
every value, substituting `<<global_vars.X>>` the way the launcher does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.yamlpos import KeyPath, LocatedDocument, load_located, parse_located

_TASK_KEY = re.compile(r"^task_(?P<index>[0-9]+)$")
_GLOBAL_VAR = re.compile(r"<<\s*global_vars\.(?P<name>[A-Za-z0-9_]+)\s*>>")


@dataclass
class TaskSpec:
    key: str
    index: int
    script: str | None
    args: list[str]
    environment: dict[str, str]
    slurm_config: dict[str, Any]
    skip: bool
    path: KeyPath
    raw: dict[str, Any] = field(default_factory=dict)  # the task's mapping as written

    @property
    def nodes(self) -> int:
        return _positive(self.slurm_config.get("nodes"), 1)

    @property
    def gpus_per_node(self) -> int:
        return _positive(self.slurm_config.get("gpus_per_node"), 1)

    def option(self, names: tuple[str, ...]) -> str | None:
        """The value of the last `--name value` / `--name=value` / `name=value` among the
        args (`names` as written, e.g. ("--tp", "--tensor-parallel-size"))."""
        words = " ".join(self.args).split()
        found = None
        for position, word in enumerate(words):
            name, equals, value = word.partition("=")
            if name in names:
                if equals:
                    found = value
                elif position + 1 < len(words) and not words[position + 1].startswith("--"):
                    found = words[position + 1]
        return found

    def int_option(self, names: tuple[str, ...]) -> int | None:
        value = self.option(names)
        return int(value) if value is not None and value.isdigit() else None

    def arg_position(self, flag_prefixes: tuple[str, ...]) -> tuple[int | None, int | None]:
        """(index of the first arg starting with one of the prefixes, index of `--`)."""
        found = next(
            (i for i, arg in enumerate(self.args) if arg.strip().startswith(flag_prefixes)), None
        )
        separator = next((i for i, arg in enumerate(self.args) if arg.strip() == "--"), None)
        return found, separator


@dataclass
class PipelineSpec:
    document: LocatedDocument
    job_name: str | None
    allow_to_fail: bool
    global_vars: dict[str, str]
    tasks: list[TaskSpec] = field(default_factory=list)
    problems: list[tuple[KeyPath, str]] = field(default_factory=list)

    def where(self, path: KeyPath) -> str:
        return self.document.where(path)


def load_pipeline(path: Path) -> PipelineSpec:
    """Raises ConfigError (bad YAML, with file:line:column) or UnusableInputError (not a
    pipeline at all); structural problems inside a pipeline are returned as `problems`."""
    return pipeline_of(load_located(path))


def parse_pipeline(text: str, source: str) -> PipelineSpec:
    return pipeline_of(parse_located(text, source))


def pipeline_of(document: LocatedDocument) -> PipelineSpec:
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), dict):
        where = document.where(())
        raise UnusableInputError(f"{where}: not a launcher pipeline (no `pipeline:` mapping)")
    pipeline: dict[str, Any] = data["pipeline"]
    raw_vars = pipeline.get("global_vars") or {}
    global_vars = (
        {str(k): str(v) for k, v in raw_vars.items()} if isinstance(raw_vars, dict) else {}
    )
    spec = PipelineSpec(
        document,
        data.get("job_name") if isinstance(data.get("job_name"), str) else None,
        pipeline.get("allow_to_fail") is True,
        global_vars,
    )
    if spec.job_name is None:
        spec.problems.append(((), "the pipeline has no `job_name`"))
    for key, value in pipeline.items():
        match = _TASK_KEY.match(str(key))
        if match:
            spec.tasks.append(_task(spec, str(key), int(match.group("index")), value))
    if not spec.tasks:
        spec.problems.append((("pipeline",), "the pipeline has no task_N entries"))
    spec.tasks.sort(key=lambda task: task.index)
    return spec


def _task(spec: PipelineSpec, key: str, index: int, raw: Any) -> TaskSpec:
    path: KeyPath = ("pipeline", key)
    if not isinstance(raw, dict):
        spec.problems.append((path, f"{key} is not a mapping"))
        raw = {}
    script = raw.get("script")
    if not isinstance(script, str) or not script:
        script = None  # the checks say so, unless a misspelt key stands for it
    args = raw.get("args") or []
    if not isinstance(args, list):
        spec.problems.append(((*path, "args"), f"{key}.args is not a list"))
        args = []
    return TaskSpec(
        key=key,
        index=index,
        script=_substitute(spec, script, (*path, "script")) if script else None,
        args=[_substitute(spec, str(arg), (*path, "args", i)) for i, arg in enumerate(args)],
        environment=_environment(spec, raw.get("environment"), (*path, "environment")),
        slurm_config=raw.get("slurm_config") if isinstance(raw.get("slurm_config"), dict) else {},
        skip=raw.get("skip") is True,
        path=path,
        raw=raw,
    )


def _environment(spec: PipelineSpec, raw: Any, path: KeyPath) -> dict[str, str]:
    """`environment:` as a list of one-key mappings (the launcher's form) or one mapping."""
    items: list[tuple[str, Any, KeyPath]] = []
    if isinstance(raw, dict):
        items = [(str(k), v, (*path, str(k))) for k, v in raw.items()]
    elif isinstance(raw, list):
        for i, entry in enumerate(raw):
            if isinstance(entry, dict):
                items += [(str(k), v, (*path, i, str(k))) for k, v in entry.items()]
    return {name: _substitute(spec, str(value), where) for name, value, where in items}


def _substitute(spec: PipelineSpec, text: str, path: KeyPath) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in spec.global_vars:
            problem = f"<<global_vars.{name}>> is not defined in pipeline.global_vars"
            spec.problems.append((path, problem))
            return match.group(0)
        return spec.global_vars[name]

    return _GLOBAL_VAR.sub(value, text)


def _positive(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default
