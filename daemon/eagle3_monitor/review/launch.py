"""What a task actually ran, read from the launcher command its batch trace shows (`+ srun …
bash ./code/common/eagle3/dump_offline_data_hf.sh --tp 4 …`): the script, so the backend, and
the sizes a fix names (tensor parallelism, max model length). Rules can be limited to scripts
(`scripts:`), and fixes can differ per backend (`fix: {dump/hf: …}`) and quote these values."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BACKEND_OF_SCRIPT = (
    (re.compile(r"_hf\.sh$|compute_hidden_states_hf"), "hf"),
    (re.compile(r"_vllm\.sh$|^vllm/|compute_hidden_states_vllm"), "vllm"),
    (re.compile(r"^sglang/"), "sglang"),
    (re.compile(r"^(?:tensorrt_llm|trtllm)/|^dump_offline_data\.sh$|_trtllm"), "trtllm"),
)
_OPTION = r"(?:^|\s){names}(?:\s+|=)(?P<value>[0-9]+)"
_TENSOR_PARALLEL = re.compile(
    _OPTION.format(names=r"(?:--tensor[-_]parallel[-_]size|--tp[-_]size|--tp|-tp)")
)
_DRAFT_LENGTH = re.compile(
    _OPTION.format(names=r"(?:--draft[-_]length|--num[-_]speculative[-_]tokens|--draft[-_]tokens)")
)
_MAX_MODEL_LEN = re.compile(_OPTION.format(names=r"(?:--max[-_]model[-_]len|--max[-_]seq[-_]len)"))
_INPUT_PATH = re.compile(
    r"(?:^|\s)(?:--(?:input[-_]data|data|data[-_]path|offline[-_]data(?:[-_]path)?|draft"
    r"|draft[-_]model(?:[-_]dir)?|eagle[-_]path)(?:\s+|=)|data\.offline_data_path=)"
    r"(?P<path>/[^\s'\"]+)"
)


@dataclass(frozen=True)
class Launch:
    """The launcher script a task ran (e.g. `eagle3/dump_offline_data_hf.sh`) and its arguments."""

    script: str | None = None
    args: str = ""

    @property
    def backend(self) -> str | None:
        """hf, vllm, sglang or trtllm, from the script's name."""
        script = self.script or ""
        return next((name for pattern, name in _BACKEND_OF_SCRIPT if pattern.search(script)), None)

    @property
    def tensor_parallel(self) -> int | None:
        return _int(_TENSOR_PARALLEL, self.args)

    @property
    def draft_length(self) -> int | None:
        """Tokens the draft proposes per step (the benchmark's --draft_length)."""
        return _int(_DRAFT_LENGTH, self.args)

    @property
    def max_model_len(self) -> int | None:
        return _int(_MAX_MODEL_LEN, self.args)

    @property
    def input_paths(self) -> tuple[str, ...]:
        """Paths the task reads that an earlier task writes (its data, hidden states, draft)."""
        return tuple(match.group("path").rstrip("/") for match in _INPUT_PATH.finditer(self.args))

    def fields(self) -> dict[str, str]:
        """What fix templates may quote: {script}, {backend}, {tp}, {max_len}."""
        values = {
            "script": self.script,
            "backend": self.backend,
            "tp": self.tensor_parallel,
            "max_len": self.max_model_len,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


def _int(pattern: re.Pattern[str], args: str) -> int | None:
    match = pattern.search(args)
    return int(match.group("value")) if match else None
