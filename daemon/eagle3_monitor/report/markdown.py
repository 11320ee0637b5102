"""A Markdown triage report: summary, per-task table, root causes with evidence, next steps."""

from __future__ import annotations

from collections import Counter

from eagle3_monitor.report.common import display_path, rerun_lines, task_detail, task_label
from eagle3_monitor.review.model import RunReview, TaskReview


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    return text.replace("```", "`\u200b``")


def review_to_markdown(review: RunReview) -> str:
    title = review.experiment or review.path.name
    lines = [f"# EAGLE3 run review: {title} — {str(review.verdict).upper()}", ""]
    lines += _summary(review)
    lines += [
        "",
        "## Tasks",
        "",
        "| task | role | job | verdict | detail |",
        "|---|---|---|---|---|",
    ]
    for task in review.tasks:
        job = f"{task.job_name or ''} ({task.job_id})" if task.job_id else task.job_name or ""
        lines.append(
            f"| {task_label(task)} | {task.role or ''} | {_cell(job)} | **{task.verdict}** "
            f"| {_cell(task_detail(task))} |"
        )
    failed = [task for task in review.tasks if task.verdict.is_failure and task.root_cause]
    if failed:
        lines += ["", "## Root causes"]
        for task in failed:
            lines += ["", *_cause_section(review, task)]
    lines += ["", "## Next steps", "", *_next_steps(review)]
    return "\n".join(lines) + "\n"


def _summary(review: RunReview) -> list[str]:
    lines = [f"- Path: `{review.path}`"]
    if review.job_name:
        lines.append(f"- Pipeline: `{review.job_name}`")
    counts = Counter(str(task.verdict) for task in review.tasks)
    lines.append("- Tasks: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()))
    cause, culprit = review.root_cause, review.root_cause_task
    if cause and culprit:
        lines.append(
            f"- **Root cause:** {task_label(culprit)} — `{cause.category}`: {_cell(cause.summary)}"
        )
    lines.append(f"- Acceptance-length threshold: {review.threshold:g}")
    return lines


def _cause_section(review: RunReview, task: TaskReview) -> list[str]:
    cause = task.root_cause
    assert cause is not None
    lines = [f"### {task_label(task)} ({task.role or 'unknown role'}) — `{cause.category}`", ""]
    lines += [_cell(cause.summary), ""]
    if cause.evidence:
        lines += ["Evidence:", "", "```"]
        lines += [
            _fence(f"{display_path(item.file, review)}:{item.line}: {item.text}")
            for item in cause.evidence
        ]
        lines += ["```", ""]
    lines.append(f"Fix: {cause.fix}")
    return lines


def _next_steps(review: RunReview) -> list[str]:
    cause, task = review.root_cause, review.root_cause_task
    if cause is None or task is None:
        if str(review.verdict) == "pass":
            return ["Nothing to do: every task passed."]
        return ["Wait for the running tasks to finish, then review again."]
    steps = [f"1. Fix {task_label(task)}: {cause.fix}"]
    rerun = rerun_lines(review)
    if rerun:
        steps += [
            "2. Re-run (the tasks that passed are skipped and their outputs reused):",
            "",
            "   ```bash",
            f"   {rerun[0]}",
            "   ```",
            "",
        ]
        steps += [f"   - {line.strip()}" for line in rerun[1:]]
    return steps
