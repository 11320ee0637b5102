"""Which jobs belong to EAGLE3 pipelines, which run each belongs to, and where its logs are.
Pure functions over names and paths (the directory listing in `find_logs` aside)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
    """The `cicd_<epoch>` directory a work dir or log path lies in."""
    for text in paths:
        if not text:
            continue
        path = Path(text)
        for candidate in (path, *path.parents):
            if _EXPERIMENT_DIR.match(candidate.name):
                return candidate
    return None


def find_logs(
    job_id: str,
    task: PipelineTaskName,
    experiment_dir: Path | None,
    known: list[str],
    roots: tuple[Path, ...] = (),
) -> list[str]:
    """A job's log files: paths Slurm reported, and files named after the job id in its task
    directory (under the experiment dir, else under the configured experiment roots)."""
    found = [path for path in known if path and Path(path).is_file()]
    for task_dir in _task_dirs(task, experiment_dir, roots):
        try:
            entries = sorted(task_dir.iterdir())
        except OSError:
            continue
        for entry in entries:
            if (
                entry.suffix in LOG_SUFFIXES
                and _names_job(entry.name, job_id)
                and str(entry) not in found
            ):
                found.append(str(entry))
    return found


def _names_job(file_name: str, job_id: str) -> bool:
    stem = file_name.rsplit(".", 1)[0]
    return f"_{job_id}_" in f"{stem}_" or stem.endswith(f"_{job_id}")


def _task_dirs(
    task: PipelineTaskName, experiment_dir: Path | None, roots: tuple[Path, ...]
) -> list[Path]:
    if experiment_dir is not None:
        return [experiment_dir / task.task_dir]
    dirs: list[Path] = []
    for root in roots:
        for pattern in (f"cicd_*/{task.task_dir}", f"*/cicd_*/{task.task_dir}"):
            dirs.extend(sorted(root.glob(pattern)))
    return dirs
