"""pyslurm.db stand-in: a JobFilter that remembers its conditions, Jobs.load that applies ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATABASE_JOBS: list[Any] = []
LAST_FILTER: list[JobFilter] = []


class JobFilter:
    def __init__(self, **conditions: Any) -> None:
        known = {
            "ids",
            "start_time",
            "end_time",
            "users",
            "clusters",
            "accounts",
            "partitions",
            "names",
        }
        unknown = set(conditions) - known
        if unknown:
            raise TypeError(f"JobFilter has no attribute {sorted(unknown)}")
        self.conditions = conditions
        LAST_FILTER.append(self)


class Jobs(dict[int, Any]):
    @classmethod
    def load(cls, db_filter: JobFilter | None = None) -> Jobs:
        conditions = db_filter.conditions if db_filter else {}
        ids = set(conditions.get("ids") or [])
        names = set(conditions.get("names") or [])
        window = "start_time" in conditions and not ids
        return cls({
            job.id: job
            for job in DATABASE_JOBS
            if (not ids or job.id in ids) and (not names or job.name in names)
            and not (window and not job.eligible)  # as slurmdbd: a window holds eligible jobs
        })  # fmt: skip


@dataclass
class JobStep:
    state: str
    exit_code: int = 0


@dataclass
class Job:
    id: int
    name: str
    state: str
    cluster: str = "dev"
    exit_code: int = 0
    exit_code_signal: int = 0
    submit_time: int = 0
    start_time: int = 0
    end_time: int = 0
    user_name: str = "root"
    working_directory: str = "/tmp"
    partition: str = "debug"
    state_reason: str = "None"
    nodelist: str = "vm"
    time_limit: int = 60
    comment: str = ""
    standard_output: str | None = None
    array_id: int | None = None
    array_task_id: int | None = None
    array_tasks_waiting: str | None = None
    steps: dict[str, JobStep] = field(default_factory=dict)
    standard_error: str | None = None
    eligible: bool = True  # False: cancelled while its dependency was pending
