"""A real Slurm cluster for the integration tests: the project's own scripts/slurm-dev-cluster.

Every test that asks for `cluster` runs once per Slurm version (lane): Debian's 22.05, and 25.11
built from its source tarball (SLURM_DEV_SOURCE, or ../shared/vendor/ next to the repository
when it is there; without one the 25.11 lane is left out and the session says so in one line).
Tests that poll run with the sacct backend on both and with the pyslurm backend on 25.11 too
(pyslurm 25.11 is built against that Slurm by scripts/ensure-pyslurm, once).

The session starts each cluster when it is not already up (installing Debian's packages on a
fresh machine) and stops it at the end if it started it. In CI a cluster that cannot start
fails the run; it is never skipped there."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eagle3_monitor.monitor.poll import PollResult, WatchSettings, poll_once
from eagle3_monitor.slurm.backend import SlurmBackend, make_backend
from eagle3_monitor.slurm.sacct import SacctBackend, SacctSettings
from eagle3_monitor.state.store import Store

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "slurm-dev-cluster"
PATTERN = r"^(?:[^.]+\.)?(?P<base>.+)_(?P<index>[0-9]+)$"


@dataclass
class Cluster:
    conf: str
    version: str = "22.05"

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


VENDORED_SOURCE = REPO.parent / "shared" / "vendor" / "slurm-25.11.7.tar.xz"


def source_of_25_11() -> Path | None:
    """The Slurm 25.11 source tarball: SLURM_DEV_SOURCE, else the vendored one."""
    given = os.environ.get("SLURM_DEV_SOURCE")
    if given:
        return Path(given)
    return VENDORED_SOURCE if VENDORED_SOURCE.exists() else None


VERSIONS = ["22.05", *(["25.11"] if source_of_25_11() else [])]
LANE_NOTE = (
    ""
    if "25.11" in VERSIONS
    else "slurm lanes: 22.05 only; the 25.11 lane needs its source tarball: set "
    "SLURM_DEV_SOURCE=/path/to/slurm-25.11.7.tar.xz (https://download.schedmd.com/slurm/)"
)


def _script(version: str, *arguments: str) -> str:
    environment = {**os.environ, "SLURM_DEV_VERSION": version}
    done = subprocess.run([str(SCRIPT), *arguments], capture_output=True, text=True, check=True,
                          env=environment)  # fmt: skip
    return done.stdout.strip()


@contextlib.contextmanager
def lane_environment(version: str, conf: str) -> Iterator[None]:
    """This version's binaries first on PATH (and for every child: sbatch, sacct, the daemon,
    the demo), its SLURM_CONF; the previous environment back afterwards."""
    saved = {name: os.environ.get(name) for name in LANE_VARIABLES}
    os.environ["SLURM_DEV_VERSION"] = version
    os.environ["SLURM_CONF"] = conf
    binaries = _script(version, "path")
    if binaries:
        os.environ["PATH"] = f"{binaries}:{os.environ['PATH']}"
    source = source_of_25_11()
    if source is not None:
        os.environ["SLURM_DEV_SOURCE"] = str(source)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


LANE_VARIABLES = ("SLURM_DEV_VERSION", "SLURM_CONF", "PATH", "SLURM_DEV_SOURCE", "PYTHONPATH")


@pytest.fixture(scope="session", params=VERSIONS)
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    version: str = request.param
    source = source_of_25_11()
    if source is not None:
        os.environ.setdefault("SLURM_DEV_SOURCE", str(source))
    conf = _script(version, "env").split("=", 1)[1]
    started = False
    with lane_environment(version, conf):
        if not (Path(conf).exists() and _ping(conf)):
            done = subprocess.run(
                [str(SCRIPT), "up"], capture_output=True, text=True, timeout=1800, check=False
            )
            if done.returncode != 0:
                message = (
                    f"the local Slurm {version} cluster did not start: "
                    f"{done.stdout[-2000:]} {done.stderr[-2000:]}"
                )
                if os.environ.get("CI"):
                    pytest.fail(message)
                pytest.skip(message)
            started = True
        yield Cluster(conf, version)
        if started:
            subprocess.run([str(SCRIPT), "down"], capture_output=True, timeout=300, check=False)


@pytest.fixture(params=["sacct", "pyslurm"])
def backend(request: pytest.FixtureRequest, cluster: Cluster) -> SlurmBackend:
    """The backend a poll asks Slurm with: sacct on every lane, pyslurm on 25.11 (the pairs
    pyslurm cannot serve are deselected at collection, see pytest_collection_modifyitems)."""
    return make_lane_backend(str(request.param))


def make_lane_backend(name: str) -> SlurmBackend:
    settings = SacctSettings(timeout=30)
    if name == "sacct":
        return SacctBackend(settings)
    site = ensure_pyslurm()
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = str(site)  # the daemon and CLI children find it too
    return make_backend("pyslurm", settings)


def ensure_pyslurm() -> Path:
    """pyslurm 25.11 built against the lane's Slurm into <prefix>/python (once)."""
    done = subprocess.run([str(REPO / "scripts" / "ensure-pyslurm")], capture_output=True,
                          text=True, timeout=1800, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"pyslurm could not be built: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


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
def poller(backend: SlurmBackend, store: Store) -> Callable[..., PollResult]:
    settings = WatchSettings(job_name_pattern=PATTERN)

    def poll() -> PollResult:
        return poll_once(backend, store, settings)

    return poll


def accounting_down(error: str) -> bool:
    """slurmdbd unreachable, as sacct and pyslurm say it."""
    return "Problem talking to the database" in error or "from slurmdbd" in error


def poll_until(
    poll: Callable[[], PollResult],
    condition: Callable[[], bool],
    timeout: float,
    interval: float = 1.0,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = poll()
        assert result.ok or accounting_down(result.error or ""), result.error
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:g}s")


_LANES_RUN: set[str] = set()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """pyslurm 25.11 serves only the 25.11 lane: its pairs with 22.05 (and tests marked
    pyslurm_lane) are deselected there."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        pyslurm = params.get("backend") == "pyslurm" or item.get_closest_marker("pyslurm_lane")
        mismatch = item.get_closest_marker("pyslurm_mismatch")  # needs pyslurm 25.11 and 22.05
        if (pyslurm and params.get("cluster") != "25.11") or (
            mismatch and (params.get("cluster") != "22.05" or "25.11" not in VERSIONS)
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_setup(item: pytest.Item) -> None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "cluster" in params:
        _LANES_RUN.add(str(params["cluster"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which Slurm lanes ran, in one line, and why 25.11 did not when it did not."""
    if _LANES_RUN:
        terminalreporter.write_line(f"slurm lanes run: {', '.join(sorted(_LANES_RUN))}")
        if LANE_NOTE:
            terminalreporter.write_line(LANE_NOTE)
