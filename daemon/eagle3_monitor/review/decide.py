"""The one decision. Pure functions from what is known of each task (its judged logs, its
artifact checks, Slurm's view of its job) to a frozen `TaskReview`, and from the tasks to a frozen
`RunReview` with its verdict, headline and validation view. Everything that reports a review (the
text, Markdown and JSON reports, `validate`, the Slack messages, the stored review, `status`)
renders these objects and decides nothing itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eagle3_monitor.review.judge import Judgement
from eagle3_monitor.review.model import (
    AcceptanceLength,
    Evidence,
    RootCause,
    RunReview,
    TaskReview,
)
from eagle3_monitor.slurm.model import JobState, SlurmView
from eagle3_monitor.validate.benchmark import BenchmarkResults
from eagle3_monitor.validate.model import (
    Check,
    CheckStatus,
    TaskValidation,
    Validation,
    ValidationVerdict,
)
from eagle3_monitor.validate.run import CATEGORY_BY_CHECK, FIX_BY_CHECK
from eagle3_monitor.vocabulary import Category, Role, RunVerdict, TaskVerdict

_CAUSED_UPSTREAM = {Category.MISSING_INPUT, Category.DEPENDENCY_NEVER_SATISFIED}
_WEAK_CAUSES = {Category.UNKNOWN, Category.PYTHON_EXCEPTION}
_VALIDATION_VERDICT = {
    RunVerdict.PASS: ValidationVerdict.PASSED,
    RunVerdict.FAIL: ValidationVerdict.FAILED,
    RunVerdict.INCOMPLETE: ValidationVerdict.PARTIAL,
}
LOW_ACCEPTANCE_FIX = FIX_BY_CHECK["acceptance_length"]


@dataclass(frozen=True)
class TaskFacts:
    """What is known of a task besides its logs' judgement: names, files, Slurm, artifacts."""

    task: str | None
    index: int | None
    name: str
    job_name: str | None = None
    job_id: str | None = None
    logs: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()
    slurm: SlurmView | None = None
    checks: tuple[Check, ...] | None = None  # None: its artifacts were not checked
    benchmark: BenchmarkResults | None = None  # the benchmark's result files
    skipped: bool = False  # no task directory, no logs, no job: left out of this launch

    @property
    def left_outputs_only(self) -> bool:
        """Ran (its outputs are there and sound) but its logs are gone and Slurm was not asked."""
        if self.slurm is not None or self.logs:
            return False
        if self.benchmark is not None and self.benchmark.acceptance_length is not None:
            return True
        checks = self.checks or ()
        return bool(checks) and not any(check.status is CheckStatus.FAIL for check in checks)


# ---------------------------------------------------------------------------- one task


def decide_task(facts: TaskFacts, judgement: Judgement, threshold: float) -> TaskReview:
    verdict, cause = judgement.verdict, judgement.root_cause
    if verdict is TaskVerdict.NOT_RUN and facts.skipped:
        verdict = TaskVerdict.SKIPPED
    elif verdict is TaskVerdict.NOT_RUN and facts.left_outputs_only:
        verdict = TaskVerdict.PASS  # a missing log is no failure when the outputs are sound
    acceptance = judgement.acceptance
    if judgement.role is Role.BENCHMARK:
        acceptance = acceptance or _acceptance_from_results(facts.benchmark)
        verdict, cause = _benchmark_gate(verdict, cause, acceptance, threshold, judgement)
    checks = _task_checks(facts, judgement, verdict, acceptance, threshold)
    failed_check = checks.failures()[0] if checks is not None and checks.failures() else None
    if verdict is TaskVerdict.PASS and failed_check is not None:
        verdict, cause = TaskVerdict.FAIL, _artifact_cause(failed_check, facts)
    return TaskReview(
        task=facts.task,
        index=facts.index,
        name=facts.name,
        job_name=facts.job_name,
        job_id=facts.job_id,
        role=judgement.role,
        verdict=verdict,
        root_cause=cause,
        findings=judgement.findings,
        logs=facts.logs,
        exit_code=judgement.exit_code,
        acceptance=acceptance,
        problems=facts.problems,
        metrics=judgement.metrics,
        checks=checks,
        slurm=facts.slurm,
    )


def _acceptance_from_results(results: BenchmarkResults | None) -> AcceptanceLength | None:
    if results is None or results.acceptance_length is None or results.source is None:
        return None
    value = results.acceptance_length
    evidence = Evidence(results.source, 0, f"acceptance length {value:g}")
    return AcceptanceLength(value, evidence, dict(results.per_topic))


def _benchmark_gate(
    verdict: TaskVerdict,
    cause: RootCause | None,
    acceptance: AcceptanceLength | None,
    threshold: float,
    judgement: Judgement,
) -> tuple[TaskVerdict, RootCause | None]:
    """The quality gate: a benchmark that ended cleanly passes only with an acceptance length at
    or above the threshold; one that failed with no clearer cause than its own gate (it exits 1
    after `REGRESSION: 1.93 < 2.1`) failed of low acceptance."""
    impossible = acceptance.impossible(judgement.draft_length) if acceptance else None
    if impossible and acceptance is not None:
        return TaskVerdict.FAIL, _impossible_acceptance(acceptance, impossible)
    if verdict is TaskVerdict.PASS:
        if acceptance is None:
            return TaskVerdict.FAIL, _no_acceptance(judgement)
        if acceptance.value < threshold:
            return TaskVerdict.FAIL, _low_acceptance(acceptance, threshold)
        return verdict, cause
    weak = cause is None or cause.category in _WEAK_CAUSES
    if verdict is TaskVerdict.FAIL and weak and acceptance is not None:
        bound = max(threshold, acceptance.bound or threshold)
        if acceptance.value < bound:
            return verdict, _low_acceptance(acceptance, bound)
    return verdict, cause


def _no_acceptance(judgement: Judgement) -> RootCause:
    return RootCause(
        Category.EMPTY_OUTPUT,
        "no-acceptance-length",
        "the benchmark finished without reporting an acceptance length",
        "Check that the benchmark loaded the draft (export/) and wrote its results; "
        "look for errors in its log.",
        judgement.tail[-3:],
    )


def _impossible_acceptance(acceptance: AcceptanceLength, why: str) -> RootCause:
    return RootCause(
        Category.EMPTY_OUTPUT,
        "impossible-acceptance-length",
        f"the benchmark reported an impossible value: {why}",
        "The benchmark's numbers cannot be trusted: check which draft it loaded and its "
        "result files, then re-run task_3.",
        (acceptance.evidence,),
    )


def _low_acceptance(acceptance: AcceptanceLength, threshold: float) -> RootCause:
    return RootCause(
        Category.LOW_ACCEPTANCE,
        "acceptance-threshold",
        f"acceptance length {acceptance.value:.2f} is below the threshold {threshold:.2f}",
        LOW_ACCEPTANCE_FIX,
        (acceptance.evidence,),
    )


def _artifact_cause(failed: Check, facts: TaskFacts) -> RootCause:
    where = failed.path or (facts.logs[0].parent if facts.logs else Path(facts.name))
    return RootCause(
        CATEGORY_BY_CHECK.get(failed.name, Category.EMPTY_OUTPUT),
        f"artifact-{failed.name.replace('_', '-')}",
        f"the log looks fine but {failed.detail}",
        FIX_BY_CHECK.get(failed.name, "Look at the task's artifacts."),
        (Evidence(where, 0, failed.detail),),
    )


def _task_checks(
    facts: TaskFacts,
    judgement: Judgement,
    verdict: TaskVerdict,
    acceptance: AcceptanceLength | None,
    threshold: float,
) -> TaskValidation | None:
    """The task's rows in the validate view: its artifact checks once it ended (or when a
    skipped task's artifacts are there), else why it was skipped."""
    role = judgement.role
    if role is None or facts.index is None:
        return None
    found = facts.checks or ()
    if role is Role.BENCHMARK and verdict.is_final:
        checked = _acceptance_check(acceptance, threshold, facts.benchmark, judgement.draft_length)
        found = (*found, checked)
    if verdict is TaskVerdict.RUNNING:
        found = (Check("task", CheckStatus.SKIP, f"{facts.task} is still running"),)
    elif verdict is TaskVerdict.SKIPPED:
        found = (Check("task", CheckStatus.SKIP, f"{facts.task} was skipped in this launch"),)
    elif not found:
        found = (Check("task", CheckStatus.SKIP, f"{facts.task} has not run"),)
    return TaskValidation(facts.task, facts.index, role, found)


def _acceptance_check(
    acceptance: AcceptanceLength | None,
    threshold: float,
    results: BenchmarkResults | None,
    draft_length: int | None,
) -> Check:
    if acceptance is None:
        files = sorted({path.name for path in results.files}) if results else []
        detail = "no acceptance length in the log or in " + (", ".join(files) or "result files")
        return Check("acceptance_length", CheckStatus.FAIL, detail)
    impossible = acceptance.impossible(draft_length)
    if impossible:
        return Check(
            "acceptance_length", CheckStatus.FAIL, impossible, None, acceptance.evidence.file
        )
    per_topic = {**(results.per_topic if results else {}), **acceptance.per_topic}
    topics = ", ".join(f"{topic} {value:.2f}" for topic, value in sorted(per_topic.items()))
    where = f" (per topic: {topics})" if topics else ""
    passed = acceptance.value >= threshold
    relation = ">=" if passed else "<"
    detail = f"acceptance length {acceptance.value:.2f} {relation} threshold {threshold:.2f}{where}"
    status = CheckStatus.PASS if passed else CheckStatus.FAIL
    return Check("acceptance_length", status, detail, acceptance.value, acceptance.evidence.file)


# ---------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunFacts:
    path: Path
    experiment: str | None
    job_name: str | None
    threshold: float


def decide_run(facts: RunFacts, tasks: Sequence[TaskReview]) -> RunReview:
    """The run's verdict and headline from its tasks, decided once: tasks that never ran after
    the failure that explains the run are blocked by it."""
    headline = headline_task(tasks)
    decided = tuple(_blocked_or_same(task, headline) for task in tasks)
    headline = next((t for t in decided if headline and t.index == headline.index), headline)
    verdict = run_verdict(decided)
    acceptance = _run_acceptance(decided)
    return RunReview(
        path=facts.path,
        experiment=facts.experiment,
        verdict=verdict,
        tasks=decided,
        headline=_headline_text(verdict, headline, decided, acceptance, facts.threshold),
        root_cause_task=headline,
        threshold=facts.threshold,
        job_name=facts.job_name,
        validation=_validation(facts, verdict, headline, decided, acceptance),
    )


def run_verdict(tasks: Sequence[TaskReview]) -> RunVerdict:
    if any(task.verdict.is_failure or task.verdict is TaskVerdict.BLOCKED for task in tasks):
        return RunVerdict.FAIL
    if any(not task.verdict.is_final for task in tasks):
        return RunVerdict.INCOMPLETE
    return RunVerdict.PASS


def headline_task(tasks: Sequence[TaskReview]) -> TaskReview | None:
    """The task whose failure explains the run.

    A failed task that later tasks got past (they passed: `afterany` with allow_to_fail) was
    tolerated. The first failure that was not tolerated is the headline; when it only lacks
    input from upstream, an earlier failed task is the real cause. A task cancelled before it
    started explains nothing when an earlier task failed."""
    failed = [task for task in tasks if task.verdict.is_failure and not _never_started(task)]
    failed = failed or [task for task in tasks if task.verdict.is_failure]
    if not failed:
        return None
    ordered = sorted(tasks, key=_order)
    blocking = [task for task in failed if not _passed_after(task, ordered)]
    headline = blocking[0] if blocking else failed[-1]
    cause = headline.root_cause
    if cause is not None and cause.category in _CAUSED_UPSTREAM:
        upstream = [task for task in failed if _before(task, headline)]
        if upstream:
            return upstream[-1]
    return headline


def _order(task: TaskReview) -> int:
    return task.index if task.index is not None else 1 << 30


def _never_started(task: TaskReview) -> bool:
    return task.slurm is not None and not task.slurm.started


def _passed_after(task: TaskReview, ordered: list[TaskReview]) -> bool:
    later = ordered[ordered.index(task) + 1 :]
    return any(other.verdict is TaskVerdict.PASS for other in later)


def _before(task: TaskReview, other: TaskReview) -> bool:
    return task.index is not None and other.index is not None and task.index < other.index


def _blocked_or_same(task: TaskReview, headline: TaskReview | None) -> TaskReview:
    """A task that never ran after the headline failure (still pending, or cancelled by Slurm
    before it started) was blocked by it; so is one Slurm says can never start."""
    waits_forever = task.slurm is not None and task.slurm.waits_forever
    never_ran = task.verdict is TaskVerdict.NOT_RUN or (
        task.verdict is TaskVerdict.CANCELLED
        and _never_started(task)
        and task.slurm is not None
        and task.slurm.state is JobState.CANCELLED
    )
    after_headline = (
        headline is not None and _before(headline, task) and headline is not task and never_ran
    )
    if not (after_headline or (waits_forever and task.verdict is TaskVerdict.NOT_RUN)):
        return task
    return replace(task, verdict=TaskVerdict.BLOCKED, root_cause=_blocked_cause(headline))


def _blocked_cause(headline: TaskReview | None) -> RootCause:
    if headline is None:
        summary = "never ran: Slurm says its dependency can never be satisfied"
        fix = "Fix the failed upstream task first, then re-run from it."
    else:
        category = headline.root_cause.category if headline.root_cause else Category.UNKNOWN
        summary = f"never ran: {headline.label} failed ({category})"
        fix = f"Fix {headline.label} first, then re-run from it."
    return RootCause(Category.DEPENDENCY_NEVER_SATISFIED, "upstream-failed", summary, fix)


def _run_acceptance(tasks: Sequence[TaskReview]) -> AcceptanceLength | None:
    measured = [task.acceptance for task in tasks if task.acceptance is not None]
    return measured[-1] if measured else None


def _headline_text(
    verdict: RunVerdict,
    headline: TaskReview | None,
    tasks: Sequence[TaskReview],
    acceptance: AcceptanceLength | None,
    threshold: float,
) -> str:
    """One line that says why the run ended as it did; the acceptance length only when
    measured, and after the cause."""
    gate = ""
    if acceptance is not None:
        relation = "≥" if acceptance.value >= threshold else "<"
        gate = f"acceptance length {acceptance.value:.2f} {relation} {threshold:g}"
    if verdict is RunVerdict.PASS:
        skipped = [task.label for task in tasks if task.verdict is TaskVerdict.SKIPPED]
        ran = len(tasks) - len(skipped)
        passed = f"all {ran} tasks passed" if not skipped else f"{ran} tasks passed"
        if skipped:
            passed += f" ({', '.join(skipped)} skipped)"
        return f"{passed}; {gate}" if gate else passed
    if verdict is RunVerdict.FAIL and headline is not None and headline.root_cause is not None:
        cause = headline.root_cause
        role = f" ({headline.role})" if headline.role else ""
        text = f"{headline.label}{role} {cause.category}: {cause.summary}"
        return f"{text}; {gate}" if gate else text
    waiting = [task for task in tasks if not task.verdict.is_final]
    if waiting:
        return ", ".join(f"{task.label} {task.verdict.label}" for task in waiting)
    blocked = [task.label for task in tasks if task.verdict is TaskVerdict.BLOCKED]
    return f"{', '.join(blocked)} blocked" if blocked else str(verdict)


def _validation(
    facts: RunFacts,
    verdict: RunVerdict,
    headline: TaskReview | None,
    tasks: Sequence[TaskReview],
    acceptance: AcceptanceLength | None,
) -> Validation:
    rows = tuple(task.checks for task in tasks if task.checks is not None)
    per_topic = dict(acceptance.per_topic) if acceptance else {}
    return Validation(
        path=facts.path,
        experiment=facts.experiment,
        verdict=_VALIDATION_VERDICT[verdict],
        tasks=rows,
        threshold=facts.threshold,
        acceptance_length=acceptance.value if acceptance else None,
        per_topic=per_topic,
        next_steps=tuple(_next_steps(verdict, headline, tasks)),
    )


def _next_steps(
    verdict: RunVerdict, headline: TaskReview | None, tasks: Sequence[TaskReview]
) -> list[str]:
    """When a task failed, its fix comes first; failed checks of tasks up to it follow (later
    tasks' failures are its consequences). Unfinished tasks: when to look again."""
    steps: list[str] = []
    cause = headline.root_cause if headline else None
    if headline is not None and cause is not None:
        steps.append(f"{headline.label}: {cause.category}: {cause.summary}. {cause.fix}")
    limit = headline.index if headline is not None and headline.index is not None else 1 << 30
    for task in tasks:
        if task.checks is None or task.index is None or task.index > limit:
            continue
        for check in task.checks.failures():
            fix = FIX_BY_CHECK.get(check.name, "Look at the task's log and artifacts.")
            if cause is not None and task is headline and _said(cause, check.name, fix):
                continue
            steps.append(f"{task.label}: {check.name}: {check.detail}. {fix}")
    waiting = [task.label for task in tasks if not task.verdict.is_final]
    if verdict is not RunVerdict.FAIL and waiting and not steps:
        steps.append(f"Validate again when {', '.join(waiting)} have run.")
    return steps


def _said(cause: RootCause, check: str, fix: str) -> bool:
    """The headline already says this check's failure (its cause is the check, or its fix)."""
    return cause.rule == f"artifact-{check.replace('_', '-')}" or cause.fix == fix


# ---------------------------------------------------------------------------- between reviews


def current_verdicts(
    slurm: Mapping[int, SlurmView], decided: Mapping[int, TaskVerdict]
) -> dict[int, TaskVerdict]:
    """Each task's verdict between reviews: what the latest review decided for good sticks (a
    task never goes back to running or not run); the others are what Slurm says now. A job
    that ended is `running` until its review says how it ended."""
    verdicts = {index: verdict for index, verdict in decided.items() if verdict.is_final}
    for index, view in slurm.items():
        if index not in verdicts:
            verdicts[index] = TaskVerdict.RUNNING if view.started else TaskVerdict.NOT_RUN
    for index, verdict in decided.items():
        verdicts.setdefault(index, verdict)
    return dict(sorted(verdicts.items()))
