"""A stand-in with the shape of pyslurm 25.11's documented API (pyslurm.db.JobFilter,
pyslurm.db.Jobs.load, pyslurm.Jobs.load), for testing the pyslurm backend where no Slurm 25.11
can run. Tests fill CONTROLLER_JOBS and the db module's DATABASE_JOBS."""

from __future__ import annotations

from typing import Any

from tests.fakes.pyslurm import db

__version__ = "25.11.2"
CONTROLLER_JOBS: dict[int, Any] = {}


class Jobs(dict[int, Any]):
    @classmethod
    def load(cls) -> Jobs:
        return cls(CONTROLLER_JOBS)


__all__ = ["CONTROLLER_JOBS", "Jobs", "__version__", "db"]
