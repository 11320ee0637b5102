"""The heavy hostile inputs (`make adversarial`): each CLI command runs in its own process and
must end with a one-line error or an answer (never exit 70 or a traceback), within its time
bound and with a peak RSS of at most 100 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment

pytestmark = pytest.mark.adversarial
CLI = str(Path(sys.executable).parent / "eagle3-monitor")
RSS_LIMIT_MB = 100  # issue 13: any log size, line length or file count
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=float(sys.argv[1]))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr[-2000:])
sys.exit(done.returncode)
"""
JOB = "Qwen3-8B_EAGLE3_offline"
CASES = 7  # the tests below: a full run writes bench/results/adversarial.json
PEAKS: dict[str, float] = {}  # test name → peak RSS (MB), printed at the end of the session


@dataclass
class Measured:
    status: int
    rss_mb: float
    stderr: str


def measured(*arguments: str | Path, timeout: float = 120) -> Measured:
    """Run the CLI in a child of a fresh interpreter and read the child's peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(timeout), CLI, *map(str, arguments)],
        capture_output=True, text=True, timeout=timeout + 30, check=False,
    )  # fmt: skip
    rss_kb = int(done.stdout.strip().splitlines()[-1])
    return Measured(done.returncode, rss_kb / 1024, done.stderr)


def assert_handled(result: Measured, allowed: tuple[int, ...] = (0, 1, 2, 3)) -> None:
    PEAKS[os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]] = result.rss_mb
    assert result.status in allowed, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.rss_mb <= RSS_LIMIT_MB, f"peak RSS {result.rss_mb:.0f} MB"


def test_eighteen_matching_lines_of_16_mb_each(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    [log] = (experiment / f"{JOB}_2").glob("log-*.out")
    line = b"torch.OutOfMemoryError: CUDA out of memory. " + b"x" * (16 << 20) + b"\n"
    with log.open("ab") as stream:
        for _ in range(18):
            stream.write(line)

    assert_handled(measured("review", "--no-slurm", experiment))


def test_a_one_gigabyte_shard_without_a_newline(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    shard = experiment / "data" / "train-00099-00099.jsonl"
    with shard.open("wb") as stream:
        stream.truncate(1 << 30)

    assert_handled(measured("validate", "--no-slurm", experiment))


def test_a_250_mb_trainer_state(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    state = experiment / "eagle3" / "trainer_state.json"
    state.parent.mkdir(exist_ok=True)
    with state.open("w") as stream:
        stream.write('{"log_history": [')
        stream.write(",".join(['{"loss": 1.5, "step": 1}'] * 10_000_000))
        stream.write("]}")

    assert_handled(measured("validate", "--no-slurm", experiment))


def test_a_yaml_alias_bomb_as_the_pipeline(tmp_path: Path) -> None:
    levels = [f"l0: &l0 [{','.join(['x'] * 10)}]"]
    levels += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    pipeline = tmp_path / "bomb.yaml"
    pipeline.write_text("\n".join(levels) + "\npipeline: *l9\n")

    result = measured("lint", pipeline)

    assert_handled(result, allowed=(2,))
    assert "too many values" in result.stderr


def test_a_metadata_json_nested_a_million_deep(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    (experiment / "metadata.json").write_text("[" * 1_000_000 + "]" * 1_000_000)

    assert_handled(measured("review", "--no-slurm", experiment))


def test_a_hundred_thousand_hidden_state_files(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    states = experiment / "offline_hidden_states"
    for number in range(100_000):
        (states / f"extra_{number:06d}.pt").touch()

    result = measured("validate", "--format", "json", "--no-slurm", experiment)

    assert_handled(result)


def test_every_log_a_fifo_or_a_link_to_proc(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    for index, log in enumerate(sorted(experiment.rglob("*.out"))):
        log.unlink()
        if index % 2:
            os.mkfifo(log)
        else:
            log.symlink_to("/proc/self/environ")

    result = measured("review", "--no-slurm", experiment, timeout=30)

    assert_handled(result)
    assert json.dumps(result.stderr).count("skipped") >= 1 or result.status == 2
