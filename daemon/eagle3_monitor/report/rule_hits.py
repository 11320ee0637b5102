"""`eagle3-monitor rules test LOG…`: what each rule matched in the given logs and what the
review made of them, like fail2ban-regex, so a user can see why a log was judged as it was."""

from __future__ import annotations

from collections import defaultdict

from eagle3_monitor.review.model import RunReview
from eagle3_monitor.review.scanner import FileScan, Hit

SHOWN_LINES = 3


def rule_hits_to_text(scan: FileScan, review: RunReview | None) -> str:
    """Per rule that matched: its kind, category, priority, how many lines, the first few."""
    by_rule: dict[str, list[Hit]] = defaultdict(list)
    for hit in scan.hits:
        by_rule[hit.rule.id].append(hit)
    matched = sum(scan.counts.values())
    lines = [
        f"{scan.path}: {scan.lines:,} lines; {len(scan.counts)} rules matched {matched:,} times"
    ]
    for rule_id in sorted(by_rule, key=lambda rid: min(hit.line for hit in by_rule[rid])):
        rule = by_rule[rule_id][0].rule.rule
        category = rule.category or "-"
        lines.append(
            f"  {rule_id:<34} {rule.kind:<11} {category:<27} priority {rule.priority:>3}"
            f"  {scan.counts[rule_id]:>6} lines"
        )
        lines += [f"      {hit.line}: {hit.text}" for hit in by_rule[rule_id][:SHOWN_LINES]]
    lines.append(_judged(review))
    return "\n".join(lines) + "\n"


def _judged(review: RunReview | None) -> str:
    if review is None or not review.tasks:
        return "  judged: (could not be reviewed)"
    task = review.tasks[0]
    cause = task.root_cause
    if cause is None:
        return f"  judged: {task.verdict_text}"
    return f"  judged: {task.verdict_text}: {cause.category} ({cause.rule}): {cause.summary}"
