"""scripts/slurm-build: a tarball is built only when its sha256 is the published one, and once."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "slurm-build"


def build(tarball: Path, prefix: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), str(tarball), str(prefix)], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, **environment})  # fmt: skip


def test_a_tarball_whose_sha256_differs_from_the_published_one_is_not_built(
    tmp_path: Path,
) -> None:
    tarball = tmp_path / "slurm-25.11.7.tar.xz"
    tarball.write_bytes(b"a truncated download")

    done = build(tarball, tmp_path / "prefix")

    assert done.returncode == 1
    assert "sha256" in done.stderr and "expected f71f1e5f" in done.stderr
    assert not (tmp_path / "prefix").exists()


def test_an_unknown_tarball_needs_its_sha256_named(tmp_path: Path) -> None:
    tarball = tmp_path / "slurm-99.1.0.tar.xz"
    tarball.write_bytes(b"x")

    done = build(tarball, tmp_path / "prefix")

    assert done.returncode == 1 and "set SLURM_BUILD_SHA256" in done.stderr


def test_a_prefix_built_from_the_same_tarball_is_reused_without_building(tmp_path: Path) -> None:
    tarball = tmp_path / "slurm-99.1.0.tar.xz"
    tarball.write_bytes(b"the very same bytes")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    prefix = tmp_path / "prefix"
    (prefix / "sbin").mkdir(parents=True)
    (prefix / "sbin" / "slurmctld").write_text("#!/bin/sh\n")
    (prefix / "sbin" / "slurmctld").chmod(0o755)
    (prefix / "lib" / "slurm").mkdir(parents=True)
    (prefix / "lib" / "slurm" / "accounting_storage_mysql.so").write_bytes(b"")
    (prefix / ".source-sha256").write_text(digest + "\n")

    done = build(tarball, prefix, SLURM_BUILD_SHA256=digest)

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_missing_tarball_says_how_to_name_one(tmp_path: Path) -> None:
    done = build(tmp_path / "nowhere.tar.xz", tmp_path / "prefix")

    assert done.returncode == 1 and "set SLURM_DEV_SOURCE" in done.stderr
