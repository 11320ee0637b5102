"""Building the package (as `make demo` and `make test` install it) says nothing but that it
built: the licence is an SPDX expression with its file (PEP 639), so setuptools no longer
warns three times that `project.license` as a table is deprecated."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_licence_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())

    assert project["project"]["license"] == "Apache-2.0"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "Apache License" in (REPO / "LICENSE").read_text()
    assert "setuptools>=77" in project["build-system"]["requires"]  # PEP 639 support


def test_building_the_wheel_warns_of_nothing_and_carries_the_licence(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "project.license" not in output and "License classifiers are deprecated" not in output
    [wheel] = tmp_path.glob("eagle3_monitor-*.whl")
    archive = zipfile.ZipFile(wheel)
    [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    headers = archive.read(metadata).decode().splitlines()
    assert "License-Expression: Apache-2.0" in headers
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in archive.namelist())
