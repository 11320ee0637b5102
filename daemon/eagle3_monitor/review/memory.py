"""What the daemon remembers of a failure it saw before (same fingerprint, `review/
fingerprint.py`): frozen data, looked up before a reply is composed (`service/memory.py`) and
only rendered after (`slack/messages.py:memory_text`, `report/history.py`)."""

from __future__ import annotations

from dataclasses import dataclass

RECENT_SHOWN = 3  # earlier occurrences named, with their links
ELSEWHERE_SHOWN = 2


@dataclass(frozen=True)
class Occurrence:
    """One earlier failure with this fingerprint, and where its Slack reply is."""

    job_base: str
    experiment: str | None
    task: str  # task_1
    job_id: str
    seen_at: str  # when its job ended, UTC ISO
    link: str | None = None  # chat.getPermalink's answer
    channel: str | None = None  # where the reply was posted, when the link is not known
    ts: str | None = None


@dataclass(frozen=True)
class LaterPass:
    """A later run of the same pipeline in which the task passed, after the last occurrence,
    and what differed between them as far as the daemon can see."""

    experiment: str | None
    job_id: str
    changes: tuple[str, ...] = ()  # `time 04:00:00 → 08:00:00`
    yaml_diff: tuple[str, ...] = ()  # `-  gpus_per_node: 4`, `+  gpus_per_node: 8`


@dataclass(frozen=True)
class FailureMemory:
    """The same failure before this one: on this pipeline (counts before this failure, within
    7 and 30 days; the newest ones named) and, a weaker hint, the same cause on others."""

    last_7_days: int = 0
    last_30_days: int = 0
    recent: tuple[Occurrence, ...] = ()  # newest first
    later_pass: LaterPass | None = None
    elsewhere_30_days: int = 0
    elsewhere: tuple[Occurrence, ...] = ()  # newest first, other pipelines

    @property
    def empty(self) -> bool:
        return not (self.last_30_days or self.recent or self.elsewhere_30_days)
