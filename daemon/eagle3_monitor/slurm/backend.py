"""The interface every Slurm backend offers the poller, and the choice between them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from eagle3_monitor.slurm.model import JobRecord
from eagle3_monitor.slurm.pyslurm_backend import PyslurmBackend
from eagle3_monitor.slurm.sacct import (
    LiveJob,
    SacctBackend,
    SacctSettings,
    SlurmCallObserver,
    unobserved,
)


class SlurmBackend(Protocol):
    def version(self) -> tuple[int, int]: ...

    def jobs_by_id(self, job_ids: Iterable[str]) -> list[JobRecord]: ...

    def jobs_ending(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The targeted lookup of jobs whose logs say they ended (one query, steps included)."""
        ...

    def jobs_since(self, start: datetime) -> list[JobRecord]: ...

    def jobs_named(self, names: Iterable[str], start: datetime) -> list[JobRecord]: ...

    def live_jobs(self) -> dict[str, LiveJob]: ...

    def close(self) -> None: ...


def make_backend(
    name: str, settings: SacctSettings, observe: SlurmCallObserver = unobserved
) -> SlurmBackend:
    """`sacct` (the default) or `pyslurm` (raises SlurmError when unusable); `observe` is told
    of every call to Slurm."""
    if name == "pyslurm":
        return PyslurmBackend(settings, observe=observe)  # imports pyslurm only when chosen
    return SacctBackend(settings, observe=observe)
