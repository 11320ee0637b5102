"""What a task's logs say, weighed with Slurm's word when it is known. Pure functions.

Exit codes lie (launcher scripts exit 0 after a crash, the training script exports after a
failed training), so the verdict weighs, in order: Slurm's final state and the kill lines it
wrote, lines that prove a failure whatever the exit code, the exit trailer, errors not followed
by a success line. A launcher task without its batch step's trailer and without a final Slurm
state is still running. The benchmark's acceptance-length gate and the artifacts are weighed
after this, in `review/decide.py`.

The cause is the loudest error only after five reasoning steps (each a rule field, docs/rules.md):
1. Work once done stays done: after a `final` line (the dump's success line, the export, the
   benchmark's acceptance length) errors, tracebacks and the exit code are shutdown noise.
2. An error the work went past was survived: a `success`, metric or `resolves` line after it in
   the same file (a retried download, a server that came up after a start-up warning).
3. The first failing step is the cause: in a file, errors after the first line that ends a
   failing step (`ends_step`: the launcher's error trap, torchrun's ChildFailedError) are its
   consequences (the export that finds no checkpoint).
4. Infrastructure and environment beat their symptoms: with a node, network or GPU fault in
   the logs (`infrastructure`), the NCCL errors and timeouts it caused are not the cause; an
   import failure before "model architectures are not supported" (or a server that died) is.
5. An exception is what its traceback passed through (`frame` rules: a KeyError while building
   the model is an unsupported model), and a missing file on the task's own input path (from
   the launcher's arguments) is a missing input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean

from eagle3_monitor.review.launch import Launch
from eagle3_monitor.review.layout import LogKind
from eagle3_monitor.review.model import AcceptanceLength, Evidence, Finding, RootCause
from eagle3_monitor.review.scanner import FileScan, Hit
from eagle3_monitor.rules.catalog import render_template
from eagle3_monitor.rules.model import Rule, RuleKind
from eagle3_monitor.slurm.model import JobState, SlurmView
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX, Category, Role, TaskVerdict

CAUSE_MIN_PRIORITY_WHEN_KILLED = 20
TRACEBACK_LINES = 200  # how far back a traceback's frames are looked for without its first line
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
_SYMPTOMS_OF_INFRASTRUCTURE = {Category.NCCL}
_SYMPTOMS_OF_ENVIRONMENT = {Category.UNSUPPORTED_MODEL, Category.SERVER_STARTUP}
_GENERIC_CAUSES = {Category.SERVER_STARTUP, Category.PYTHON_EXCEPTION}
_KEPT_AFTER_THE_WORK = {RuleKind.EXIT, RuleKind.ROLE, RuleKind.METRIC, RuleKind.SUCCESS}
_INFRASTRUCTURE_ENDINGS = {Category.NODE_FAILURE}
_GENERIC_FILE_CAUSES = {
    Category.PYTHON_EXCEPTION,
    Category.MODEL_FILES,
    Category.UNKNOWN,
    Category.DISK_FULL,
}
_MISSING_FILE = re.compile(
    r"(?i)no such file|not found|does not exist|no (?:supported )?data files|is empty|"
    r"errno 2|repo id must"
)
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


@dataclass(frozen=True)
class Judgement:
    """What the logs (and Slurm, when known) say of one task, before its artifacts and the
    acceptance-length gate are weighed."""

    verdict: TaskVerdict
    role: Role | None
    root_cause: RootCause | None = None
    findings: tuple[Finding, ...] = ()
    exit_code: int | None = None
    acceptance: AcceptanceLength | None = None
    metrics: dict[str, tuple[float, ...]] = field(default_factory=dict)
    tail: tuple[Evidence, ...] = ()
    draft_length: int | None = None  # the benchmark's --draft_length, when its args show it


@dataclass(frozen=True)
class _Verdict:
    verdict: TaskVerdict
    root_cause: RootCause | None = None


@dataclass
class _Evidence:
    """The current attempt's hits, sorted by kind."""

    hits: list[Located]
    role: Role | None
    logs: Sequence[ScannedLog] = ()
    launch: Launch = field(default_factory=Launch)

    def fix(self, rule: Rule) -> str:
        """The rule's fix for this task's role and backend, quoting what it ran."""
        return render_template(rule.fix_for(self.role, self.launch.backend), self.launch.fields())

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

    @property
    def has_batch_log(self) -> bool:
        """The launcher's batch step writes the trailer: without it, the job has not ended."""
        return any(log.kind is LogKind.SBATCH for log in self.logs)


def determine_role(logs: Sequence[ScannedLog], index: int | None) -> Role | None:
    """The role from the script named in the batch trace, else the task log, else the index."""
    hit = _launch_hit(logs)
    if hit is not None and hit.rule.rule.role is not None:
        return hit.rule.rule.role
    return ROLE_BY_TASK_INDEX.get(index) if index is not None else None


def determine_launch(logs: Sequence[ScannedLog]) -> Launch:
    """The launcher script and arguments the batch trace (else the task log) shows."""
    hit = _launch_hit(logs)
    if hit is None:
        return Launch()
    return Launch(hit.groups.get("script"), hit.groups.get("args") or "")


def _launch_hit(logs: Sequence[ScannedLog]) -> Hit | None:
    by_file = sorted(logs, key=lambda log: (log.kind is not LogKind.SBATCH, log.order))
    for log in by_file:
        for hit in log.scan.hits_of(RuleKind.ROLE):
            if hit.rule.rule.role is not None:
                return hit
    return None


def judge_task(
    logs: Sequence[ScannedLog], index: int | None, slurm: SlurmView | None = None
) -> Judgement:
    """The task's verdict from its scanned logs and, when known, Slurm's view of its job."""
    role = determine_role(logs, index)
    launch = determine_launch(logs)
    applicable = [located for located in _all_hits(logs) if _applies(located, role, launch)]
    current_logs = [log for log in logs if log.current]
    evidence = _Evidence(_current_attempt(applicable), role, current_logs, launch)
    acceptance = acceptance_length(evidence.of(RuleKind.METRIC))
    judged = _judge(evidence, acceptance, slurm, bool(logs))
    exit_code = evidence.exit_code
    if exit_code is None and slurm is not None and slurm.final and slurm.started:
        exit_code = slurm.exit_code
    return Judgement(
        verdict=judged.verdict,
        role=role,
        root_cause=judged.root_cause,
        findings=tuple(_findings(applicable)),
        exit_code=exit_code,
        acceptance=acceptance,
        metrics=_metric_series(evidence.of(RuleKind.METRIC)),
        tail=tuple(_tail_evidence(evidence, 5)),
        draft_length=launch.draft_length,
    )


def _judge(
    evidence: _Evidence, acceptance: AcceptanceLength | None, slurm: SlurmView | None, logs: bool
) -> _Verdict:
    if slurm is not None and not slurm.final:
        if not slurm.started:
            return _Verdict(TaskVerdict.NOT_RUN)
        return _Verdict(TaskVerdict.RUNNING, _failure_so_far(evidence))
    if not logs and slurm is None:
        return _Verdict(TaskVerdict.NOT_RUN)
    if slurm is not None and not slurm.started and slurm.state is JobState.CANCELLED:
        return _Verdict(TaskVerdict.CANCELLED, _slurm_cause(slurm, evidence, started=False))
    return _verdict(evidence, acceptance, slurm)


def _failure_so_far(evidence: _Evidence) -> RootCause | None:
    """A running task's worst error so far (shown, not announced as its end)."""
    best = _best(evidence.of(RuleKind.ERROR), CLEAR_CAUSE_PRIORITY)
    return _root_cause(best, evidence) if best is not None else None


def _metric_series(metrics: list[Located]) -> dict[str, tuple[float, ...]]:
    """The values of each metric in log order (first and last hits of long series)."""
    series: dict[str, list[float]] = {}
    for located in metrics:
        name = located.hit.rule.rule.metric or ""
        try:
            series.setdefault(name, []).append(float(located.hit.groups["value"]))
        except (KeyError, TypeError, ValueError):
            continue
    return {name: tuple(values) for name, values in series.items()}


def _all_hits(logs: Iterable[ScannedLog]) -> list[Located]:
    return sorted(
        (Located(log, hit) for log in logs for hit in log.scan.hits),
        key=lambda located: located.position,
    )


def _applies(located: Located, role: Role | None, launch: Launch) -> bool:
    rule = located.hit.rule.rule
    return (not rule.roles or role is None or role in rule.roles) and rule.runs_for(launch.script)


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
    evidence: _Evidence, acceptance: AcceptanceLength | None, slurm: SlurmView | None
) -> _Verdict:
    terminations = _live_terminations(evidence)
    if terminations or (slurm is not None and slurm.ending and slurm.state is not JobState.FAILED):
        return _killed(evidence, terminations, slurm)
    done = _work_done(evidence)
    if done is not None:  # step 1: what follows the finished work does not undo it
        evidence = replace(evidence, hits=[h for h in evidence.hits if not _after(h, done)])
    errors = evidence.of(RuleKind.ERROR)
    exit_code = evidence.exit_code if done is None else None
    if exit_code is None and done is None and slurm is not None and slurm.state is JobState.FAILED:
        exit_code = slurm.exit_code if slurm.exit_code else 1
    failing = [located for located in evidence.hits if located.hit.rule.rule.fails_task]
    ended = done is not None or _ended(evidence, acceptance, slurm)
    if (exit_code is not None and exit_code != 0) or failing:
        return _Verdict(TaskVerdict.FAIL, _failure_cause(errors, failing, evidence, exit_code))
    if _unresolved(errors, evidence):
        # a launcher task still writing its log may yet hang or recover: running, with the
        # error shown; a lone log (no batch step) has no trailer to wait for
        cause = _failure_cause(errors, failing, evidence, exit_code)
        still_running = not ended and evidence.has_batch_log
        return _Verdict(TaskVerdict.RUNNING if still_running else TaskVerdict.FAIL, cause)
    return _Verdict(TaskVerdict.PASS if ended else TaskVerdict.RUNNING)


def _work_done(evidence: _Evidence) -> Located | None:
    """The last line that says the task's work is complete: a `final` rule, or for the
    benchmark its acceptance length."""
    done = [
        located
        for located in evidence.hits
        if located.hit.rule.rule.final
        or (
            evidence.role is Role.BENCHMARK
            and located.kind is RuleKind.METRIC
            and located.hit.rule.rule.metric == "acceptance_length"
        )
    ]
    return max(done, key=lambda located: located.position) if done else None


def _after(located: Located, done: Located) -> bool:
    """Later than the finished work: after it in its file, or in another file (the batch
    step's srun and exit lines come after the task's own output). An error that proves a
    failure whatever else the log says (`fails_task`) is never outlived."""
    rule = located.hit.rule.rule
    if located.kind in _KEPT_AFTER_THE_WORK or (rule.fails_task and located.kind is RuleKind.ERROR):
        return False
    return located.log.order != done.log.order or located.hit.line > done.hit.line


def _ended(
    evidence: _Evidence, acceptance: AcceptanceLength | None, slurm: SlurmView | None
) -> bool:
    """The exit trailer or a final Slurm state says the job ended; a log without the launcher's
    batch step (one task log, a local run) ended when it printed its last words."""
    if evidence.exit is not None or (slurm is not None and slurm.final):
        return True
    if evidence.has_batch_log:
        return False
    return bool(
        evidence.of(RuleKind.SUCCESS) or evidence.of(RuleKind.DONE) or acceptance is not None
    )


def _killed(evidence: _Evidence, terminations: list[Located], slurm: SlurmView | None) -> _Verdict:
    """Slurm ended the job (its state, or the kill lines it wrote into the log). The verdict is
    Slurm's; the cause is a clear error before the kill when there is one (a hung NCCL job that
    hit its time limit failed of NCCL), else how Slurm ended it."""
    ending = slurm.ending if slurm is not None else None
    logged = (
        max(terminations, key=lambda t: (_TERMINATION_WEIGHT.get(_category(t), 0), t.position))
        if terminations
        else None
    )
    if ending is not None:
        verdict, category = ending[0], ending[1]
    else:
        assert logged is not None
        category = _category(logged)
        verdict = _VERDICT_OF_TERMINATION.get(category, TaskVerdict.FAIL)
    candidates = _first_failing_step(evidence.of(RuleKind.ERROR), evidence)
    error = _cause_among(candidates, evidence, CAUSE_MIN_PRIORITY_WHEN_KILLED)
    if error is not None and category in _INFRASTRUCTURE_ENDINGS and _is_symptom(error):
        error = None  # step 4: the node died; its NCCL errors are what that looked like
    by_user = slurm is not None and slurm.state is JobState.CANCELLED  # Slurm says who ended it
    if verdict is TaskVerdict.CANCELLED and error and error.priority >= CLEAR_CAUSE_PRIORITY:
        # from the log alone, a cancel after a clear error is srun ending the step after a
        # task died, not a user
        verdict = TaskVerdict.CANCELLED if by_user else TaskVerdict.FAIL
    if error is not None:
        return _Verdict(verdict, _root_cause(error, evidence))
    waiting = _still_starting(evidence) if category is Category.TIME_LIMIT else None
    if waiting is not None:  # the health loop was still waiting: it never started
        return _Verdict(verdict, _root_cause(waiting, evidence))
    if logged is not None and _category(logged) is category:
        cause = _root_cause(logged, evidence)
        return _Verdict(verdict, _with_canceller(cause, slurm))
    assert slurm is not None
    return _Verdict(verdict, _slurm_cause(slurm, evidence, started=True))


def _still_starting(evidence: _Evidence) -> Located | None:
    """The last start-up symptom (`Server not ready yet (3560/7200s)`) when nothing after it
    says the service came up or the work got done: a server that never became healthy before
    the time limit failed to start, it did not run out of time working."""
    waiting = [
        located
        for located in evidence.of(RuleKind.SYMPTOM)
        if _category(located) is Category.SERVER_STARTUP
    ]
    if not waiting:
        return None
    last = waiting[-1]
    progress = evidence.of(RuleKind.DONE) + evidence.of(RuleKind.SUCCESS)
    return None if any(p.position > last.position for p in progress) else last


def _slurm_cause(slurm: SlurmView, evidence: _Evidence, *, started: bool) -> RootCause:
    """How Slurm ended a job whose logs do not say: its state, its last lines as evidence."""
    ending = slurm.ending
    category, summary = (ending[1], ending[2]) if ending else (Category.UNKNOWN, "Slurm")
    if not started:
        summary = "cancelled before it started"
    rule = f"slurm-state-{slurm.state.lower().replace('_', '-')}"
    fix = _SLURM_FIXES.get(category, "See the task's log and Slurm's record (sacct -j).")
    cause = RootCause(category, rule, summary, fix, tuple(_tail_evidence(evidence, 3)))
    return _with_canceller(cause, slurm)


_SLURM_FIXES = {
    Category.TIME_LIMIT: "Raise the task's time limit (slurm_config `time`) or give it less "
    "work; re-run from this task.",
    Category.HOST_OOM: "Give the task more host memory (--mem) or fewer processes per node; "
    "the HF dump backend with device_map=auto needs less host memory than loading per rank.",
    Category.NODE_FAILURE: "Not caused by the task: re-run it; if it repeats on one node, "
    "exclude the node and tell the cluster admins.",
    Category.PREEMPTED: "Re-submit, or use a partition/QoS that is not preemptible.",
    Category.CANCELLED: "Cancelled by a user or admin, not by a limit: re-run the task when ready.",
}


def _with_canceller(cause: RootCause, slurm: SlurmView | None) -> RootCause:
    """Name who cancelled the job when Slurm knows."""
    who = slurm.cancelled_by if slurm is not None else None
    if cause.category is not Category.CANCELLED or who is None:
        return cause
    return replace(cause, summary=f"{cause.summary} (cancelled by {who})")


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
    """Errors not followed, in the same file, by a line printed only on success, a metric or a
    line that says the work went on past them (step 2)."""
    successes = evidence.of(RuleKind.SUCCESS) + evidence.of(RuleKind.METRIC)
    successes += [located for located in evidence.hits if located.hit.rule.rule.resolves]
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


def _failure_cause(
    errors: list[Located], failing: list[Located], evidence: _Evidence, exit_code: int | None
) -> RootCause:
    errors = _first_failing_step(errors, evidence)
    exceptions = _first_failing_step(evidence.of(RuleKind.EXCEPTION), evidence)
    best = _cause_among(errors, evidence)
    if best is None or _category(best) in _GENERIC_CAUSES:
        specific = _specific_exception(exceptions, evidence)  # e.g. what the server died of
        if specific is not None:
            return specific
    if best is not None:
        return _root_cause(best, evidence)
    if (
        exceptions
    ):  # the last exception of the step: a chained traceback ends with the most specific
        return _root_cause(exceptions[-1], evidence)
    if failing:
        first = min(failing, key=lambda located: located.position)
        return RootCause(
            Category.UNKNOWN,
            first.hit.rule.id,
            first.hit.rule.summary(first.hit.groups),
            evidence.fix(first.hit.rule.rule),
            _evidence_for(first, evidence),
        )
    return _unknown_cause(evidence, exit_code)


def _root_cause(cause: Located, evidence: _Evidence) -> RootCause:
    if _category(cause) is Category.PYTHON_EXCEPTION and cause.kind is not RuleKind.EXCEPTION:
        ending = _exception_ending(cause, evidence)  # the traceback's own exception line
        if ending is not None:
            cause = ending
    rule = cause.hit.rule
    summary = rule.summary(cause.hit.groups) or cause.hit.text
    found = RootCause(
        _category(cause),
        rule.id,
        summary,
        evidence.fix(rule.rule),
        _evidence_for(cause, evidence),
    )
    if found.category is Category.PYTHON_EXCEPTION:
        found = _through_frames(cause, found, evidence)
    return _on_input_path(found, evidence)


# ---------------------------------------------------------------- reasoning steps 3-5


def _first_failing_step(located: list[Located], evidence: _Evidence) -> list[Located]:
    """Step 3: in each file, what lies before the first line that ends a failing step; later
    steps failed for lack of its output (with no error before it, the step's own failure
    line is the cause)."""
    ends: dict[int, int] = {}
    for hit in evidence.hits:
        if hit.hit.rule.rule.ends_step:
            ends[hit.log.order] = min(ends.get(hit.log.order, hit.hit.line), hit.hit.line)
    return [hit for hit in located if hit.hit.line < ends.get(hit.log.order, hit.hit.line + 1)]


def _cause_among(
    errors: list[Located], evidence: _Evidence, min_priority: int = 0
) -> Located | None:
    """The highest-priority error; step 4: a collective error or timeout gives way to the
    node, network or GPU fault the logs also show, and a model that 'is not supported' to a
    broken environment before it (vLLM reports an import failure that way)."""
    best = _best(errors, min_priority)
    if best is not None and _is_symptom(best):
        faults = [located for located in evidence.hits if located.hit.rule.rule.infrastructure]
        return _best(faults) or best
    if best is not None and _category(best) in _SYMPTOMS_OF_ENVIRONMENT:
        broken = [
            located
            for located in errors
            if _category(located) is Category.PYTHON_ENV
            and located.log.order == best.log.order
            and located.hit.line < best.hit.line
        ]
        return _best(broken) or best
    return best


def _is_symptom(located: Located) -> bool:
    """An error that a failing node, link or GPU produces on the other ranks."""
    return _category(located) in _SYMPTOMS_OF_INFRASTRUCTURE


def _specific_exception(exceptions: list[Located], evidence: _Evidence) -> RootCause | None:
    """The first exception its traceback's frames explain (step 5): more specific than a
    server that died during start-up, or than an unexplained exception."""
    for exception in exceptions:
        cause = _root_cause(exception, evidence)
        if cause.category is not Category.PYTHON_EXCEPTION:
            return cause
    return None


def _exception_ending(start: Located, evidence: _Evidence) -> Located | None:
    """The exception line that ends the traceback starting at `start`."""
    after = [
        e
        for e in evidence.of(RuleKind.EXCEPTION)
        if e.log.order == start.log.order and e.hit.line > start.hit.line
    ]
    return min(after, key=lambda e: e.hit.line) if after else None


def _through_frames(exception: Located, cause: RootCause, evidence: _Evidence) -> RootCause:
    """Step 5: an exception is of the category of the innermost `frame` rule its traceback
    passed through (e.g. a KeyError raised while building the model: unsupported_model)."""
    raised = (exception.hit.groups.get("exception") or "").rsplit(".", 1)[-1]
    start = _traceback_start(exception, evidence)
    frames = [
        frame
        for frame in evidence.of(RuleKind.FRAME)
        if frame.log.order == exception.log.order
        and start < frame.hit.line < exception.hit.line
        and (not frame.hit.rule.rule.exceptions or raised in frame.hit.rule.rule.exceptions)
    ]
    if not frames:
        return cause
    frame = max(frames, key=lambda located: located.hit.line)
    rule = frame.hit.rule.rule
    evidence_lines = (*cause.evidence[:1], frame.evidence(), *cause.evidence[1:])
    return replace(
        cause,
        category=_category(frame),
        rule=frame.hit.rule.id,
        fix=evidence.fix(rule),
        evidence=evidence_lines[:MAX_EVIDENCE],
    )


def _traceback_start(exception: Located, evidence: _Evidence) -> int:
    """The line of the `Traceback (most recent call last):` this exception ends (0: unknown)."""
    starts = [
        located.hit.line
        for located in evidence.hits
        if located.log.order == exception.log.order
        and located.hit.line < exception.hit.line
        and located.kind is RuleKind.ERROR
        and located.hit.rule.id == "python-traceback"
    ]
    return max(starts, default=max(0, exception.hit.line - TRACEBACK_LINES))


def _on_input_path(cause: RootCause, evidence: _Evidence) -> RootCause:
    """Step 5: a file missing on the task's own input path (`--data`, `--input-data`,
    `--draft` … in its launcher command) means the task that writes it produced nothing."""
    if cause.category not in _GENERIC_FILE_CAUSES or not cause.evidence:
        return cause
    if evidence.role is Role.SYNTHESIS:  # its --data is the prompt set, no earlier task's output
        return cause
    line = cause.evidence[0].text
    missing = next((path for path in evidence.launch.input_paths if path in line), None)
    if missing is None or not _MISSING_FILE.search(line):
        return cause
    return replace(
        cause,
        category=Category.MISSING_INPUT,
        summary=f"the task's input {missing} is missing: {cause.summary}",
        fix=f"{missing} is written by an earlier task, which produced nothing there: fix that "
        "task first, then re-run from it.",
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


def _unknown_cause(evidence: _Evidence, exit_code: int | None) -> RootCause:
    summary = (
        f"exited with code {exit_code} and no recognised error"
        if exit_code
        else "failed with no recognised error"
    )
    return RootCause(
        Category.UNKNOWN,
        "unknown",
        summary,
        "Read the last lines of the task's log (evidence); if this failure repeats, add a rule.",
        tuple(_tail_evidence(evidence, 5)),
    )


def _tail_evidence(evidence: _Evidence, count: int) -> list[Evidence]:
    """The last lines of the task's own output (its first current log with any text)."""
    for log in sorted(evidence.logs, key=lambda log: log.order):
        if log.scan.tail:
            return [Evidence(log.scan.path, n, text) for n, text in log.scan.tail[-count:]]
    return []


def acceptance_length(metrics: list[Located]) -> AcceptanceLength | None:
    """The run's acceptance length: the last overall value in any known form; when only
    per-topic values were printed, their mean. `bound` is the benchmark's own threshold when
    it printed its gate (`REGRESSION: 1.87 < 2.1`, `AR 1.93 < lower bound 2.1`)."""
    values = [m for m in metrics if m.hit.rule.rule.metric == "acceptance_length"]
    per_topic: dict[str, float] = {}
    overall: Located | None = None
    for located in values:
        topic = located.hit.groups.get("topic") or ""
        if topic and topic.lower() not in OVERALL_TOPICS:
            per_topic[topic] = float(located.hit.groups["value"])
        else:
            overall = located
    if overall is not None:
        value = float(overall.hit.groups["value"])
        return AcceptanceLength(value, overall.evidence(), per_topic, _bound(overall))
    if per_topic:
        last = values[-1]
        return AcceptanceLength(fmean(per_topic.values()), last.evidence(), per_topic)
    return None


def _bound(located: Located) -> float | None:
    text = located.hit.groups.get("threshold")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _findings(hits: list[Located]) -> list[Finding]:
    return [located.finding() for located in hits if located.kind in _FINDING_KINDS][:MAX_FINDINGS]
