"""The schema of one rule, validated with pydantic so every error is reported at once."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eagle3_monitor.vocabulary import Category, Role

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
BACKENDS = ("hf", "vllm", "sglang", "trtllm")
_FIX_KEY = re.compile(rf"^(?:default|(?:{'|'.join(Role)})(?:/(?:{'|'.join(BACKENDS)}))?)$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RuleKind(StrEnum):
    """How a matching line is used."""

    ERROR = "error"  # can be a task's root cause
    SYMPTOM = "symptom"  # explains how a task ended, never why (srun exit codes, ...)
    TERMINATION = "termination"  # Slurm ended the job: time limit, cancel, node failure
    EXCEPTION = "exception"  # a Python exception line: the fallback headline
    BENIGN = "benign"  # a line that looks alarming but is not: never a finding
    SUCCESS = "success"  # printed only when the task's work succeeded
    DONE = "done"  # the task's main process ended (says nothing of success)
    EXIT = "exit"  # the launcher's trailer with the job's exit code (group `code`)
    METRIC = "metric"  # a measured value (group `value`), e.g. acceptance length
    ROLE = "role"  # names the script a task runs, which tells its role
    FRAME = "frame"  # a traceback frame: an exception raised through it is of `category`


KINDS_NEEDING_CATEGORY = {RuleKind.ERROR, RuleKind.SYMPTOM, RuleKind.TERMINATION, RuleKind.FRAME}


class RuleSamples(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(default_factory=list)


class Rule(BaseModel):
    """One pattern rule. See docs/rules.md for the meaning of every field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID_PATTERN)
    kind: RuleKind = RuleKind.ERROR
    category: Category | None = None
    regex: str = Field(min_length=1)
    roles: tuple[Role, ...] = ()
    scripts: tuple[str, ...] = ()  # regexes: only tasks whose launcher script matches one
    priority: int = Field(default=50, ge=0, le=100)
    summary: str = ""
    fix: str | dict[str, str] = ""
    fails_task: bool = False
    # How the judge reasons about the line (docs/rules.md):
    ends_step: bool = False  # a failing step ended here; later errors are its consequences
    final: bool = False  # the task's work is done; later errors and exit codes do not undo it
    resolves: bool = False  # the work went on past here: earlier errors were survived
    infrastructure: bool = False  # a node, network or GPU fault: it beats the NCCL errors it causes
    exceptions: tuple[str, ...] = ()  # frame rules: only these exception types (default: any)
    role: Role | None = None
    metric: str | None = None
    enabled: bool = True
    samples: RuleSamples

    @model_validator(mode="after")
    def _kind_fields_agree(self) -> Rule:
        if self.kind in KINDS_NEEDING_CATEGORY and self.category is None:
            raise ValueError(f"a rule of kind '{self.kind}' needs a category")
        if self.kind is RuleKind.ROLE and self.role is None:
            raise ValueError("a rule of kind 'role' needs `role`")
        if self.kind is RuleKind.METRIC and not self.metric:
            raise ValueError("a rule of kind 'metric' needs `metric`")
        if isinstance(self.fix, dict):
            unknown = {key for key in self.fix if not _FIX_KEY.match(key)}
            if unknown:
                raise ValueError(
                    "fix: keys must be a task role, role/backend (e.g. dump/hf) or 'default', "
                    f"not {sorted(unknown)}"
                )
        for pattern in self.scripts:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"scripts: {pattern!r} is not a regex: {error}") from None
        return self

    def fix_for(self, role: Role | None, backend: str | None = None) -> str:
        """The fix, specific to the task's role (and backend) when the rule gives one."""
        if isinstance(self.fix, str):
            return self.fix
        for key in (f"{role}/{backend}" if role and backend else None, role and role.value):
            if key and key in self.fix:
                return self.fix[key]
        return self.fix.get("default", "")

    def runs_for(self, script: str | None) -> bool:
        """Whether the rule applies to a task that ran `script` (rules without `scripts` always)."""
        if not self.scripts:
            return True
        return script is not None and any(re.search(pattern, script) for pattern in self.scripts)

    def summary_placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.summary))


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: str = Field(alias="schema", pattern=r"^eagle3-monitor\.rules/1$")
    rules: list[Rule]
