"""Property: for any run (every task's Slurm ending, log evidence and artifacts, drawn by
hypothesis), the stored review, `status`, the Slack thread and `review --format json` tell the
same verdict for every task, the same run verdict and the same headline; and a task the thread
showed decided never goes back to pending or running as the run's jobs end one by one (and
whether or not sacct lists jobs still pending on a dependency)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eagle3_monitor import cli
from eagle3_monitor.rules import Catalog, load_catalog
from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.slack.messages import RUN_WORDS
from eagle3_monitor.slurm.model import JobRecord, JobState
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX
from tests.daemon_harness import InProcessDaemon, in_process_daemon, task_words
from tests.fakes.slurm import pending, pipeline_job, running

ENDINGS = ("completed", "failed", "oom", "timeout", "cancelled", "never_started", "running")
LOGS = ("clean", "crash", "crash_exit0", "silent")
CRASH = "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n"
TRAP = "[ERROR] ./code/common/eagle3/train_eagle.sh:63 failed with status 1.\n"
FINAL_WORDS = {"pass", "fail", "timeout", "cancelled", "blocked"}
_REPLY = re.compile(
    r"\*task_(?P<index>[0-9])\* \([^)]*\) (?:\*(?P<word>[a-z]+)[^*]*\*|(?P<plain>passed|blocked))"
)
CATALOG: Catalog = load_catalog()


@dataclass(frozen=True)
class Ending:
    slurm: str
    log: str
    artifacts: bool

    @property
    def started(self) -> bool:
        return self.slurm != "never_started"

    @property
    def final(self) -> bool:
        return self.slurm != "running"


def afterok_chain(endings: list[Ending]) -> list[Ending]:
    """The first task always started; after a task still running or never started, the rest
    never started (they wait for it). Anything else may follow anything (allow_to_fail)."""
    chain: list[Ending] = []
    for index, drawn in enumerate(endings):
        waits = chain and (not chain[-1].started or not chain[-1].final)
        if waits:
            drawn = Ending("never_started", "silent", drawn.artifacts)  # noqa: PLW2901
        elif index == 0 and not drawn.started:
            drawn = Ending("completed", drawn.log, drawn.artifacts)  # noqa: PLW2901
        chain.append(drawn)
    return chain


ending = st.builds(Ending, st.sampled_from(ENDINGS), st.sampled_from(LOGS), st.booleans())
runs = st.lists(ending, min_size=4, max_size=4).map(afterok_chain)


def plan_for(index: int, ending: Ending) -> TaskPlan:
    role = ROLE_BY_TASK_INDEX[index]
    plan = healthy_plan()[index]
    plan.artifacts = ending.artifacts
    if not ending.started:
        plan.ran = False
    elif ending.log == "crash":
        plan.task_log, plan.exit_code = f"RANK 0 GPU count: 8\n{CRASH}", 1
    elif ending.log == "crash_exit0":
        plan.task_log, plan.exit_code = f"RANK 0 GPU count: 8\n{TRAP}", 0
    elif ending.log == "silent":
        plan.task_log, plan.exit_code = "RANK 0 GPU count: 8\n", None
    assert plan.role is role
    return plan


def final_record(experiment: Path, index: int, ending: Ending) -> JobRecord:
    state, options = {
        "completed": (JobState.COMPLETED, {}),
        "failed": (JobState.FAILED, {"exit_code": 1}),
        "oom": (JobState.OUT_OF_MEMORY, {}),
        "timeout": (JobState.TIMEOUT, {}),
        "cancelled": (JobState.CANCELLED, {"cancelled_by": 0}),
        "never_started": (JobState.CANCELLED, {"started": False, "reason": "Dependency"}),
        "running": (JobState.RUNNING, {}),
    }[ending.slurm]
    return pipeline_job(experiment, index, state, **options)  # type: ignore[arg-type]


def as_seen_before_its_end(record: JobRecord, ending: Ending) -> JobRecord:
    return running(record) if ending.started else pending(record)


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="e3prop") as directory:
        yield Path(directory)


def cli_review(experiment: Path, monitor: InProcessDaemon) -> dict[str, Any]:
    """`eagle3-monitor review --format json --slurm`, asking the same Slurm as the daemon."""
    with mock.patch.object(cli, "make_backend", lambda *_: monitor.slurm):
        done = CliRunner().invoke(
            cli.cli, ["review", str(experiment), "--format", "json", "--slurm"], env={}
        )
    assert done.exit_code in (0, 1, 3), done.output
    document: dict[str, Any] = json.loads(done.output)
    return document


def reply_words(monitor: InProcessDaemon) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for sent in monitor.slack.replies():
        match = _REPLY.match(sent.text.split(" ", 1)[1] if " " in sent.text else "")
        if match:
            word = match["word"] or match["plain"]
            words.setdefault(f"task_{match['index']}", []).append(
                {"passed": "pass"}.get(word, word)
            )
    return words


def summaries(monitor: InProcessDaemon) -> list[str]:
    return [s.text for s in monitor.slack.replies() if "*Run " in s.text.split("\n", 1)[0]]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs, st.booleans())
def test_every_view_of_a_run_tells_the_same_verdicts(
    endings: list[Ending], sacct_hides_pending: bool
) -> None:
    with scratch() as root:
        experiment = write_experiment(
            root / "runs", [plan_for(i, e) for i, e in enumerate(endings)]
        )
        monitor = in_process_daemon(root / "daemon", CATALOG)
        records = [final_record(experiment, i, e) for i, e in enumerate(endings)]
        for revealed in range(len(records) + 1):
            monitor.slurm.records.clear()
            for index, record in enumerate(records):
                ending = endings[index]
                if not ending.started and sacct_hides_pending:
                    continue  # pending on a dependency that never clears: sacct never lists it
                if index < revealed:
                    monitor.slurm.set(record)
                else:
                    monitor.slurm.set(as_seen_before_its_end(record, ending))
            monitor.settle(rounds=1)
        monitor.settle(rounds=2)

        [run] = monitor.store.runs()
        stored = monitor.store.latest_review(run.id)
        [status] = monitor.runs()
        parent = task_words(monitor.slack.parent_versions()[-1])
        if stored is None:  # no job has ended: nothing to review, nothing decided yet
            assert not any(e.final and e.started for e in endings), endings
            assert set(parent.values()) <= {"running", "not run"}
            assert status["verdict"] is None and monitor.slack.replies() == []
            return
        offline = cli_review(experiment, monitor)

        told = {task["task"]: task["verdict"].replace("_", " ") for task in stored["tasks"]}
        assert {t["task"]: t["verdict"].replace("_", " ") for t in status["tasks"]} == told
        assert parent == told
        assert {t["task"]: t["verdict"].replace("_", " ") for t in offline["tasks"]} == told
        assert status["verdict"] == offline["verdict"] == stored["verdict"]
        assert status["headline"] == offline["headline"] == stored["headline"]

        for index, ending in enumerate(endings):  # an ended job is never left undecided
            if ending.final and ending.started:
                assert told[f"task_{index}"] in FINAL_WORDS, (index, ending, told)
        replies = reply_words(monitor)
        for task, word in told.items():
            assert replies.get(task, []) == ([word] if word in FINAL_WORDS else []), replies
        finished = summaries(monitor)
        if all(word in FINAL_WORDS for word in told.values()):
            [summary] = finished
            assert f"*Run {RUN_WORDS[stored['verdict']]}* — {stored['headline']}" in summary
        else:
            assert finished == []
        assert_never_went_back(monitor.slack.parent_versions())


def assert_never_went_back(versions: list[str]) -> None:
    decided: dict[str, str] = {}
    for version in versions:
        for task, word in task_words(version).items():
            assert task not in decided or word in FINAL_WORDS, (task, decided, word, versions)
            if word in FINAL_WORDS:
                decided[task] = word
