"""The judge's reasoning steps (review/judge.py), each on lines as real reports print them; the
source of each excerpt is cited beside it. None of these reports is in bench/accuracy/."""

from __future__ import annotations

import random
from pathlib import Path

from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.simulate.experiment import (
    TaskPlan,
    healthy_plan,
    write_experiment,
)
from eagle3_monitor.simulate.logtext import benchmark_log, dump_log, training_log
from eagle3_monitor.vocabulary import Category, Role, RunVerdict, TaskVerdict
from tests.builders import review_failing_at

ILLEGAL_ACCESS = (  # the PyTorch wording, e.g. pytorch/pytorch#58155's neighbours in CUDA faults
    "[rank2]: RuntimeError: CUDA error: an illegal memory access was encountered\n"
    "[rank2]: CUDA kernel errors might be asynchronously reported at some other API call, so the "
    "stacktrace below might be incorrect.\n"
)
TORCHRUN_FAILED = (  # hpcaitech/ColossalAI#3571, Facico/Chinese-Vicuna#113
    "ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 2 "
    "(pid: 130182) of binary: /usr/bin/python3\n"
    "Traceback (most recent call last):\n"
    '  File "/usr/local/bin/torchrun", line 8, in <module>\n'
    "    sys.exit(main())\n"
    "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
    "============================================================\n"
    "main.py FAILED\n"
    "Root Cause (first observed failure):\n"
)
TRAP = "[ERROR] ./code/common/eagle3/train_eagle.sh:63 failed with status 1.\n"
EXPORT_FINDS_NOTHING = (  # transformers' wording when a checkpoint directory is empty
    "Traceback (most recent call last):\n"
    '  File "/workspace/code/modules/Model-Optimizer/examples/speculative_decoding/scripts/'
    'export_hf_checkpoint.py", line 44, in <module>\n'
    "OSError: Error no file named pytorch_model.bin, model.safetensors, tf_model.h5, "
    "model.ckpt.index or flax_model.msgpack found in directory /scratchspace/eagle3.\n"
)
IB_COMPLETION = (  # NVIDIA/nccl#1814
    "hostname-test:984:1357 [4] ib_plugin.c:1615 NCCL WARN NET/IB : Got completion from peer "
    "172.36.143.59<44206> with status=12 opcode=129 len=65536 vendor err 129 (Recv) localGid "
    "::ffff:29.87.88.182 remoteGids::ffff:29.87.4.221\n"
)
NCCL_TIMEOUT = (
    "[rank5]:[E1126 04:22:10.448012 ProcessGroupNCCL.cpp:629] [Rank 5] Watchdog caught "
    "collective operation timeout: WorkNCCL(SeqNum=2210, OpType=ALLREDUCE, NumelIn=1, "
    "NumelOut=1, Timeout(ms)=600000) ran for 600081 milliseconds before timing out.\n"
)
NCCL_REMOTE = (
    "torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/"
    "ProcessGroupNCCL.cpp:1970, remote process exited or there was a network error, NCCL "
    "version 2.21.5\n"
)
ENGINE_DEAD = (  # vllm-project/vllm#19668
    "ERROR 06-15 13:57:57 [async_llm.py:420] vllm.v1.engine.exceptions.EngineDeadError: "
    "EngineCore encountered an issue. See stack trace (above) for the root cause.\n"
    "INFO 06-15 13:57:57 [async_llm.py:346] Request chatcmpl-8a6f failed (engine dead).\n"
)
VLLM_LOAD_WEIGHTS_KEYERROR = (  # vllm-project/llm-compressor#959
    "ERROR 12-05 20:24:46 engine.py:366] Traceback (most recent call last):\n"
    'ERROR 12-05 20:24:46 engine.py:366]   File "/usr/local/lib/python3.12/dist-packages/vllm/'
    'model_executor/models/qwen2.py", line 371, in load_weights\n'
    "ERROR 12-05 20:24:46 engine.py:366]     param = params_dict[name]\n"
    "ERROR 12-05 20:24:46 engine.py:366] KeyError: 'layers.0.mlp.down_proj.weight_scale'\n"
)
SLOW_TOKENIZER = (  # yangjianxin1/Firefly#32
    "Traceback (most recent call last):\n"
    '  File "/opt/conda/lib/python3.10/site-packages/transformers/tokenization_utils_base.py", '
    "line 1825, in from_pretrained\n"
    '  File "/opt/conda/lib/python3.10/site-packages/transformers/convert_slow_tokenizer.py", '
    "line 113, in __init__\n"
    "Exception: expected value at line 1 column 1\n"
)
MODELING_IMPORT = (  # transformers' dynamic-module check, as in many custom-code model reports
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.12/dist-packages/transformers/dynamic_module_utils.py", '
    "line 182, in check_imports\n"
    "ImportError: This modeling file requires the following packages that were not found in "
    "your environment: flash_attn. Run `pip install flash_attn`\n"
)


# ---------------------------------------------------------------- 1. the first failure wins


def test_the_first_failing_step_is_the_cause_not_the_export_that_found_nothing(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = training_log(random.Random(3), steps=4, finish=False) + ILLEGAL_ACCESS
    log += TORCHRUN_FAILED + TRAP + EXPORT_FINDS_NOTHING
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.CUDA_ERROR, cause
    assert "illegal memory access" in cause.summary


def test_a_step_that_failed_without_a_known_error_is_still_the_cause(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = training_log(random.Random(3), steps=4, finish=False) + TRAP + EXPORT_FINDS_NOTHING
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.UNKNOWN
    assert "train_eagle.sh:63 failed with status 1" in cause.summary


def test_the_wrapper_exception_of_torchrun_is_never_the_headline(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (
        "RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        "ValueError: Cannot find the conversation field 'conversations' in sample 3\n"
    ) + TORCHRUN_FAILED
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert (
        cause is not None and "ValueError" in cause.summary and "ChildFailed" not in cause.summary
    )


# ---------------------------------------------------------------- 2. infrastructure first


def test_an_infiniband_fault_beats_the_nccl_timeouts_it_causes(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = training_log(random.Random(3), steps=3, finish=False) + NCCL_TIMEOUT + IB_COMPLETION
    log += NCCL_REMOTE
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.NODE_FAILURE, cause


def test_a_node_that_stopped_answering_beats_the_nccl_error_of_its_peers(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.DUMP,
        task_log=dump_log(random.Random(2), finish=False) + NCCL_REMOTE,
        exit_code=1,
        sbatch_tail=(  # aws/aws-parallelcluster#4179
            "srun: error: Task launch for StepId=20.0 failed on node compute-gpu-33: Socket timed "
            "out on send/recv operation\n"
            "srun: error: Application launch failed: Socket timed out on send/recv operation\n"
        ),
    )

    cause = review_failing_at(tmp_path, 1, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.NODE_FAILURE, cause


def test_a_gpu_fault_beats_the_nccl_error_it_causes(tmp_path: Path, catalog: Catalog) -> None:
    log = training_log(random.Random(3), steps=3, finish=False) + NCCL_REMOTE
    log += (  # pytorch/pytorch#58155
        "terminate called after throwing an instance of 'c10::Error'\n"
        "  what():  CUDA error: uncorrectable NVLink error detected during the execution\n"
    )
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.CUDA_ERROR
    assert cause.rule == "gpu-hardware-fault"


def test_a_real_nccl_failure_without_a_fault_under_it_stays_nccl(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = training_log(random.Random(3), steps=3, finish=False) + NCCL_TIMEOUT + NCCL_REMOTE
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.NCCL


# ---------------------------------------------------------------- 3. recovered is not failed


def test_an_engine_dead_after_the_benchmark_printed_its_result_is_a_pass(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    log = benchmark_log(random.Random(3)) + ENGINE_DEAD
    plans[3] = TaskPlan(Role.BENCHMARK, task_log=log, exit_code=1)

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[3].verdict is TaskVerdict.PASS, review.tasks[3].root_cause
    assert review.verdict is RunVerdict.PASS


def test_a_completed_job_that_went_over_its_memory_request_at_some_point_passed(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    plans[1].sbatch_tail = "slurmstepd: error: Exceeded step memory limit at some point.\n"

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[1].verdict is TaskVerdict.PASS
    assert review.verdict is RunVerdict.PASS


def test_a_traceback_after_the_dump_succeeded_is_shutdown_noise(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    plans[1].task_log = dump_log(random.Random(2)) + (
        "Exception ignored in atexit callback: <function _exit_function at 0x7f2b1c2d3e20>\n"
        "Traceback (most recent call last):\n"
        "RuntimeError: cannot schedule new futures after interpreter shutdown\n"
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[1].verdict is TaskVerdict.PASS, review.tasks[1].root_cause


def test_a_start_up_error_the_server_came_up_after_is_survived(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    plans[0].task_log = (
        "RANK 0 GPU count: 8\nWaiting for server to start...\n"
        "WARNING 11-26 02:00:10 [hf.py:112] HTTPSConnectionPool(host='huggingface.co', port=443): "
        "Max retries exceeded with url: /api/models/Qwen/Qwen3-8B (Caused by "
        "NameResolutionError); using the local cache\n"
        "Server is up! (waited 240s)\nMain process exit\n"
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[0].verdict is TaskVerdict.PASS, review.tasks[0].root_cause


def test_an_error_after_the_work_that_proves_failure_still_fails_it(
    tmp_path: Path, catalog: Catalog
) -> None:
    plans = healthy_plan()
    plans[1].task_log = (
        dump_log(random.Random(2)) + "Successfully processed 0 out of 24 conversations.\n"
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    assert review.tasks[1].verdict is TaskVerdict.FAIL


# ---------------------------------------------------------------- 4. environment, model, code


def test_a_keyerror_while_loading_weights_in_vllm_is_an_unsupported_model(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.SYNTHESIS,
        task_log="RANK 0 GPU count: 8\nWaiting for server to start...\n"
        + VLLM_LOAD_WEIGHTS_KEYERROR
        + "ERROR: vLLM server process died during startup\n",
        exit_code=1,
    )

    cause = review_failing_at(tmp_path, 0, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.UNSUPPORTED_MODEL, cause


def test_an_exception_in_the_tokenizer_code_is_a_tokenizer_failure(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n" + SLOW_TOKENIZER, exit_code=1)

    cause = review_failing_at(tmp_path, 1, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.TOKENIZER, cause


def test_an_import_error_raised_through_model_code_is_the_environment(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(Role.DUMP, task_log="RANK 0 GPU count: 8\n" + MODELING_IMPORT, exit_code=1)

    cause = review_failing_at(tmp_path, 1, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.PYTHON_ENV, cause
    assert "flash_attn" in cause.summary


def test_a_file_missing_on_the_tasks_own_input_path_is_a_missing_input(
    tmp_path: Path, catalog: Catalog
) -> None:
    plan = TaskPlan(
        Role.DUMP,
        task_log="RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'/lustre/fsw/exp/cicd_17/data/train-00001-00004.jsonl'\n",
        exit_code=1,
        command="common/eagle3/dump_offline_data_hf.sh --input-data /lustre/fsw/exp/cicd_17/data "
        "--output-dir /lustre/fsw/exp/cicd_17/offline_hidden_states",
    )

    cause = review_failing_at(tmp_path, 1, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.MISSING_INPUT, cause


def test_an_import_failure_before_model_architectures_not_supported_is_the_environment(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (  # vllm-project/vllm#9624: vLLM reports a broken import as an unsupported model
        "RANK 0 GPU count: 8\nWaiting for server to start...\n"
        "ERROR 10-25 00:26:24 registry.py:272]     from transformers import PretrainedConfig\n"
        "ERROR 10-25 00:26:24 registry.py:272] ModuleNotFoundError: No module named "
        "'transformers'\n"
        "ValueError: Model architectures ['LlamaForCausalLM'] are not supported for now. "
        "Supported architectures: dict_keys(['AquilaModel', 'ArcticForCausalLM'])\n"
        "ERROR: vLLM server process died during startup\n"
    )
    plan = TaskPlan(Role.SYNTHESIS, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 0, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.PYTHON_ENV, cause


def test_a_model_config_without_an_expected_attribute_is_an_unsupported_model(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (  # vllm-project/vllm#1713
        "RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.10/dist-packages/vllm/config.py", line 128, in '
        "verify_with_parallel_config\n"
        "AttributeError: 'ChatGLMConfig' object has no attribute 'num_hidden_layers'\n"
    )
    plan = TaskPlan(Role.SYNTHESIS, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 0, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.UNSUPPORTED_MODEL, cause


def test_a_keyerror_while_modelopt_builds_the_draft_says_check_eagle_decoder_type(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (
        "RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.12/dist-packages/modelopt/torch/speculative/plugins/'
        'transformers.py", line 380, in modify\n'
        "KeyError: 'kimi_k2'\n"
    )
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.UNSUPPORTED_MODEL
    assert "eagle_decoder_type" in cause.fix


def test_loss_zero_with_a_nan_gradient_norm_is_divergence(tmp_path: Path, catalog: Catalog) -> None:
    log = training_log(random.Random(3), steps=3, finish=False) + (  # AnswerDotAI/ModernBERT#233
        "{'loss': 0.2051, 'grad_norm': nan, 'learning_rate': 9.774074342405685e-06, 'epoch': 0.53}\n"
        "{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 9.773696745450087e-06, 'epoch': 0.53}\n"
    )
    plans = healthy_plan()
    plans[2] = TaskPlan(
        Role.TRAINING, task_log=log + "Exported checkpoint to /scratchspace/export\n"
    )

    review = review_path(write_experiment(tmp_path, plans), catalog)

    cause = review.tasks[2].root_cause
    assert review.tasks[2].verdict is TaskVerdict.FAIL
    assert cause is not None and cause.category is Category.TRAINING_DIVERGENCE


def test_an_infiniband_port_error_event_is_the_network(tmp_path: Path, catalog: Catalog) -> None:
    log = (
        training_log(random.Random(3), steps=3, finish=False)
        + ("gpu-b12:3311:3390 [0] NCCL WARN NET/IB : mlx5_2:1 Got async event : port error\n")
        + NCCL_TIMEOUT
    )
    plan = TaskPlan(Role.TRAINING, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 2, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.NODE_FAILURE


def test_an_errno_13_from_any_os_call_is_a_permission_problem(
    tmp_path: Path, catalog: Catalog
) -> None:
    log = (
        "RANK 0 GPU count: 8\nTraceback (most recent call last):\n"
        "OSError: [Errno 13] Permission denied: '/lustre/fsw/shared/hf_cache/models--Qwen--Qwen3-8B'\n"
    )
    plan = TaskPlan(Role.DUMP, task_log=log, exit_code=1)

    cause = review_failing_at(tmp_path, 1, plan, catalog).root_cause

    assert cause is not None and cause.category is Category.PERMISSION
