"""Hostile artifacts and numbers: impossible acceptance lengths, NaN and 400-digit numbers,
corrupt safetensors, broken symlinks, unlistable directories, oversized JSON, absurd task
indices. `validate` never exits 70; each problem is a failed check with a reason."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from eagle3_monitor.review.layout import discover
from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment
from eagle3_monitor.validate.safetensors_header import SafetensorsError, read_safetensors_summary
from eagle3_monitor.validate.training import sparkline
from tests.builders import benchmark_plan
from tests.cli_runner import run_cli

JOB = "Qwen3-8B_EAGLE3_offline"


def checks_of(review_document: dict, index: int) -> dict[str, dict]:  # type: ignore[type-arg]
    [task] = [t for t in review_document["tasks"] if t["index"] == index]
    return {check["name"]: check for check in task["checks"]}


def validate_json(experiment: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = run_cli("validate", "--format", "json", "--no-slurm", experiment)
    assert done.status in (0, 1, 3), done
    assert "Traceback" not in done.stderr
    return done.status, json.loads(done.stdout)


@pytest.mark.parametrize(
    "printed", ["inf", "1e308", "9" * 400, "0.0", "-2.5", "nan"], ids=lambda v: v[:8]
)
def test_an_impossible_acceptance_length_in_the_log_never_passes(
    tmp_path: Path, catalog: Catalog, printed: str
) -> None:
    experiment = write_experiment(tmp_path, benchmark_plan(f"Average AL: {printed}\n"))
    for result in experiment.rglob("*.json"):
        if result.name in ("mtbench.json", "acceptance_rate.json"):
            result.unlink()

    review = review_path(experiment, catalog)

    benchmark = review.tasks[3]
    assert str(benchmark.verdict) == "fail"  # never a pass, whatever the number
    assert benchmark.root_cause is not None


def test_an_acceptance_length_above_the_draft_length_plus_one_is_impossible(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = write_experiment(tmp_path, benchmark_plan("Average AL: 4.7\n"))

    review = review_path(experiment, catalog)

    cause = review.tasks[3].root_cause
    assert cause is not None and cause.rule == "impossible-acceptance-length"
    assert "a draft length of 3 allows at most 4" in cause.summary


def test_huge_numbers_in_result_files_are_checked_not_crashed_on(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, benchmark_plan(""))
    for result in experiment.rglob("mtbench.json"):
        result.write_text('{"acceptance_length": 1' + "0" * 400 + "}")

    status, document = validate_json(experiment)

    assert status == 1
    assert "not a possible acceptance length" in json.dumps(document)


def test_nan_and_extreme_losses_make_a_sparkline_not_a_crash(tmp_path: Path) -> None:
    assert sparkline([float("nan"), 1e308, -1e308, 3.0, float("inf")]).count("!") == 2
    experiment = write_experiment(tmp_path, healthy_plan())
    state = experiment / "eagle3" / "trainer_state.json"
    state.parent.mkdir(exist_ok=True)
    history = [{"loss": value} for value in (1e308, -1e308, 2.0)] + [{"loss": 1}] * 3
    state.write_text(json.dumps({"log_history": history}).replace("1e+308", "9" * 400))

    status, document = validate_json(experiment)

    assert status in (0, 1)
    assert "Traceback" not in json.dumps(document)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"w": {"dtype": "F32", "shape": ["x"], "data_offsets": [0, 4]}}, "whole-number"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]}}, "whole-number"),
        ({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 4]}}, "impossible shape"),
        ({"w": {"dtype": "F32", "shape": [10**400], "data_offsets": [0, 4]}}, "impossible shape"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 10**30]}}, "outside the file"),
    ],
    ids=["string-shape", "string-offsets", "negative", "huge-dim", "offset-past-end"],
)
def test_corrupt_safetensors_headers_are_a_failed_check(
    tmp_path: Path, header: dict[str, object], message: str
) -> None:
    path = tmp_path / "model.safetensors"
    try:
        raw = json.dumps(header).encode()
    except ValueError:
        raw = b'{"w": {"shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)

    with pytest.raises(SafetensorsError, match=message):
        read_safetensors_summary(path)


def test_a_deeply_nested_safetensors_header_is_a_failed_check(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    raw = b"[" * 100_000 + b"]" * 100_000
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)

    with pytest.raises(SafetensorsError, match="not valid JSON"):
        read_safetensors_summary(path)


def test_broken_pt_symlinks_and_fifo_shards_are_counted_not_crashed_on(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    (experiment / "offline_hidden_states" / "gone.pt").symlink_to(tmp_path / "nowhere.pt")
    os.mkfifo(experiment / "data" / "train-99999-99999.jsonl")

    status, document = validate_json(experiment)

    assert status in (0, 1)
    assert "not a regular file (a FIFO)" in json.dumps(document)


def test_an_unlistable_artifact_directory_is_a_failed_check(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    listing = os.scandir

    def refuse(path: object) -> object:
        if str(path).endswith("offline_hidden_states"):
            raise PermissionError(13, "Permission denied")
        return listing(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", refuse)

    review = review_path(experiment, catalog)

    assert str(review.tasks[1].verdict) == "fail"
    assert any(
        "cannot be listed: Permission denied" in check.detail
        for task in review.validation.tasks
        for check in task.checks
    )


def test_a_trainer_state_bigger_than_allowed_is_not_read(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    state = experiment / "eagle3" / "trainer_state.json"
    state.parent.mkdir(exist_ok=True)
    with state.open("wb") as stream:
        stream.truncate(256 << 20)  # sparse: 256 MB that are never read

    status, document = validate_json(experiment)

    assert "more than the 67108864 allowed" in json.dumps(document)
    assert status in (0, 1)


def test_absurd_task_indices_in_file_names_make_no_tasks(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    (experiment / "stray_99999999999999.log").write_text("")
    (experiment / f"{JOB}_123456789").mkdir()

    found = discover(experiment)

    assert [task.index for task in found.tasks] == [0, 1, 2, 3]
