"""The benchmark script runs end to end (timings are printed, never asserted: CI is noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "review_bench.py"


def test_review_bench_runs_and_prints_the_comparison() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--size-mb", "4", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "ratio (ours / rg):" in done.stdout
    assert "peak RSS (review):" in done.stdout
