"""A task's role from the launcher script it runs (common/vllm/query.sh → synthesis, ...)."""

from __future__ import annotations

import re
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import read_head
from eagle3_monitor.vocabulary import Role

_ROLE_OF_SCRIPT = (
    (
        re.compile(r"(?:vllm|tensorrt_llm|trtllm|sglang)/query\.sh|(?:^|/)query\.sh\b"),
        Role.SYNTHESIS,
    ),
    (
        re.compile(r"dump_offline_data(?:_[a-z]+)?\.sh|compute_hidden_states_[a-z0-9_]+\.py"),
        Role.DUMP,
    ),
    (re.compile(r"(?:train_eagle[a-z_]*|offline_training|launch_train)\.sh"), Role.TRAINING),
    (re.compile(r"specdec_bench/(?:quick_check\.sh|run\.py)|quick_check\.sh"), Role.BENCHMARK),
)
HEAD_BYTES = 256 << 10


def role_of_script(text: str) -> Role | None:
    """The role of the first launcher script named in `text` (a script path or a batch trace)."""
    found: list[tuple[int, Role]] = []
    for pattern, role in _ROLE_OF_SCRIPT:
        match = pattern.search(text)
        if match:
            found.append((match.start(), role))
    return min(found)[1] if found else None


def role_from_batch_log(path: str) -> Role | None:
    """The role from the head of a batch log's `set -x` trace; None when it cannot be read
    (a FIFO, a symlink, a device: never waited on)."""
    try:
        head = read_head(Path(path), HEAD_BYTES)
    except UnusableInputError:
        return None
    return role_of_script(head.decode("utf-8", "replace"))
