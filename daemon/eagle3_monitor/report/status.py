"""`eagle3-monitor status` as text."""

from __future__ import annotations

import time
from typing import Any


def status_to_text(health: dict[str, Any], answer: dict[str, Any]) -> str:
    last = health.get("last_poll")
    ago = f"{time.time() - float(last):.0f}s ago" if last else "never"
    poll = "ok" if health.get("last_poll_ok") else f"FAILING ({health.get('last_poll_error')})"
    lines = [
        f"eagle3-monitor {health.get('version')} up {health.get('uptime_seconds')}s; "
        f"last poll {ago}: {poll}; sacct errors {health.get('sacct_errors')}; "
        f"outbox {health.get('outbox_depth')}{_slack_words(health.get('slack') or {})}",
    ]
    runs = answer.get("runs") or ([answer["run"]] if answer.get("run") else [])
    for run in runs:
        title = run.get("experiment") or run.get("run_key")
        verdict = f"  {run['verdict']}" if run.get("verdict") else ""
        lines.append(f"{title}  {run.get('job_base')}  user {run.get('user')}{verdict}")
        if run.get("headline"):
            lines.append(f"  {run['headline']}")
        for task in run.get("tasks", []):
            role = task.get("role") or ""
            job = task.get("job_id") or "-"
            state = task.get("state") or "-"
            word = str(task.get("verdict") or "").replace("_", " ")
            lines.append(f"  {task['task']:<7} {role:<9} {job:<10} {state:<14} {word}")
        lines += _review_lines(run.get("review"))
    return "\n".join(lines) + "\n"


def _slack_words(slack: dict[str, Any]) -> str:
    """Slack's state when it is not ok: blocked (a bad token), failing since when, and what
    waits or was given up on."""
    parts = []
    if slack.get("blocked"):
        parts.append(f"SLACK BLOCKED: {slack['blocked']}")
    elif slack.get("state") == "failing":
        since = slack.get("failing_since")
        ago = f" for {time.time() - float(since):.0f}s" if since else ""
        parts.append(f"SLACK FAILING{ago}: {slack.get('last_error')}")
    if slack.get("unconfirmed"):
        parts.append(f"{slack['unconfirmed']} unconfirmed")
    if slack.get("parked"):
        parts.append(f"{slack['parked']} parked")
    return "".join(f"; {part}" for part in parts)


def _review_lines(review: dict[str, Any] | None) -> list[str]:
    """The latest review of one run: its verdict and each failed task's root cause."""
    if not review:
        return []
    lines = [f"  review: {review.get('verdict')}"]
    for task in review.get("tasks", []):
        cause = task.get("root_cause")
        if cause:
            lines.append(f"    {task.get('task')}: {cause.get('category')}: {cause.get('summary')}")
    return lines
