"""The schema of one rule, validated with pydantic so every error is reported at once."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eagle3_monitor.vocabulary import Category, Role

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
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


KINDS_NEEDING_CATEGORY = {RuleKind.ERROR, RuleKind.SYMPTOM, RuleKind.TERMINATION}


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
    priority: int = Field(default=50, ge=0, le=100)
    summary: str = ""
    fix: str | dict[str, str] = ""
    fails_task: bool = False
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
            unknown = set(self.fix) - {"default", *Role}
            if unknown:
                raise ValueError(
                    f"fix: keys must be task roles or 'default', not {sorted(unknown)}"
                )
        return self

    def fix_for(self, role: Role | None) -> str:
        """The fix, specific to the task's role when the rule gives one per role."""
        if isinstance(self.fix, str):
            return self.fix
        if role is not None and role.value in self.fix:
            return self.fix[role.value]
        return self.fix.get("default", "")

    def summary_placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.summary))


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: str = Field(alias="schema", pattern=r"^eagle3-monitor\.rules/1$")
    rules: list[Rule]
