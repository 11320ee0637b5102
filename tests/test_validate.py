"""`validate` on realistic experiment directories: every check passing and failing."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from eagle3_monitor.review.run import ReviewSettings, review_path, validate_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.artifacts import DRAFT_CONFIG, write_training_outputs
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.validate.model import CheckStatus, Validation, ValidationVerdict
from eagle3_monitor.validate.safetensors_header import read_safetensors_summary
from eagle3_monitor.vocabulary import Category, Role, TaskVerdict
from tests.builders import benchmark_plan
from tests.cli_runner import run_cli

VALIDATE_KEYS = {
    "schema",
    "path",
    "experiment",
    "verdict",
    "acceptance_length",
    "threshold",
    "per_topic",
    "tasks",
    "next_steps",
}
TASK_KEYS = {"task", "index", "role", "status", "checks"}
CHECK_KEYS = {"name", "status", "detail", "value"}


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    return write_experiment(tmp_path, healthy_plan())


def validate(path: Path, catalog: Catalog, threshold: float = 2.1) -> Validation:
    result = validate_path(path, catalog, ReviewSettings(threshold=threshold)).validation
    assert result is not None
    return result


def check(result: Validation, index: int, name: str) -> Any:
    [found] = [c for c in result.tasks[index].checks if c.name == name]
    return found


def test_validate_healthy_run_passes_every_check(experiment: Path, catalog: Catalog) -> None:
    result = validate(experiment, catalog)

    assert result.verdict is ValidationVerdict.PASSED
    statuses = {c.status for task in result.tasks for c in task.checks}
    assert statuses == {CheckStatus.PASS}
    assert check(result, 0, "data_samples").value == 24
    assert check(result, 1, "hidden_states_files").value == 24
    assert result.acceptance_length == pytest.approx(2.62)


def test_validate_json_document_keys_are_pinned(experiment: Path) -> None:
    done = run_cli("validate", "--format", "json", experiment)

    assert done.status == 0, done
    document = json.loads(done.stdout)
    assert set(document) == VALIDATE_KEYS
    assert document["schema"] == "eagle3-monitor.validate/1"
    assert (document["verdict"], document["threshold"]) == ("passed", 2.1)
    assert document["acceptance_length"] == pytest.approx(2.62)
    for task in document["tasks"]:
        assert set(task) == TASK_KEYS
        for item in task["checks"]:
            assert set(item) == CHECK_KEYS
            assert item["status"] in {"pass", "fail", "warn", "skip"}


def test_validate_missing_data_dir_fails_and_review_blames_task_0(
    experiment: Path, catalog: Catalog
) -> None:
    for path in sorted((experiment / "data").iterdir()):
        path.unlink()
    (experiment / "data").rmdir()

    result = validate(experiment, catalog)
    review = review_path(experiment, catalog)

    assert result.verdict is ValidationVerdict.FAILED
    assert check(result, 0, "data_dir").status is CheckStatus.FAIL
    assert review.tasks[0].verdict is TaskVerdict.FAIL
    assert review.tasks[0].root_cause is not None
    assert review.tasks[0].root_cause.category is Category.EMPTY_OUTPUT
    assert review.tasks[0].root_cause.evidence[0].file == experiment / "data"


def test_validate_shards_without_done_marker_are_listed_as_warning(
    experiment: Path, catalog: Catalog
) -> None:
    (experiment / "data" / "train-00003-00004.jsonl.done").unlink()

    result = validate(experiment, catalog)

    markers = check(result, 0, "data_done_markers")
    assert markers.status is CheckStatus.WARN
    assert markers.value == ["train-00003-00004.jsonl"]
    assert result.verdict is ValidationVerdict.PASSED


def test_validate_empty_shards_fail_on_zero_samples(experiment: Path, catalog: Catalog) -> None:
    for shard in (experiment / "data").glob("*.jsonl"):
        shard.write_text("")

    result = validate(experiment, catalog)

    assert check(result, 0, "data_samples").status is CheckStatus.FAIL
    assert check(result, 1, "hidden_states_coverage").status is CheckStatus.SKIP


def test_validate_truncated_shard_is_reported(experiment: Path, catalog: Catalog) -> None:
    with (experiment / "data" / "train-00001-00004.jsonl").open("a") as shard:
        shard.write('{"conversation_id": "conv_x", "conversations": [{"role": "us')

    result = validate(experiment, catalog)

    assert "not valid JSON (truncated?)" in check(result, 0, "data_readable").detail


def test_validate_no_hidden_states_fails(experiment: Path, catalog: Catalog) -> None:
    for pt in (experiment / "offline_hidden_states").glob("*.pt"):
        pt.unlink()

    result = validate(experiment, catalog)
    review = review_path(experiment, catalog)

    assert check(result, 1, "hidden_states_files").status is CheckStatus.FAIL
    assert review.tasks[1].verdict is TaskVerdict.FAIL
    assert review.tasks[1].root_cause is not None
    assert review.tasks[1].root_cause.rule == "artifact-hidden-states-files"


def test_validate_hidden_states_below_share_warn(experiment: Path, catalog: Catalog) -> None:
    for pt in sorted((experiment / "offline_hidden_states").glob("*.pt"))[:6]:
        pt.unlink()
    (experiment / "offline_hidden_states" / "conv_000023.pt").write_bytes(b"")

    result = validate(experiment, catalog)

    coverage = check(result, 1, "hidden_states_coverage")
    assert (coverage.status, coverage.value) == (CheckStatus.WARN, 0.75)
    assert check(result, 1, "hidden_states_nonempty").status is CheckStatus.WARN


def test_validate_export_config_with_null_use_cache_fails(
    experiment: Path, catalog: Catalog
) -> None:
    (experiment / "export" / "config.json").write_text(
        json.dumps({**DRAFT_CONFIG, "use_cache": None})
    )

    result = validate(experiment, catalog)

    fields = check(result, 2, "export_config_fields")
    assert fields.status is CheckStatus.FAIL
    assert "use_cache=None (needs bool)" in fields.detail


def test_validate_truncated_export_config_fails(experiment: Path, catalog: Catalog) -> None:
    (experiment / "export" / "config.json").write_text(
        '{"architectures": ["LlamaForCausalLMEagle3"], "hidd'
    )

    result = validate(experiment, catalog)

    assert check(result, 2, "export_config").status is CheckStatus.FAIL
    assert "not valid JSON" in check(result, 2, "export_config").detail


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty (0 bytes)"), (b"\x40\x00\x00\x00\x00\x00\x00\x00{", "does not fit")],
    ids=["zero-bytes", "truncated-header"],
)
def test_validate_broken_safetensors_fails(
    content: bytes, message: str, experiment: Path, catalog: Catalog
) -> None:
    (experiment / "export" / "model.safetensors").write_bytes(content)

    weights = check(validate(experiment, catalog), 2, "export_weights")

    assert weights.status is CheckStatus.FAIL
    assert message in weights.detail


def test_validate_reads_a_file_written_by_the_safetensors_library(
    experiment: Path, catalog: Catalog
) -> None:
    tensors: dict[str, np.ndarray[Any, Any]] = {
        "fc.weight": np.zeros((32, 48), dtype=np.float16),
        "norm.weight": np.ones(48, dtype=np.float32),
    }
    save_file(tensors, str(experiment / "export" / "model.safetensors"))

    weights = check(validate(experiment, catalog), 2, "export_weights")

    assert weights.status is CheckStatus.PASS
    assert weights.value == 32 * 48 + 48
    assert read_safetensors_summary(experiment / "export" / "model.safetensors").tensors == 2


def test_validate_safetensors_with_data_cut_off_fails(experiment: Path, catalog: Catalog) -> None:
    path = experiment / "export" / "model.safetensors"
    save_file({"w": np.zeros((64, 64), dtype=np.float32)}, str(path))
    path.write_bytes(path.read_bytes()[:-100])

    weights = check(validate(experiment, catalog), 2, "export_weights")

    assert weights.status is CheckStatus.FAIL
    assert "outside the file" in weights.detail


def test_validate_nan_loss_fails_and_review_calls_it_divergence(
    experiment: Path, catalog: Catalog
) -> None:
    write_training_outputs(experiment, losses=[5.0, 4.1, 3.3, math.nan, math.nan])

    result = validate(experiment, catalog)
    review = review_path(experiment, catalog)

    loss = check(result, 2, "training_loss")
    assert loss.status is CheckStatus.FAIL
    assert loss.value["sparkline"].endswith("!!")
    assert review.tasks[2].root_cause is not None
    assert review.tasks[2].root_cause.category is Category.TRAINING_DIVERGENCE


def test_validate_loss_history_trend_and_training_acceptance(
    experiment: Path, catalog: Catalog
) -> None:
    state_path = experiment / "eagle3" / "trainer_state.json"
    state = json.loads(state_path.read_text())
    state["log_history"].append({"train_acc": 0.8, "ar": 2.41, "step": 400})
    checkpoint = experiment / "eagle3" / "checkpoint-400"
    checkpoint.mkdir()
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    state_path.unlink()

    result = validate(experiment, catalog)

    loss = check(result, 2, "training_loss")
    assert loss.value["trend"].startswith("decreasing")
    assert len(loss.value["sparkline"]) == 24
    assert check(result, 2, "training_acceptance").value == 2.41


def test_validate_loss_from_log_dicts_when_no_trainer_state(
    experiment: Path, catalog: Catalog
) -> None:
    (experiment / "eagle3" / "trainer_state.json").unlink()

    loss = check(validate(experiment, catalog), 2, "training_loss")

    assert loss.status is CheckStatus.PASS
    assert "points from the training log" in loss.detail


@pytest.mark.parametrize(
    ("value", "status"),
    [(2.1, CheckStatus.PASS), (2.09, CheckStatus.FAIL)],
    ids=["at", "just-below"],
)
def test_validate_acceptance_length_at_and_below_threshold(
    value: float, status: CheckStatus, tmp_path: Path, catalog: Catalog
) -> None:
    plans = benchmark_plan(f"Average AL: {value}\n")
    plans[3].acceptance = value
    experiment = write_experiment(tmp_path, plans)

    result = validate(experiment, catalog)

    assert check(result, 3, "acceptance_length").status is status
    assert result.acceptance_length == pytest.approx(value)


def test_validate_acceptance_length_from_result_files_only(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = benchmark_plan("Running mtbench: done\n")
    plans[3].acceptance = 1.7
    experiment = write_experiment(tmp_path, plans)

    result = validate(experiment, catalog)
    review = review_path(experiment, catalog)

    acceptance = check(result, 3, "acceptance_length")
    assert (acceptance.status, acceptance.value) == (CheckStatus.FAIL, 1.7)
    assert "writing" in result.per_topic
    assert review.tasks[3].root_cause is not None
    assert review.tasks[3].root_cause.category is Category.LOW_ACCEPTANCE


def test_validate_partial_run_skips_tasks_not_run(tmp_path: Path, catalog: Catalog) -> None:
    plans = healthy_plan()
    plans[2].ran = plans[3].ran = False
    experiment = write_experiment(tmp_path, plans)

    result = validate(experiment, catalog)
    done = run_cli("validate", experiment)

    assert result.verdict is ValidationVerdict.PARTIAL
    assert [t.status for t in result.tasks] == [
        CheckStatus.PASS,
        CheckStatus.PASS,
        CheckStatus.SKIP,
        CheckStatus.SKIP,
    ]
    assert done.status == 3, done


def test_validate_artifact_paths_come_from_the_config(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "runs", healthy_plan())
    (experiment / "data").rename(tmp_path / "elsewhere")
    config = tmp_path / "monitor.yaml"
    config.write_text(f"validate:\n  artifacts:\n    data: {tmp_path / 'elsewhere'}\n")

    moved = run_cli("validate", "--config", config, experiment)
    default = run_cli("validate", experiment)

    assert moved.status == 0, moved
    assert default.status == 1, default


def test_validate_unreadable_shard_does_not_hang_or_crash(
    experiment: Path, catalog: Catalog
) -> None:
    os.mkfifo(experiment / "data" / "train-00009-00009.jsonl")

    result = validate(experiment, catalog)

    assert "not a regular file" in check(result, 0, "data_readable").detail


@pytest.mark.parametrize("target", ["missing", "task-dir", "file"])
def test_validate_bad_paths_are_one_line_errors(target: str, experiment: Path) -> None:
    path = {
        "missing": experiment / "nope",
        "task-dir": experiment / "Qwen3-8B_EAGLE3_offline_1",
        "file": experiment / "metadata.json",
    }[target]

    done = run_cli("validate", path)

    assert done.status == 2, done
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_validate_markdown_report_has_table_and_next_steps(experiment: Path) -> None:
    (experiment / "export" / "model.safetensors").write_bytes(b"")

    done = run_cli("validate", "--format", "markdown", experiment)

    assert done.status == 1
    assert "| task_2 | training | export_weights | **fail** |" in done.stdout
    assert "## Next steps" in done.stdout


def test_review_includes_validation_for_a_task_with_exit_zero_and_no_output(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    plans[1] = TaskPlan(Role.DUMP, artifacts=False)
    plans[2].ran = plans[3].ran = False

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[1].verdict is TaskVerdict.FAIL
    assert review.tasks[1].root_cause is not None
    assert review.tasks[1].root_cause.category is Category.EMPTY_OUTPUT


@pytest.mark.parametrize(
    "line",
    [
        "Average Acceptance Length {'accept': 9150, 'count': 4021, 'ratio': 2.2756}",
        "Average AL: 2.2756",
        "INFO 01-01 00:00:00 [metrics.py:96] SpecDecoding metrics: Mean acceptance length: 2.2756, Accepted: 9 tokens",
        "PASS: 2.2756 >= 2.1",
    ],
    ids=["dict-ratio", "average-al", "vllm-mean", "gate"],
)
def test_validate_reads_every_acceptance_length_form(
    line: str, tmp_path: Path, catalog: Catalog
) -> None:
    plans = benchmark_plan(line + "\n")
    plans[3].artifacts = False
    experiment = write_experiment(tmp_path, plans)

    result = validate(experiment, catalog)

    assert result.acceptance_length == pytest.approx(2.2756)
    assert check(result, 3, "acceptance_length").status is CheckStatus.PASS
