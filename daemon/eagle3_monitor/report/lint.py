"""Renderers for `eagle3-monitor lint`: compiler-style text and the lint/1 JSON document."""

from __future__ import annotations

from typing import Any

import click

from eagle3_monitor.lint.run import LintReport

LINT_SCHEMA = "eagle3-monitor.lint/1"
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def lint_to_text(report: LintReport, colour: bool = False) -> str:
    lines = []
    for finding in report.findings:
        severity = str(finding.severity)
        label = click.style(severity, fg=_COLOURS[severity], bold=True) if colour else severity
        task = f" {finding.task}:" if finding.task else ""
        lines.append(f"{finding.location}: {label} [{finding.code}]{task} {finding.message}")
        lines.append(f"    fix: {finding.fix}")
    model = f" against {report.model_config}" if report.model_config else ""
    lines.append(
        f"{report.path}{model}: {report.errors} errors, {report.warnings} warnings, "
        f"{len(report.findings) - report.errors - report.warnings} notes"
    )
    return "\n".join(lines) + "\n"


def lint_to_json(report: LintReport) -> dict[str, Any]:
    return {
        "schema": LINT_SCHEMA,
        "path": str(report.path),
        "model_config": str(report.model_config) if report.model_config else None,
        "errors": report.errors,
        "warnings": report.warnings,
        "findings": [
            {
                "severity": str(finding.severity),
                "code": finding.code,
                "task": finding.task,
                "message": finding.message,
                "fix": finding.fix,
                "location": finding.location,
            }
            for finding in report.findings
        ],
    }
