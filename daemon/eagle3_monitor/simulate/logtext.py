"""The text EAGLE3 pipeline tasks print, in the shapes the real tools use.

Each role's healthy output (vLLM start-up and queries, the hidden-state dump, HF Trainer loss
dicts with `\\r` progress bars, the specdec benchmark), NeMo-Run's batch-step trace, and the
harmless-but-alarming lines real runs are full of. The demo, the bundled example and the tests
build experiments from these pieces; failures are spliced in by the caller.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eagle3_monitor.vocabulary import Role

ACCOUNT_PREFIX = "coreai_dlalgo_modelopt-modelopt"
SCRIPT_OF_ROLE = {
    Role.SYNTHESIS: "common/vllm/query.sh",
    Role.DUMP: "common/eagle3/dump_offline_data_hf.sh",
    Role.TRAINING: "common/eagle3/train_eagle.sh",
    Role.BENCHMARK: "common/specdec_bench/quick_check.sh",
}
# The arguments of the launcher's own Qwen3-8B example (tools/launcher/examples/Qwen/Qwen3-8B).
ARGS_OF_ROLE = {
    Role.SYNTHESIS: "--model /hf-local/Qwen/Qwen3-8B --tensor-parallel-size 8 --max-num-seqs 32 "
    "-- --data /hf-local/modelopt/Speculative-Decoding-Dataset-v2-default "
    "--save /scratchspace/data",
    Role.DUMP: "--input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states "
    "--max-seq-len 4096",
    Role.TRAINING: "--config modules/Model-Optimizer/modelopt_recipes/general/speculative_decoding/"
    "eagle3.yaml model.model_name_or_path=/hf-local/Qwen/Qwen3-8B "
    "data.offline_data_path=/scratchspace/offline_hidden_states "
    "training.output_dir=/scratchspace/eagle3 training.training_seq_len=4096 "
    "training.disable_tqdm=true",
    Role.BENCHMARK: "--draft_model_dir /scratchspace/export --draft_length 3 --output_length 4096 "
    "--engine VLLM --tp_size 8 --ep_size 1 --speculative_algorithm EAGLE3 "
    "--mtbench /hf-local/HuggingFaceH4/mt_bench_prompts/raw/question.jsonl --concurrency 1",
}
# The task's own environment (after <<global_vars>> substitution) and the launcher's defaults.
ENVIRONMENT_OF_ROLE = {
    Role.SYNTHESIS: {"HF_LOCAL": "/hf-local"},
    Role.DUMP: {"HF_MODEL_CKPT": "/hf-local/Qwen/Qwen3-8B"},
    Role.TRAINING: {},
    Role.BENCHMARK: {"HF_LOCAL": "/hf-local", "HF_MODEL_CKPT": "/hf-local/Qwen/Qwen3-8B"},
}
LAUNCHER_DEFAULTS = {
    "TRITON_CACHE_DIR": "/cicd/triton-cache",
    "HF_HOME": "/cicd/hf-cache",
    "HF_TOKEN": "hf_simulatedTokenNotReal",
    "MLM_SKIP_INSTALL": "1",
    "LAUNCH_SCRIPT": "python",
}
CONTAINER_OF_ROLE = {
    Role.SYNTHESIS: "vllm/vllm-openai:latest",
    Role.DUMP: "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc10",
    Role.TRAINING: "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc10",
    Role.BENCHMARK: "vllm/vllm-openai:latest",
}
TIME_OF_ROLE = {
    Role.SYNTHESIS: "08:00:00",
    Role.DUMP: "04:00:00",
    Role.TRAINING: "12:00:00",
    Role.BENCHMARK: "02:00:00",
}

BENIGN_LINES = (
    "/usr/local/lib/python3.12/dist-packages/transformers/utils/hub.py:111: FutureWarning: "
    "Using `TRANSFORMERS_CACHE` is deprecated and will be removed in v5 of Transformers. "
    "Use `HF_HOME` instead.",
    "gpu-a017:2231:2231 [0] NCCL INFO Bootstrap : Using ib0:10.12.4.17<0>",
    "gpu-a017:2231:2298 [0] NCCL INFO Channel 00/24 :    0   1   2   3   4   5   6   7",
    "gpu-a017:2231:2298 [0] NCCL INFO comm 0x55d1c3a0 rank 0 nranks 8 cudaDev 0 nvmlDev 0 "
    "busId 18000 commId 0x7f3c8d2e - Init COMPLETE",
    "[rank0]:[W1126 03:12:41.551203 ProcessGroupNCCL.cpp:1479] Warning: WARNING: "
    "destroy_process_group() was not called before program exit, which can leak resources. "
    "For more info, please see https://pytorch.org/docs/stable/distributed.html#shutdown",
    "The tokenizer class you load from this checkpoint is not the same type as the class this "
    "function is called from. It may result in unexpected tokenization. ",
    "/usr/local/lib/python3.12/dist-packages/torch/utils/checkpoint.py:86: UserWarning: None of "
    "the inputs have requires_grad=True. Gradients will be None",
    "E1126 03:20:11.120000 2231 torch/_inductor/select_algorithm.py:1870] Runtime error during "
    "autotuning: out of resource: shared memory, Required: 262144, Hardware limit: 232448. "
    "Reducing block sizes or `num_stages` may help.. Ignoring this choice.",
    "ERROR: pip's dependency resolver does not currently take into account all the packages that "
    "are installed. This behaviour is the source of the following dependency conflicts.",
    "Some weights of Qwen3ForCausalLM were not initialized from the model checkpoint at "
    "/hf-local/Qwen/Qwen3-8B and are newly initialized: ['lm_head.weight']",
)


@dataclass(frozen=True)
class TaskNames:
    """The launcher's names for task N of a pipeline."""

    job_base: str  # e.g. Qwen3-8B_EAGLE3_offline
    index: int

    @property
    def directory(self) -> str:
        return f"{self.job_base}_{self.index}"

    @property
    def slurm_job_name(self) -> str:
        return f"{ACCOUNT_PREFIX}.{self.directory}"

    def sbatch_file(self, job_id: int) -> str:
        return f"sbatch_{self.slurm_job_name}_{job_id}.out"

    def task_log_file(self, job_id: int, restart: int = 0) -> str:
        return f"log-{self.slurm_job_name}_{job_id}_{restart}.out"


def noise(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(BENIGN_LINES) for _ in range(count)]


def progress_bar(label: str, total: int, steps: int = 6) -> str:
    """A tqdm bar redrawn with `\\r` on one line, as it lands in a log file."""
    frames = []
    for step in range(steps + 1):
        done = total * step // steps
        percent = 100 * done // total
        filled = "█" * (percent // 10)
        frames.append(
            f"{label}: {percent:3d}%|{filled:<10}| {done}/{total} [00:{step:02d}<00:30, 4.2it/s]"
        )
    return "\r".join(frames)


def rank_banner(ranks: int = 1) -> list[str]:
    return [f"RANK {rank} GPU count: 8" for rank in range(ranks)]


def task_environment(role: Role) -> dict[str, str]:
    return {**ENVIRONMENT_OF_ROLE[role], **LAUNCHER_DEFAULTS}


def srun_line(names: TaskNames, role: Role, command: str | None = None) -> str:
    """NeMo-Run's srun line: the container, the mounts, the launcher script and its args."""
    command = command or f"{SCRIPT_OF_ROLE[role]} {ARGS_OF_ROLE[role]}"
    experiment = "/lustre/experiments/cicd/cicd_1764115200"
    log_pattern = f"{names.directory}/log-{names.slurm_job_name}_%j_${{SLURM_RESTART_COUNT:-0}}.out"
    mounts = (
        f"/lustre/hf-local:/hf-local,{experiment}:/scratchspace,/lustre/experiments/cicd:/cicd,"
        f"{experiment}/{names.directory}:/nemo_run"
    )
    return (
        f"srun --output {experiment}/{log_pattern} --container-image {CONTAINER_OF_ROLE[role]} "
        f"--container-mounts {mounts} --container-workdir /nemo_run/code "
        f"--no-container-mount-home --mpi=pmix bash ./code/{command}"
    )


def launcher_batch_script(names: TaskNames, role: Role, command: str | None = None) -> str:
    """The `<JobName>_<N>_sbatch.sh` NeMo-Run writes beside the task directories."""
    account = ACCOUNT_PREFIX.split("-", 1)[0]
    flags = {
        "account": account,
        "gpus-per-node": "8",
        "job-name": names.slurm_job_name,
        "mem": "0",
        "nodes": "1",
        "ntasks-per-node": "1",
        "partition": "batch",
        "time": TIME_OF_ROLE[role],
    }
    lines = ["#!/bin/bash", "#", "# Generated by NeMo Run", "#", "", "# Parameters"]
    lines += [f"#SBATCH --{name}={value}" for name, value in flags.items()]
    lines += ["", "set -evx", "", "export PYTHONUNBUFFERED=1", "export SLURM_UNBUFFEREDIO=1"]
    lines += ["export TORCHX_MAX_RETRIES=0"]
    lines += [f"export {name}={value}" for name, value in task_environment(role).items()]
    lines += ["", "set +e", "", "# Command 1", "", srun_line(names, role, command), ""]
    lines += ["exitcode=$?", "set -e", "", 'echo "job exited with code $exitcode"', ""]
    return "\n".join(lines)


def sbatch_trace(
    names: TaskNames,
    role: Role,
    job_id: int,
    exit_code: int | None,
    command: str | None = None,
) -> str:
    """NeMo-Run's batch script output under `set -evx`, ending with its exit trailer.
    `command`: the launcher script and its arguments (default: the role's usual ones)."""
    srun = srun_line(names, role, command)
    lines = [
        "export PYTHONUNBUFFERED=1",
        "+ export PYTHONUNBUFFERED=1",
        "+ PYTHONUNBUFFERED=1",
        "export TORCHX_MAX_RETRIES=0",
        "+ export TORCHX_MAX_RETRIES=0",
    ]
    for name, value in task_environment(role).items():
        lines += [f"export {name}={value}", f"+ export {name}={value}", f"+ {name}={value}"]
    lines += [
        "set +e",
        "+ set +e",
        "nodes=( $( scontrol show hostnames $SLURM_JOB_NODELIST ) )",
        "++ scontrol show hostnames gpu-a017",
        "+ nodes=($(scontrol show hostnames $SLURM_JOB_NODELIST))",
        'head_node_ip=$(srun --nodes=1 --ntasks=1 -w "$head_node" hostname --ip-address)',
        "+ head_node_ip=10.12.4.17",
        "# Command 1",
        srun,
        f"+ {srun}",
    ]
    if exit_code is None:
        return "\n".join(lines) + "\n"
    lines += [
        "exitcode=$?",
        f"+ exitcode={exit_code}",
        "set -e",
        "+ set -e",
        'echo "job exited with code $exitcode"',
        f"+ echo 'job exited with code {exit_code}'",
        f"job exited with code {exit_code}",
        "if [ $exitcode -ne 0 ]; then",
        f"+ '[' {exit_code} -ne 0 ']'",
    ]
    return "\n".join(lines) + "\n"


def synthesis_log(rng: random.Random, shards: int = 4, finish: bool = True) -> str:
    lines = [*rank_banner(), "Waiting for server to start..."]
    lines += [
        "INFO 11-26 02:01:12 [__init__.py:239] Automatically detected platform cuda.",
        "INFO 11-26 02:01:15 [api_server.py:1043] vLLM API server version 0.11.0",
        "INFO 11-26 02:01:15 [config.py:717] This model supports multiple tasks: {'generate'}.",
        "INFO 11-26 02:01:15 [config.py:1793] Defaulting to use mp for distributed inference",
        *noise(rng, 3),
        "Server not ready yet (10/600s), retrying in 10 seconds...",
        "INFO 11-26 02:02:41 [gpu_worker.py:227] Available KV cache memory: 51.38 GiB",
        "INFO 11-26 02:02:41 [kv_cache_utils.py:716] GPU KV cache size: 1,496,512 tokens",
        "Server not ready yet (20/600s), retrying in 10 seconds...",
        "INFO 11-26 02:03:02 [api_server.py:1351] Starting vLLM API server 0 on http://0.0.0.0:8000",
        "Server is up! (waited 130s)",
        "Running: python3 common/query.py http://localhost:8000/v1 /hf-local/Qwen/Qwen3-8B "
        "--shard-id-begin 0 --shard-id-step 1 --data /hf-local/datasets/ultrachat_200k.jsonl "
        "--save /scratchspace/data",
        "[OLD] user      : Hello! /no_think",
        "[NEW] assistant : Hello! How can I help you today?",
        "Create save dir: /scratchspace/data",
    ]
    for shard in range(1, shards + 1):
        path = f"/scratchspace/data/train-{shard:05d}-{shards:05d}.jsonl"
        lines += [
            f"206 {path}",
            progress_bar("Map (num_proc=32)", 206),
            "INFO 11-26 02:10:44 [loggers.py:123] Engine 000: Avg prompt throughput: 5120.4 "
            "tokens/s, Avg generation throughput: 3990.2 tokens/s, Running: 32 reqs, "
            "Waiting: 0 reqs",
            progress_bar(f"Creating json from Arrow format shard {shard}", 1, 1),
            "{'conversations': [{'role': 'user', 'content': 'Write a haiku about GPUs'}, "
            "{'role': 'assistant', 'content': 'Silicon rivers...'}]}",
            *noise(rng, 2),
        ]
    if finish:
        lines += [
            "Main process exit",
            "INFO 11-26 03:40:02 [launcher.py:80] Shutting down FastAPI HTTP server.",
        ]
    return "\n".join(lines) + "\n"


def dump_log(rng: random.Random, conversations: int = 824, finish: bool = True) -> str:
    lines = [
        *rank_banner(),
        "Loading checkpoint shards: " + progress_bar("", 5, 5).replace(": ", "", 1),
        *noise(rng, 3),
        f"Processing {conversations} conversations on dp rank 0 of 1",
        progress_bar("Processing conversations", conversations, 8),
    ]
    if finish:
        lines.append(f"Successfully processed all {conversations} conversations.")
    return "\n".join(lines) + "\n"


def training_log(rng: random.Random, steps: int = 5, finish: bool = True) -> str:
    lines = [
        *rank_banner(4),
        *noise(rng, 4),
        "***** Running training *****",
        "  Num examples = 824",
    ]
    loss = 9.8
    for step in range(1, steps + 1):
        loss *= 0.72
        lines.append(progress_bar(f"{step * 10}/{steps * 10}", steps * 10, 2))
        lines.append(
            f"{{'loss': {loss:.4f}, 'grad_norm': {1.8 / step:.4f}, 'learning_rate': "
            f"{1e-4 * (1 - step / (steps + 1)):.3e}, 'epoch': {step / steps:.2f}}}"
        )
    if finish:
        lines += [
            "{'train_runtime': 2781.4, 'train_samples_per_second': 3.55, "
            f"'train_steps_per_second': 0.111, 'train_loss': {loss * 1.6:.4f}, 'epoch': 1.0}}",
            "Total time: 2790 seconds",
            "Exported checkpoint to /scratchspace/export",
        ]
    return "\n".join(lines) + "\n"


MTBENCH_TOPICS = (
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
)


def topic_acceptance(acceptance: float) -> dict[str, float]:
    """Per-topic acceptance lengths scattered around the overall value."""
    return {
        topic: round(acceptance + 0.05 * (offset % 3 - 1), 3)
        for offset, topic in enumerate(MTBENCH_TOPICS)
    }


def benchmark_log(rng: random.Random, acceptance: float = 2.62, finish: bool = True) -> str:
    lines = [
        *rank_banner(),
        "INFO 11-26 05:01:12 [__init__.py:239] Automatically detected platform cuda.",
        "INFO 11-26 05:01:40 [config.py:3020] Speculative decoding with method eagle3, "
        "num_speculative_tokens=3",
        *noise(rng, 2),
        progress_bar("Running mtbench", 80, 8),
    ]
    if finish:
        for topic, value in topic_acceptance(acceptance).items():
            lines.append(f"{topic} Average AL: {value:.2f}")
        accepted = int(acceptance * 8120)
        lines += [
            f"Average AL: {acceptance:.2f}",
            f"Average Acceptance Length {{'accept': {accepted}, 'count': 8120, "
            f"'ratio': {acceptance:.4f}}}",
        ]
    return "\n".join(lines) + "\n"


def healthy_task_log(role: Role, rng: random.Random) -> str:
    return {
        Role.SYNTHESIS: synthesis_log,
        Role.DUMP: dump_log,
        Role.TRAINING: training_log,
        Role.BENCHMARK: benchmark_log,
    }[role](rng)


def writelines(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def iter_roles() -> Iterator[tuple[int, Role]]:
    yield from enumerate((Role.SYNTHESIS, Role.DUMP, Role.TRAINING, Role.BENCHMARK))
