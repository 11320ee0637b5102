"""The sacct CLI backend: one batched `sacct --parsable2` call per question, `scontrol -o show
job` for what only the controller knows about live jobs. Every call has a timeout; a failure is
a SlurmError with one line that says what happened, never a hang or a traceback."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import lru_cache

from eagle3_monitor.gc_pause import collector_paused
from eagle3_monitor.slurm.filename_pattern import JobNaming, output_path
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobStep, parse_state

DELIMITER = "\x1f"  # ASCII unit separator: cannot appear in a job name typed on a command line
BASE_FIELDS = (
    "JobID",
    "JobIDRaw",
    "JobName",
    "State",
    "ExitCode",
    "Submit",
    "Start",
    "End",
    "User",
    "WorkDir",
    "Partition",
    "Reason",
    "NodeList",
    "Timelimit",
    "Comment",
    "Cluster",
)
STDOUT_FIELDS = ("StdOut", "StdErr")  # sacct has them from Slurm 24.05 on
STDOUT_SINCE = (24, 5)
MAX_ID_LIST_CHARS = 60_000  # one `-j` argument; Linux refuses one over 128 KiB (E2BIG)
# With -s and no -E, sacct's window ends at its start: pass every state and -E now (a job
# cancelled while pending on a dependency is only listed that way, or with -j).
ALL_STATES = "BF,CA,CD,DL,F,NF,OOM,PD,PR,R,RQ,RS,RV,S,TO"
LIVE_STATES = {
    "PENDING",
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "RESIZING",
    "SUSPENDED",
}
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")
_SCONTROL_FIELD = re.compile(
    r"(?:^|\s)(JobId|ArrayJobId|ArrayTaskId|JobName|JobState|Reason|Dependency|StdOut|WorkDir|SubmitTime)=(\S*)"
)

Runner = Callable[[Sequence[str], float], "Completed"]
# Told of every call to Slurm: which (sacct, scontrol; pyslurm's slurmdbd, slurmctld), how many
# seconds it took, whether it worked (service/metrics.py counts them).
SlurmCallObserver = Callable[[str, float, bool], None]


def unobserved(call: str, seconds: float, ok: bool) -> None:
    """The observer when nobody counts Slurm's calls."""


class SlurmError(Exception):
    """A Slurm command failed or timed out. The message is one line."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


class CommandRunner:
    """Runs Slurm's commands: never through a shell, always with a timeout; `cancel_all()`
    (at shutdown) kills the ones in flight, so stopping never waits out a hung sacct. The only
    place that starts Slurm processes."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._cancelled = False

    def __call__(self, command: Sequence[str], timeout: float) -> Completed:
        try:
            process = subprocess.Popen(  # noqa: S603 - arguments are a list, never a shell string
                list(command),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                encoding="utf-8",
                errors="replace",  # a job name with byte 0xff must not stop every poll
            )
        except OSError as error:
            raise SlurmError(f"{command[0]}: {error.strerror or error}") from None
        with self._lock:
            self._running.add(process)
            if self._cancelled:
                process.kill()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise SlurmError(f"{command[0]} timed out after {timeout:g}s") from None
        finally:
            with self._lock:
                self._running.discard(process)
                stopped = self._cancelled
        if stopped and process.returncode != 0:
            raise SlurmError(f"{command[0]}: stopped (shutting down)")
        return Completed(process.returncode, stdout, stderr)

    def cancel_all(self) -> None:
        """Kill every command in flight and refuse new ones."""
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            process.kill()


def run_command(command: Sequence[str], timeout: float) -> Completed:
    """Run one command with a timeout (a runner without shutdown control, for one-shot use)."""
    return CommandRunner()(command, timeout)


@dataclass(frozen=True)
class SacctSettings:
    sacct: str = "sacct"
    scontrol: str = "scontrol"
    timeout: float = 60.0
    clusters: tuple[str, ...] = ()  # -M; empty: the local cluster
    users: tuple[str, ...] = ()  # -u; empty: all users (-a)
    accounts: tuple[str, ...] = ()  # -A
    partitions: tuple[str, ...] = ()  # -r


@dataclass
class LiveJob:
    """What `scontrol show job` knows about a job still in the controller's memory."""

    job_id: str
    state: str
    reason: str = ""
    stdout: str | None = None
    work_dir: str | None = None
    dependency: str | None = None
    name: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def queued(self) -> bool:
        return self.state in LIVE_STATES


class SacctBackend:
    """Slurm through its command-line tools."""

    def __init__(
        self,
        settings: SacctSettings | None = None,
        runner: Runner | None = None,
        observe: SlurmCallObserver = unobserved,
    ) -> None:
        self.settings = settings or SacctSettings()
        self.commands = CommandRunner()
        self.run: Runner = runner or self.commands
        self.observe = observe
        self._version: tuple[int, int] | None = None
        self._rows = RowCache()  # lines parsed before, not parsed again

    def close(self) -> None:
        """Stop: kill any sacct/scontrol still running."""
        self.commands.cancel_all()

    def version(self) -> tuple[int, int]:
        if self._version is None:
            done = self._timed("sacct", [self.settings.sacct, "--version"])
            match = _VERSION.search(done.stdout)
            if done.returncode != 0 or match is None:
                raise SlurmError(f"sacct --version failed: {_first_line(done)}")
            self._version = (int(match.group(1)), int(match.group(2)))
        return self._version

    def fields(self) -> tuple[str, ...]:
        return BASE_FIELDS + (STDOUT_FIELDS if self.version() >= STDOUT_SINCE else ())

    def jobs_by_id(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The tracked jobs, with their steps: one call for all of them (one per
        MAX_ID_LIST_CHARS of ids: the kernel refuses a longer argument), parsed as one answer."""
        ids = sorted(set(job_ids), key=_id_order)
        if not ids:
            return []
        return self._sacct(*(["-j", id_list] for id_list in _id_lists(ids)))

    def jobs_ending(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The targeted lookup: one `sacct -j` for the jobs whose logs say they are ending, to
        confirm (and record) their end without waiting for the next poll."""
        return self.jobs_by_id(job_ids)

    def jobs_since(self, start: datetime) -> list[JobRecord]:
        """Jobs of the watched users that existed since `start` (allocations only)."""
        window = ["-X", "-S", start.strftime("%Y-%m-%dT%H:%M:%S"), "-E", "now", "-s", ALL_STATES]
        return self._sacct(window)

    def jobs_named(self, names: Iterable[str], start: datetime) -> list[JobRecord]:
        """Jobs with these names that existed since `start` (allocations only)."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        window = ["-X", "-S", start.strftime("%Y-%m-%dT%H:%M:%S"), "-E", "now", "-s", ALL_STATES]
        return self._sacct([*window, f"--name={','.join(wanted)}"])

    def live_jobs(self) -> dict[str, LiveJob]:
        """Jobs the controller still holds (pending, running, or ended under MinJobAge)."""
        done = self._timed("scontrol", [self.settings.scontrol, "-o", "show", "job"])
        if done.returncode != 0:
            if _no_jobs(done):
                return {}
            raise SlurmError(f"scontrol show job failed: {_first_line(done)}")
        return parse_scontrol_jobs(done.stdout)

    def _sacct(self, *selections: list[str]) -> list[JobRecord]:
        """One sacct call per selection, their answers parsed together."""
        fields = self.fields()
        answers = []
        for selection in selections:
            command = [
                self.settings.sacct,
                "--parsable2",
                "--noheader",
                f"--delimiter={DELIMITER}",
                f"--format={','.join(fields)}",
                *self._scope(),
                *selection,
            ]
            done = self._timed("sacct", command)
            if done.returncode != 0:
                raise SlurmError(f"sacct failed (exit {done.returncode}): {_first_line(done)}")
            answers.append(done.stdout if done.stdout.endswith("\n") else done.stdout + "\n")
        return parse_sacct("".join(answers), fields, self._rows)

    def _timed(self, call: str, command: list[str]) -> Completed:
        """Run one Slurm command, telling the observer how long it took and whether it worked."""
        started = time.monotonic()
        ok = False
        try:
            done = self.run(command, self.settings.timeout)
            ok = done.returncode == 0 or _no_jobs(done)
            return done
        finally:
            self.observe(call, time.monotonic() - started, ok)

    def _scope(self) -> list[str]:
        settings = self.settings
        scope = ["-u", ",".join(settings.users)] if settings.users else ["-a"]
        for flag, values in (
            ("-M", settings.clusters),
            ("-A", settings.accounts),
            ("-r", settings.partitions),
        ):
            if values:
                scope += [flag, ",".join(values)]
        return scope


def _no_jobs(done: Completed) -> bool:
    """scontrol's way of saying the controller holds no job (an answer, not a failure)."""
    return "No jobs in the system" in done.stdout + done.stderr


def _first_line(done: Completed) -> str:
    text = (done.stderr or done.stdout).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _id_lists(ids: list[str]) -> list[str]:
    """`ids` joined with commas, in as few lists as keep each under MAX_ID_LIST_CHARS."""
    lists: list[str] = []
    current: list[str] = []
    length = 0
    for job_id in ids:
        if current and length + len(job_id) + 1 > MAX_ID_LIST_CHARS:
            lists.append(",".join(current))
            current, length = [], 0
        current.append(job_id)
        length += len(job_id) + 1
    return [*lists, ",".join(current)]


def _id_order(job_id: str) -> tuple[int, int]:
    head, _, tail = job_id.partition("_")
    return (int(head) if head.isdigit() else 0, int(tail) if tail.isdigit() else -1)


@lru_cache(maxsize=8192)
def parse_time(text: str) -> datetime | None:
    """sacct times are local wall-clock times; `Unknown`, `None` and empty mean unset. Cached:
    a pipeline's jobs are submitted in the same second, and one starts when the one it waits
    for ends."""
    if not text or text in ("Unknown", "None", "N/A"):
        return None
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return None
    zone = _zone_of_hour(text[:13]) if len(text) == 19 and naive.tzinfo is None else None
    return naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()


@lru_cache(maxsize=4096)
def _zone_of_hour(hour: str) -> tzinfo | None:
    """The local zone of a whole hour (`2026-11-26T05`) as `astimezone()` gives it, or None
    when it changes within the hour (a DST change): one conversion per hour, not per time."""
    try:
        ends = [datetime.fromisoformat(f"{hour}:{at}") for at in ("00:00", "59:59")]
    except ValueError:
        return None
    first, last = (moment.astimezone() for moment in ends)
    if first.replace(tzinfo=None) != ends[0] or last.replace(tzinfo=None) != ends[1]:
        return None  # a wall-clock time that does not exist (moved by the conversion)
    zone = first.tzinfo
    same = zone == last.tzinfo and first.tzname() == last.tzname()
    return zone if same else None


def parse_exit_code(text: str) -> tuple[int | None, int | None]:
    """`1:0` → (1, 0): exit status and the signal that ended it."""
    code, _, signal = text.partition(":")
    return (int(code) if code.isdigit() else None, int(signal) if signal.isdigit() else None)


class RowCache:
    """sacct lines already parsed, by their text: a line sacct prints again unchanged is not
    parsed again, nor a job with the same lines assembled again. Holds about the lines of the
    last few answers (it is cut back to the latest answer's lines when it grows past four times
    that), so it follows the window.

    The records it hands out are shared between answers: callers must not change them."""

    def __init__(self) -> None:
        self.fields: tuple[str, ...] = ()
        self.records: dict[str, JobRecord] = {}
        self.steps: dict[str, tuple[str, JobStep]] = {}
        self.assembled: dict[tuple[str, ...], JobRecord] = {}
        self.parser = _RowParser(())

    def for_fields(self, fields: Sequence[str]) -> RowCache:
        """A line means what the asked-for fields say: other fields, a fresh start."""
        if tuple(fields) != self.fields:
            self.fields, self.records, self.steps = tuple(fields), {}, {}
            self.assembled = {}
            self.parser = _RowParser(fields)
        return self

    def parsed(self, line: str) -> JobRecord | tuple[str, JobStep]:
        """The line's record, or (its owner's JobID, the step) for a step line."""
        record = self.records.get(line)
        if record is not None:
            return record
        step = self.steps.get(line)
        if step is not None:
            return step
        parsed = self.parser.parse(line)
        if isinstance(parsed, JobRecord):
            self.records[line] = parsed
        else:
            self.steps[line] = parsed
        return parsed

    def with_steps(self, record: JobRecord, lines: list[str]) -> JobRecord:
        """The record with the steps of its step lines (`lines[1:]`), made once per set of
        lines (the cached record itself is never changed)."""
        key = tuple(lines)
        assembled = self.assembled.get(key)
        if assembled is None:
            steps = [self.steps[line][1] for line in lines[1:]]
            assembled = self.assembled[key] = replace(record, steps=steps)
        return assembled

    def keep_only(self, lines: set[str]) -> None:
        self.records = {line: r for line, r in self.records.items() if line in lines}
        self.steps = {line: s for line, s in self.steps.items() if line in lines}
        self.assembled = {k: r for k, r in self.assembled.items() if set(k) <= lines}


@collector_paused()
def parse_sacct(text: str, fields: Sequence[str], cache: RowCache | None = None) -> list[JobRecord]:
    """Allocation lines become records; step lines (`123.batch`) attach to theirs. Fields are
    matched by position against the list that was asked for. With a `cache`, a line parsed
    before is not parsed again."""
    cache = (cache or RowCache()).for_fields(fields)
    records: dict[str, JobRecord] = {}
    lines_of: dict[str, list[str]] = {}  # a job's allocation line, then its step lines
    lines = [line for line in text.splitlines() if line and not line.isspace()]
    known, known_steps = cache.records, cache.steps
    for line in lines:
        parsed = known.get(line) or known_steps.get(line) or cache.parsed(line)
        if isinstance(parsed, JobRecord):
            records[parsed.display_id] = parsed  # a later line for the same job wins
            lines_of[parsed.display_id] = [line]
        elif parsed[0] in records:
            lines_of[parsed[0]].append(line)
    if len(cache.records) + len(cache.steps) + len(cache.assembled) > 4 * len(lines) + 1000:
        cache.keep_only(set(lines))
    return [
        cache.with_steps(record, lines_of[display]) if len(lines_of[display]) > 1 else record
        for display, record in records.items()
    ]


class _RowParser:
    """One line of `sacct --parsable2` by field position (a field not asked for reads as
    empty)."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.width = len(fields)
        position = {name: index for index, name in enumerate(fields)}
        missing = self.width  # the empty value appended to every row

        def at(name: str) -> int:
            return position.get(name, missing)

        self.job_id, self.raw_id, self.name = at("JobID"), at("JobIDRaw"), at("JobName")
        self.state, self.exit, self.submit = at("State"), at("ExitCode"), at("Submit")
        self.start, self.end, self.user = at("Start"), at("End"), at("User")
        self.work_dir, self.partition, self.reason = at("WorkDir"), at("Partition"), at("Reason")
        self.nodes, self.limit, self.comment = at("NodeList"), at("Timelimit"), at("Comment")
        self.cluster, self.stdout, self.stderr = at("Cluster"), at("StdOut"), at("StdErr")

    def values(self, line: str) -> list[str]:
        values = line.split(DELIMITER if DELIMITER in line else "|")
        if len(values) < self.width:
            values += [""] * (self.width - len(values))
        values.append("")
        return values

    def parse(self, line: str) -> JobRecord | tuple[str, JobStep]:
        """The allocation's record, or (its owner's JobID, the step) for a step line."""
        v = self.values(line)
        display = v[self.job_id]
        if "." in display:
            owner, _, name = display.partition(".")
            raw_state = v[self.state]
            return owner, JobStep(name, parse_state(raw_state), raw_state, v[self.exit])
        raw_state = v[self.state]
        exit_code, signal = parse_exit_code(v[self.exit])
        stdout, stderr = self._output_paths(v, display)
        return JobRecord(
            key=JobKey(
                v[self.cluster],
                v[self.raw_id] or display,
                parse_time(v[self.submit]),
            ),
            display_id=display,
            name=v[self.name],
            state=parse_state(raw_state),
            raw_state=raw_state,
            exit_code=exit_code,
            signal=signal,
            start=parse_time(v[self.start]),
            end=parse_time(v[self.end]),
            user=v[self.user],
            work_dir=v[self.work_dir],
            partition=v[self.partition],
            reason=v[self.reason],
            node_list=v[self.nodes],
            time_limit=v[self.limit],
            comment=v[self.comment],
            stdout=stdout,
            stderr=stderr if stderr != stdout else None,
            array_job_id=display.partition("_")[0] if "_" in display else None,
        )

    def _output_paths(self, v: list[str], display: str) -> tuple[str | None, str | None]:
        """StdOut/StdErr with their patterns expanded (sacct < 25.11 prints neither)."""
        stdout_pattern, stderr_pattern = v[self.stdout], v[self.stderr]
        if not stdout_pattern and not stderr_pattern:
            return None, None
        naming = _naming(display, v[self.raw_id] or display, v[self.name], v[self.user],
                         v[self.work_dir], v[self.nodes])  # fmt: skip
        return output_path(stdout_pattern, naming), output_path(stderr_pattern, naming)


def _naming(  # noqa: PLR0917 - sacct's fields, as they come
    display: str, raw_id: str, name: str, user: str, work_dir: str, nodes: str
) -> JobNaming:
    """What the StdOut/StdErr patterns of a job can name: `123_4` is task 4 of array 123;
    the batch host is the node list when it is one plain host name."""
    array_job_id, _, index = display.partition("_") if "_" in display else (None, "", "")
    plain_host = nodes if nodes and not any(c in nodes for c in "[],") else None
    return JobNaming(
        job_id=raw_id, name=name, user=user, work_dir=work_dir, array_job_id=array_job_id,
        array_index=index or None, batch_host=None if plain_host == "None assigned" else plain_host,
    )  # fmt: skip


def parse_scontrol_jobs(text: str) -> dict[str, LiveJob]:
    """`scontrol -o show job`: one job per line, `Key=Value` pairs."""
    jobs: dict[str, LiveJob] = {}
    for line in text.splitlines():
        values = dict(_SCONTROL_FIELD.findall(line))
        job_id = values.get("JobId")
        if not job_id:
            continue
        jobs[job_id] = LiveJob(
            job_id=job_id,
            state=values.get("JobState", ""),
            reason=values.get("Reason", ""),
            stdout=values.get("StdOut") or None,
            work_dir=values.get("WorkDir") or None,
            dependency=values.get("Dependency")
            if values.get("Dependency") not in (None, "(null)")
            else None,
            name=values.get("JobName", ""),
            extra={
                k: v for k, v in values.items() if k in ("ArrayJobId", "ArrayTaskId", "SubmitTime")
            },
        )
    return jobs
