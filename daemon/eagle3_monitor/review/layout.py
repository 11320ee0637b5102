"""Find the logs of an EAGLE3 experiment in the launcher's (NeMo-Run's) on-disk layout.

cicd_<epoch>/                                  experiment dir
    <JobName>_<N>/                             one dir per task, N = task index
        sbatch_<slurm job name>_<jobid>.out    batch step: trace, srun errors, exit trailer
        log-<slurm job name>_<jobid>_<restart>.out   the task's own output, per (re)start
    log_<task>.out                             local (Docker) runs
    data/ offline_hidden_states/ eagle3/ export/   shared scratch
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import read_small_text

LOG_SUFFIXES = (".out", ".log", ".err")
MAX_LOGS_PER_DIRECTORY = 256
MAX_ENTRIES_LISTED = 100_000
METADATA_BYTES = 64 << 10
_TASK_DIR = re.compile(r"^(?P<base>.+)_(?P<index>[0-9]{1,2})$")  # the launcher has 5 slots
# NeMo-Run names an experiment `<title>_<unix time>`; the launcher's title is `cicd`.
_EXPERIMENT_DIR = re.compile(r"^(?:cicd_[0-9]+|[A-Za-z][A-Za-z0-9-]*_[0-9]{9,})$")
_JOB_ID = r"(?P<job_id>[0-9]+(?:_[0-9]+)?)"
_SUFFIX = r"\.(?:out|err|log)$"


class LogKind(StrEnum):
    SBATCH = "sbatch"  # the batch step's output
    TASK = "task"  # log-<name>_<jobid>_<restart>.out
    LOCAL = "local"  # log_<task>.out from a local run
    OTHER = "other"  # any other *.out / *.log in a task dir


@dataclass(frozen=True)
class LogFile:
    path: Path
    kind: LogKind
    slurm_job_name: str | None = None
    job_id: str | None = None
    restart: int = 0

    @property
    def job_number(self) -> int:
        """The job id as a number for ordering (array jobs: the array id)."""
        return int(self.job_id.split("_")[0]) if self.job_id else -1


@dataclass
class TaskLogs:
    """One pipeline task and its log files."""

    name: str
    index: int | None
    directory: Path | None
    logs: list[LogFile] = field(default_factory=list)

    @property
    def task_label(self) -> str | None:
        return f"task_{self.index}" if self.index is not None else None

    @property
    def latest_job_id(self) -> str | None:
        with_ids = [log for log in self.logs if log.job_id]
        return max(with_ids, key=lambda log: log.job_number).job_id if with_ids else None

    @property
    def slurm_job_name(self) -> str | None:
        named = [log.slurm_job_name for log in self.logs if log.slurm_job_name]
        return named[0] if named else None

    def current_logs(self) -> list[LogFile]:
        """The files of the latest attempt: the newest job id, and its newest restart."""
        job_id = self.latest_job_id
        current = [log for log in self.logs if log.job_id in (None, job_id)]
        restarts = [log.restart for log in current if log.kind is LogKind.TASK]
        newest = max(restarts, default=0)
        return [log for log in current if log.kind is not LogKind.TASK or log.restart == newest]


@dataclass
class Experiment:
    path: Path
    experiment_id: str | None
    tasks: list[TaskLogs]
    metadata: dict[str, Any] = field(default_factory=dict)
    single_file: bool = False

    @property
    def is_experiment_dir(self) -> bool:
        """A whole experiment (not one task dir or one file): its artifacts can be validated."""
        return not self.single_file and all(task.directory != self.path for task in self.tasks)


def discover(path: Path) -> Experiment:
    """The experiment (or single task, or single log file) at `path`.

    Raises UnusableInputError for a missing path, a directory of experiments, or no logs at all."""
    if not path.exists():
        raise UnusableInputError(f"{path}: no such file or directory")
    if path.is_file():
        return _single_file(path)
    if not path.is_dir():
        raise UnusableInputError(f"{path}: not a regular file or directory")
    tasks = _tasks_in(path)
    if not any(task.logs for task in tasks):
        raise UnusableInputError(_no_logs_message(path))
    return Experiment(path, experiment_id_of(path), tasks, read_metadata(path))


def experiment_id_of(path: Path) -> str | None:
    for part in (path.resolve(), *path.resolve().parents):
        if _EXPERIMENT_DIR.match(part.name):
            return part.name
    return None


def read_metadata(experiment_dir: Path) -> dict[str, Any]:
    """The launcher's metadata.json when present and readable; {} otherwise."""
    try:
        data = json.loads(read_small_text(experiment_dir / "metadata.json", METADATA_BYTES))
    except (UnusableInputError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _single_file(path: Path) -> Experiment:
    parent_match = _TASK_DIR.match(path.parent.name)
    log = parse_log_name(path, path.parent.name if parent_match else None)
    index = _index_from_names(path.parent.name if parent_match else None, log)
    name = path.parent.name if parent_match else (log.slurm_job_name or path.stem)
    task = TaskLogs(name=name, index=index, directory=None, logs=[log])
    return Experiment(path, experiment_id_of(path), [task], single_file=True)


def _tasks_in(directory: Path) -> list[TaskLogs]:
    children = _list_dir(directory)
    task_dirs = [
        child
        for child in children
        if child.is_dir() and _TASK_DIR.match(child.name) and not _EXPERIMENT_DIR.match(child.name)
    ]
    tasks: dict[str, TaskLogs] = {}
    for task_dir in task_dirs:
        match = _TASK_DIR.match(task_dir.name)
        assert match is not None
        task = TaskLogs(task_dir.name, int(match.group("index")), task_dir)
        task.logs = [parse_log_name(file, task_dir.name) for file in _log_files(task_dir)]
        tasks[task_dir.name] = task
    loose = _log_files(directory)
    if loose and not task_dirs and _TASK_DIR.match(directory.name):
        match = _TASK_DIR.match(directory.name)
        assert match is not None
        only = TaskLogs(directory.name, int(match.group("index")), directory)
        only.logs = [parse_log_name(file, directory.name) for file in loose]
        return [only]
    for file in loose:
        log = parse_log_name(file, None)
        name = _task_name_of_loose_log(log, file)
        index = _index_from_names(name, log)
        if task_dirs and log.kind is LogKind.OTHER and index is None:
            continue  # a stray log beside the task directories (notes, nohup.out): no task
        task = tasks.setdefault(name, TaskLogs(name, index, None))
        task.logs.append(log)
    if not tasks and _looks_like_experiment_root(children):
        raise UnusableInputError(_experiments_message(directory, children))
    return _fill_index_gaps(sorted(tasks.values(), key=_task_order))


def _task_name_of_loose_log(log: LogFile, file: Path) -> str:
    if log.kind is LogKind.LOCAL:
        return file.name[len("log_") :].rsplit(".", 1)[0]
    if log.slurm_job_name:
        return log.slurm_job_name.rsplit(".", 1)[-1]
    return file.stem


def _fill_index_gaps(tasks: list[TaskLogs]) -> list[TaskLogs]:
    """A skipped task keeps its index: show missing indices between known ones as not run."""
    indices = {task.index for task in tasks if task.index is not None}
    if not indices:
        return tasks
    base = next((t.name.rsplit("_", 1)[0] for t in tasks if t.directory is not None), "task")
    for missing in sorted(set(range(max(indices) + 1)) - indices):
        tasks.append(TaskLogs(f"{base}_{missing}", missing, None))
    return sorted(tasks, key=_task_order)


def _task_order(task: TaskLogs) -> tuple[int, str]:
    return (task.index if task.index is not None else 1 << 30, task.name)


def _index_from_names(task_dir_name: str | None, log: LogFile) -> int | None:
    for name in (task_dir_name, log.slurm_job_name, _local_task_name(log)):
        if name and (match := _TASK_DIR.match(name)):
            return int(match.group("index"))
    return None


def _local_task_name(log: LogFile) -> str | None:
    if log.kind is LogKind.LOCAL:
        return log.path.name[len("log_") :].rsplit(".", 1)[0]
    return None


def parse_log_name(path: Path, task_dir_name: str | None) -> LogFile:
    """Kind, Slurm job name, job id and restart count from a log file's name.

    With the task dir's name known, the job name must end with it, which settles array ids
    (`sbatch_<name>_<jobid>_<arrayindex>.out`) and names that end in `_<digits>`."""
    name = path.name
    anchored = re.escape(task_dir_name) if task_dir_name else None
    # Without the task dir, the launcher's job name (`<account>.<JobName>_<task index>`) comes
    # first, so `sbatch_acct.Job_2_9176089.out` is task 2's job 9176089, not array job 2_9176089.
    name_patterns = [f".*{anchored}"] if anchored else [r"[^.]+\..+?_[0-9]+"]
    for kind, template in (
        (LogKind.TASK, r"^log-(?P<name>{name})_" + _JOB_ID + r"_(?P<restart>[0-9]+)" + _SUFFIX),
        (LogKind.SBATCH, r"^sbatch_(?P<name>{name})_" + _JOB_ID + _SUFFIX),
    ):
        for name_pattern in [*name_patterns, r".+?"]:
            match = re.match(template.replace("{name}", name_pattern), name)
            if match:
                restart = int(match.group("restart")) if kind is LogKind.TASK else 0
                return LogFile(path, kind, match.group("name"), match.group("job_id"), restart)
    if name.startswith("log_"):
        return LogFile(path, LogKind.LOCAL)
    return LogFile(path, LogKind.OTHER)


def _log_files(directory: Path) -> list[Path]:
    """The directory's log files: at most MAX_LOGS_PER_DIRECTORY, the newest names last (a
    task with 100,000 log files is reviewed by its last ones, not all of them)."""
    logs = sorted(
        child
        for child in _list_dir(directory)
        if child.suffix in LOG_SUFFIXES and not child.is_dir()
    )
    return logs[-MAX_LOGS_PER_DIRECTORY:]


def _list_dir(directory: Path) -> list[Path]:
    """The directory's entries (at most MAX_ENTRIES_LISTED), sorted."""
    try:
        with os.scandir(directory) as listing:
            names = [entry.name for entry in itertools.islice(listing, MAX_ENTRIES_LISTED)]
    except OSError as error:
        raise UnusableInputError(f"{directory}: cannot list: {error.strerror or error}") from None
    return [directory / name for name in sorted(names)]


def _looks_like_experiment_root(children: list[Path]) -> bool:
    return any(_EXPERIMENT_DIR.match(child.name) and child.is_dir() for child in children)


def _experiments_message(directory: Path, children: list[Path]) -> str:
    experiments = sorted(c.name for c in children if _EXPERIMENT_DIR.match(c.name))
    return (
        f"{directory}: holds {len(experiments)} experiments, not one; "
        f"pass one of them, e.g. {directory / experiments[-1]}"
    )


def _no_logs_message(path: Path) -> str:
    return f"{path}: no log files (*.out, *.log) found; is this an experiment directory?"
