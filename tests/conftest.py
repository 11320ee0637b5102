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
