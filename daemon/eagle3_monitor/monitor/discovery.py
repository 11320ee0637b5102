"""Which jobs belong to EAGLE3 pipelines, which run each belongs to, and where its logs are.
Pure functions over names and paths (the directory listings and stats of `locate_logs` aside)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from eagle3_monitor.review.layout import LOG_SUFFIXES

DEFAULT_JOB_NAME_PATTERN = r"^(?:[^.]+\.)?(?P<base>.+)_(?P<index>[0-9]+)$"
_EXPERIMENT_DIR = re.compile(r"^cicd_[0-9]+$")


@dataclass(frozen=True)
class PipelineTaskName:
    base: str  # the launcher's JobName without the task index, e.g. Qwen3-8B_EAGLE3_offline
    index: int

    @property
    def task_dir(self) -> str:
        return f"{self.base}_{self.index}"


def match_job_name(name: str, pattern: re.Pattern[str]) -> PipelineTaskName | None:
    """`acct-modelopt.Qwen3-8B_EAGLE3_offline_2` → (Qwen3-8B_EAGLE3_offline, 2)."""
    match = pattern.match(name)
    if match is None:
        return None
    groups = match.groupdict()
    base = groups.get("base") or name
    index = groups.get("index")
    return PipelineTaskName(base, int(index) if index and index.isdigit() else 0)


def experiment_dir_of(*paths: str | None) -> Path | None:
    """The `cicd_<epoch>` directory a work dir or log path lies in (the deepest one)."""
    text = experiment_dir_text(*paths)
    return Path(text) if text is not None else None


def experiment_dir_text(*paths: str | None) -> str | None:
    """`experiment_dir_of` as the text `str(Path)` would give, without building paths."""
    for text in paths:
        if not text or "cicd_" not in text:
            continue
        parts = text.split("/")
        for end in range(len(parts), 0, -1):
            if _EXPERIMENT_DIR.match(parts[end - 1]):
                found = "/".join(parts[:end]) or "/"
                return found if _normal(found) else str(Path(found))
    return None


def _normal(text: str) -> bool:
    """Already as pathlib would spell it (no empty or `.` parts)."""
    return "//" not in text and "/./" not in text and not text.startswith("./")


@dataclass(slots=True)
class FoundLogs:
    """A job's logs and where they were looked for: a log that appears later changes one of
    `places` (a directory listed, or the one a reported path lies in), so comparing their
    `stamp` tells cheaply whether looking again can find more."""

    paths: list[str]
    places: tuple[str, ...]
    stamp: tuple[int, ...]


def find_logs(
    job_id: str,
    task: PipelineTaskName,
    experiment_dir: Path | None,
    known: list[str],
    roots: tuple[Path, ...] = (),
) -> list[str]:
    """A job's log files: paths Slurm reported, and files named after the job id in its task
    directory (under the experiment dir, else under the configured experiment roots)."""
    return locate_logs(job_id, task, experiment_dir, known, roots).paths


def locate_logs(
    job_id: str,
    task: PipelineTaskName,
    experiment_dir: Path | str | None,
    known: list[str],
    roots: tuple[Path, ...] = (),
) -> FoundLogs:
    """`find_logs`, with the places it looked in and their stamp taken before looking (a file
    made while looking changes the stamp again)."""
    task_dirs = _task_dirs(task, experiment_dir, roots)
    listed = task_dirs or [str(root) for root in roots]
    # os.path, not pathlib, here: this runs for every new or changed job of a poll
    parents = [os.path.dirname(path) for path in known if path]  # noqa: PTH120
    places = tuple(dict.fromkeys([*listed, *parents]))
    stamp = stamp_of(places)
    found = [path for path in known if path and os.path.isfile(path)]  # noqa: PTH113
    missing = {place for place, mtime in zip(places, stamp, strict=True) if mtime < 0}
    for task_dir in task_dirs:
        if task_dir in missing:
            continue
        try:
            names = sorted(os.listdir(task_dir))  # noqa: PTH208
        except OSError:
            continue
        for name in names:
            entry = os.path.join(task_dir, name)  # noqa: PTH118
            if (
                PurePath(name).suffix in LOG_SUFFIXES
                and _names_job(name, job_id)
                and entry not in found
            ):
                found.append(entry)
    return FoundLogs(found, places, stamp)


def stamp_of(places: tuple[str, ...]) -> tuple[int, ...]:
    """Each place's modification time in ns (-1 when it cannot be looked at)."""
    stamps = []
    for place in places:
        try:
            stamps.append(os.stat(place).st_mtime_ns)  # noqa: PTH116
        except (OSError, ValueError):
            stamps.append(-1)
    return tuple(stamps)


def _names_job(file_name: str, job_id: str) -> bool:
    stem = file_name.rsplit(".", 1)[0]
    return f"_{job_id}_" in f"{stem}_" or stem.endswith(f"_{job_id}")


def _task_dirs(
    task: PipelineTaskName, experiment_dir: Path | str | None, roots: tuple[Path, ...]
) -> list[str]:
    if experiment_dir is not None:
        return [os.path.join(experiment_dir, task.task_dir)]  # noqa: PTH118
    dirs: list[Path] = []
    for root in roots:
        for pattern in (f"cicd_*/{task.task_dir}", f"*/cicd_*/{task.task_dir}"):
            dirs.extend(sorted(root.glob(pattern)))
    return [str(path) for path in dirs]
