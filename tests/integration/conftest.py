"""A real Slurm cluster for the integration tests: the project's own scripts/slurm-dev-cluster.

The session starts it when it is not already up (installing Debian's packages on a fresh
machine) and stops it at the end if it started it. In CI a cluster that cannot start fails the
run; it is never skipped there."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eagle3_monitor.monitor.poll import PollResult, WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import SacctBackend, SacctSettings
from eagle3_monitor.state.store import Store

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "slurm-dev-cluster"
PATTERN = r"^(?:[^.]+\.)?(?P<base>.+)_(?P<index>[0-9]+)$"


@dataclass
class Cluster:
    conf: str

    def run(self, *command: str, check: bool = True) -> str:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {done.stderr}")
        return done.stdout

    def sbatch(self, name: str, script: str, *options: str, workdir: Path) -> str:
        output = self.run(
            "sbatch", "--parsable", f"--job-name={name}", f"--chdir={workdir}",
            f"--output={workdir}/sbatch_%x_%j.out", *options, "--wrap", script,
        )  # fmt: skip
        return output.strip().split(";")[0]

    def script(self, *arguments: str) -> None:
        self.run(str(SCRIPT), *arguments)

    def wait_for_squeue_state(self, job_id: str, state: str, timeout: float = 60) -> None:
        """Wait until squeue shows the job in `state` (R, PD, ...); "" = no longer listed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.run("squeue", "-h", "-j", job_id, "-o", "%t", check=False).strip()
            if shown == state:
                return
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} never reached squeue state {state!r}")

    def wait_until_idle(self, node: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run("sinfo", "-h", "-n", node, "-o", "%t", check=False).strip() == "idle":
                return
            time.sleep(0.5)
        raise AssertionError(f"node {node} did not come back to idle")


def _ping(conf: str) -> bool:
    done = subprocess.run(
        ["scontrol", "ping"],
        capture_output=True,
        text=True,
        env={**os.environ, "SLURM_CONF": conf},
        check=False,
    )
    return done.returncode == 0 and "UP" in done.stdout


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    conf = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    conf = conf.strip().split("=", 1)[1]
    started = False
    if not (Path(conf).exists() and _ping(conf)):
        done = subprocess.run(
            [str(SCRIPT), "up"], capture_output=True, text=True, timeout=900, check=False
        )
        if done.returncode != 0:
            message = f"the local Slurm cluster did not start: {done.stdout[-2000:]} {done.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        started = True
    os.environ["SLURM_CONF"] = conf
    yield Cluster(conf)
    if started:
        subprocess.run([str(SCRIPT), "down"], capture_output=True, timeout=300, check=False)


@pytest.fixture
def base() -> str:
    """A job base unique to the test, so runs of different tests never mix."""
    return f"T{uuid.uuid4().hex[:8]}_EAGLE3"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


@pytest.fixture
def poller(cluster: Cluster, store: Store) -> Callable[..., PollResult]:
    backend = SacctBackend(SacctSettings(timeout=30))
    settings = WatchSettings(job_name_pattern=PATTERN)

    def poll() -> PollResult:
        return poll_once(backend, store, settings)

    return poll


def poll_until(
    poll: Callable[[], PollResult],
    condition: Callable[[], bool],
    timeout: float,
    interval: float = 1.0,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = poll()
        assert result.ok or "Problem talking to the database" in (result.error or ""), result.error
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:g}s")
