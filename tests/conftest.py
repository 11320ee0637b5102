from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from eagle3_monitor.rules import Catalog, load_catalog

# Property tests: 60 examples in the inner loop; HYPOTHESIS_PROFILE=thorough for a long hunt.
settings.register_profile("default", max_examples=60)
settings.register_profile("thorough", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def local_user() -> Iterator[str]:
    """A second local account (not the one running the tests), made for them and removed after."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd to make a second local user")
    name = f"e3t{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True, capture_output=True)  # fmt: skip
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def searchable_dir() -> Iterator[Path]:
    """A short directory under /tmp that other users may search: pytest's tmp_path is 0700, and
    Unix socket paths must stay under 108 bytes."""
    directory = Path(tempfile.mkdtemp(prefix="e3", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy adversarial cases run only when asked (`make adversarial`): gigabyte files
    and memory measurements are too slow for every run; the fast hostile-input tests always
    run."""
    if os.environ.get("E3_ADVERSARIAL"):
        return
    skip = pytest.mark.skip(reason="heavy adversarial case: make adversarial")
    for item in items:
        if "adversarial" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The adversarial cases' peak memory, when they ran."""
    import sys  # noqa: PLC0415 - only when the module was collected

    module = sys.modules.get("tests.test_adversarial")
    peaks: dict[str, float] = getattr(module, "PEAKS", {})
    if peaks:
        limit = module.RSS_LIMIT_MB  # type: ignore[union-attr]
        terminalreporter.section(f"adversarial: peak RSS per case (limit {limit} MB)")
        for name, megabytes in sorted(peaks.items()):
            terminalreporter.line(f"{megabytes:6.0f} MB  {name}")
        if len(peaks) == module.CASES and not terminalreporter.stats.get("failed"):  # type: ignore[union-attr]
            _write_adversarial_results(peaks, limit)


def _write_adversarial_results(peaks: dict[str, float], limit: float) -> None:
    """A full, passing `make adversarial` is a benchmark too: its figures feed the README."""
    from bench.results_file import row, write_results  # noqa: PLC0415

    rows = [
        row(name.removeprefix("test_").replace("_", " "), f"{megabytes:.0f} MB",
            f"<= {limit:g} MB", megabytes <= limit)
        for name, megabytes in sorted(peaks.items())
    ]  # fmt: skip
    write_results("adversarial", "make adversarial", rows)
