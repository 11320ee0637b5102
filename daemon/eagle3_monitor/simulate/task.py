"""The program a simulated pipeline job runs inside Slurm: it prints its role's output into the
launcher's task log (log-<job name>_<job id>_<restart>.out) at a controlled pace, writes the
role's artifacts, and fails on request the way real tasks fail.

    python -m eagle3_monitor.simulate.task --role dump --experiment DIR --task-dir DIR
           [--failure cuda_oom] [--pace 0.2] [--script common/eagle3/dump_offline_data_hf.sh]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import TextIO

from eagle3_monitor.simulate.artifacts import write_artifacts
from eagle3_monitor.simulate.logtext import (
    benchmark_log,
    dump_log,
    healthy_task_log,
    synthesis_log,
    training_log,
)
from eagle3_monitor.vocabulary import Role

FAILURES = (
    "cuda_oom",
    "nccl_watchdog",
    "nccl_hang",
    "time_limit",
    "host_oom",
    "cancelled",
    "node_failure",
    "exit0_traceback",
    "zero_outputs",
    "low_acceptance",
    "stall",
)
WAIT_FOREVER = {"time_limit", "cancelled", "node_failure", "stall", "nccl_hang"}
_PARTIAL = {
    Role.SYNTHESIS: lambda rng: synthesis_log(rng, shards=2, finish=False),
    Role.DUMP: lambda rng: dump_log(rng, finish=False),
    Role.TRAINING: lambda rng: training_log(rng, steps=3, finish=False),
    Role.BENCHMARK: lambda rng: benchmark_log(rng, finish=False),
}
_CUDA_OOM = (
    "[rank0]: Traceback (most recent call last):\n"
    '[rank0]:   File "/nemo_run/code/modules/Model-Optimizer/examples/speculative_decoding/'
    'main.py", line 288, in train\n'
    "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 4.00 GiB. GPU 0 has a "
    "total capacity of 79.19 GiB of which 2.01 GiB is free.\n"
)
_NCCL_WATCHDOG = (
    "[rank1]:[E1126 03:00:00.000 ProcessGroupNCCL.cpp:616] [Rank 1] Watchdog caught collective "
    "operation timeout: WorkNCCL(SeqNum=42, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, "
    "Timeout(ms)=600000) ran for 600050 milliseconds before timing out.\n"
)
_QUERY_CRASH = (
    "Traceback (most recent call last):\n"
    '  File "/nemo_run/code/common/query.py", line 238, in <module>\n'
    "openai.APIConnectionError: Connection error.\n"
    "Main process exit\n"
)


def log_path(task_dir: Path) -> Path:
    name = os.environ.get("SLURM_JOB_NAME", "local")
    job_id = os.environ.get("SLURM_JOB_ID", "0")
    restart = os.environ.get("SLURM_RESTART_COUNT", "0")
    return task_dir / f"log-{name}_{job_id}_{restart}.out"


def emit(stream: TextIO, text: str, pace: float) -> None:
    """Write text line by line, `pace` seconds apart, as a live job does."""
    for line in text.splitlines(keepends=True):
        stream.write(line)
        stream.flush()
        if pace:
            time.sleep(pace)


def run(role: Role, failure: str | None, experiment: Path, task_dir: Path, pace: float) -> int:
    rng = random.Random(f"{role}-{failure}")
    with log_path(task_dir).open("a", encoding="utf-8") as stream:
        if failure is None:
            emit(stream, healthy_task_log(role, rng), pace)
            write_artifacts(role, experiment, task_dir)
            return 0
        if failure == "low_acceptance" and role is Role.BENCHMARK:
            emit(stream, benchmark_log(rng, acceptance=1.52), pace)
            write_artifacts(role, experiment, task_dir, acceptance=1.52)
            return 0
        emit(stream, _PARTIAL[role](rng), pace)
        return _fail(stream, failure, pace)


def _fail(stream: TextIO, failure: str, pace: float) -> int:
    if failure == "cuda_oom":
        emit(stream, _CUDA_OOM, pace)
        return 1
    if failure == "nccl_watchdog":
        emit(stream, _NCCL_WATCHDOG, pace)
        return 1
    if failure == "nccl_hang":  # the watchdog fired, but the process never exits
        emit(stream, _NCCL_WATCHDOG, pace)
    if failure == "exit0_traceback":
        emit(stream, _QUERY_CRASH, pace)
        return 0
    if failure == "zero_outputs":
        emit(stream, "Successfully processed 0 out of 824 conversations.\n", pace)
        return 0
    if failure == "host_oom":
        hog = b"x" * (1 << 30)  # more than the job's --mem: Slurm's memory limit kills it here
        time.sleep(30)
        return len(hog) and 0
    if failure in WAIT_FOREVER:
        time.sleep(24 * 3600)  # killed by the time limit, scancel or the node going down
        return 0
    raise SystemExit(f"unknown failure {failure!r}; known: {', '.join(FAILURES)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--role", required=True, choices=[str(role) for role in Role])
    parser.add_argument("--experiment", required=True, type=Path)
    parser.add_argument("--task-dir", required=True, type=Path)
    parser.add_argument("--failure", choices=FAILURES, default=None)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between log lines")
    parser.add_argument("--script", default="", help="the launcher script this task stands for")
    args = parser.parse_args(argv)
    sys.stderr.write(f"RANK 0 GPU count: 8 (simulated {args.script or args.role})\n")
    return run(Role(args.role), args.failure, args.experiment, args.task_dir, args.pace)


if __name__ == "__main__":
    sys.exit(main())
