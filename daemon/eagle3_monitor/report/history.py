"""`eagle3-monitor history`: the failures the daemon kept (`state/store.py:failures_since`),
grouped by fingerprint (`review/fingerprint.py`) with their counts, first and last time, and
the runs; as JSON (schema eagle3-monitor.history/1) and as text. The same document whether the
command read the database or asked the daemon over the status socket. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.printable import visible
from eagle3_monitor.state.store import StoredFailure

SCHEMA = "eagle3-monitor.history/1"
DEFAULT_SINCE = "30d"
RUNS_SHOWN = 50  # per fingerprint; the count says how many there were
_DURATION = re.compile(r"^\s*(?P<number>[0-9]+)\s*(?P<unit>[mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since_moment(text: str, now: float) -> str:
    """`7d`, `12h`, `30m`, `2w` before `now`, or a date or time (`2026-11-01`, ISO; UTC when it
    names no zone) → UTC ISO text, as the failures table keeps times."""
    match = _DURATION.match(text)
    if match:
        delta = timedelta(**{_UNITS[match["unit"]]: int(match["number"])})
        moment = datetime.fromtimestamp(now, UTC) - delta
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise UnusableInputError(
                f"--since {text!r}: give a duration (30m, 12h, 7d, 2w) or a date (2026-11-01)"
            ) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def history_document(
    failures: Sequence[StoredFailure], since: str, pipeline: str | None
) -> dict[str, Any]:
    """Failures grouped by fingerprint: most frequent first, then the latest."""
    groups: dict[str, list[StoredFailure]] = {}
    for failure in failures:  # oldest first
        groups.setdefault(failure.fingerprint, []).append(failure)
    ordered = sorted(
        groups.values(), key=lambda group: (len(group), group[-1].seen_at), reverse=True
    )
    return {
        "schema": SCHEMA,
        "since": since,
        "pipeline": pipeline,
        "total": len(failures),
        "fingerprints": [_group(group) for group in ordered],
    }


def _group(group: list[StoredFailure]) -> dict[str, Any]:
    latest = group[-1]
    return {
        "fingerprint": latest.fingerprint,
        "cause": latest.cause,
        "pipeline": latest.job_base,
        "role": latest.role,
        "category": latest.category,
        "rule": latest.rule,
        "pattern": latest.pattern,
        "example": latest.example,
        "count": len(group),
        "first_seen": group[0].seen_at,
        "last_seen": latest.seen_at,
        "runs": [_run(failure) for failure in reversed(group[-RUNS_SHOWN:])],
    }


def _run(failure: StoredFailure) -> dict[str, Any]:
    channel, ts = failure.reply_channel, failure.reply_ts
    if channel is None or ts is None:
        channel, ts = failure.thread_channel, failure.thread_ts
    return {
        "run_id": failure.run_id,
        "experiment": failure.experiment_id,
        "task": f"task_{failure.task_index}" if failure.task_index is not None else None,
        "job_id": failure.display_id,
        "seen_at": failure.seen_at,
        "slack": {"channel": channel, "ts": ts} if channel and ts else None,
    }


def history_to_text(document: dict[str, Any]) -> str:
    """The document for a terminal: one block per fingerprint, its runs newest first."""
    scope = f"pipeline {document['pipeline']}" if document.get("pipeline") else "all pipelines"
    groups = document["fingerprints"]
    kinds = "1 kind" if len(groups) == 1 else f"{len(groups)} kinds"
    head = f"Failures since {_when(document['since'])} ({scope}): {document['total']}, {kinds}"
    lines = [visible(head)]
    for group in groups:
        lines += ["", *_group_lines(group)]
    return "\n".join(lines) + "\n"


def _group_lines(group: dict[str, Any]) -> list[str]:
    title = (
        f"{group['count']}x {group['category']} ({group['rule']}) in {group['pipeline']}, "
        f"{group['role']}  [{group['fingerprint']}]"
    )
    span = f"first {_when(group['first_seen'])}, last {_when(group['last_seen'])}"
    lines = [title, f"   {span}", f"   {group['pattern']}"]
    for run in group["runs"]:
        where = f"  slack {run['slack']['channel']} {run['slack']['ts']}" if run["slack"] else ""
        lines.append(
            f"   - {_when(run['seen_at'])}  {run['experiment'] or '?'} {run['task'] or '?'} "
            f"job {run['job_id']}{where}"
        )
    if group["count"] > len(group["runs"]):
        lines.append(f"   … and {group['count'] - len(group['runs'])} earlier")
    return [visible(line) for line in lines]


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ") + " UTC"
