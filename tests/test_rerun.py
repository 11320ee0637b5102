"""`rerun`: for every failure position and mechanical fix, the re-run YAML skips what passed,
reads the old run's artifacts, and changes the knob; and it finds the original pipeline in
what the launcher leaves behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.lint.run import lint_text
from eagle3_monitor.review.rerun_advice import plan_rerun, rerun_advice
from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.safe_read import ReadPolicy
from eagle3_monitor.simulate.experiment import TaskPlan, plan_failing_at, write_experiment
from eagle3_monitor.simulate.logtext import TaskNames
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX, Role
from tests.builders import benchmark_plan
from tests.cli_runner import run_cli

OLD = "/cicd/cicd_1764115200"
JOB = "Qwen3-8B_EAGLE3_offline"
TIME_LIMIT_TAIL = (
    "slurmstepd: error: *** JOB 418200 ON gpu-a017 CANCELLED AT 2025-06-11T22:00:14 "
    "DUE TO TIME LIMIT ***\n"
)
GPU_OOM = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.50 GiB. GPU 0 has a total "
    "capacity of 79.44 GiB of which 1.19 GiB is free.\n"
)
TRUST = (
    "ValueError: The repository /hf-local/moonshotai/Kimi-K2 contains custom code which must be "
    "executed to correctly load the model. You can inspect the repository content at "
    "/hf-local/moonshotai/Kimi-K2 .\n"
    "Please pass the argument `trust_remote_code=True` to allow custom code to be run.\n"
)
# Commands with tensor parallelism 2 on the batch script's 8 GPUs, so an OOM fix can double it.
COMMANDS = {
    0: "common/vllm/query.sh --model /hf-local/Qwen/Qwen3-8B --tensor-parallel-size 2 -- "
    "--data /hf-local/prompts --save /scratchspace/data",
    1: "common/eagle3/dump_offline_data.sh --input-data /scratchspace/data "
    "--output-dir /scratchspace/offline_hidden_states --max-seq-len 8192 --tp 2 --moe-ep 2",
    2: None,  # the launcher's train_eagle.sh with OmegaConf overrides
    3: "common/specdec_bench/quick_check.sh --draft_model_dir /scratchspace/export "
    "--engine VLLM --tp_size 2 --mtbench /hf-local/mt_bench/question.jsonl",
}
INPUT_OF_TASK = {
    1: ("--input-data", "data"),
    2: ("data.offline_data_path", "offline_hidden_states"),
    3: ("--draft_model_dir", "export"),
}
LONGER_TIME = {0: "16:00:00", 1: "08:00:00", 2: "1-00:00:00", 3: "04:00:00"}


def experiment_failing(root: Path, index: int, failure: str) -> Path:
    role = ROLE_BY_TASK_INDEX[index]
    plans = plan_failing_at(index, TaskPlan(role))
    for position, plan in enumerate(plans):
        plan.command = COMMANDS[position]
    failed = plans[index]
    failed.artifacts = False
    if failure == "time_limit":
        failed.task_log, failed.exit_code = "still working\n", None
        failed.sbatch_tail = TIME_LIMIT_TAIL
    else:
        failed.task_log, failed.exit_code = (GPU_OOM if failure == "gpu_oom" else TRUST), 1
    return write_experiment(root, plans)


def rerun_document(experiment: Path, catalog: Catalog, **options: Any) -> tuple[dict, str]:  # type: ignore[type-arg]
    plan = plan_rerun(review_path(experiment, catalog), **options)
    return yaml.safe_load(plan.result.text), plan.result.text


def task(document: dict, index: int) -> dict:  # type: ignore[type-arg]
    return document["pipeline"][f"task_{index}"]  # type: ignore[no-any-return]


def environment(entry: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {name: value for item in entry.get("environment", []) for name, value in item.items()}


@pytest.mark.parametrize("failure", ["time_limit", "gpu_oom", "trust_remote_code"])
@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_rerun_skips_what_passed_reads_the_old_artifacts_and_turns_the_knob(
    tmp_path: Path, catalog: Catalog, index: int, failure: str
) -> None:
    experiment = experiment_failing(tmp_path, index, failure)
    review = review_path(experiment, catalog)
    assert review.root_cause is not None and str(review.root_cause.category) == failure

    document, text = rerun_document(experiment, catalog)

    skipped = {i for i in range(4) if task(document, i).get("skip") is True}
    assert skipped == set(range(index))
    if index in INPUT_OF_TASK:
        option, artifact = INPUT_OF_TASK[index]
        assert any(
            f"{option}" in arg and f"{OLD}/{artifact}" in arg
            for arg in task(document, index)["args"]
        )
    for later in range(index + 1, 4):
        assert not any(OLD in arg for arg in task(document, later)["args"])  # reads the new run
    assert_knob_turned(document, text, index, failure)
    assert lint_text(text, "rerun.yaml", None).errors == 0


def assert_knob_turned(document: dict, text: str, index: int, failure: str) -> None:  # type: ignore[type-arg]
    failed = task(document, index)
    if failure == "time_limit":
        assert failed["slurm_config"]["time"] == LONGER_TIME[index]
        assert "slurm_config.time" in text and "(it hit its time limit)" in text
    elif failure == "gpu_oom":
        expected = {0: "--tensor-parallel-size 4", 1: "--tp 4", 3: "--tp_size 4"}.get(index)
        if expected is None:  # training has no tensor parallelism: the fix is said, not made
            assert "# eagle3-monitor: gpu_oom in cicd_1764115200:" in text
            assert f"task_{index}: to do by hand:" in text
        else:
            assert expected in failed["args"]
            assert "(GPU out of memory; 8 GPUs)" in text
        if index == 1:
            assert "--moe-ep 4" in failed["args"]
    else:
        for later in range(index, 4):
            assert is_trusted(later, task(document, later)), later


def is_trusted(index: int, entry: dict) -> bool:  # type: ignore[type-arg]
    """trust_remote_code passed the way task `index`'s script takes it."""
    args = entry["args"]
    if index == 0:
        return bool(args.index("--trust-remote-code") < args.index("--"))
    if index == 1:
        return environment(entry).get("TRUST_REMOTE_CODE") == "1"
    return ("model.trust_remote_code=true" if index == 2 else "--trust_remote_code") in args


def test_low_acceptance_retrains_and_benchmarks_again(tmp_path: Path, catalog: Catalog) -> None:
    experiment = write_experiment(
        tmp_path,
        benchmark_plan("Average Acceptance Length {'accept': 10, 'count': 9, 'ratio': 1.12}\n"),
    )
    for plan_file in experiment.glob("*_sbatch.sh"):
        assert plan_file.is_file()

    document, text = rerun_document(experiment, catalog)

    assert [task(document, i).get("skip") is True for i in range(4)] == [True, True, False, False]
    assert f"data.offline_data_path={OLD}/offline_hidden_states" in task(document, 2)["args"]
    assert "--draft_model_dir /scratchspace/export" in task(document, 3)["args"]
    assert "to do by hand:" in text


def test_only_runs_one_task_and_from_overrides_the_start(tmp_path: Path, catalog: Catalog) -> None:
    experiment = experiment_failing(tmp_path, 2, "gpu_oom")

    only, _ = rerun_document(experiment, catalog, start=1, only=True)
    later, text = rerun_document(experiment, catalog, start=3)

    assert [task(only, i).get("skip") is True for i in range(4)] == [True, False, True, True]
    assert f"--input-data {OLD}/data" in task(only, 1)["args"]
    assert [task(later, i).get("skip") is True for i in range(4)] == [True, True, True, False]
    assert "CHECK: /scratchspace/export is not in cicd_1764115200" in text
    assert "task_2: skip: true (did not pass in cicd_1764115200" in text


def test_a_run_that_passed_has_nothing_to_rerun_unless_asked(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, plan_failing_at(3, TaskPlan(Role.BENCHMARK)))

    refused = run_cli("rerun", experiment, "--no-slurm")
    forced = run_cli("rerun", experiment, "--no-slurm", "--from", "task_3")

    assert refused.status == 2 and "the run passed: nothing failed to re-run from" in refused.stderr
    assert forced.status == 0, forced
    assert yaml.safe_load(forced.stdout)["pipeline"]["task_2"]["skip"] is True


def test_cli_writes_the_yaml_and_says_what_changed(tmp_path: Path) -> None:
    experiment = experiment_failing(tmp_path / "runs", 1, "gpu_oom")
    output = tmp_path / "rerun.yaml"

    done = run_cli("rerun", experiment, "--no-slurm", "-o", output)

    assert done.status == 0, done
    assert done.stdout == ""
    assert f"eagle3-monitor: {output} re-runs cicd_1764115200 from task_1" in done.stderr
    assert f"  task_1: --input-data /scratchspace/data → {OLD}/data" in done.stderr
    assert yaml.safe_load(output.read_text())["pipeline"]["task_0"]["skip"] is True


def test_the_launchers_packaged_example_is_the_original_and_keeps_its_comments(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = experiment_failing(tmp_path, 1, "gpu_oom")
    example = (
        experiment
        / f"{JOB}_0"
        / "code"
        / "examples"
        / "Qwen"
        / "Qwen3-8B"
        / "hf_offline_eagle3.yaml"
    )
    example.parent.mkdir(parents=True)
    example.write_text(packaged_pipeline())

    document, text = rerun_document(experiment, catalog)

    assert "# Step 2: Dump hidden states from target model" in text
    assert "Original: the launcher's example packaged with the run" in text
    assert document["pipeline"]["global_vars"]["hf_model"] == "/hf-local/Qwen/Qwen3-8B"
    assert f"--input-data {OLD}/data" in task(document, 1)["args"]


def test_a_packaged_example_that_ran_other_arguments_is_not_taken(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = experiment_failing(tmp_path, 1, "gpu_oom")
    example = experiment / f"{JOB}_0" / "code" / "examples" / "hf_offline_eagle3.yaml"
    example.parent.mkdir(parents=True)
    example.write_text(packaged_pipeline().replace("--tp 2", "--tp 8"))

    _, text = rerun_document(experiment, catalog)

    assert "Original: rebuilt from the batch scripts" in text


def test_without_batch_scripts_the_batch_logs_rebuild_the_pipeline(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = experiment_failing(tmp_path, 2, "time_limit")
    for script in experiment.glob("*_sbatch.sh"):
        script.unlink()

    document, text = rerun_document(experiment, catalog)

    assert (
        task(document, 2)["slurm_config"]["time"] == "08:00:00"
    )  # the launcher's 04:00:00 doubled
    assert (
        task(document, 2)["slurm_config"]["container"]
        == "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc10"
    )
    assert f"data.offline_data_path={OLD}/offline_hidden_states" in task(document, 2)["args"]
    assert "Original: rebuilt from the batch scripts" in text


def test_secrets_in_the_batch_script_never_reach_the_yaml(tmp_path: Path, catalog: Catalog) -> None:
    experiment = experiment_failing(tmp_path, 1, "gpu_oom")
    script = experiment / f"{JOB}_1_sbatch.sh"
    text = script.read_text()
    assert "export HF_TOKEN=hf_simulatedTokenNotReal" in text  # the launcher's own
    script.write_text(
        text.replace(
            "export HF_MODEL_CKPT", "export WANDB_API_KEY=wandb-secret-1\nexport HF_MODEL_CKPT"
        )
    )

    document, rerun = rerun_document(experiment, catalog)

    assert "hf_simulatedTokenNotReal" not in rerun and "wandb-secret-1" not in rerun
    assert {"HF_TOKEN", "WANDB_API_KEY"}.isdisjoint(environment(task(document, 1)))
    assert "task_1: WANDB_API_KEY left out (a secret)" in rerun


def test_a_given_yaml_is_the_original(tmp_path: Path, catalog: Catalog) -> None:
    experiment = experiment_failing(tmp_path / "runs", 1, "gpu_oom")
    pipeline = tmp_path / "mine.yaml"
    pipeline.write_text(packaged_pipeline())

    plan = plan_rerun(review_path(experiment, catalog), yaml_file=pipeline)

    assert f"Original: {pipeline}." in plan.result.text
    assert "--tp 4" in plan.result.text


def test_no_pipeline_anywhere_is_one_line_exit_2(tmp_path: Path) -> None:
    experiment = experiment_failing(tmp_path, 1, "gpu_oom")
    for leftover in [*experiment.glob("*_sbatch.sh"), *experiment.glob("*/sbatch_*.out")]:
        leftover.unlink()

    done = run_cli("rerun", experiment, "--no-slurm")

    assert done.status == 2, done
    assert "pass --yaml with the pipeline it was launched with" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_task_directory_review_advises_a_rerun_from_that_task(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = experiment_failing(tmp_path, 2, "gpu_oom")

    review = review_path(experiment / f"{JOB}_2", catalog)

    assert review.rerun is not None
    assert review.rerun.command.startswith(
        f"eagle3-monitor rerun {experiment} --from task_2 > rerun.yaml"
    )
    assert review.rerun.changes[:2] == (
        "task_0: skip: true (before task_2; its outputs are read from cicd_1764115200)",
        "task_1: skip: true (before task_2; its outputs are read from cicd_1764115200)",
    )


def test_a_batch_script_linked_outside_the_roots_is_not_read(
    tmp_path: Path, catalog: Catalog
) -> None:
    runs = tmp_path / "runs"
    experiment = experiment_failing(runs, 1, "gpu_oom")
    script = experiment / f"{JOB}_1_sbatch.sh"
    elsewhere = tmp_path / "elsewhere.sh"
    elsewhere.write_text(script.read_text().replace("--tp 2", "--tp 2 --secret-flag"))
    script.unlink()
    script.symlink_to(elsewhere)

    plan = plan_rerun(review_path(experiment, catalog), policy=ReadPolicy(roots=(runs,)))

    assert "--secret-flag" not in plan.result.text  # the batch log's trace was used instead
    assert "--tp 2" in plan.result.text  # the trace has no #SBATCH lines: GPUs unknown, no knob


def packaged_pipeline() -> str:
    """The launcher's example, shaped like tools/launcher/examples/Qwen/Qwen3-8B, running what
    `experiment_failing` ran."""
    assert TaskNames(JOB, 0).directory == f"{JOB}_0"
    return f"""\
# EAGLE3 offline speculative decoding pipeline for Qwen3-8B.
job_name: {JOB}
pipeline:
  allow_to_fail: false
  skip: false
  note:

  global_vars:
    hf_model: /hf-local/Qwen/Qwen3-8B

  # Step 1: Data synthesis via vLLM server
  task_0:
    script: common/vllm/query.sh
    args:
      - --model <<global_vars.hf_model>>
      - --tensor-parallel-size 2
      - --
      - --data /hf-local/prompts
      - --save /scratchspace/data
    slurm_config:
      _factory_: "slurm_factory"
      gpus_per_node: 8

  # Step 2: Dump hidden states from target model
  task_1:
    script: common/eagle3/dump_offline_data.sh
    args:
      - --input-data /scratchspace/data
      - --output-dir /scratchspace/offline_hidden_states
      - --max-seq-len 8192
      - --tp 2
      - --moe-ep 2
    environment:
      - HF_MODEL_CKPT: <<global_vars.hf_model>>
    slurm_config:
      _factory_: "slurm_factory"
      gpus_per_node: 8

  # Step 3: Train EAGLE3 draft head
  task_2:
    script: common/eagle3/train_eagle.sh
    args:
      - --config modules/Model-Optimizer/modelopt_recipes/general/speculative_decoding/eagle3.yaml
      - model.model_name_or_path=<<global_vars.hf_model>>
      - data.offline_data_path=/scratchspace/offline_hidden_states
      - training.output_dir=/scratchspace/eagle3
      - training.training_seq_len=4096
      - training.disable_tqdm=true
    slurm_config:
      _factory_: "slurm_factory"
      gpus_per_node: 8

  # Step 4: Benchmark
  task_3:
    script: common/specdec_bench/quick_check.sh
    args:
      - --draft_model_dir /scratchspace/export
      - --engine VLLM
      - --tp_size 2
      - --mtbench /hf-local/mt_bench/question.jsonl
    slurm_config:
      _factory_: "slurm_factory"
      gpus_per_node: 8
"""


def test_files_the_daemon_may_not_quote_are_not_read_for_the_advice(
    tmp_path: Path, catalog: Catalog
) -> None:
    experiment = experiment_failing(tmp_path / "runs", 1, "gpu_oom")
    review = review_path(experiment, catalog)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    advice = rerun_advice(review, ReadPolicy(roots=(elsewhere,)))

    assert advice is not None and advice.changes == ()
    assert "--yaml <pipeline.yaml> > rerun.yaml" in advice.command
    assert "no pipeline YAML, batch script or batch log" in advice.note
