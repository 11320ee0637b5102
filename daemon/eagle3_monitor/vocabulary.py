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


class TaskVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    RUNNING = "running"
    NOT_RUN = "not_run"

    @property
    def is_failure(self) -> bool:
        return self in (TaskVerdict.FAIL, TaskVerdict.TIMEOUT, TaskVerdict.CANCELLED)


class RunVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"


DEFAULT_ACCEPTANCE_THRESHOLD = 2.1
