"""The fixed words of the domain: task roles, root-cause categories, verdicts."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What an EAGLE3 pipeline task does."""

    SYNTHESIS = "synthesis"
    DUMP = "dump"
    TRAINING = "training"
    BENCHMARK = "benchmark"


ROLE_BY_TASK_INDEX: dict[int, Role] = {
    0: Role.SYNTHESIS,
    1: Role.DUMP,
    2: Role.TRAINING,
    3: Role.BENCHMARK,
}


class Category(StrEnum):
    """Root-cause categories. docs/categories.md defines each with an example line."""

    TIME_LIMIT = "time_limit"
    HOST_OOM = "host_oom"
    NODE_FAILURE = "node_failure"
    PREEMPTED = "preempted"
    CANCELLED = "cancelled"
    DEPENDENCY_NEVER_SATISFIED = "dependency_never_satisfied"
    GPU_OOM = "gpu_oom"
    NCCL = "nccl"
    CUDA_ERROR = "cuda_error"
    SERVER_STARTUP = "server_startup"
    KV_CACHE = "kv_cache"
    UNSUPPORTED_MODEL = "unsupported_model"
    TRUST_REMOTE_CODE = "trust_remote_code"
    MODEL_FILES = "model_files"
    TOKENIZER = "tokenizer"
    MISSING_INPUT = "missing_input"
    MISSING_SCRIPT = "missing_script"
    PYTHON_ENV = "python_env"
    DISK_FULL = "disk_full"
    PERMISSION = "permission"
    CONTAINER = "container"
    EMPTY_OUTPUT = "empty_output"
    TRAINING_DIVERGENCE = "training_divergence"
    LOW_ACCEPTANCE = "low_acceptance"
    PYTHON_EXCEPTION = "python_exception"
    UNKNOWN = "unknown"


CATEGORY_MEANINGS: dict[Category, str] = {
    Category.TIME_LIMIT: "Slurm killed the job or step at its wall-clock limit "
    '(TIMEOUT, "DUE TO TIME LIMIT").',
    Category.HOST_OOM: "Host/cgroup memory exhausted: oom-kill events, OUT_OF_MEMORY, a plain "
    '"Killed" from the kernel OOM killer.',
    Category.NODE_FAILURE: 'A node died or was lost (NODE_FAIL, "DUE TO NODE FAILURE").',
    Category.PREEMPTED: 'The job was preempted ("DUE TO PREEMPTION", PREEMPTED).',
    Category.CANCELLED: "Cancelled by a user or admin (scancel), not by a limit.",
    Category.DEPENDENCY_NEVER_SATISFIED: "Never ran because an upstream job failed "
    "(afterok chain).",
    Category.GPU_OOM: "CUDA/GPU out of memory (training, model load, dump, benchmark).",
    Category.NCCL: "NCCL / collective communication failures and watchdog timeouts.",
    Category.CUDA_ERROR: "Other CUDA/driver faults: illegal memory access, device-side assert, "
    "Xid/ECC, cuBLAS/cuDNN errors.",
    Category.SERVER_STARTUP: "The inference server (vLLM / TRT-LLM) never became healthy or its "
    "engine core failed, and no more specific cause is in the log.",
    Category.KV_CACHE: "KV-cache capacity too small for the max model length / no memory for "
    "cache blocks / gpu_memory_utilization too low.",
    Category.UNSUPPORTED_MODEL: "Architecture or model type not supported by the backend or "
    "library version (vLLM, TRT-LLM, transformers, EAGLE3 for the model type).",
    Category.TRUST_REMOTE_CODE: "The model needs custom code but trust_remote_code was not passed.",
    Category.MODEL_FILES: "Model files unavailable: not in the local mirror, hub unreachable "
    "offline, a missing weight shard, a bad repo id or path.",
    Category.TOKENIZER: "Tokenizer / vocab loading failure (harmony vocab, tiktoken cache, "
    "tokenizers too old).",
    Category.MISSING_INPUT: "A task's input artifacts are missing because an upstream task "
    "produced nothing: /scratchspace/data, offline_hidden_states, export.",
    Category.MISSING_SCRIPT: "A script or command path in the pipeline config does not exist.",
    Category.PYTHON_ENV: "ImportError / ModuleNotFoundError / undefined symbol / pip install "
    "failure / version conflict.",
    Category.DISK_FULL: "No space left on device / quota exceeded.",
    Category.PERMISSION: "Permission denied on files or directories (or a read-only file system).",
    Category.CONTAINER: "Container runtime failure (pyxis / enroot: image import, "
    "container start).",
    Category.EMPTY_OUTPUT: 'The task "finished" but produced nothing usable (0 conversations '
    "processed, no acceptance length, empty data dir).",
    Category.TRAINING_DIVERGENCE: "The loss became NaN/inf or training diverged.",
    Category.LOW_ACCEPTANCE: "The benchmark's acceptance length is below the threshold "
    "(default 2.1).",
    Category.PYTHON_EXCEPTION: "A Python exception none of the above explains (headline: the "
    "exception line).",
    Category.UNKNOWN: "Failed, with no recognisable cause (evidence: the last lines of the log).",
}


class TaskVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"  # never ran because an upstream task failed (afterok never satisfied)
    SKIPPED = "skipped"  # left out of this launch (pipeline.task_N.skip=true): nothing on disk
    RUNNING = "running"
    NOT_RUN = "not_run"

    @property
    def is_failure(self) -> bool:
        return self in (TaskVerdict.FAIL, TaskVerdict.TIMEOUT, TaskVerdict.CANCELLED)

    @property
    def is_final(self) -> bool:
        """Decided for good: the task will not run (again) in this experiment."""
        return self not in (TaskVerdict.RUNNING, TaskVerdict.NOT_RUN)

    @property
    def label(self) -> str:
        """The word people read: `not run` rather than `not_run`."""
        return self.value.replace("_", " ")


class RunVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"


DEFAULT_ACCEPTANCE_THRESHOLD = 2.1
