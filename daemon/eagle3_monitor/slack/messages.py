"""Slack messages (Block Kit plus a plain-text fallback) for a pipeline run. Pure functions:
every untrusted string is escaped, every block stays inside Slack's limits with room to spare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eagle3_monitor.review.memory import FailureMemory, LaterPass, Occurrence
from eagle3_monitor.review.model import RootCause
from eagle3_monitor.slack.text import code_block, safe

SECTION_LIMIT = 2900  # Slack rejects section text over 3000 characters
FALLBACK_LIMIT = 2000
EVIDENCE_LIMIT = 2400
RERUN_LIMIT = 900
MAX_TASK_LINES = 30
STATE_ICONS = {
    "pass": ":white_check_mark:",
    "fail": ":x:",
    "timeout": ":hourglass:",
    "cancelled": ":no_entry_sign:",
    "running": ":arrows_counterclockwise:",
    "pending": ":double_vertical_bar:",
    "blocked": ":no_entry:",
    "skipped": ":fast_forward:",
    "stalled": ":warning:",
}


@dataclass(frozen=True)
class Message:
    text: str  # the notification / fallback text
    blocks: list[dict[str, Any]] = field(default_factory=list)
    broadcast: bool = False  # reply_broadcast: show a thread reply in the channel too

    def to_payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks, "broadcast": self.broadcast}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        return cls(
            str(payload["text"]), list(payload.get("blocks") or []), bool(payload.get("broadcast"))
        )


@dataclass(frozen=True)
class TaskLine:
    label: str  # task_0
    role: str  # synthesis
    state: str  # pass, fail, timeout, cancelled, running, pending, blocked
    elapsed: str = ""  # 1:02:03


@dataclass(frozen=True)
class RunHeader:
    job_name: str
    experiment: str | None
    user: str
    cluster: str
    tasks: list[TaskLine]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT] or " "}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def parent_message(run: RunHeader) -> Message:
    """The run's parent message, edited in place as its tasks move."""
    title = f"*EAGLE3 run* `{safe(run.job_name, 150)}`"
    if run.experiment:
        title += f" · `{safe(run.experiment, 80)}`"
    meta = f"user {safe(run.user, 60)} · cluster {safe(run.cluster, 60)}"
    lines = [
        f"{STATE_ICONS.get(t.state, ':grey_question:')} `{safe(t.label, 20)}` {safe(t.role, 20)}: "
        f"*{safe(t.state, 20)}*" + (f" ({safe(t.elapsed, 20)})" if t.elapsed else "")
        for t in run.tasks[:MAX_TASK_LINES]
    ]
    states = ", ".join(f"{t.label} {t.state}" for t in run.tasks)
    fallback = safe(f"EAGLE3 run {run.job_name} {run.experiment or ''}: {states}", FALLBACK_LIMIT)
    return Message(
        fallback, [_section(title), _context(meta), _section("\n".join(lines) or "no tasks yet")]
    )


def failure_message(
    task: str,
    role: str,
    verdict: str,
    cause: RootCause,
    rerun: list[str],
    *,
    mention: str | None = None,
    display_path: Any = str,
    memory: FailureMemory | None = None,
) -> Message:
    """A task failed or timed out: headline, category, evidence, fix, what the daemon remembers
    of the same failure, re-run. Broadcast."""
    icon = STATE_ICONS.get(verdict.split(" ", 1)[0], ":x:")
    ping = f"{mention} " if mention else ""
    who = f"*{safe(task, 20)}* ({safe(role, 20)}) *{safe(verdict, 60)}*"
    headline = f"{ping}{icon} {who}: `{cause.category}`"
    summary = safe(cause.summary, 1200)
    evidence = [f"{display_path(item.file)}:{item.line}: {item.text}" for item in cause.evidence]
    blocks = [_section(f"{headline}\n{summary}")]
    if evidence:
        blocks.append(_section(code_block(evidence, EVIDENCE_LIMIT)))
    blocks.append(_section(f"*Fix:* {safe(cause.fix, 1500)}"))
    if memory is not None and not memory.empty:
        blocks.append(_section(memory_text(memory)))
    if rerun:
        command, changes = rerun[0], rerun[1:]
        text = f"*Re-run:* `{safe(command, 600)}`"
        if changes:
            text += "\n" + code_block([line.strip() for line in changes], RERUN_LIMIT)
        blocks.append(_section(text))
    seen = ""
    if memory is not None and memory.last_30_days:
        seen = f" (seen {_times(memory.last_30_days)} before in 30 days)"
    text = safe(f"{task} {verdict}: {cause.category}{seen}: {cause.summary}", FALLBACK_LIMIT)
    return Message(f"{ping}{text}", blocks, broadcast=True)


MEMORY_DIFF_LIMIT = 700


def memory_text(memory: FailureMemory) -> str:
    """What the daemon remembers of this failure: how often this pipeline failed the same way
    (7 and 30 days), the latest times with links to their threads, what changed before a later
    run passed; then, as a weaker hint, the same cause on other pipelines."""
    lines = []
    if memory.recent:
        counts = (
            f"{_times(memory.last_7_days)} in the last 7 days, {memory.last_30_days} in the last 30"
            if memory.last_30_days
            else "not in the last 30 days"
        )
        lines.append(f":repeat: *Seen before on this pipeline:* {counts}.")
        lines += [f"• {_occurrence(item)}" for item in memory.recent]
    if memory.later_pass is not None:
        lines += _later_pass_lines(memory.later_pass)
    if memory.elsewhere:
        last = memory.elsewhere[0]
        lines.append(
            f"_The same cause on other pipelines:_ {_times(memory.elsewhere_30_days)} in the last "
            f"30 days; latest on `{safe(last.job_base, 150)}`: {_occurrence(last)}"
        )
    return "\n".join(lines)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _occurrence(item: Occurrence) -> str:
    """`2026-11-26 01:10 UTC · cicd_1 task_1 (job 418301) · <link|thread>`, or where the reply
    is (channel and ts) when Slack gave no link."""
    when = item.seen_at[:16].replace("T", " ") + " UTC"
    experiment = safe(item.experiment or "?", 80)
    what = f"`{experiment}` {safe(item.task, 20)} (job {safe(item.job_id, 40)})"
    if item.link and _linkable(item.link):
        where = f"<{item.link}|thread>"
    elif item.channel and item.ts:
        where = f"channel {safe(item.channel, 40)}, ts {safe(item.ts, 40)}"
    else:
        where = "not posted to Slack"
    return f"{safe(when, 30)} · {what} · {where}"


def _linkable(link: str) -> bool:
    return link.startswith("https://") and not any(c in link for c in " |<>\n`")


def _later_pass_lines(later: LaterPass) -> list[str]:
    experiment = safe(later.experiment or "?", 80)
    head = f"After the last one, `{experiment}` passed this task (job {safe(later.job_id, 40)})"
    if not later.changes and not later.yaml_diff:
        return [f"{head}; no change to its batch limits or pipeline YAML is visible."]
    lines = [f"{head}. What changed:"]
    lines += [f"• {safe(change, 200)}" for change in later.changes]
    if later.yaml_diff:
        lines.append(code_block(list(later.yaml_diff), MEMORY_DIFF_LIMIT))
    return lines


def passed_message(task: str, role: str, detail: str = "") -> Message:
    extra = f" — {safe(detail, 300)}" if detail else ""
    text = f"{STATE_ICONS['pass']} *{safe(task, 20)}* ({safe(role, 20)}) passed{extra}"
    return Message(safe(f"{task} passed {detail}".strip(), FALLBACK_LIMIT), [_section(text)])


def stalled_message(task: str, role: str, quiet_minutes: int, last_line: str) -> Message:
    text = (
        f"{STATE_ICONS['stalled']} *{safe(task, 20)}* ({safe(role, 20)}) has written nothing for "
        f"{quiet_minutes} min; last line:\n{code_block([last_line], 800)}"
    )
    fallback = safe(f"{task} stalled: no output for {quiet_minutes} min", FALLBACK_LIMIT)
    return Message(fallback, [_section(text)], broadcast=True)


def early_alert_message(
    task: str, role: str, job_id: str, cause: RootCause, *, mention: str | None = None
) -> Message:
    """A running job's log shows a fatal error; it may hang until its time limit. Broadcast."""
    ping = f"{mention} " if mention else ""
    who = f"*{safe(task, 20)}* ({safe(role, 20)}, job {safe(job_id, 40)})"
    headline = (
        f"{ping}:rotating_light: {who} is still running, but its log shows `{cause.category}`"
    )
    evidence = [f"{item.file.name}:{item.line}: {item.text}" for item in cause.evidence]
    blocks = [_section(f"{headline}\n{safe(cause.summary, 1200)}")]
    if evidence:
        blocks.append(_section(code_block(evidence, EVIDENCE_LIMIT)))
    blocks.append(_section(f"*Fix:* {safe(cause.fix, 1500)}"))
    blocks.append(
        _context(
            "Jobs in this state often hang until their time limit. "
            f"Stop it now with `scancel {safe(job_id, 40)}`."
        )
    )
    text = safe(f"{task} still running with {cause.category}: {cause.summary}", FALLBACK_LIMIT)
    return Message(f"{ping}{text}", blocks, broadcast=True)


def recovered_message(task: str, role: str) -> Message:
    text = f":arrow_forward: *{safe(task, 20)}* ({safe(role, 20)}) is writing to its log again"
    return Message(safe(f"{task} is writing to its log again", FALLBACK_LIMIT), [_section(text)])


def blocked_message(task: str, role: str, reason: str) -> Message:
    """A task that never ran because an upstream task failed."""
    who = f"*{safe(task, 20)}* ({safe(role, 20)})"
    text = f"{STATE_ICONS['blocked']} {who} blocked: {safe(reason, 600)}"
    return Message(safe(f"{task} blocked: {reason}", FALLBACK_LIMIT), [_section(text)])


def review_failed_message(task: str, role: str, ending: str, reason: str) -> Message:
    """A job ended but its review raised: say so (and how Slurm ended it), never guess."""
    text = (
        f":warning: *{safe(task, 20)}* ({safe(role, 20)}) ended {safe(ending, 80)}; "
        f"review failed: {safe(reason, 600)}"
    )
    fallback = safe(f"{task} ended {ending}; review failed: {reason}", FALLBACK_LIMIT)
    return Message(fallback, [_section(text)], broadcast=True)


RUN_WORDS = {"pass": "passed", "fail": "failed", "incomplete": "incomplete"}


def finished_message(
    verdict: str, headline: str, counts: list[str], sparkline: str = ""
) -> Message:
    """The run ended: its verdict and headline (the failing task, its category and cause; the
    acceptance length after it when measured), artifact counts, the loss sparkline."""
    word = RUN_WORDS.get(verdict, verdict)
    icon = ":tada:" if verdict == "pass" else ":x:" if verdict == "fail" else ":hourglass:"
    lines = [f"{icon} *Run {safe(word, 20)}* — {safe(headline, 1200)}"]
    lines += [f"• {safe(count, 200)}" for count in counts[:20]]
    if sparkline:
        lines.append(f"loss `{safe(sparkline, 60)}`")
    fallback = safe(f"run {word}: {headline}", FALLBACK_LIMIT)
    return Message(fallback, [_section("\n".join(lines))], broadcast=verdict != "pass")


def test_message(team: str) -> Message:
    text = f":white_check_mark: eagle3-monitor can post here (workspace {safe(team, 80)})."
    return Message("eagle3-monitor test message", [_section(text)])


def readable(message: Message) -> str:
    """The message as plain text, for the console notifier."""
    parts = []
    for block in message.blocks:
        if block.get("type") == "section":
            parts.append(block["text"]["text"])
        elif block.get("type") == "context":
            parts.extend(element["text"] for element in block["elements"])
    text = "\n".join(parts) if parts else message.text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
