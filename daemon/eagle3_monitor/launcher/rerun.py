"""A re-run of a failed pipeline as a launcher YAML that works.

Every launch is a new experiment with an empty `/scratchspace`, so skipping the tasks that
passed is not enough: the tasks that run again must read what the skipped ones wrote, from the
previous experiment, which every task container sees at `/<title>/<old id>/…` (the launcher
mounts `{job_dir}/<title>` at `/<title>`). This module edits the original YAML (comments kept):

- tasks before the first one to run get `skip: true`; with `--only`, so do the ones after it;
- an input path under `/scratchspace/` that no re-run task writes points at the old run;
- the failed task's knob changes where the fix is mechanical (`time` after a time limit,
  tensor parallelism after a GPU OOM, trust_remote_code where it was missing), and the fix is
  a comment above the task otherwise.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from eagle3_monitor.errors import ConfigError, UnusableInputError
from eagle3_monitor.launcher.conventions import (
    SEPARATOR,
    ScriptKind,
    has_trust_remote_code,
    round_trip_yaml,
    script_kind,
)
from eagle3_monitor.vocabulary import Category, Role

SCRATCH = "/scratchspace"
DEFAULT_TIME = "04:00:00"  # the launcher's slurm_factory default
OUTPUT_OPTIONS = (
    "--save",
    "--output-dir",
    "--output_dir",
    "training.output_dir",
    "--save_dir",
    "--export_path",
    "--export-dir",
)
_SCRATCH_PATH = re.compile(r"/scratchspace(?:/[^\s'\"]*)?")
_PATH = re.compile(r"/[A-Za-z0-9_.-]+(?:/[^\s'\"]*)?")
_TASK_KEY = re.compile(r"^task_(?P<index>[0-9]+)$")
MECHANICAL = (Category.TIME_LIMIT, Category.GPU_OOM, Category.TRUST_REMOTE_CODE)


@dataclass(frozen=True)
class PreviousRun:
    experiment_id: str  # cicd_1764115200
    exists: Callable[[str], bool] = lambda relative: True  # is <experiment>/<relative> there?

    @property
    def title(self) -> str:
        """The experiment title (`cicd`): NeMo-Run names experiments `<title>_<unix time>`."""
        return self.experiment_id.rpartition("_")[0] or self.experiment_id

    def container_path(self, relative: str) -> str:
        return f"/{self.title}/{self.experiment_id}/{relative}".rstrip("/")


@dataclass(frozen=True)
class Failure:
    """What the review found: the task the fix applies to, its category and fix."""

    task_index: int | None
    category: Category | None = None
    fix: str = ""
    time_limit: str | None = None  # Slurm's limit for the task, when it knows


@dataclass(frozen=True)
class RerunRequest:
    previous: PreviousRun
    failure: Failure
    passed: frozenset[int]  # tasks that passed in the previous run
    start: int  # the first task to run
    only: bool = False  # run the start task alone
    reviewed: frozenset[int] | None = None  # the tasks the review saw (None: all of them)

    def was_reviewed(self, index: int) -> bool:
        return self.reviewed is None or index in self.reviewed


@dataclass(frozen=True)
class Change:
    task: str
    text: str

    def __str__(self) -> str:
        return f"{self.task}: {self.text}"


@dataclass
class RerunResult:
    text: str
    changes: list[Change] = field(default_factory=list)


def start_of(failure: Failure, roles: dict[int, Role | None]) -> int | None:
    """Where a re-run starts by default: the failed task, or the training for a draft whose
    acceptance length was too low (retrain, then benchmark again)."""
    if failure.task_index is None:
        return None
    if failure.category is Category.LOW_ACCEPTANCE:
        training = [index for index, role in roles.items() if role is Role.TRAINING]
        return training[0] if training else failure.task_index
    return failure.task_index


def rerun_yaml(original: str, source: str, request: RerunRequest) -> RerunResult:
    """The re-run pipeline: `original` edited (ConfigError when it is not YAML, and
    UnusableInputError when it is not a pipeline with the start task)."""
    yaml = round_trip_yaml()
    try:
        document = yaml.load(original)
    except (MarkedYAMLError, YAMLError) as error:
        raise ConfigError(f"{source}: invalid YAML: {error}") from None
    tasks = _tasks(document, source)
    if request.start not in tasks:
        raise UnusableInputError(f"{source}: the pipeline has no task_{request.start}")
    editor = _Editor(request)
    running = {i for i in tasks if i == request.start or (i > request.start and not request.only)}
    for index, task in sorted(tasks.items()):
        editor.set_skip(index, task, index not in running)
    produced = {path for i in running for path in _outputs(tasks[i])}
    for index in sorted(running):
        editor.point_inputs_at_previous(index, tasks[index], produced)
    failed = request.failure.task_index
    if failed is not None and failed in running:
        editor.apply_fix(failed, tasks[failed], tasks, running)
    stream = io.StringIO()
    yaml.dump(document, stream)
    body = stream.getvalue().rstrip("\n") + "\n"
    return RerunResult(_header(request, source, editor.changes) + body, editor.changes)


def _tasks(document: Any, source: str) -> dict[int, CommentedMap]:
    pipeline = document.get("pipeline") if isinstance(document, CommentedMap) else None
    if not isinstance(pipeline, CommentedMap):
        raise UnusableInputError(f"{source}: not a launcher pipeline (no `pipeline:` mapping)")
    tasks = {}
    for key, value in pipeline.items():
        match = _TASK_KEY.match(str(key))
        if match and isinstance(value, CommentedMap):
            tasks[int(match.group("index"))] = value
    return tasks


def _args(task: CommentedMap) -> CommentedSeq:
    args = task.get("args")
    if not isinstance(args, CommentedSeq):
        args = CommentedSeq(args or [])
        task["args"] = args
    return args


def _option_name(item: str) -> str:
    first = item.strip().split(" ", 1)[0]
    return first.split("=", 1)[0]


def _outputs(task: CommentedMap) -> set[str]:
    """The /scratchspace directories a task writes (their first path component)."""
    written = set()
    for item in task.get("args") or []:
        if _option_name(str(item)) in OUTPUT_OPTIONS:
            written |= {_top(path) for path in _SCRATCH_PATH.findall(str(item))}
    if script_kind(task.get("script")).role is Role.TRAINING:
        written |= {"eagle3", "export"}  # train_eagle.sh exports to /scratchspace/export
    return written - {""}


def _top(path: str) -> str:
    return path[len(SCRATCH) :].strip("/").split("/", 1)[0]


class _Editor:
    """Edits the tasks in place and keeps the list of what changed."""

    def __init__(self, request: RerunRequest) -> None:
        self.request = request
        self.previous = request.previous
        self.changes: list[Change] = []

    def note(self, index: int, text: str) -> None:
        self.changes.append(Change(f"task_{index}", text))

    def set_skip(self, index: int, task: CommentedMap, skip: bool) -> None:
        if skip:
            why = self._skip_reason(index)
            _set(task, "skip", True, why, first=True)
            self.note(index, f"skip: true ({why})")
        elif task.get("skip") is True:
            _set(task, "skip", False, "runs again", first=True)
            self.note(index, "skip: false (runs again)")

    def _skip_reason(self, index: int) -> str:
        request, experiment = self.request, self.previous.experiment_id
        if index > request.start:
            return f"--only task_{request.start}"
        if index in request.passed:
            return f"passed in {experiment}"
        if request.was_reviewed(index):
            return f"did not pass in {experiment}: its outputs may be missing"
        return f"before task_{request.start}; its outputs are read from {experiment}"

    def point_inputs_at_previous(self, index: int, task: CommentedMap, produced: set[str]) -> None:
        args = _args(task)
        for position, item in enumerate(list(args)):
            text = str(item)
            if _option_name(text) in OUTPUT_OPTIONS:
                continue
            new = _SCRATCH_PATH.sub(lambda m: self._previous_path(m.group(0), produced), text)
            if new != text:
                args[position] = new
                old_paths = ", ".join(_SCRATCH_PATH.findall(text))
                comment = f"was {old_paths}"
                missing = [p for p in _SCRATCH_PATH.findall(text) if not self._exists(p, produced)]
                if missing:
                    comment += f"; CHECK: {missing[0]} is not in {self.previous.experiment_id}"
                args.yaml_add_eol_comment(f"eagle3-monitor: {comment}", position)
                for old_path, new_path in zip(
                    _SCRATCH_PATH.findall(text), _PATH.findall(new), strict=False
                ):
                    if old_path != new_path:
                        self.note(index, f"{_option_name(text)} {old_path} → {new_path}")

    def _previous_path(self, path: str, produced: set[str]) -> str:
        top = _top(path)
        if not top or top in produced:
            return path
        return self.previous.container_path(path[len(SCRATCH) :].strip("/"))

    def _exists(self, path: str, produced: set[str]) -> bool:
        top = _top(path)
        return not top or top in produced or self.previous.exists(path[len(SCRATCH) :].strip("/"))

    def apply_fix(
        self, index: int, task: CommentedMap, tasks: dict[int, CommentedMap], running: set[int]
    ) -> None:
        """The mechanical fix for the failed task's category; a comment when there is none."""
        category = self.request.failure.category
        changed = False
        if category is Category.TIME_LIMIT:
            changed = self._longer_time(index, task)
        elif category is Category.GPU_OOM:
            changed = self._more_tensor_parallelism(index, task)
        elif category is Category.TRUST_REMOTE_CODE:
            changed = any([self._trust_remote_code(i, tasks[i]) for i in sorted(running)])  # noqa: C419 - every task, not up to the first
        if not changed:
            self._comment_fix(index, task)

    def _comment_fix(self, index: int, task: CommentedMap) -> None:
        failure = self.request.failure
        what = failure.category or "failure"
        text = f"eagle3-monitor: {what} in {self.previous.experiment_id}: {failure.fix}".strip()
        first_key = next(iter(task))
        task.yaml_set_comment_before_after_key(first_key, before=text, indent=4)
        self.note(
            index, f"to do by hand: {failure.fix}" if failure.fix else f"{what}: see the review"
        )

    def _longer_time(self, index: int, task: CommentedMap) -> bool:
        slurm = _slurm_config(task)
        current = str(slurm.get("time") or self.request.failure.time_limit or DEFAULT_TIME)
        minutes = slurm_minutes(current)
        if minutes is None:
            return False
        longer = slurm_time(minutes * 2)
        _set(slurm, "time", DoubleQuotedScalarString(longer), f"was {current}: it hit the limit")
        self.note(index, f'slurm_config.time "{current}" → "{longer}" (it hit its time limit)')
        if script_kind(task.get("script")).role is Role.SYNTHESIS:
            task.yaml_set_comment_before_after_key(
                next(iter(task)),
                before="eagle3-monitor: query.py skips the shards already written; to keep them, "
                "point --save (and task_1's --input-data) at the old run's data",
                indent=4,
            )
        return True

    def _more_tensor_parallelism(self, index: int, task: CommentedMap) -> bool:
        """Double the TP, up to the task's GPUs (False: no TP flag, or no GPU left)."""
        kind = script_kind(task.get("script"))
        slurm = _slurm_config(task)
        gpus = _int(slurm.get("gpus_per_node"), 1) * _int(slurm.get("nodes"), 1)
        if not kind.tp_flags:
            return False
        args = _args(task)
        position, tp = _tp_item(args, kind)
        new_tp = min(max(tp, 1) * 2, gpus)
        if new_tp <= tp:
            return False
        flag = kind.tp_flags[0]
        if position is None:
            at = _separator_position(args, kind)
            args.insert(at, f"{flag} {new_tp}")
            args.yaml_add_eol_comment(f"eagle3-monitor: was {tp} (GPU out of memory)", at)
        else:
            args[position] = re.sub(r"[0-9]+$", str(new_tp), str(args[position]).rstrip())
            args.yaml_add_eol_comment(f"eagle3-monitor: was {tp} (GPU out of memory)", position)
        self.note(index, f"{flag} {tp} → {new_tp} (GPU out of memory; {gpus} GPUs)")
        self._scale_expert_parallel(index, args, tp, new_tp)
        return True

    def _scale_expert_parallel(self, index: int, args: CommentedSeq, old: int, new: int) -> None:
        for position, item in enumerate(list(args)):
            text = str(item).strip()
            if _option_name(text) == "--moe-ep" and text.endswith(f" {old}"):
                args[position] = f"--moe-ep {new}"
                self.note(index, f"--moe-ep {old} → {new} (kept equal to --tp)")

    def _trust_remote_code(self, index: int, task: CommentedMap) -> bool:
        """Pass trust_remote_code the way the task's script takes it (False: nothing to add)."""
        kind = script_kind(task.get("script"))
        if kind.role is None or kind.trusts_by_itself:
            return False
        if kind.role is Role.DUMP:
            environment = task.get("environment")
            if not isinstance(environment, CommentedSeq):
                environment = CommentedSeq(environment or [])
                task["environment"] = environment
            if not any(isinstance(e, dict) and "TRUST_REMOTE_CODE" in e for e in environment):
                variable = CommentedMap({"TRUST_REMOTE_CODE": DoubleQuotedScalarString("1")})
                environment.append(variable)
                self.note(index, 'environment TRUST_REMOTE_CODE: "1" (the model ships custom code)')
                return True
            return False
        args = _args(task)
        if kind.trust_flag is None or has_trust_remote_code([str(a) for a in args], kind):
            return False
        at = _separator_position(args, kind)
        args.insert(at, kind.trust_flag)
        args.yaml_add_eol_comment("eagle3-monitor: the model ships custom code", at)
        self.note(index, f"+ {kind.trust_flag} (the model ships custom code)")
        return True


def _header(request: RerunRequest, source: str, changes: list[Change]) -> str:
    what = f"task_{request.start} alone" if request.only else f"from task_{request.start}"
    lines = [
        f"# Re-run of {request.previous.experiment_id} {what}, written by eagle3-monitor rerun.",
        f"# Original: {source}.",
        f"# The tasks that run read the old run's outputs under /{request.previous.title}/"
        f"{request.previous.experiment_id}/.",
        "# Changes:",
        *(f"#   {change}" for change in changes),
        "",
    ]
    return "\n".join(lines) + "\n"


def _set(mapping: CommentedMap, key: str, value: Any, comment: str, first: bool = False) -> None:
    if key in mapping:
        mapping[key] = value
    elif first:
        mapping.insert(0, key, value)
    else:
        mapping[key] = value
    mapping.yaml_add_eol_comment(f"eagle3-monitor: {comment}", key)


def _slurm_config(task: CommentedMap) -> CommentedMap:
    slurm = task.get("slurm_config")
    if not isinstance(slurm, CommentedMap):
        slurm = CommentedMap({"_factory_": DoubleQuotedScalarString("slurm_factory")})
        task["slurm_config"] = slurm
    return slurm


def _tp_item(args: CommentedSeq, kind: ScriptKind) -> tuple[int | None, int]:
    for position, item in enumerate(args):
        words = str(item).replace("=", " ").split()
        if len(words) == 2 and words[0] in kind.tp_flags and words[1].isdigit():
            return position, int(words[1])
    return None, 1


def _separator_position(args: CommentedSeq, kind: ScriptKind) -> int:
    """Where a server option goes: before `--` for query.sh, else at the end."""
    if kind.role is Role.SYNTHESIS:
        for position, item in enumerate(args):
            if str(item).strip() == SEPARATOR:
                return position
    return len(args)


def _int(value: object, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


def slurm_minutes(text: str) -> int | None:
    """Minutes in a Slurm time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS."""
    days, _, clock = text.strip().rpartition("-")
    try:
        parts = [int(part) for part in clock.split(":")]
        day_count = int(days) if days else 0
    except ValueError:
        return None
    if days:
        hours, minutes, seconds = [*parts, 0, 0][:3]
    elif len(parts) == 3:
        hours, minutes, seconds = parts
    else:
        hours, minutes, seconds = 0, parts[0], parts[1] if len(parts) > 1 else 0
    total = day_count * 1440 + hours * 60 + minutes + (1 if seconds else 0)
    return total if total > 0 else None


def slurm_time(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    clock = f"{rest // 60:02d}:{rest % 60:02d}:00"
    return f"{days}-{clock}" if days else clock
