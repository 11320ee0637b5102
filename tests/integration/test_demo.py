"""`make demo`'s script, as a newcomer runs it, on the real local cluster."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Cluster

pytestmark = pytest.mark.slurm


def test_demo_shows_a_passing_and_a_failing_run_then_status_and_stops_cleanly(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster_up = subprocess.run(
        [str(REPO / "scripts" / "slurm-dev-cluster"), "status"], check=False
    )
    assert cluster_up.returncode == 0, "`status` says the cluster is up, so the demo uses it"
    environment = {**os.environ, "BIN": str(Path(sys.executable).parent), "DEMO_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(REPO / "scripts" / "demo")],
        capture_output=True, text=True, timeout=600, env=environment, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    shown = output[-6000:]
    assert ":tada: *Run passed* — all 4 tasks passed; acceptance length 2.62 ≥ 2.1" in output, shown
    assert ":x: *Run failed* — task_1 (dump) gpu_oom: CUDA out of memory" in output, shown
    assert "*task_1* (dump) *fail*: `gpu_oom`" in output, shown
    assert output.count("blocked: never ran: task_1 failed (gpu_oom)") == 2, shown
    status = output.split("== eagle3-monitor status", 1)[1].split("== offline", 1)[0]
    task_line = r"(?m)^  task_[0-9] +[a-z]+ +[0-9]+ +[A-Z_]+ +[-0-9]+ +[-0-9a-z]+ +([a-z]+)\b"
    verdicts = re.findall(task_line, status)
    assert verdicts == ["pass"] * 5 + ["fail", "blocked", "blocked"], status
    assert "daemon stopped cleanly" in output
    assert "Traceback" not in (tmp_path / "daemon.log").read_text()
