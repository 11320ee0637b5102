"""How each EAGLE3 launcher script is spoken to: its role, its backend, and how it spells
tensor parallelism and trust_remote_code. Lint, `rerun` and `new-model` share this table.

script (under common/)            role       backend  TP flag                 trust_remote_code
vllm/query.sh                     synthesis  vllm     --tensor-parallel-size  --trust-remote-code *
tensorrt_llm/query.sh             synthesis  trtllm   --tp_size               --trust_remote_code *
eagle3/dump_offline_data.sh       dump       trtllm   --tp, --moe-ep          TRUST_REMOTE_CODE env
eagle3/dump_offline_data_vllm.sh  dump       vllm     --tp                    (the script's own)
eagle3/dump_offline_data_hf.sh    dump       hf       (device_map=auto)       (the script's own)
eagle3/train_eagle.sh             training                           model.trust_remote_code=true
specdec_bench/quick_check.sh      benchmark           --tp_size               --trust_remote_code
(* before the `--` that separates the server's arguments from query.py's)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from eagle3_monitor.roles import role_of_script
from eagle3_monitor.vocabulary import Role

if TYPE_CHECKING:
    from ruamel.yaml import YAML

SEPARATOR = "--"  # query.sh: server arguments before it, query.py arguments after
# Set by the launcher after a task's own environment (core.py get_default_env), so a task's
# value for them is overwritten.
LAUNCHER_ENVIRONMENT = (
    "TRITON_CACHE_DIR",
    "HF_HOME",
    "HF_TOKEN",
    "MLM_SKIP_INSTALL",
    "LAUNCH_SCRIPT",
)


@dataclass(frozen=True)
class ScriptKind:
    role: Role | None
    backend: str | None  # vllm, trtllm, hf (None: not backend-specific)

    @property
    def tp_flags(self) -> tuple[str, ...]:
        if self.role is Role.SYNTHESIS:
            return ("--tensor-parallel-size", "-tp") if self.backend == "vllm" else ("--tp_size",)
        if self.role is Role.DUMP and self.backend in ("trtllm", "vllm"):
            return ("--tp",)
        if self.role is Role.BENCHMARK:
            return ("--tp_size",)
        return ()

    @property
    def trust_flag(self) -> str | None:
        """The argument that passes trust_remote_code, or None when it is not an argument."""
        if self.role is Role.SYNTHESIS:
            return "--trust-remote-code" if self.backend == "vllm" else "--trust_remote_code"
        if self.role is Role.BENCHMARK:
            return "--trust_remote_code"
        if self.role is Role.TRAINING:
            return "model.trust_remote_code=true"
        return None

    @property
    def trusts_by_itself(self) -> bool:
        """The HF and vLLM dump scripts pass --trust_remote_code themselves."""
        return self.role is Role.DUMP and self.backend in ("hf", "vllm")


def script_kind(script: str | None) -> ScriptKind:
    if not script:
        return ScriptKind(None, None)
    name = PurePosixPath(script).name
    role = role_of_script(script)
    if role is Role.DUMP:
        backend = {"dump_offline_data_hf.sh": "hf", "dump_offline_data_vllm.sh": "vllm"}.get(
            name, "trtllm" if name == "dump_offline_data.sh" else None
        )
        return ScriptKind(role, backend)
    if role is Role.SYNTHESIS:
        if re.search(r"(?:^|/)vllm/", script):
            return ScriptKind(role, "vllm")
        if re.search(r"(?:^|/)(?:tensorrt_llm|trtllm)/", script):
            return ScriptKind(role, "trtllm")
        return ScriptKind(role, None)
    return ScriptKind(role, None)


def has_trust_remote_code(args: list[str], kind: ScriptKind) -> bool:
    """trust_remote_code passed where the script takes it (before `--` for query.sh)."""
    words = " ".join(args).split()
    if kind.role is Role.SYNTHESIS and SEPARATOR in words:
        words = words[: words.index(SEPARATOR)]
    if kind.role is Role.TRAINING:
        return any(
            word.lower() in ("model.trust_remote_code=true", "--trust_remote_code")
            for word in words
        )
    return any(word in ("--trust-remote-code", "--trust_remote_code") for word in words)


def round_trip_yaml() -> YAML:
    """ruamel.yaml set up like the launcher's examples: 2-space maps, `  - ` list items.
    (Imported here: the daemon process reads pipelines with these modules but never writes
    one, and ruamel costs it 1.6 MB.)"""
    from ruamel.yaml import YAML  # noqa: PLC0415

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml
