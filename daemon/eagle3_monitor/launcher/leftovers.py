"""The pipeline a past experiment ran, from what the launcher leaves behind.

The launcher never keeps the `--yaml` file. What an experiment directory (`{job_dir}/cicd/
cicd_<unix time>/`, and NeMo-Run's local copy under `$NEMORUN_HOME/experiments/cicd/…`) does
hold, in the order this module trusts it:

1. `<JobName>_<N>/code/examples/**.yaml`: the launcher packages its `examples/` with each task,
   so a pipeline launched from one of the launcher's own examples is there, comments and all
   (command-line overrides at launch time are not).
2. `<JobName>_<N>_sbatch.sh`: the batch script NeMo-Run submitted: `#SBATCH` limits, `export`
   lines (the task's environment after `<<global_vars>>` substitution) and the `srun` line
   (container, script and arguments).
3. The batch log `sbatch_<job>_<id>.out`, which echoes that script under `set -v`: the same
   environment and `srun` line, without the `#SBATCH` header.

(`_CONFIG`/`_TASKS` hold the same tasks as zlib-compressed Fiddle JSON; the batch script says
it in plain text.) Every file is read with `safe_read`, bounded in size and count."""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.launcher.conventions import LAUNCHER_ENVIRONMENT, round_trip_yaml
from eagle3_monitor.review.layout import parse_log_name
from eagle3_monitor.safe_read import ReadPolicy, read_head, read_small_text

MAX_TASKS = 5
MAX_EXAMPLE_FILES = 2000
TRACE_HEAD_BYTES = 256 << 10
_NEMO_RUN_ENVIRONMENT = ("PYTHONUNBUFFERED", "SLURM_UNBUFFEREDIO", "TORCHX_MAX_RETRIES")
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|_KEY$|^KEY$|CREDENTIAL", re.IGNORECASE)
_SBATCH = {
    "time": "time",
    "nodes": "nodes",
    "ntasks-per-node": "ntasks_per_node",
    "gpus-per-node": "gpus_per_node",
    "account": "account",
    "partition": "partition",
    "qos": "qos",
    "mem": "mem",
}
_INT_FIELDS = ("nodes", "ntasks_per_node", "gpus_per_node")
_GLOBAL_VAR = re.compile(r"<<global_vars\.(\w+)>>")
_EXPORT = re.compile(r"^export\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


@dataclass(frozen=True)
class SubmittedTask:
    """One task as the launcher submitted it."""

    index: int
    script: str | None
    args: list[str]
    environment: dict[str, str]
    slurm: dict[str, Any]
    secrets_left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OriginalPipeline:
    text: str  # the pipeline YAML
    source: str  # where it came from, for the re-run's header
    tasks: dict[int, SubmittedTask] = field(default_factory=dict)  # what each task ran
    missing: list[int] = field(default_factory=list)  # task dirs with nothing to rebuild from


def original_pipeline(
    experiment: Path,
    job_name: str | None,
    yaml_file: Path | None = None,
    policy: ReadPolicy | None = None,
) -> OriginalPipeline:
    """The experiment's pipeline; UnusableInputError (one line) when nothing holds it.
    `policy`: the daemon's for this run (inside the roots, readable by the job's owner); files
    it refuses are not read."""
    job_name = job_name or _job_name_of(experiment)
    submitted = submitted_tasks(experiment, job_name, policy)
    if yaml_file is not None:
        return OriginalPipeline(read_small_text(yaml_file, 1 << 20), f"{yaml_file}", submitted)
    packaged = _packaged_example(experiment, job_name, submitted, policy)
    if packaged is not None:
        path, text = packaged
        return OriginalPipeline(
            text, f"the launcher's example packaged with the run ({path})", submitted
        )
    if not submitted:
        raise UnusableInputError(
            f"{experiment}: no pipeline YAML, batch script or batch log to rebuild the pipeline "
            "from; pass --yaml with the pipeline it was launched with"
        )
    missing = [i for i in _task_indices(experiment, job_name) if i not in submitted]
    return OriginalPipeline(
        rebuilt_yaml(job_name, submitted, missing),
        "rebuilt from the batch scripts",
        submitted,
        missing,
    )


def submitted_tasks(
    experiment: Path, job_name: str | None, policy: ReadPolicy | None = None
) -> dict[int, SubmittedTask]:
    tasks: dict[int, SubmittedTask] = {}
    for index in range(MAX_TASKS):
        if job_name is None:
            break
        task_name = f"{job_name}_{index}"
        script = experiment / f"{task_name}_sbatch.sh"
        text = _optional_text(script, policy)
        if text is None:
            text = _batch_log_head(experiment / task_name, policy)
        if text:
            parsed = parse_batch_script(index, text)
            if parsed.script is not None:
                tasks[index] = parsed
    return tasks


def parse_batch_script(index: int, text: str) -> SubmittedTask:
    """The task in a NeMo-Run batch script, or the `set -v` echo of one in a batch log."""
    slurm: dict[str, Any] = {}
    environment: dict[str, str] = {}
    secrets: list[str] = []
    script: str | None = None
    args: list[str] = []
    container: str | None = None
    for line in text.splitlines():
        if line.startswith("#SBATCH "):
            _sbatch_option(line[len("#SBATCH ") :], slurm)
        elif match := _EXPORT.match(line):
            name, value = match.group("name"), _unquoted(match.group("value"))
            if name in _NEMO_RUN_ENVIRONMENT or name in LAUNCHER_ENVIRONMENT:
                continue
            if _SECRET.search(name):
                secrets.append(name)
                continue
            environment[name] = value
        elif line.startswith("srun ") and script is None and " bash " in f" {line} ":
            script, args, container = _srun_command(line)
    if container:
        slurm["container"] = container
    return SubmittedTask(index, script, args, environment, slurm, secrets)


def _sbatch_option(text: str, slurm: dict[str, Any]) -> None:
    try:
        words = shlex.split(text)
    except ValueError:
        return
    if not words or not words[0].startswith("--"):
        return
    name, _, value = words[0][2:].partition("=")
    key = _SBATCH.get(name)
    if key is None:
        return
    slurm[key] = int(value) if key in _INT_FIELDS and value.isdigit() else value


def _srun_command(line: str) -> tuple[str | None, list[str], str | None]:
    """(script, argument items, container image) from an `srun … bash <script> <args>` line."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    container = None
    for position, word in enumerate(words):
        if word.startswith("--container-image="):
            container = word.split("=", 1)[1]
        elif word == "--container-image" and position + 1 < len(words):
            container = words[position + 1]
    if "bash" not in words:
        return None, [], container
    rest = words[words.index("bash") + 1 :]
    if not rest:
        return None, [], container
    script = re.sub(r"^(?:\./)?(?:/nemo_run/)?code/", "", rest[0])
    return script, group_arguments(rest[1:]), container


def group_arguments(words: list[str]) -> list[str]:
    """Argument words as YAML list items: an option with its value (`--tp 4`), `--` alone,
    an OmegaConf override (`training.output_dir=…`) alone."""
    items: list[str] = []
    for word in words:
        joins_option = (
            items
            and items[-1].startswith("-")
            and items[-1] != "--"
            and " " not in items[-1]
            and "=" not in items[-1]
            and not word.startswith("-")
        )
        if joins_option:
            items[-1] = f"{items[-1]} {word}"
        else:
            items.append(word)
    return items


def rebuilt_yaml(
    job_name: str | None, tasks: dict[int, SubmittedTask], missing: list[int] | None = None
) -> str:
    """A pipeline YAML that runs what the batch scripts ran."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq  # noqa: PLC0415 - see round_trip_yaml
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString  # noqa: PLC0415

    pipeline = CommentedMap({"allow_to_fail": False, "skip": False, "note": None})
    for index, task in sorted(tasks.items()):
        entry = CommentedMap({"script": task.script, "args": CommentedSeq(task.args)})
        if task.environment:
            entry["environment"] = CommentedSeq(
                CommentedMap({name: value}) for name, value in task.environment.items()
            )
        slurm = {key: value for key, value in task.slurm.items() if (key, value) != ("mem", "0")}
        if "time" in slurm:
            slurm["time"] = DoubleQuotedScalarString(slurm["time"])
        entry["slurm_config"] = CommentedMap(
            {"_factory_": DoubleQuotedScalarString("slurm_factory"), **slurm}
        )
        pipeline[f"task_{index}"] = entry
    lines = [
        "# Rebuilt by eagle3-monitor from the experiment's batch scripts: the arguments,",
        "# environment and Slurm settings each task ran with (<<global_vars>> substituted).",
    ]
    lines += [
        f"# task_{index}: left no batch script or log to rebuild it from: add it from the "
        "pipeline YAML (or pass --yaml)."
        for index in missing or []
    ]
    lines += [
        f"# task_{task.index}: {name} left out (a secret); the launcher sets it."
        for task in tasks.values()
        for name in task.secrets_left_out
    ]
    stream = io.StringIO()
    round_trip_yaml().dump(CommentedMap({"job_name": job_name, "pipeline": pipeline}), stream)
    return "\n".join(lines) + "\n" + stream.getvalue()


def _packaged_example(
    experiment: Path,
    job_name: str | None,
    submitted: dict[int, SubmittedTask],
    policy: ReadPolicy | None,
) -> tuple[Path, str] | None:
    """A launcher example packaged with the tasks whose job_name and scripts match the run."""
    if job_name is None:
        return None
    wanted = re.compile(rf"^job_name:\s*['\"]?{re.escape(job_name)}['\"]?\s*$", re.MULTILINE)
    packaged = [d / "code" / "examples" for d in sorted(experiment.glob(f"{job_name}_[0-9]"))]
    examples = next((directory for directory in packaged if directory.is_dir()), None)
    if examples is None:  # every task packages the same copy: the first one is enough
        return None
    for count, path in enumerate(sorted(examples.rglob("*.yaml"))):
        if count >= MAX_EXAMPLE_FILES:
            break
        text = _optional_text(path, policy)
        if text and wanted.search(text) and _runs_the_same_scripts(text, submitted):
            return path, text
    return None


def _runs_the_same_scripts(text: str, submitted: dict[int, SubmittedTask]) -> bool:
    """Whether a YAML's tasks are the ones submitted: same scripts, same argument words (after
    `<<global_vars.X>>` substitution). An example edited on the command line does not match."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    pipeline = data.get("pipeline") if isinstance(data, dict) else None
    if not isinstance(pipeline, dict) or not submitted:
        return False
    raw_variables = pipeline.get("global_vars")
    variables: dict[str, Any] = raw_variables if isinstance(raw_variables, dict) else {}
    for index, task in submitted.items():
        entry = pipeline.get(f"task_{index}")
        if not isinstance(entry, dict) or entry.get("script") != task.script:
            return False
        written = " ".join(_substituted(str(arg), variables) for arg in entry.get("args") or [])
        if written.split() != " ".join(task.args).split():
            return False
    return True


def _substituted(text: str, variables: dict[str, Any]) -> str:
    return _GLOBAL_VAR.sub(lambda m: str(variables.get(m.group(1), m.group(0))), text)


def _batch_log_head(task_dir: Path, policy: ReadPolicy | None) -> str | None:
    """The head of the task's newest batch log (`sbatch_<job>_<id>.out`)."""
    try:
        logs = [p for p in task_dir.iterdir() if p.name.startswith("sbatch_")]
    except OSError:
        return None
    logs.sort(key=lambda path: parse_log_name(path, task_dir.name).job_number, reverse=True)
    for log in logs[:1]:
        try:
            return read_head(log, TRACE_HEAD_BYTES, policy).decode("utf-8", "replace")
        except UnusableInputError:
            return None
    return None


def _optional_text(path: Path, policy: ReadPolicy | None) -> str | None:
    try:
        return read_small_text(path, 1 << 20, policy)
    except UnusableInputError:
        return None


def _unquoted(value: str) -> str:
    try:
        words = shlex.split(value)
    except ValueError:
        return value
    return " ".join(words) if words else ""


def _task_indices(experiment: Path, job_name: str | None) -> list[int]:
    """The task directories' indices (NeMo-Run makes one per task when it submits)."""
    if job_name is None:
        return []
    pattern = re.compile(rf"^{re.escape(job_name)}_(?P<index>[0-9])$")
    try:
        names = [child.name for child in experiment.iterdir() if child.is_dir()]
    except OSError:
        return []
    return sorted(int(m.group("index")) for name in names if (m := pattern.match(name)))


def _job_name_of(experiment: Path) -> str | None:
    for child in sorted(experiment.glob("*_sbatch.sh")):
        return child.name.removesuffix("_sbatch.sh").rsplit("_", 1)[0]
    return None
