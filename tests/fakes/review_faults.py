"""Jobs that misbehave inside a review worker, to test what the daemon does when a review
raises, kills its process or never ends. They are pickled by reference, so the worker (a fresh
interpreter on the daemon's import path) imports this module and runs the fault itself."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass

from eagle3_monitor.slurm.model import SlurmView
from eagle3_monitor.state.store import StoredJob


@dataclass(frozen=True)
class RaisingJob(StoredJob):
    def slurm_view(self) -> SlurmView:
        raise RuntimeError("the disk went away")


@dataclass(frozen=True)
class KilledJob(StoredJob):
    """As if the kernel's OOM killer chose the worker."""

    def slurm_view(self) -> SlurmView:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class ExitingJob(StoredJob):
    def slurm_view(self) -> SlurmView:
        os._exit(7)


@dataclass(frozen=True)
class HangingJob(StoredJob):
    def slurm_view(self) -> SlurmView:
        time.sleep(3600)
        raise AssertionError("unreachable")


def faulty(job: StoredJob, fault: type[StoredJob]) -> StoredJob:
    """The same job, misbehaving as `fault` says."""
    return fault(**asdict(job))
