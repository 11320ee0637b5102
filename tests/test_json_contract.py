"""The eagle3-monitor.review/1 JSON document: keys, types and values are a contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli_runner import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "experiments" / "cicd_1764115200"
RUN_KEYS = {"schema", "path", "experiment", "verdict", "headline", "root_cause", "rerun", "tasks"}
RUN_CAUSE_KEYS = {"task", "category", "rule", "summary", "fix"}
TASK_KEYS = {
    "task", "index", "job_name", "job_id", "role", "verdict", "root_cause", "findings", "logs"
}  # fmt: skip
TASK_CAUSE_KEYS = {"category", "rule", "summary", "fix", "evidence"}
EVIDENCE_KEYS = {"file", "line", "text"}
FINDING_KEYS = {"category", "rule", "file", "line", "text"}
TASK_VERDICTS = {
    "pass", "fail", "timeout", "cancelled", "blocked", "skipped", "running", "not_run"
}  # fmt: skip


def review_json(path: Path) -> dict[str, Any]:
    done = run_cli("review", "--format", "json", path)
    assert done.status in (0, 1, 3), done
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_json_run_document_has_exactly_the_contract_keys() -> None:
    document = review_json(EXAMPLE)

    assert set(document) == RUN_KEYS
    assert document["schema"] == "eagle3-monitor.review/1"
    assert document["path"] == str(EXAMPLE)
    assert document["experiment"] == "cicd_1764115200"
    assert document["verdict"] == "fail"
    assert set(document["root_cause"]) == RUN_CAUSE_KEYS
    assert document["root_cause"]["task"] == "task_2"
    assert document["root_cause"]["category"] == "gpu_oom"
    assert document["root_cause"]["rule"] == "cuda-oom"
    assert set(document["rerun"]) == {"command", "changes", "note"}
    assert document["rerun"]["command"].startswith(f"eagle3-monitor rerun {EXAMPLE} > rerun.yaml")
    assert document["rerun"]["changes"][0] == "task_0: skip: true (passed in cicd_1764115200)"


def test_json_tasks_have_exactly_the_contract_keys_and_types() -> None:
    tasks = review_json(EXAMPLE)["tasks"]

    assert [task["task"] for task in tasks] == ["task_0", "task_1", "task_2", "task_3"]
    for index, task in enumerate(tasks):
        assert set(task) == TASK_KEYS
        assert task["index"] == index
        assert task["verdict"] in TASK_VERDICTS
        assert isinstance(task["job_name"], str)
        assert task["job_id"] == str(418200 + index)
        assert all(isinstance(path, str) and Path(path).exists() for path in task["logs"])
        for finding in task["findings"]:
            assert set(finding) == FINDING_KEYS
            assert isinstance(finding["line"], int)


def test_json_failed_task_root_cause_carries_evidence() -> None:
    training = review_json(EXAMPLE)["tasks"][2]

    assert training["verdict"] == "fail"
    cause = training["root_cause"]
    assert set(cause) == TASK_CAUSE_KEYS
    assert cause["category"] == "gpu_oom"
    first = cause["evidence"][0]
    assert set(first) == EVIDENCE_KEYS
    assert "CUDA out of memory" in first["text"]
    lines = Path(first["file"]).read_bytes().split(b"\n")  # \r is not a line break here
    assert lines[first["line"] - 1].decode().endswith(first["text"][-40:])


def test_json_passing_task_has_null_root_cause() -> None:
    synthesis = review_json(EXAMPLE)["tasks"][0]

    assert (synthesis["verdict"], synthesis["root_cause"]) == ("pass", None)


def test_json_passing_run_has_null_root_cause() -> None:
    document = review_json(EXAMPLE.parent / "cicd_1764201600")

    assert (document["verdict"], document["root_cause"]) == ("pass", None)


def test_json_single_file_outside_the_layout_has_one_task_with_null_task(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "my-run.log"
    log.parent.mkdir()
    log.write_text("RuntimeError: CUDA error: an illegal memory access was encountered\n")

    document = review_json(log)

    assert document["experiment"] is None
    [task] = document["tasks"]
    assert (task["task"], task["index"], task["job_id"]) == (None, None, None)
    assert task["root_cause"]["category"] == "cuda_error"
