"""What a lint check reports: a severity, a code, where, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class LintFinding:
    severity: Severity
    code: str
    task: str | None
    message: str
    fix: str
    location: str  # file:line:column
