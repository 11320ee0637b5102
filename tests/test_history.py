"""`eagle3-monitor history`: the failures the daemon kept, grouped by fingerprint, read from its
database (read-only) or asked of the daemon over its status socket; plain and JSON output
pinned. The database is made by the daemon in-process (real SQLite) from simulated runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from eagle3_monitor.errors import MonitorError
from eagle3_monitor.report.history import history_to_text, since_moment
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from eagle3_monitor.slurm.model import JobRecord
from eagle3_monitor.state.schema import MIGRATIONS
from eagle3_monitor.state.store import Store, read_only_snapshot
from tests.cli_runner import run_cli
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.test_failure_memory import OOM_LINES, run_of_pipeline

NCCL_LINE = (
    "[rank3]:[E1126 03:10:11.512 ProcessGroupNCCL.cpp:632] [Rank 3] Watchdog caught collective "
    "operation timeout: WorkNCCL(SeqNum=1812, OpType=ALLREDUCE, NumelIn=262144, NumelOut=262144, "
    "Timeout(ms)=1800000) ran for 1800093 milliseconds before timing out."
)
SINCE = "2026-11-01"


def settle(monitor: InProcessDaemon, jobs: list[JobRecord]) -> None:
    monitor.slurm.set(*monitor.slurm.records.values(), *jobs)
    monitor.settle()


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> InProcessDaemon:
    """Four failed runs of one pipeline: task_1 died of CUDA OOM three times (other sizes,
    GPUs, pids each time) and once of an NCCL timeout."""
    root = tmp_path_factory.mktemp("history")
    monitor = in_process_daemon(root / "daemon", catalog)
    lines = [OOM_LINES[0], NCCL_LINE, OOM_LINES[1], OOM_LINES[2]]
    for number, line in enumerate(lines):
        settle(monitor, run_of_pipeline(root, number, line, after=timedelta(hours=number)))
    return monitor


@pytest.fixture
def config(monitor: InProcessDaemon, searchable_dir: Path) -> Path:
    """A config whose database is the monitor's and whose status socket is not there."""
    path = searchable_dir / "monitor.yaml"
    settings = {
        "state": {"database": str(monitor.store.path)},
        "status": {"socket": str(searchable_dir / "none.sock")},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture
def served(monitor: InProcessDaemon, searchable_dir: Path) -> Iterator[Path]:
    """The monitor's status socket, and a config whose database cannot be read."""
    server = StatusSocket(
        searchable_dir / "run" / "status.sock", monitor.daemon.status.handle, AccessPolicy([], [])
    )
    server.start()
    path = searchable_dir / "served.yaml"
    settings = {
        "state": {"database": str(searchable_dir / "missing" / "state.db")},
        "status": {"socket": str(server.path)},
    }
    path.write_text(yaml.safe_dump(settings))
    yield path
    server.close()


# Pinned, fingerprints included: a change to the normalisation changes what is stored, and the
# daemon would no longer recognise failures it kept before.
PLAIN = """\
Failures since 2026-11-01 00:00 UTC (all pipelines): 4, 2 kinds

3x gpu_oom (cuda-oom) in Qwen3-8B_EAGLE3_offline, dump  [a7e1474c3da8072f]
   first 2026-11-26 01:20 UTC, last 2026-11-26 04:20 UTC
   [rank<n>]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate <size>. GPU <n> \
has a total capacity of <size> of which <size> is free. Process <n> has <size> memory in use. \
Of the allocated memory <size> is allocated by PyTorch.
   - 2026-11-26 04:20 UTC  cicd_1764126000 task_1 job 418501  slack #eagle3-runs console.000021
   - 2026-11-26 03:20 UTC  cicd_1764122400 task_1 job 418401  slack #eagle3-runs console.000015
   - 2026-11-26 01:20 UTC  cicd_1764115200 task_1 job 418201  slack #eagle3-runs console.000003

1x nccl (nccl-watchdog-timeout) in Qwen3-8B_EAGLE3_offline, dump  [ec7bdc0e2563ea72]
   first 2026-11-26 02:20 UTC, last 2026-11-26 02:20 UTC
   [rank<n>]:[<time> <file>] [Rank <n>] Watchdog caught collective operation timeout: \
WorkNCCL(SeqNum=<n>, OpType=ALLREDUCE, NumelIn=<n>, NumelOut=<n>, Timeout(ms)=<n>) ran for <n> \
milliseconds before timing out.
   - 2026-11-26 02:20 UTC  cicd_1764118800 task_1 job 418301  slack #eagle3-runs console.000009
"""


def test_history_groups_the_same_failure_across_runs_plain_text_pinned(
    monitor: InProcessDaemon, config: Path
) -> None:
    done = run_cli("history", "--since", SINCE, "--config", config)

    assert done.status == 0, done
    assert done.stdout == PLAIN


def test_history_json_is_pinned(monitor: InProcessDaemon, config: Path) -> None:
    done = run_cli("history", "--since", SINCE, "--json", "--config", config)

    assert done.status == 0, done
    document = json.loads(done.stdout)
    oom = document["fingerprints"][0]
    assert {k: v for k, v in document.items() if k != "fingerprints"} == {
        "schema": "eagle3-monitor.history/1",
        "since": "2026-11-01T00:00:00+00:00",
        "pipeline": None,
        "total": 4,
    }
    assert [group["count"] for group in document["fingerprints"]] == [3, 1]
    assert oom["fingerprint"] == "a7e1474c3da8072f"
    assert {k: v for k, v in oom.items() if k not in ("fingerprint", "cause", "runs")} == {
        "pipeline": "Qwen3-8B_EAGLE3_offline",
        "role": "dump",
        "category": "gpu_oom",
        "rule": "cuda-oom",
        "pattern": PLAIN.splitlines()[4].strip(),
        "example": OOM_LINES[2],
        "count": 3,
        "first_seen": "2026-11-26T01:20:00+00:00",
        "last_seen": "2026-11-26T04:20:00+00:00",
    }
    assert oom["runs"][0] == {
        "run_id": 4,
        "experiment": "cicd_1764126000",
        "task": "task_1",
        "job_id": "418501",
        "seen_at": "2026-11-26T04:20:00+00:00",
        "slack": {"channel": "#eagle3-runs", "ts": "console.000021"},
    }
    assert [run["job_id"] for run in oom["runs"]] == ["418501", "418401", "418201"]


def test_history_of_one_pipeline_since_a_duration(monitor: InProcessDaemon, config: Path) -> None:
    other = run_cli("history", "--pipeline", "Llama-70B_EAGLE3_online", "--config", config)
    old = run_cli("history", "--since", "2026-11-26T03:00:00", "--json", "--config", config)

    assert other.stdout == "Failures since {} (pipeline Llama-70B_EAGLE3_online): 0, 0 kinds\n"\
        .format(other.stdout.split("since ", 1)[1].split(" (", 1)[0])  # fmt: skip
    assert [g["count"] for g in json.loads(old.stdout)["fingerprints"]] == [2]


def test_the_status_socket_answers_history_with_the_same_document(
    monitor: InProcessDaemon, config: Path, served: Path
) -> None:
    from_database = run_cli("history", "--since", SINCE, "--json", "--config", config)
    from_daemon = run_cli("history", "--since", SINCE, "--json", "--config", served)

    assert from_daemon.status == 0, from_daemon
    assert json.loads(from_daemon.stdout) == json.loads(from_database.stdout)
    plain = run_cli("history", "--since", SINCE, "--config", served)
    assert plain.stdout == PLAIN


def test_neither_database_nor_daemon_is_one_line_and_exit_two(
    served: Path, searchable_dir: Path
) -> None:
    path = searchable_dir / "nothing.yaml"
    path.write_text(yaml.safe_dump({"state": {"database": str(searchable_dir / "no.db")},
                                    "status": {"socket": str(searchable_dir / "no.sock")}}))  # fmt: skip

    done = run_cli("history", "--config", path)

    assert done.status == 2
    assert done.stderr.startswith("eagle3-monitor: error: ") and done.stderr.count("\n") == 1
    assert "the daemon is not answering" in done.stderr


def test_a_bad_since_is_refused_by_the_command_and_by_the_socket(
    monitor: InProcessDaemon, config: Path
) -> None:
    done = run_cli("history", "--since", "last week", "--config", config)

    assert done.status == 2
    assert "--since 'last week': give a duration" in done.stderr
    answer = monitor.daemon.status.handle({"command": "history", "since": "soon"})
    assert answer["ok"] is False and "give a duration" in answer["error"]


def test_since_reads_durations_and_dates() -> None:
    now = 1_795_000_000.0  # 2026-11-18T11:06:40Z
    assert since_moment("7d", now) == "2026-11-11T11:06:40+00:00"
    assert since_moment("12h", now) == "2026-11-17T23:06:40+00:00"
    assert since_moment("2026-11-01", now) == "2026-11-01T00:00:00+00:00"
    assert since_moment("2026-11-01T02:00:00+02:00", now) == "2026-11-01T00:00:00+00:00"


def test_history_text_makes_hostile_names_inert() -> None:
    document = {
        "since": "2026-11-01T00:00:00+00:00",
        "pipeline": None,
        "total": 1,
        "fingerprints": [
            {"fingerprint": "f", "pipeline": "M\x1b]0;owned\x07", "role": "dump",
             "category": "gpu_oom", "rule": "r", "pattern": "boom\x1b[2J", "count": 1,
             "first_seen": "2026-11-02T00:00:00+00:00", "last_seen": "2026-11-02T00:00:00+00:00",
             "runs": [{"seen_at": "2026-11-02T00:00:00+00:00", "experiment": "cicd_\x9b1",
                       "task": "task_1", "job_id": "7", "slack": None}]},
        ],
    }  # fmt: skip

    text = history_to_text(document)

    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "cicd_\\x9b1 task_1 job 7" in text


def test_a_database_older_than_this_version_is_refused_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 6")

    with (
        pytest.raises(MonitorError, match="schema version 6 is older"),
        read_only_snapshot(path, need_version=len(MIGRATIONS)),
    ):
        pass
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 6
