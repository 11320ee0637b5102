"""One verdict, told the same by `review`, `validate` and `status`: the command line on real
experiment directories (each case here was told wrong by one of them before)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.service.status import Health, StatusService
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.simulate.logtext import synthesis_log, training_log
from eagle3_monitor.state.store import Store
from eagle3_monitor.vocabulary import Role
from tests.cli_runner import run_cli

GATE_LINES = [
    "AR 1.93 < lower bound 2.1",
    "REGRESSION: 1.93 < 2.1",
    "INFO 11-26 03:12:45 [metrics.py:96] SpecDecoding metrics: Mean acceptance length: 1.93, "
    "Accepted throughput: 51.20 tokens/s, Drafted throughput: 90.30 tokens/s",
]


def json_of(*arguments: str | Path) -> tuple[int, dict[str, Any]]:
    done = run_cli(*arguments, "--format", "json", "--no-slurm")
    return done.status, json.loads(done.stdout)


@pytest.mark.parametrize("line", GATE_LINES, ids=["ar-bound", "regression", "vllm-metrics"])
def test_a_benchmark_failing_its_own_gate_is_low_acceptance_in_review_and_validate(
    tmp_path: Path, line: str
) -> None:
    plans = healthy_plan()
    plans[3] = TaskPlan(
        Role.BENCHMARK, task_log=f"RANK 0 GPU count: 8\n{line}\n", exit_code=1, acceptance=1.93
    )
    experiment = write_experiment(tmp_path, plans)

    status, review = json_of("review", experiment)
    validated, validation = json_of("validate", experiment)

    assert status == validated == 1
    cause = review["tasks"][3]["root_cause"]
    assert (cause["category"], review["root_cause"]["task"]) == ("low_acceptance", "task_3")
    assert "1.93" in cause["summary"]
    assert (validation["verdict"], validation["acceptance_length"]) == ("failed", 1.93)
    assert review["headline"].startswith(
        "task_3 (benchmark) low_acceptance: acceptance length 1.93"
    )


def test_a_task_still_running_is_running_and_its_run_incomplete(tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[0] = TaskPlan(
        Role.SYNTHESIS,
        task_log=synthesis_log(random.Random(1), finish=False),  # "Server is up!", no trailer
        exit_code=None,
        artifacts=False,
    )
    for later in plans[1:]:
        later.ran = False
    experiment = write_experiment(tmp_path, plans)

    status, review = json_of("review", experiment)
    validated, validation = json_of("validate", experiment)

    assert status == validated == 3
    assert review["verdict"] == "incomplete"
    assert [task["verdict"] for task in review["tasks"]] == ["running"] + ["not_run"] * 3
    assert all(task["root_cause"] is None for task in review["tasks"])
    assert validation["verdict"] == "partial"
    assert validation["next_steps"] == [
        "Validate again when task_0, task_1, task_2, task_3 have run."
    ]


def test_validate_after_a_training_oom_leads_with_the_reviews_fix(tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING,
        task_log=training_log(random.Random(5), steps=6, finish=False)
        + "[rank1]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 9.27 GiB.\n"
        + "[ERROR] ./code/common/eagle3/train_eagle.sh:63 failed with status 1.\n"
        + "Exported checkpoint to /scratchspace/export\n",
        exit_code=0,
    )
    plans[3].acceptance = 1.31
    plans[3].task_log = "RANK 0 GPU count: 8\nAverage AL: 1.31\n"
    experiment = write_experiment(tmp_path, plans)

    validated, validation = json_of("validate", experiment)
    _, review = json_of("review", experiment)

    assert validated == 1 and validation["verdict"] == "failed"
    first = validation["next_steps"][0]
    assert first.startswith("task_2: gpu_oom: CUDA out of memory")
    assert review["root_cause"]["fix"] in first
    assert not any("Train longer" in step for step in validation["next_steps"])


def test_validate_ignores_a_stray_log_in_the_experiment_dir(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    (experiment / "notes.log").write_text("copied here by hand\n")

    done = run_cli("validate", experiment, "--no-slurm")

    assert done.status == 0, done
    assert "?" not in done.stdout and "None" not in done.stdout


@pytest.fixture
def status_socket(searchable_dir: Path) -> Iterator[Path]:
    """A real status socket answering from an empty database, as the daemon's does."""
    store = Store.open(searchable_dir / "state.db")
    service = StatusService(store, Health(), request_poll=lambda: None)
    server = StatusSocket(searchable_dir / "run" / "status.sock", service.handle,
                          AccessPolicy([], []))  # fmt: skip
    server.start()
    config = searchable_dir / "monitor.yaml"
    config.write_text(yaml.safe_dump({
        "state": {"database": str(searchable_dir / "state.db")},
        "status": {"socket": str(server.path)},
    }))  # fmt: skip
    yield config
    server.close()
    store.close()


def test_status_of_an_unknown_run_is_one_line_on_stderr_with_exit_one(status_socket: Path) -> None:
    done = run_cli("status", "nosuchrun", "--config", status_socket)

    assert done.status == 1, done
    assert done.stdout == ""
    assert done.stderr.strip() == "eagle3-monitor: error: no such run: nosuchrun"

    listed = run_cli("status", "--config", status_socket)
    assert listed.status == 0, listed


def test_status_answers_from_a_snapshot_while_a_write_transaction_is_open(
    searchable_dir: Path,
) -> None:
    store = Store.open(searchable_dir / "state.db")
    service = StatusService(store, Health(), request_poll=lambda: None)
    holding, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        with store.transaction():
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=long_writer)
    writer.start()
    holding.wait(5)
    try:
        answer = service.handle({"command": "runs"})
        health = service.handle({"command": "status"})
    finally:
        release.set()
        writer.join()
    assert answer == {"ok": True, "runs": []}
    assert health["ok"] and health["outbox_depth"] == 0
    store.close()
