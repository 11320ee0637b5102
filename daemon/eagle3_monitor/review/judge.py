"""From what the scans found to a verdict and a root cause for one task. Pure functions.

Exit codes lie (launcher scripts exit 0 after a crash, the training script exports after a
failed training), so the verdict weighs, in order: how Slurm ended the job, the exit trailer,
lines that prove a failure whatever the exit code, errors not followed by a success line, and
the acceptance-length gate for benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from eagle3_monitor.review.layout import LogKind
from eagle3_monitor.review.model import AcceptanceLength, Evidence, Finding, RootCause
from eagle3_monitor.review.scanner import FileScan, Hit
from eagle3_monitor.rules.model import RuleKind
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX, Category, Role, TaskVerdict

CAUSE_MIN_PRIORITY_WHEN_KILLED = 20
CLEAR_CAUSE_PRIORITY = 50
MAX_EVIDENCE = 6
MAX_FINDINGS = 60
OVERALL_TOPICS = {"overall", "total", "all", "mean", "average"}
_FINDING_KINDS = {RuleKind.ERROR, RuleKind.SYMPTOM, RuleKind.TERMINATION, RuleKind.EXCEPTION}
_TERMINATION_WEIGHT = {
    Category.NODE_FAILURE: 3,
    Category.PREEMPTED: 3,
    Category.TIME_LIMIT: 2,
    Category.CANCELLED: 1,
}
_VERDICT_OF_TERMINATION = {
    Category.TIME_LIMIT: TaskVerdict.TIMEOUT,
    Category.CANCELLED: TaskVerdict.CANCELLED,
}


@dataclass(frozen=True)
class ScannedLog:
    """One scanned file of a task. `order` sorts files for tie-breaks (task output first)."""

    order: int
    kind: LogKind
    current: bool
    scan: FileScan


@dataclass(frozen=True)
class Located:
    """A hit with the file it is in."""

    log: ScannedLog
    hit: Hit

    @property
    def position(self) -> tuple[int, int]:
        return (self.log.order, self.hit.line)

    @property
    def kind(self) -> RuleKind:
        return self.hit.rule.rule.kind

    @property
    def priority(self) -> int:
        return self.hit.rule.rule.priority

    def evidence(self) -> Evidence:
        return Evidence(self.log.scan.path, self.hit.line, self.hit.text)

    def finding(self) -> Finding:
        category = self.hit.rule.rule.category or Category.UNKNOWN
        return Finding(category, self.hit.rule.id, self.log.scan.path, self.hit.line, self.hit.text)


@dataclass
class Judgement:
    verdict: TaskVerdict
    role: Role | None
    root_cause: RootCause | None = None
    findings: list[Finding] = field(default_factory=list)
    exit_code: int | None = None
    acceptance: AcceptanceLength | None = None
    metrics: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class _Evidence:
    """The current attempt's hits, sorted by kind."""

    hits: list[Located]
    role: Role | None
    logs: Sequence[ScannedLog] = ()

    def of(self, kind: RuleKind) -> list[Located]:
        return [located for located in self.hits if located.kind is kind]

    @property
    def exit(self) -> Located | None:
        exits = self.of(RuleKind.EXIT)
        return max(exits, key=lambda located: located.position) if exits else None

    @property
    def exit_code(self) -> int | None:
        trailer = self.exit
        return int(trailer.hit.groups["code"]) if trailer else None


def determine_role(logs: Sequence[ScannedLog], index: int | None) -> Role | None:
    """The role from the script named in the batch trace, else the task log, else the index."""
    by_file = sorted(logs, key=lambda log: (log.kind is not LogKind.SBATCH, log.order))
    for log in by_file:
        for hit in log.scan.hits_of(RuleKind.ROLE):
            if hit.rule.rule.role is not None:
                return hit.rule.rule.role
    return ROLE_BY_TASK_INDEX.get(index) if index is not None else None


def judge_task(logs: Sequence[ScannedLog], index: int | None, threshold: float) -> Judgement:
    role = determine_role(logs, index)
    if not logs:
        return Judgement(TaskVerdict.NOT_RUN, role)
    applicable = [located for located in _all_hits(logs) if _applies(located, role)]
    evidence = _Evidence(_current_attempt(applicable), role, [log for log in logs if log.current])
    acceptance = acceptance_length(evidence.of(RuleKind.METRIC))
    judgement = _verdict(evidence, acceptance, threshold)
    judgement.role = role
    judgement.exit_code = evidence.exit_code
    judgement.acceptance = acceptance
    judgement.findings = _findings(applicable)
    judgement.metrics = _metric_series(evidence.of(RuleKind.METRIC))
    return judgement


def _metric_series(metrics: list[Located]) -> dict[str, list[float]]:
    """The values of each metric in log order (first and last hits of long series)."""
    series: dict[str, list[float]] = {}
    for located in metrics:
        name = located.hit.rule.rule.metric or ""
        try:
            series.setdefault(name, []).append(float(located.hit.groups["value"]))
        except (KeyError, ValueError):
            continue
    return series


def _all_hits(logs: Iterable[ScannedLog]) -> list[Located]:
    return sorted(
        (Located(log, hit) for log in logs for hit in log.scan.hits),
        key=lambda located: located.position,
    )


def _applies(located: Located, role: Role | None) -> bool:
    roles = located.hit.rule.rule.roles
    return not roles or role is None or role in roles


def _current_attempt(hits: list[Located]) -> list[Located]:
    """Hits of the current attempt: current files, and in a batch log only what follows the
    previous attempt's exit trailer (a requeued job appends to the same file)."""
    current = [located for located in hits if located.log.current]
    trailers: dict[int, list[int]] = {}
    for located in current:
        if located.kind is RuleKind.EXIT:
            trailers.setdefault(located.log.order, []).append(located.hit.line)
    previous_end = {order: sorted(lines)[-2] for order, lines in trailers.items() if len(lines) > 1}
    return [
        located for located in current if located.hit.line > previous_end.get(located.log.order, 0)
    ]


def _verdict(
    evidence: _Evidence, acceptance: AcceptanceLength | None, threshold: float
) -> Judgement:
    role = evidence.role
    errors = evidence.of(RuleKind.ERROR)
    exit_code = evidence.exit_code
    terminations = _live_terminations(evidence)
    if terminations:
        ending = max(
            terminations, key=lambda t: (_TERMINATION_WEIGHT.get(_category(t), 0), t.position)
        )
        verdict = _VERDICT_OF_TERMINATION.get(_category(ending), TaskVerdict.FAIL)
        error = _best(errors, CAUSE_MIN_PRIORITY_WHEN_KILLED)
        if verdict is TaskVerdict.CANCELLED and error and error.priority >= CLEAR_CAUSE_PRIORITY:
            verdict = TaskVerdict.FAIL  # srun cancels the step after a task died: not a user
        return Judgement(verdict, role, _root_cause(error or ending, evidence))
    failing = [located for located in evidence.hits if located.hit.rule.rule.fails_task]
    if (exit_code is not None and exit_code != 0) or failing or _unresolved(errors, evidence):
        return Judgement(TaskVerdict.FAIL, role, _failure_cause(errors, failing, evidence))
    finished = (
        exit_code == 0
        or evidence.of(RuleKind.SUCCESS)
        or evidence.of(RuleKind.DONE)
        or acceptance is not None
    )
    if not finished:
        return Judgement(TaskVerdict.RUNNING, role)
    if role is Role.BENCHMARK:
        return _benchmark_gate(acceptance, threshold, evidence)
    return Judgement(TaskVerdict.PASS, role)


def _category(located: Located) -> Category:
    return located.hit.rule.rule.category or Category.UNKNOWN


def _live_terminations(evidence: _Evidence) -> list[Located]:
    """Slurm kill lines the job did not survive: a later `job exited with code 0` trailer
    means only a step was cancelled and the job went on."""
    trailer = evidence.exit
    survived_until = None
    if trailer is not None and evidence.exit_code == 0:
        survived_until = trailer.position
    return [
        located
        for located in evidence.of(RuleKind.TERMINATION)
        if survived_until is None
        or (located.log.order == survived_until[0] and located.hit.line > survived_until[1])
    ]


def _unresolved(errors: list[Located], evidence: _Evidence) -> bool:
    """Errors not followed, in the same file, by a line printed only on success."""
    successes = evidence.of(RuleKind.SUCCESS) + evidence.of(RuleKind.METRIC)
    return any(
        not any(s.log.order == e.log.order and s.hit.line > e.hit.line for s in successes)
        for e in errors
    )


def _best(errors: list[Located], min_priority: int = 0) -> Located | None:
    """The highest-priority error; among equals the earliest (first cause beats its echoes)."""
    candidates = [e for e in errors if e.priority >= min_priority]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (-e.priority, e.position))


def _failure_cause(errors: list[Located], failing: list[Located], evidence: _Evidence) -> RootCause:
    best = _best(errors)
    if best is not None:
        return _root_cause(best, evidence)
    exceptions = evidence.of(RuleKind.EXCEPTION)
    if exceptions:
        return _root_cause(exceptions[-1], evidence)
    if failing:
        first = failing[0]
        return RootCause(
            Category.UNKNOWN,
            first.hit.rule.id,
            first.hit.rule.summary(first.hit.groups),
            first.hit.rule.rule.fix_for(evidence.role),
            _evidence_for(first, evidence),
        )
    return _unknown_cause(evidence)


def _root_cause(cause: Located, evidence: _Evidence) -> RootCause:
    if _category(cause) is Category.PYTHON_EXCEPTION and cause.kind is not RuleKind.EXCEPTION:
        later = [e for e in evidence.of(RuleKind.EXCEPTION) if e.position > cause.position]
        if later:
            cause = later[-1]
    rule = cause.hit.rule
    summary = rule.summary(cause.hit.groups) or cause.hit.text
    return RootCause(
        _category(cause),
        rule.id,
        summary,
        rule.rule.fix_for(evidence.role),
        _evidence_for(cause, evidence),
    )


def _evidence_for(cause: Located, evidence: _Evidence) -> tuple[Evidence, ...]:
    """The cause's line, then the same error elsewhere (other ranks), then how the job ended."""
    related = [
        e
        for e in evidence.hits
        if e is not cause and e.kind is not RuleKind.METRIC and _category(e) == _category(cause)
    ][:2]
    endings = [
        e
        for e in evidence.hits
        if e.kind in (RuleKind.TERMINATION, RuleKind.SYMPTOM, RuleKind.EXCEPTION)
        and e is not cause
        and e.position > cause.position
    ][:2]
    trailer = evidence.exit
    tail = [trailer] if trailer is not None and evidence.exit_code else []
    chosen: list[Located] = []
    for located in [cause, *related, *endings, *tail]:
        if located not in chosen:
            chosen.append(located)
    return tuple(located.evidence() for located in chosen[:MAX_EVIDENCE])


def _unknown_cause(evidence: _Evidence) -> RootCause:
    code = evidence.exit_code
    summary = (
        f"exited with code {code} and no recognised error"
        if code
        else "failed with no recognised error"
    )
    return RootCause(
        Category.UNKNOWN,
        "unknown",
        summary,
        "Read the last lines of the task's log (evidence); if this failure repeats, add a rule.",
        tuple(_tail_evidence(evidence, 5)),
    )


def _benchmark_gate(
    acceptance: AcceptanceLength | None, threshold: float, evidence: _Evidence
) -> Judgement:
    if acceptance is None:
        cause = RootCause(
            Category.EMPTY_OUTPUT,
            "no-acceptance-length",
            "the benchmark finished without reporting an acceptance length",
            "Check that the benchmark loaded the draft (export/) and wrote its results; "
            "look for errors in its log.",
            tuple(_tail_evidence(evidence, 3)),
        )
        return Judgement(TaskVerdict.FAIL, Role.BENCHMARK, cause)
    if acceptance.value < threshold:
        cause = RootCause(
            Category.LOW_ACCEPTANCE,
            "acceptance-threshold",
            f"acceptance length {acceptance.value:.2f} is below the threshold {threshold:.2f}",
            "Train the draft longer or on more data (more task_0 samples, more epochs), or tune "
            "the draft head; then re-run training (task_2) and the benchmark (task_3).",
            (acceptance.evidence,),
        )
        return Judgement(TaskVerdict.FAIL, Role.BENCHMARK, cause)
    return Judgement(TaskVerdict.PASS, Role.BENCHMARK)


def _tail_evidence(evidence: _Evidence, count: int) -> list[Evidence]:
    """The last lines of the task's own output (its first current log with any text)."""
    for log in sorted(evidence.logs, key=lambda log: log.order):
        if log.scan.tail:
            return [Evidence(log.scan.path, n, text) for n, text in log.scan.tail[-count:]]
    return []


def acceptance_length(metrics: list[Located]) -> AcceptanceLength | None:
    """The run's acceptance length: the last overall value in any known form; when only
    per-topic values were printed, their mean."""
    values = [m for m in metrics if m.hit.rule.rule.metric == "acceptance_length"]
    per_topic: dict[str, float] = {}
    overall: Located | None = None
    for located in values:
        topic = located.hit.groups.get("topic", "")
        if topic and topic.lower() not in OVERALL_TOPICS:
            per_topic[topic] = float(located.hit.groups["value"])
        else:
            overall = located
    if overall is not None:
        return AcceptanceLength(float(overall.hit.groups["value"]), overall.evidence(), per_topic)
    if per_topic:
        last = values[-1]
        return AcceptanceLength(fmean(per_topic.values()), last.evidence(), per_topic)
    return None


def _findings(hits: list[Located]) -> list[Finding]:
    return [located.finding() for located in hits if located.kind in _FINDING_KINDS][:MAX_FINDINGS]
