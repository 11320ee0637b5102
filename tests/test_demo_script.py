"""scripts/demo (`make demo`) leaves no /tmp/eagle3-demo.* directory behind when it fails; a
DEMO_DIR the user chose is theirs and kept. (The whole demo on the real cluster is
tests/integration/test_demo.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_demo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The demo with no eagle3-monitor where BIN says: it fails after making its directory,
    before it touches a Slurm cluster."""
    environment = {**os.environ, "BIN": str(tmp_path / "no-bin"), "TMPDIR": str(tmp_path), **env}
    return subprocess.run(
        [str(REPO / "scripts" / "demo")],
        capture_output=True, text=True, timeout=60, env=environment, check=False,
    )  # fmt: skip


def test_a_failed_demo_removes_the_directory_it_made(tmp_path: Path) -> None:
    done = run_demo(tmp_path)

    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        == f"demo: no eagle3-monitor at {tmp_path}/no-bin/eagle3-monitor (run `make demo`)"
    )
    assert list(tmp_path.glob("eagle3-demo.*")) == []


def test_a_demo_dir_given_by_the_user_is_kept(tmp_path: Path) -> None:
    chosen = tmp_path / "mine"
    chosen.mkdir()
    (chosen / "notes").write_text("keep me\n")

    done = run_demo(tmp_path, DEMO_DIR=str(chosen))

    assert done.returncode == 2, done.stderr
    assert (chosen / "notes").read_text() == "keep me\n"
