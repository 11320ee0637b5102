"""Run the real `eagle3-monitor` console script as a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Completed:
    status: int
    stdout: str
    stderr: str


def executable() -> list[str]:
    script = Path(sys.executable).parent / "eagle3-monitor"
    if script.exists():
        return [str(script)]
    found = shutil.which("eagle3-monitor")
    return [found] if found else [sys.executable, "-m", "eagle3_monitor"]


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Completed:
    environment = {k: v for k, v in os.environ.items() if k != "EAGLE3_MONITOR_CONFIG"}
    environment.update(env or {})
    done = subprocess.run(
        [*executable(), *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)
