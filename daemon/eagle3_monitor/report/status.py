"""`eagle3-monitor status` as text: plain lines (stable, for grep and scripts) or, on a terminal,
tables sized to its width with the states and verdicts in colour.

No table library: the output is a few aligned columns, one of them cut to the terminal's width.
`click.style` (already the CLI's) colours it and `unicodedata` measures wide characters; `rich`
would add ~30 ms of import and a dependency to every `status` for what is 100 lines here."""

from __future__ import annotations

import textwrap
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import click

from eagle3_monitor.printable import visible

# Words in colour: what passed is green, what failed red, what stopped short yellow, what goes
# on cyan; Slurm's states and the verdicts alike.
_GREEN, _RED, _YELLOW, _CYAN = "green", "red", "yellow", "cyan"
COLOUR_OF_WORD = {
    "pass": _GREEN,
    "COMPLETED": _GREEN,
    "fail": _RED,
    "timeout": _RED,
    "FAILED": _RED,
    "TIMEOUT": _RED,
    "OUT_OF_MEMORY": _RED,
    "NODE_FAIL": _RED,
    "BOOT_FAIL": _RED,
    "PREEMPTED": _RED,
    "cancelled": _YELLOW,
    "blocked": _YELLOW,
    "CANCELLED": _YELLOW,
    "DEADLINE": _YELLOW,
    "running": _CYAN,
    "RUNNING": _CYAN,
    "COMPLETING": _CYAN,
    "incomplete": _CYAN,
}
TASK_COLUMNS = ("TASK", "ROLE", "JOB", "STATE", "EXIT", "ELAPSED", "VERDICT", "ROOT CAUSE")
_STATE, _VERDICT = 3, 6  # the coloured columns
_PLAIN_WIDTHS = (7, 9, 10, 14, 4, 8, 9)
_MIN_CAUSE_WIDTH = 24


@dataclass(frozen=True)
class Look:
    """How to print: tables (a terminal) or plain lines; colour; the terminal's width."""

    table: bool = False
    colour: bool = False
    width: int = 100


def status_to_text(
    health: dict[str, Any],
    answer: dict[str, Any],
    look: Look | None = None,
    now: float | None = None,
) -> str:
    """The daemon's health, then each run: its tasks as plain lines or as a table."""
    look = look or Look()
    now = time.time() if now is None else now
    runs = answer.get("runs") or ([answer["run"]] if answer.get("run") else [])
    lines = [_health_line(health, look, now)]
    for run in runs:
        lines += _run_table(run, look) if look.table else _run_lines(run)
    if look.table and not runs:
        lines += ["", "no runs"]
    return "\n".join(lines) + "\n"


def duration(seconds: float | None) -> str:
    """`45s`, `3m07s`, `2h05m`, `3d04h`; `-` when unknown."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _health_line(health: dict[str, Any], look: Look, now: float) -> str:
    up = duration(health.get("uptime_seconds"))
    line = (
        f"eagle3-monitor {health.get('version')} up {up}; {_poll_words(health, look, now)}; "
        f"sacct errors {health.get('sacct_errors')}; outbox {health.get('outbox_depth')}"
    )
    slack = _slack_words(health.get("slack") or {}, now)
    return line + (_paint(slack, _RED, look) if slack else "")


def _poll_words(health: dict[str, Any], look: Look, now: float) -> str:
    last = health.get("last_poll")
    if not last:
        return "no poll yet"
    ago = f"last poll {duration(now - float(last))} ago"
    if health.get("last_poll_ok") is False:
        return f"{ago}: " + _paint(f"FAILING ({health.get('last_poll_error')})", _RED, look)
    return f"{ago}: ok"


def _slack_words(slack: dict[str, Any], now: float) -> str:
    """Slack's state when it is not ok: blocked (a bad token), failing since when, and what
    waits or was given up on."""
    parts = []
    if slack.get("blocked"):
        parts.append(f"SLACK BLOCKED: {slack['blocked']}")
    elif slack.get("state") == "failing":
        since = slack.get("failing_since")
        ago = f" for {now - float(since):.0f}s" if since else ""
        parts.append(f"SLACK FAILING{ago}: {slack.get('last_error')}")
    if slack.get("unconfirmed"):
        parts.append(f"{slack['unconfirmed']} unconfirmed")
    if slack.get("parked"):
        parts.append(f"{slack['parked']} parked")
    return "".join(f"; {part}" for part in parts)


# -- plain: one line per run, one per task, the same columns every time ----------------------


def _run_lines(run: dict[str, Any]) -> list[str]:
    verdict = run.get("verdict") or "-"
    title = _text(run.get("experiment") or run.get("run_key"))
    lines = [
        f"{title}  {_text(run.get('job_base'))}  user {_text(run.get('user'))}  {verdict}  "
        f"elapsed {_run_elapsed(run)}"
    ]
    if run.get("headline"):
        lines.append(f"  {_text(run['headline'])}")
    for task in run.get("tasks", []):
        cells = _task_cells(task)
        line = " ".join(
            _pad(cell, width) for cell, width in zip(cells, _PLAIN_WIDTHS, strict=False)
        )
        lines.append(f"  {line} {cells[-1]}".rstrip())
    return lines + _review_lines(run.get("review"))


def _review_lines(review: dict[str, Any] | None) -> list[str]:
    """`status RUN`: the latest review's fix for the run's root cause, and its re-run."""
    if not review:
        return []
    lines = []
    cause = review.get("root_cause") or {}
    if cause.get("fix"):
        lines.append(f"  fix: {_text(cause['fix'])}")
    rerun = review.get("rerun") or {}
    if rerun.get("command"):
        lines.append(f"  rerun: {_text(rerun['command'])}")
    return lines


# -- table: a header row, columns sized to their cells, the cause cut to the width -----------


def _run_table(run: dict[str, Any], look: Look) -> list[str]:
    verdict = run.get("verdict") or "no review yet"
    title = _text(run.get("experiment") or run.get("run_key"))
    heading = (
        f"{_bold(title, look)}  {_text(run.get('job_base'))}  user {_text(run.get('user'))}  "
        f"{_paint(verdict, COLOUR_OF_WORD.get(verdict), look)}  {_run_elapsed(run)}"
    )
    lines = ["", heading]
    if run.get("headline"):
        lines.append("  " + _cut(_text(run["headline"]), look.width - 2))
    rows = [_task_cells(task) for task in run.get("tasks", [])]
    if rows:
        lines += _table([TASK_COLUMNS, *rows], look)
    review = _review_lines(run.get("review"))
    return lines + [wrapped for line in review for wrapped in _wrap(line, look.width)]


def _table(rows: list[tuple[str, ...]], look: Look) -> list[str]:
    """Columns as wide as their widest cell; the last (the root cause) gets what is left of
    the width, or a line of its own under its row when too little is left."""
    header, *body = rows
    widths = [max(width(row[column]) for row in rows) for column in range(len(header) - 1)]
    left = look.width - 2 - sum(columns + 2 for columns in widths)
    inline = left >= _MIN_CAUSE_WIDTH
    titles = [*map(_pad, header[:-1], widths), header[-1] if inline else ""]
    lines = ["  " + _bold("  ".join(titles).rstrip(), look)]
    for row in body:
        cells = [_pad(cell, columns) for cell, columns in zip(row[:-1], widths, strict=True)]
        for column in (_STATE, _VERDICT):
            word = row[column]
            cells[column] = (
                _paint(word, COLOUR_OF_WORD.get(word), look) + cells[column][len(word) :]
            )
        cause = row[-1]
        lines.append(("  " + "  ".join([*cells, _cut(cause, left) if inline else ""])).rstrip())
        if cause and not inline:
            lines.append("      " + _cut(cause, look.width - 6))
    return lines


def _task_cells(task: dict[str, Any]) -> tuple[str, ...]:
    """task, role, job, state, exit status, elapsed, verdict, and why: its root cause, or why
    it never ran."""
    why = _why(task)
    exit_status = task.get("exit_status")
    return (
        _text(task.get("task")),
        _text(task.get("role") or "-"),
        _text(task.get("job_id") or "-"),
        task.get("state") or "-",
        str(exit_status) if exit_status is not None and task.get("final") else "-",
        duration(task.get("elapsed_seconds")),
        str(task.get("verdict") or "").replace("_", " "),
        _text(why),
    )


def _why(task: dict[str, Any]) -> str:
    """A failed task's root cause (`category: summary`), a blocked one's reason (its summary
    says it never ran and why), or why a job that ended never started."""
    cause = task.get("root_cause") or {}
    if not cause:
        return str(task.get("never_ran") or "")
    if task.get("verdict") == "blocked":
        return str(cause.get("summary"))
    return f"{cause.get('category')}: {cause.get('summary')}"


def _wrap(line: str, columns: int) -> list[str]:
    """A long `fix:` line in lines of the terminal's width, indented under its first."""
    if width(line) <= columns or line.startswith("  rerun:"):
        return [line]
    return textwrap.wrap(line, columns, subsequent_indent="       ")


def _run_elapsed(run: dict[str, Any]) -> str:
    seconds = run.get("elapsed_seconds")
    if seconds is None:
        return "not started"
    return duration(seconds) + ("" if run.get("ended") else " so far")


def width(text: str) -> int:
    """Columns `text` takes on a terminal: wide (CJK) characters two, combining marks none."""
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def _cut(text: str, columns: int) -> str:
    """`text` in at most `columns` terminal columns, ending in `…` when cut."""
    if width(text) <= columns:
        return text
    kept, used = [], 0
    for char in text:
        used += _char_width(char)
        if used > columns - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _paint(text: str, colour: str | None, look: Look) -> str:
    return click.style(text, fg=colour) if look.colour and colour else text


def _bold(text: str, look: Look) -> str:
    return click.style(text, bold=True) if look.colour else text


def _text(value: object) -> str:
    """A value from the daemon's answer made safe to print (names and log text are users')."""
    return visible(str(value)) if value is not None else "-"
