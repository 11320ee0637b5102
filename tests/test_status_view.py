"""`eagle3-monitor status` as people and scripts read it: plain lines when piped (pinned),
tables with colours on a terminal (a real pseudo-terminal), NO_COLOR, elapsed times, the root
cause of a failed task, why a task never ran, exit 1 for an unknown run; every answer over a
real Unix socket from the daemon's status service on a real database."""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import pty
import re
import struct
import subprocess
import termios
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.report.status import Look, duration, status_to_text, width
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.slurm.model import JobState
from eagle3_monitor.vocabulary import Role
from tests.cli_runner import executable, run_cli
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.fakes.slurm import SUBMITTED, pipeline_job, running

OOM_LINE = "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.00 GiB.\n"
NOW = SUBMITTED + timedelta(hours=1)
ESC = "\x1b["
HEALTH = {
    "ok": True,
    "version": "0.1.0",
    "uptime_seconds": 7384.0,
    "last_poll": NOW.timestamp() - 4,
    "last_poll_ok": True,
    "sacct_errors": 0,
    "outbox_depth": 0,
    "slack": {"state": "ok"},
}


@pytest.fixture
def monitor(tmp_path: Path, catalog: Catalog) -> InProcessDaemon:
    """Two runs on the daemon's database: one whose task_1 died of CUDA OOM (tasks 2 and 3
    cancelled by Slurm before they started), one whose task_1 is still running."""
    monitor = in_process_daemon(tmp_path / "daemon", catalog, clock_start=NOW.timestamp())
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, task_log=f"RANK 0 GPU count: 8\n{OOM_LINE}", exit_code=1)
    plans[2].ran = plans[3].ran = False
    failed = write_experiment(tmp_path / "failed", plans)
    never = [
        pipeline_job(
            failed, i, JobState.CANCELLED, started=False, reason="DependencyNeverSatisfied"
        )
        for i in (2, 3)
    ]
    monitor.slurm.set(
        pipeline_job(failed, 0, JobState.COMPLETED),
        pipeline_job(failed, 1, JobState.FAILED, exit_code=1),
        *never,
    )
    going = healthy_plan()[:2]
    going[1] = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n", exit_code=None)
    base, first = "Llama-70B_EAGLE3_online", 418300
    later = write_experiment(tmp_path / "running", going, job_base=base, first_job_id=first)
    monitor.slurm.set(
        pipeline_job(later, 0, JobState.COMPLETED, job_base=base, first_job_id=first),
        running(pipeline_job(later, 1, JobState.COMPLETED, job_base=base, first_job_id=first)),
    )
    monitor.settle()
    return monitor


@pytest.fixture
def served(monitor: InProcessDaemon, searchable_dir: Path) -> Iterator[Path]:
    """The monitor's status service on a real Unix socket; the config that points at it."""
    server = StatusSocket(
        searchable_dir / "run" / "status.sock", monitor.daemon.status.handle, AccessPolicy([], [])
    )
    server.start()
    config = searchable_dir / "monitor.yaml"
    config.write_text(yaml.safe_dump({"status": {"socket": str(server.path)}}))
    yield config
    server.close()


def strip_escapes(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def runs_answer(monitor: InProcessDaemon) -> dict[str, Any]:
    return monitor.daemon.status.handle({"command": "runs"})


def on_a_terminal(*arguments: str | Path, columns: int = 110, **env: str) -> str:
    """The CLI's stdout when it is a pseudo-terminal `columns` wide."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EAGLE3_MONITOR_CONFIG", "COLUMNS", "LINES", "NO_COLOR")
    }
    environment.update(env)
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [*executable(), *map(str, arguments)],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert process.wait(timeout=120) == 0
    return output.decode().replace("\r\n", "\n")


def test_plain_status_is_the_same_lines_every_time(monitor: InProcessDaemon) -> None:
    text = status_to_text(HEALTH, runs_answer(monitor), now=NOW.timestamp())

    user = getpass.getuser()
    assert text == (
        "eagle3-monitor 0.1.0 up 2h03m; last poll 4s ago: ok; sacct errors 0; outbox 0\n"
        f"cicd_1764115200  Qwen3-8B_EAGLE3_offline  user {user}  fail  elapsed 19m00s\n"
        "  task_1 (dump) gpu_oom: CUDA out of memory (tried to allocate 3.00 GiB)\n"
        "  task_0  synthesis 418200     COMPLETED      0    9m00s    pass\n"
        "  task_1  dump      418201     FAILED         1    9m00s    fail      "
        "gpu_oom: CUDA out of memory (tried to allocate 3.00 GiB)\n"
        "  task_2  training  418202     CANCELLED      -    -        blocked   "
        "never ran: task_1 failed (gpu_oom)\n"
        "  task_3  benchmark 418203     CANCELLED      -    -        blocked   "
        "never ran: task_1 failed (gpu_oom)\n"
        f"cicd_1764115200  Llama-70B_EAGLE3_online  user {user}  incomplete  "
        "elapsed 59m03s so far\n"
        "  task_1 running\n"
        "  task_0  synthesis 418300     COMPLETED      0    9m00s    pass\n"
        "  task_1  dump      418301     RUNNING        -    49m03s   running\n"
    )


def test_status_piped_is_plain_lines_without_escapes(
    served: Path, monitor: InProcessDaemon
) -> None:
    done = run_cli("status", "--config", served)

    assert done.status == 0, done
    assert ESC not in done.stdout
    expected = status_to_text(HEALTH, runs_answer(monitor)).splitlines()[1:]
    assert done.stdout.splitlines()[1:] == expected
    assert done.stdout.startswith("eagle3-monitor ")


def test_status_on_a_terminal_is_a_table_with_coloured_states_and_verdicts(served: Path) -> None:
    screen = on_a_terminal("status", "--config", served, columns=110)

    header = "  TASK    ROLE       JOB     STATE      EXIT  ELAPSED  VERDICT  ROOT CAUSE"
    assert f"  {ESC}1m{header.strip()}{ESC}0m" in screen
    assert f"{ESC}31mFAILED{ESC}0m" in screen and f"{ESC}31mfail{ESC}0m" in screen
    assert f"{ESC}32mCOMPLETED{ESC}0m" in screen and f"{ESC}36mRUNNING{ESC}0m" in screen
    assert f"{ESC}33mblocked{ESC}0m  never ran: task_1 failed (gpu_oom)" in screen
    assert "49m03s" in screen and "59m03s so far" in screen
    failed = next(line for line in screen.splitlines() if "418201" in line)
    assert failed.endswith("gpu_oom: CUDA out of memory (tried to allocat…")
    assert max(width(strip_escapes(line)) for line in screen.splitlines()) <= 110


def test_a_narrow_terminal_puts_the_root_cause_under_its_task(served: Path) -> None:
    screen = strip_escapes(on_a_terminal("status", "--config", served, columns=70))

    lines = screen.splitlines()
    row = next(i for i, line in enumerate(lines) if "418201" in line)
    assert lines[row].rstrip().endswith("fail")
    assert lines[row + 1] == "      gpu_oom: CUDA out of memory (tried to allocate 3.00 GiB)"
    assert lines[row - 1].endswith("VERDICT") or lines[row - 2].endswith("VERDICT")
    assert max(width(line) for line in lines if line.startswith("  ")) <= 70


def test_no_color_keeps_the_table_without_colours(served: Path) -> None:
    screen = on_a_terminal("status", "--config", served, NO_COLOR="1")

    assert ESC not in screen
    assert "  TASK    ROLE       JOB     STATE" in screen


def test_table_and_colour_can_be_asked_for_through_a_pipe(served: Path) -> None:
    done = run_cli("status", "--table", "--color", "--config", served, env={"COLUMNS": "120"})

    assert done.status == 0, done
    assert "ROOT CAUSE" in done.stdout and f"{ESC}31mfail{ESC}0m" in done.stdout


def test_status_of_one_run_shows_its_fix_and_rerun(served: Path, monitor: InProcessDaemon) -> None:
    [failed] = [run for run in runs_answer(monitor)["runs"] if run["verdict"] == "fail"]

    done = run_cli("status", str(failed["id"]), "--config", served)

    assert done.status == 0, done
    lines = done.stdout.splitlines()
    assert any(line.startswith("  fix: ") and "--max-seq-len" in line for line in lines)
    assert any(line.startswith("  rerun: eagle3-monitor rerun ") for line in lines)


def test_status_of_an_unknown_run_exits_one_with_one_line(served: Path) -> None:
    done = run_cli("status", "cicd_0", "--config", served)

    assert (done.status, done.stdout) == (1, "")
    assert done.stderr == "eagle3-monitor: error: no such run: cicd_0\n"


def test_json_keeps_its_keys_and_adds_elapsed_causes_and_never_ran(served: Path) -> None:
    done = run_cli("status", "--json", "--config", served)

    answer = json.loads(done.stdout)
    failed = next(run for run in answer["runs"] if run["verdict"] == "fail")
    old_keys = {"task", "role", "job_id", "state", "final", "exit_code", "verdict", "start",
                "end", "logs"}  # fmt: skip
    assert all(old_keys <= set(task) for task in failed["tasks"])
    assert failed["elapsed_seconds"] == 19 * 60 and failed["ended"] is not None
    task_1, task_2 = failed["tasks"][1], failed["tasks"][2]
    assert task_1["root_cause"]["category"] == "gpu_oom" and task_1["elapsed_seconds"] == 540
    assert task_2["never_ran"] == "never ran (dependency never satisfied)"
    assert task_2["elapsed_seconds"] is None and task_2["exit_status"] is None


def test_a_task_cancelled_before_it_started_says_so(monitor: InProcessDaemon) -> None:
    [run] = [run for run in monitor.store.runs() if run.job_base == "Llama-70B_EAGLE3_online"]
    [job] = [job for job in monitor.store.jobs_of_run(run.id) if job.task_index == 1]
    cancelled = pipeline_job(Path(job.work_dir).parent, 1, JobState.CANCELLED, started=False,
                             job_base=run.job_base, first_job_id=418300)  # fmt: skip
    monitor.slurm.set(replace(cancelled, reason="None"))
    monitor.settle()

    [document] = [r for r in runs_answer(monitor)["runs"] if r["job_base"] == run.job_base]
    assert document["tasks"][1]["never_ran"] == "cancelled before start"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (0.4, "0s"), (59, "59s"), (61, "1m01s"), (3600, "1h00m"), (90061, "1d01h")],
)
def test_durations_read_at_a_glance(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_long_cause_is_cut_to_the_width_counting_wide_characters() -> None:
    task = {"task": "task_1", "role": "dump", "job_id": "7", "state": "FAILED", "final": True,
            "exit_status": 1, "elapsed_seconds": 5, "verdict": "fail",
            "root_cause": {"category": "gpu_oom", "summary": "显存不足 " * 20}}  # fmt: skip
    run = {"experiment": "cicd_1", "job_base": "M_EAGLE3", "user": "u", "tasks": [task]}

    text = status_to_text(HEALTH, {"runs": [run]}, Look(table=True, width=80), now=0)

    row = next(line for line in text.splitlines() if line.startswith("  task_1"))
    assert row.endswith("…") and width(row) <= 80


def test_the_health_line_says_when_no_poll_ran_yet_and_when_polls_fail() -> None:
    fresh = {**HEALTH, "last_poll": None, "last_poll_ok": None}
    failing = {**HEALTH, "last_poll_ok": False, "last_poll_error": "sacct timed out after 60s"}

    first = status_to_text(fresh, {"runs": []}, now=NOW.timestamp()).splitlines()[0]
    plain = status_to_text(failing, {"runs": []}, now=NOW.timestamp()).splitlines()[0]
    coloured = status_to_text(failing, {"runs": []}, Look(colour=True), now=NOW.timestamp())

    assert first == "eagle3-monitor 0.1.0 up 2h03m; no poll yet; sacct errors 0; outbox 0"
    assert "; last poll 4s ago: FAILING (sacct timed out after 60s);" in plain
    assert f"{ESC}31mFAILING (sacct timed out after 60s){ESC}0m" in coloured
