"""scripts/slurm-dev-cluster's setup, with the programs it runs replaced by recording stand-ins
(no daemon starts, no cluster is touched): MariaDB gets a tmpdir of its own under the
cluster's directory (two clusters set up at once once collided in the shared /tmp), and a step
that fails shows MariaDB's first ERROR lines, not its boilerplate. The real setup runs in
every `-m slurm` session (tests/integration/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# What mariadb-install-db printed when another setup's files were in /tmp (the ERROR lines as
# MariaDB writes them; the rest is its usual advice, which hid them).
FAILED_INSTALL = """\
Installing MariaDB/MySQL system tables in '{datadir}' ...
2026-11-28 10:41:07 0 [ERROR] InnoDB: Unable to create temporary file; errno: 17
2026-11-28 10:41:07 0 [ERROR] mariadbd: Can't create/write to file '/tmp/ibXu3k2a' (Errcode: 17 "File exists")

Installation of system tables failed!  Examine the logs in
{datadir} for more information.

The problem could be conflicting information in an external
my.cnf files. You can ignore these by doing:

    shell> /usr/bin/mariadb-install-db --defaults-file=~/.my.cnf
"""


def stand_ins(bin_dir: Path, record: Path) -> None:
    """Packages installed, a host name no real cluster uses, munge answering, and a
    mariadb-install-db that records how it was run and fails as it did."""
    scripts = {
        "dpkg-query": "echo 'install ok installed'",
        "hostname": f"echo e3test-{uuid.uuid4().hex[:8]}",
        "munged": "exit 0",
        "munge": "exit 0",
        "unmunge": "exit 0",
        "mariadb-install-db": (
            f'echo "TMPDIR=$TMPDIR" > "{record}"; printf "%s\\n" "$@" >> "{record}"\n'
            'datadir=$(printf "%s\\n" "$@" | sed -n "s/^--datadir=//p")\n'
            f"cat <<TEXT\n{FAILED_INSTALL.format(datadir='$datadir')}TEXT\n"
            "exit 1"
        ),
    }
    bin_dir.mkdir()
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)


def test_mariadb_setup_has_its_own_tmpdir_and_a_failure_shows_its_error_lines(
    tmp_path: Path,
) -> None:
    cluster_dir, record = tmp_path / "cluster", tmp_path / "mariadb-install-db.args"
    stand_ins(tmp_path / "bin", record)
    environment = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "SLURM_DEV_DIR": str(cluster_dir),
        "SLURM_DEV_VERSION": "22.05",
        "SLURM_DEV_PORT_BASE": "47100",  # ports no lane uses
    }

    done = subprocess.run(
        [str(REPO / "scripts" / "slurm-dev-cluster"), "up"],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    tmpdir = cluster_dir / "var" / "tmp"
    recorded = record.read_text().splitlines()
    assert recorded[0] == f"TMPDIR={tmpdir}"
    assert f"--tmpdir={tmpdir}" in recorded[1:]
    assert "[slurm-dev-cluster] FATAL: mariadb-install-db failed" in done.stderr
    assert "[ERROR] InnoDB: Unable to create temporary file; errno: 17" in done.stderr
    assert "Can't create/write to file '/tmp/ibXu3k2a'" in done.stderr
    assert "conflicting information" not in done.stderr
