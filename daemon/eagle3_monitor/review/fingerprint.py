"""A failed task's root cause as a fingerprint that survives noise: the same OOM on another GPU,
with another allocation size, on another host, at another time, is the same failure.

The fingerprint hashes the category, the rule, the evidence line with its noise (timestamps,
paths, URLs, IPs, hosts, hex ids, sizes, numbers) replaced by placeholders, the task's role and
the pipeline (the launcher's job name without its task index). `cause` is the same hash
without the pipeline: the same failure on another pipeline. Pure functions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from eagle3_monitor.printable import stripped
from eagle3_monitor.review.model import RootCause

MAX_LINE = 2000  # characters of an evidence line looked at (lines are bounded upstream too)
EXAMPLE_LIMIT = 500
# Causes whose evidence is the log's last lines (whatever they were), not a line a rule proved:
# their summary says what happened.
_TAIL_EVIDENCE_RULES = ("unknown",)
_TAIL_EVIDENCE_PREFIXES = ("slurm-state-",)

# In order: each pattern sees what the ones before it left.
_NOISE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), placeholder)
    for pattern, flags, placeholder in (
        (r"\s+", 0, " "),
        (r"\bhttps?://[^\s'\"<>]+", 0, "<url>"),
        (r"^[\w.-]+:\d+:\d+ (?=\[\d+\])", 0, "<host>:<pid>:<tid> "),  # NCCL's line prefix
        # 2025-11-26T03:10:11.512+00:00, 2025/11/26 03:10:11,123, glog's E1126 03:10:11.512
        (
            r"\b\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?\b",
            0,
            "<time>",
        ),
        (r"\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?", 0, "<time>"),
        (r"\b\d{1,2}-\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?", 0, "<time>"),  # vLLM: 11-26 03:10:11
        (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", 0, "<time>"),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I, "<hex>"),
        (r"\b0x[0-9a-f]+\b", re.I, "<hex>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", 0, "<ip>"),
        (r"\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b\]?(?::\d+)?", re.I, "<ip>"),
        (r"(?:~|\.{1,2})?(?:/[\w.@%+=:~-]+){2,}/?", 0, "<path>"),
        (r"\b[\w-]+\.(?:py|cpp|cc|cu|h|hpp|c|sh|yaml|json|out|log)(?::\d+)?\b", 0, "<file>"),
        (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I, "<hex>"),
        (
            r"(?<![\w.])\d+(?:\.\d+)?\s*(?:[KMGTP]i?B|bytes|B)\b",
            re.I,
            "<size>",
        ),
        (r"(?<=\bhost )[\w.-]+|(?<=\bhostname )[\w.-]+|(?<=\bnode )[\w.-]+", re.I, "<host>"),
        (r"(?<=\bhost=)[\w.-]+|(?<=\bhostname=)[\w.-]+|(?<=\bnode=)[\w.-]+", re.I, "<host>"),
        (r"\d+(?:\.\d+)?(?:e[+-]?\d+)?", re.I, "<n>"),
    )
)


def normalise(line: str) -> str:
    """The line with its noise replaced by placeholders: `CUDA out of memory. Tried to allocate
    2.00 GiB. GPU 3 has a total capacity of 79.15 GiB` → `CUDA out of memory. Tried to allocate
    <size>. GPU <n> has a total capacity of <size>`."""
    text = stripped(line[:MAX_LINE]).strip()
    for pattern, placeholder in _NOISE:
        text = pattern.sub(placeholder, text)
    return text.strip()


@dataclass(frozen=True)
class Fingerprint:
    """A failure's identity. `fingerprint` for this pipeline, `cause` across pipelines."""

    fingerprint: str
    cause: str
    category: str
    rule: str
    pattern: str  # the evidence line (or summary), normalised
    example: str  # the line as seen, cut
    role: str
    job_base: str


def fingerprint(cause: RootCause, role: str | None, job_base: str) -> Fingerprint:
    """The fingerprint of a task's root cause, for the pipeline `job_base`."""
    subject = _subject(cause)
    pattern = normalise(subject)
    role_name = role or "?"
    parts = (str(cause.category), cause.rule, pattern, role_name)
    return Fingerprint(
        fingerprint=_digest((*parts, job_base)),
        cause=_digest(parts),
        category=str(cause.category),
        rule=cause.rule,
        pattern=pattern,
        example=stripped(subject)[:EXAMPLE_LIMIT],
        role=role_name,
        job_base=job_base,
    )


def _subject(cause: RootCause) -> str:
    """The line that proved the cause; the summary when the evidence is only the log's tail or
    there is none."""
    tail_only = cause.rule in _TAIL_EVIDENCE_RULES or cause.rule.startswith(_TAIL_EVIDENCE_PREFIXES)
    if tail_only or not cause.evidence:
        return cause.summary
    return cause.evidence[0].text


def _digest(parts: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
