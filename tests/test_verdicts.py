"""Verdicts where exit codes lie, benign noise, thresholds, re-runs and tolerated failures."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from eagle3_monitor.review.run import ReviewSettings, review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.simulate.logtext import synthesis_log, training_log
from eagle3_monitor.vocabulary import Category, Role, RunVerdict, TaskVerdict
from tests.builders import experiment_with_benchmark, partial_training_log

ALARMING_BUT_BENIGN = """\
srun: error: gpu-a017: task 1: Exited with exit code 143
gpu-a017:2231:2298 [0] NCCL WARN NET/IB : Got async event : GID table change
/usr/local/lib/python3.12/dist-packages/torch/cuda/__init__.py:129: UserWarning: CUDA initialization: CUDA driver initialization failed, you might not have a CUDA gpu. (Triggered internally at /pytorch/c10/cuda/CUDAFunctions.cpp:109.)
Removed 1200 conversations due to existing output files
triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 147456, Hardware limit: 101376. Reducing block sizes or `num_stages` may help.
[rank3]:[W1126 02:02:02.000 ProcessGroupNCCL.cpp:1476] Warning: WARNING: destroy_process_group() was not called before program exit, which can leak resources.
Some weights of the model checkpoint at /hf-local/Qwen/Qwen3-8B were not used when initializing Qwen3ForCausalLM: ['mtp.layers.0.weight']
- This IS expected if you are initializing Qwen3ForCausalLM from the checkpoint of a model trained on another task.
The tokenizer class you load from this checkpoint is not the same type as the class this function is called from. It may result in unexpected tokenization.
ERROR: pip's dependency resolver does not currently take into account all the packages that are installed.
"""
TASK_FAILURE_CLEANUP = (
    "slurmstepd: error: *** STEP 418200.1 ON gpu-a017 CANCELLED AT 2025-11-26T03:40:09 "
    "DUE TO TASK FAILURE ***\n"
)


def test_review_healthy_pipeline_full_of_alarming_lines_passes(
    catalog: Catalog, tmp_path: Path
) -> None:
    rng = random.Random(11)
    plans = healthy_plan()
    plans[0].task_log = synthesis_log(rng) + ALARMING_BUT_BENIGN
    plans[0].sbatch_tail = TASK_FAILURE_CLEANUP
    plans[2].task_log = ALARMING_BUT_BENIGN + training_log(rng)

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.verdict is RunVerdict.PASS
    assert [task.verdict for task in review.tasks] == [TaskVerdict.PASS] * 4
    assert review.root_cause is None
    assert all(task.root_cause is None for task in review.tasks)


def test_review_benign_lines_are_never_findings(catalog: Catalog, tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[1].task_log = ALARMING_BUT_BENIGN + "Successfully processed all 10 conversations.\n"

    review = review_path(write_experiment(tmp_path, plans), catalog)

    rules = {finding.rule for finding in review.tasks[1].findings}
    assert rules <= {"nccl-warn"}, rules


def test_review_oom_on_one_rank_beats_nccl_timeouts_on_the_others(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING,
        task_log=partial_training_log()
        + "[rank0]:[E1126 04:22:10.1 ProcessGroupNCCL.cpp:629] [Rank 0] Watchdog caught collective "
        "operation timeout: WorkNCCL(SeqNum=9, OpType=BROADCAST, NumelIn=1, NumelOut=1, "
        "Timeout(ms)=600000) ran for 600012 milliseconds before timing out.\n"
        "[rank1]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 64.00 MiB.\n"
        "[rank2]:[E1126 04:22:11.1 ProcessGroupNCCL.cpp:629] [Rank 2] Watchdog caught collective "
        "operation timeout: WorkNCCL(SeqNum=9, OpType=BROADCAST, NumelIn=1, NumelOut=1, "
        "Timeout(ms)=600000) ran for 600020 milliseconds before timing out.\n",
        exit_code=1,
        sbatch_tail="srun: error: gpu-b33: tasks 0-3: Exited with exit code 1\n",
    )
    plans[3].ran = False

    review = review_path(write_experiment(tmp_path, plans), catalog)

    cause = review.tasks[2].root_cause
    assert cause is not None and cause.category is Category.GPU_OOM
    assert "64.00 MiB" in cause.summary
    assert any("Exited with exit code 1" in item.text for item in cause.evidence)


def test_review_exit_zero_after_launcher_error_trap_is_a_failure(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING,
        task_log=partial_training_log()
        + "[ERROR] ./code/common/eagle3/train_eagle.sh:63 failed with status 1.\n"
        + "<REPORT>./code/common/eagle3/train_eagle.sh:63</REPORT>\n"
        + "Exported checkpoint to /scratchspace/export\n",
        exit_code=0,
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    task = review.tasks[2]
    assert task.verdict is TaskVerdict.FAIL
    assert task.root_cause is not None
    assert task.root_cause.rule == "launcher-error-trap"
    assert "train_eagle.sh:63 failed with status 1" in task.root_cause.summary


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Average AL: 2.10", TaskVerdict.PASS),
        ("Average AL: 2.09", TaskVerdict.FAIL),
        ("Average Acceptance Length {'accept': 100, 'count': 40, 'ratio': 2.5}", TaskVerdict.PASS),
        ("INFO SpecDecoding metrics: Mean acceptance length: 2.11, Accepted: 5", TaskVerdict.PASS),
        ("REGRESSION: 2.05 < 2.1", TaskVerdict.FAIL),
        ("PASS: 2.3 >= 2.1", TaskVerdict.PASS),
    ],
)
def test_review_benchmark_gate_at_and_around_the_threshold(
    line: str, expected: TaskVerdict, catalog: Catalog, tmp_path: Path
) -> None:
    review = review_path(experiment_with_benchmark(tmp_path, line + "\n"), catalog)

    task = review.tasks[3]
    assert task.verdict is expected
    if expected is TaskVerdict.FAIL:
        assert task.root_cause is not None
        assert task.root_cause.category is Category.LOW_ACCEPTANCE


def test_review_threshold_is_configurable(catalog: Catalog, tmp_path: Path) -> None:
    experiment = experiment_with_benchmark(tmp_path, "Average AL: 2.62\n")

    strict = review_path(experiment, catalog, ReviewSettings(threshold=3.0))
    lenient = review_path(experiment, catalog, ReviewSettings(threshold=2.0))

    assert strict.tasks[3].verdict is TaskVerdict.FAIL
    assert lenient.tasks[3].verdict is TaskVerdict.PASS


def test_review_per_topic_values_only_give_their_mean(catalog: Catalog, tmp_path: Path) -> None:
    lines = "writing Average AL: 2.0\ncoding Average AL: 3.0\n"

    review = review_path(experiment_with_benchmark(tmp_path, lines), catalog)

    acceptance = review.tasks[3].acceptance
    assert acceptance is not None
    assert acceptance.value == pytest.approx(2.5)
    assert acceptance.per_topic == {"writing": 2.0, "coding": 3.0}


def test_review_log_without_trailer_is_running_and_run_incomplete(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[2] = TaskPlan(Role.TRAINING, task_log=partial_training_log(), exit_code=None)
    plans[3].ran = False

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[2].verdict is TaskVerdict.RUNNING
    assert review.tasks[3].verdict is TaskVerdict.NOT_RUN
    assert review.tasks[3].root_cause is None
    assert review.verdict is RunVerdict.INCOMPLETE


def test_review_requeued_job_is_judged_on_its_last_attempt(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    preempted = (
        partial_training_log() + "slurmstepd: error: *** STEP 418202.0 ON gpu-a1 CANCELLED AT "
        "2025-11-26T01:00:00 DUE TO PREEMPTION ***\n"
    )
    plans[2] = TaskPlan(
        Role.TRAINING,
        restarts=[preempted],
        sbatch_tail="job exited with code 1\n+ scontrol requeue 418202\n",
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[2].verdict is TaskVerdict.PASS
    assert review.verdict is RunVerdict.PASS
    history = [f for f in review.tasks[2].findings if f.rule == "slurm-preemption"]
    assert [f.file.name.endswith("_0.out") for f in history] == [True]


def test_review_cancelled_step_in_a_job_that_exited_zero_passes(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[
        0
    ].sbatch_tail = (
        "slurmstepd: error: *** STEP 418200.2 ON gpu-a017 CANCELLED AT 2025-11-26T03:40:09 ***\n"
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[0].verdict is TaskVerdict.PASS


def test_review_tolerated_failure_does_not_hide_the_real_one(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[0] = TaskPlan(
        Role.SYNTHESIS,
        task_log=synthesis_log(random.Random(2), finish=False),
        exit_code=None,
        sbatch_tail="slurmstepd: error: *** JOB 418200 ON gpu-a017 CANCELLED AT "
        "2025-11-26T04:00:00 DUE TO TIME LIMIT ***\n",
    )
    plans[3].task_log = "RANK 0 GPU count: 8\nAverage AL: 1.5\n"

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[0].verdict is TaskVerdict.TIMEOUT
    assert review.root_cause_task is review.tasks[3]
    assert review.root_cause is not None
    assert review.root_cause.category is Category.LOW_ACCEPTANCE


def test_review_role_comes_from_the_script_in_the_batch_trace(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = [TaskPlan(Role.TRAINING), TaskPlan(Role.BENCHMARK)]

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert [task.role for task in review.tasks] == [Role.TRAINING, Role.BENCHMARK]
    assert review.verdict is RunVerdict.PASS


def test_review_time_limit_after_a_hang_names_the_hang(catalog: Catalog, tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[1] = TaskPlan(
        Role.DUMP,
        task_log="RANK 0 GPU count: 8\n[rank1]:[E1126 01:00:00.0 ProcessGroupNCCL.cpp:616] [Rank 1] "
        "Watchdog caught collective operation timeout: WorkNCCL(SeqNum=3, OpType=ALLREDUCE, "
        "NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600100 milliseconds before timing out.\n",
        exit_code=None,
        sbatch_tail="slurmstepd: error: *** JOB 418201 ON gpu-a3 CANCELLED AT 2025-11-26T05:00:00 "
        "DUE TO TIME LIMIT ***\n",
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    task = review.tasks[1]
    assert task.verdict is TaskVerdict.TIMEOUT
    assert task.root_cause is not None and task.root_cause.category is Category.NCCL


def test_review_a_task_skipped_in_this_launch_leaves_the_run_passing(
    catalog: Catalog, tmp_path: Path
) -> None:
    """`pipeline.task_0.skip=true`: the launcher writes nothing for task_0."""
    plans = healthy_plan()
    plans[0].ran = False
    experiment = write_experiment(tmp_path, plans)
    shutil.rmtree(next(experiment.glob("*_0")))

    review = review_path(experiment, catalog)

    assert [task.verdict for task in review.tasks] == [TaskVerdict.SKIPPED] + [TaskVerdict.PASS] * 3
    assert review.verdict is RunVerdict.PASS
    assert review.headline.startswith("3 tasks passed (task_0 skipped)")
    assert review.validation.verdict.value == "passed"


def test_review_a_task_whose_outputs_are_there_but_whose_logs_are_gone_did_not_fail(
    catalog: Catalog, tmp_path: Path
) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    for log in next(experiment.glob("*_1")).glob("*.out"):
        log.unlink()

    review = review_path(experiment, catalog)

    assert review.tasks[1].verdict is TaskVerdict.PASS
    assert review.verdict is RunVerdict.PASS


def test_review_a_task_with_neither_logs_nor_outputs_has_not_run(
    catalog: Catalog, tmp_path: Path
) -> None:
    plans = healthy_plan()
    plans[3].ran = False
    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[3].verdict is TaskVerdict.NOT_RUN
    assert review.verdict is RunVerdict.INCOMPLETE
