"""The `eagle3-monitor.review/1` JSON document; tests/test_json_contract.py pins its shape."""

from __future__ import annotations

from typing import Any

from eagle3_monitor.review.model import Evidence, Finding, RootCause, RunReview, TaskReview
from eagle3_monitor.vocabulary import TaskVerdict

REVIEW_SCHEMA = "eagle3-monitor.review/1"


def review_to_json(review: RunReview) -> dict[str, Any]:
    return {
        "schema": REVIEW_SCHEMA,
        "path": str(review.path),
        "experiment": review.experiment,
        "verdict": str(review.verdict),
        "headline": review.headline,
        "root_cause": _run_root_cause(review),
        "rerun": _rerun(review),
        "tasks": [_task(task) for task in review.tasks],
    }


def _rerun(review: RunReview) -> dict[str, Any] | None:
    advice = review.rerun
    if advice is None:
        return None
    return {"command": advice.command, "changes": list(advice.changes), "note": advice.note or None}


def _run_root_cause(review: RunReview) -> dict[str, Any] | None:
    cause = review.root_cause
    if cause is None:
        return None
    task = review.root_cause_task
    return {
        "task": task.task if task else None,
        "category": str(cause.category),
        "rule": cause.rule,
        "summary": cause.summary,
        "fix": cause.fix,
    }


def _task(task: TaskReview) -> dict[str, Any]:
    return {
        "task": task.task,
        "index": task.index,
        "job_name": task.job_name,
        "job_id": task.job_id,
        "role": str(task.role) if task.role else None,
        "verdict": str(task.verdict),
        "root_cause": _task_root_cause(task.root_cause),
        "findings": [_finding(finding) for finding in task.findings],
        "logs": [str(path) for path in task.logs],
    }


def _task_root_cause(cause: RootCause | None) -> dict[str, Any] | None:
    if cause is None:
        return None
    return {
        "category": str(cause.category),
        "rule": cause.rule,
        "summary": cause.summary,
        "fix": cause.fix,
        "evidence": [_evidence(item) for item in cause.evidence],
    }


def _evidence(item: Evidence) -> dict[str, Any]:
    return {"file": str(item.file), "line": item.line, "text": item.text}


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "category": str(finding.category),
        "rule": finding.rule,
        "file": str(finding.file),
        "line": finding.line,
        "text": finding.text,
    }


def verdicts_of_document(document: dict[str, Any] | None) -> dict[int, TaskVerdict]:
    """The task verdicts a stored review/1 document decided, by task index."""
    verdicts: dict[int, TaskVerdict] = {}
    for task in (document or {}).get("tasks") or []:
        index, verdict = task.get("index"), task.get("verdict")
        if isinstance(index, int) and verdict in set(TaskVerdict):
            verdicts[index] = TaskVerdict(verdict)
    return verdicts
