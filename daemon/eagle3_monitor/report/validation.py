"""Renderers for `eagle3-monitor validate`: text, Markdown and the validate/1 JSON document."""

from __future__ import annotations

from typing import Any

import click

from eagle3_monitor.validate.model import Check, TaskValidation, Validation

VALIDATE_SCHEMA = "eagle3-monitor.validate/1"
_COLOURS = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "bright_black"}
_VERDICT_COLOURS = {"passed": "green", "failed": "red", "partial": "yellow"}


def validation_to_json(validation: Validation) -> dict[str, Any]:
    return {
        "schema": VALIDATE_SCHEMA,
        "path": str(validation.path),
        "experiment": validation.experiment,
        "verdict": str(validation.verdict),
        "acceptance_length": validation.acceptance_length,
        "threshold": validation.threshold,
        "per_topic": dict(sorted(validation.per_topic.items())),
        "tasks": [_task_json(task) for task in validation.tasks],
        "next_steps": validation.next_steps,
    }


def _task_json(task: TaskValidation) -> dict[str, Any]:
    return {
        "task": task.task,
        "index": task.index,
        "role": str(task.role) if task.role else None,
        "status": str(task.status),
        "checks": [_check_json(check) for check in task.checks],
    }


def _check_json(check: Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "status": str(check.status),
        "detail": check.detail,
        "value": check.value,
    }


def _headline(validation: Validation) -> str:
    measured = (
        f"acceptance length {validation.acceptance_length:.2f}"
        if validation.acceptance_length is not None
        else "no acceptance length yet"
    )
    return f"{measured}, threshold {validation.threshold:g}"


def validation_to_text(validation: Validation, colour: bool = False) -> str:
    def paint(word: str, colours: dict[str, str]) -> str:
        return click.style(word, fg=colours.get(word), bold=True) if colour else word

    title = validation.experiment or str(validation.path)
    lines = [f"{title}: {paint(str(validation.verdict).upper(), {})} ({_headline(validation)})"]
    if colour:
        lines[0] = lines[0].replace(
            str(validation.verdict).upper(),
            click.style(
                str(validation.verdict).upper(),
                fg=_VERDICT_COLOURS[str(validation.verdict)],
                bold=True,
            ),
        )
    width = max((len(c.name) for t in validation.tasks for c in t.checks), default=10)
    for task in validation.tasks:
        lines.append(f"  {task.task or '?'}  {task.role or ''}")
        for check in task.checks:
            status = str(check.status)
            padded = paint(status, _COLOURS) + " " * (5 - len(status))
            lines.append(f"    {padded} {check.name:<{width}}  {check.detail}")
    if validation.next_steps:
        lines += ["", "Next steps:", *(f"  - {step}" for step in validation.next_steps)]
    return "\n".join(lines) + "\n"


def validation_to_markdown(validation: Validation) -> str:
    title = validation.experiment or validation.path.name
    lines = [
        f"# EAGLE3 run validation: {title} — {str(validation.verdict).upper()}",
        "",
        f"- Path: `{validation.path}`",
        f"- {_headline(validation).capitalize()}",
        "",
        "| task | role | check | status | detail |",
        "|---|---|---|---|---|",
    ]
    for task in validation.tasks:
        for check in task.checks:
            detail = check.detail.replace("|", "\\|")
            cells = [
                task.task or "",
                str(task.role or ""),
                check.name,
                f"**{check.status}**",
                detail,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if validation.next_steps:
        lines += ["", "## Next steps", "", *(f"1. {step}" for step in validation.next_steps)]
    return "\n".join(lines) + "\n"
