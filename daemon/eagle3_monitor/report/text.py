"""Plain text for a terminal; colour only when asked (the CLI asks on a TTY)."""

from __future__ import annotations

import click

from eagle3_monitor.printable import visible
from eagle3_monitor.report.common import display_path, rerun_lines, task_detail, task_label
from eagle3_monitor.review.model import RootCause, RunReview
from eagle3_monitor.vocabulary import RunVerdict, TaskVerdict

_COLOURS = {
    "pass": "green",
    "fail": "red",
    "timeout": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "blocked": "yellow",
    "skipped": "bright_black",
    "not_run": "bright_black",
    "incomplete": "yellow",
}


def review_to_text(review: RunReview, colour: bool = False) -> str:
    def paint(word: str, bold: bool = False) -> str:
        return click.style(word, fg=_COLOURS.get(word), bold=bold) if colour else word

    lines = [f"{review.experiment or review.path}: {paint(str(review.verdict).upper(), bold=True)}"]
    width = max((len(task_label(task)) for task in review.tasks), default=6)
    for task in review.tasks:
        verdict = str(task.verdict)
        padded = paint(verdict) + " " * (9 - len(verdict))
        role = str(task.role or "")
        job = f"job {task.job_id}" if task.job_id else ""
        if task.exit_code is not None:
            job += f" exit {task.exit_code}"
        detail = task_detail(task)
        lines.append(
            f"  {task_label(task):<{width}}  {role:<9}  {padded}  {job:<21}  {detail}".rstrip()
        )
    if review.root_cause and review.root_cause_task:
        lines += ["", *_cause_block(review, review.root_cause, colour)]
    elif review.verdict is RunVerdict.PASS:
        lines += ["", f"All {len(review.tasks)} tasks passed."]
    rerun = rerun_lines(review)
    if rerun:
        lines += ["", "Re-run (the tasks that passed are skipped and their outputs reused):"]
        lines += [f"  {line}" for line in rerun]
    lines += _problems(review)
    return "\n".join(lines) + "\n"


def _cause_block(review: RunReview, cause: RootCause, colour: bool) -> list[str]:
    task = review.root_cause_task
    assert task is not None
    title = f"Root cause: {task_label(task)} {cause.category}: {cause.summary}"
    lines = [click.style(title, bold=True) if colour else title]
    if cause.evidence:
        lines.append("  evidence:")
        lines += [
            f"    {display_path(item.file, review)}:{item.line}: {item.text}"
            for item in cause.evidence
        ]
    lines.append(f"  fix: {cause.fix}")
    blocked = [t for t in review.tasks if t.verdict is TaskVerdict.BLOCKED]
    if blocked:
        lines.append("  blocked: " + ", ".join(task_label(t) for t in blocked))
    return lines


def _problems(review: RunReview) -> list[str]:
    problems = [problem for task in review.tasks for problem in task.problems]
    return ["", "Could not read:", *(f"  {visible(p)}" for p in problems)] if problems else []
