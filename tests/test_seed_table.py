"""Where the EAGLE3 skills' triage tables and the review disagreed: one test each. Fixes that
depend on what the task actually ran (its script, backend, tensor parallelism) come from the
launcher command in its batch trace."""

from __future__ import annotations

import random
from pathlib import Path

from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import TaskPlan
from eagle3_monitor.simulate.logtext import dump_log, synthesis_log
from eagle3_monitor.vocabulary import Category, Role, TaskVerdict
from tests.builders import review_failing_at

# huggingface_hub's wording when a local path that does not exist is taken for a repo id
HF_VALIDATION = (
    "huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or "
    "'namespace/repo_name': '/scratchspace/eagle3/checkpoint-final'. Use `repo_type` argument "
    "if needed.\n"
)
# PyTorch's OOM message as printed while loading a checkpoint shard (pytorch/pytorch#121945)
LOADING_OOM = (
    "Loading safetensors checkpoint shards:  38% Completed | 11/29 [01:02<01:42,  5.70s/it]\n"
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 896.00 MiB. GPU 1 has a total "
    "capacity of 79.10 GiB of which 512.19 MiB is free. Process 2113 has 78.58 GiB memory in use.\n"
)


def test_hf_validation_error_from_the_stale_offline_training_script_says_use_train_eagle(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.TRAINING,
        task_log="RANK 0 GPU count: 8\nTraceback (most recent call last):\n" + HF_VALIDATION,
        exit_code=1,
        command="common/eagle3/offline_training.sh --data /scratchspace/offline_hidden_states",
    )

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.MISSING_SCRIPT
    assert "train_eagle.sh" in cause.fix


def test_the_same_error_from_the_current_script_is_not_blamed_on_the_script(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.TRAINING, task_log="RANK 0 GPU count: 8\n" + HF_VALIDATION, exit_code=1
    )  # common/eagle3/train_eagle.sh

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is not Category.MISSING_SCRIPT


def test_importing_modelopt_fails_means_the_container_lacks_modelopt(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (
        "RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        '  File "/workspace/code/modules/Model-Optimizer/examples/speculative_decoding/main.py",'
        " line 48, in <module>\n"
        "    import modelopt.torch.speculative as mtsp\n"
        "ModuleNotFoundError: No module named 'modelopt'\n"
    )
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.PYTHON_ENV
    assert "ModelOpt" in cause.fix


def test_a_server_never_healthy_until_the_time_limit_is_a_startup_failure(
    tmp_path: Path, catalog: Catalog
) -> None:
    waiting = "".join(
        f"Server not ready yet ({seconds}/7200s), retrying in 10 seconds...\n"
        for seconds in range(10, 3600, 10)
    )
    plan = TaskPlan(
        Role.SYNTHESIS,
        task_log="RANK 0 GPU count: 8\nWaiting for server to start...\n" + waiting,
        exit_code=None,
        sbatch_tail="slurmstepd: error: *** JOB 418200 ON gpu-a017 CANCELLED AT "
        "2026-11-26T04:00:00 DUE TO TIME LIMIT ***\n",
    )

    review = review_failing_at(tmp_path, 0, plan, catalog)

    task = review.tasks[0]
    assert task.verdict is TaskVerdict.TIMEOUT
    assert task.root_cause is not None and task.root_cause.category is Category.SERVER_STARTUP


def test_a_time_limit_after_the_server_came_up_is_a_time_limit(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.SYNTHESIS,
        task_log=synthesis_log(random.Random(4), finish=False),  # up, then querying
        exit_code=None,
        sbatch_tail="slurmstepd: error: *** JOB 418200 ON gpu-a017 CANCELLED AT "
        "2026-11-26T04:00:00 DUE TO TIME LIMIT ***\n",
    )

    cause = review_failing_at(tmp_path, 0, plan, catalog).tasks[0].root_cause

    assert cause is not None and cause.category is Category.TIME_LIMIT


def test_a_dump_oom_on_the_hf_backend_does_not_advise_the_hf_backend(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = dump_log(random.Random(2), finish=False) + LOADING_OOM
    on_hf = TaskPlan(Role.DUMP, task_log=log, exit_code=1)  # dump_offline_data_hf.sh
    on_trtllm = TaskPlan(
        Role.DUMP,
        task_log=log,
        exit_code=1,
        command="common/eagle3/dump_offline_data.sh --tp 2 --input-data /scratchspace/data",
    )

    hf = review_failing_at(tmp_path / "hf", 1, on_hf, catalog).root_cause
    trtllm = review_failing_at(tmp_path / "trt", 1, on_trtllm, catalog).root_cause

    assert hf is not None and trtllm is not None
    assert hf.category is trtllm.category is Category.GPU_OOM
    assert "use the HF backend" not in hf.fix and "already" in hf.fix
    assert "use the HF backend" in trtllm.fix and "(now 2)" in trtllm.fix


def test_an_oom_while_loading_the_model_in_task_0_advises_more_tp_or_a_shorter_max_length(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.SYNTHESIS,
        task_log="RANK 0 GPU count: 8\nWaiting for server to start...\n" + LOADING_OOM,
        exit_code=1,
        command="common/vllm/query.sh --model /hf-local/Qwen/Qwen3-235B-A22B "
        "--tensor-parallel-size 4 --max-model-len 32768 -- --data /hf-local/data",
    )

    cause = review_failing_at(tmp_path, 0, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.GPU_OOM
    assert "--tensor-parallel-size (now 4)" in cause.fix
    assert "lower --max-model-len (now 32768)" in cause.fix
    assert "will not help" not in cause.fix
