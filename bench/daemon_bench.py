"""The daemon's memory and idle CPU, measured on the real `eagle3-monitor run` process.

A stand-in `sacct` (the config's `slurm.sacct`) replays rows from a file the bench rewrites: it
answers `-j IDS` with those jobs and `-S START` with the jobs not ended before START, as the real
one does, so an idle daemon's polls find nothing new. Slack is the console transport; a datagram
socket stands in for systemd's NOTIFY_SOCKET, so the daemon does its systemd work as in service.

1. RSS idle after start: a fresh database, no jobs; read after the first poll and 10 s idle.
2. RSS after reviews: 20 simulated experiment directories (half pass, half fail in a
   different way each, written by `eagle3_monitor.simulate`) end at once; read when all 20
   are reviewed and announced and the daemon is idle again, for the daemon and for any review
   worker still alive, and again once the worker has been retired.
3. Idle CPU with 1,000 runs stored: a second daemon on a new database is given 1,000 ended
   runs (the 20 real ones and 980 whose directories are gone); once it has reviewed and
   announced them all, the time the scheduler ran its threads (/proc/PID/task/*/schedstat,
   plus any live worker's; utime+stime is printed too, but it is sampled per clock tick) over
   a 300 s window (the idle daemon polls once a minute, so a shorter window, scaled, would
   depend on where the polls fall), and its RSS then (after it sent those runs' 7,000
   messages). The experiments' root is configured, as in a deployment (its inotify watches
   are part of the cost).
   The stand-in tools' own CPU is shown but not counted: a real sacct's cost is Slurm's.

    python bench/daemon_bench.py [--window 300]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.failure_cases import load_cases

from eagle3_monitor.service.status_socket import query
from eagle3_monitor.simulate.experiment import (
    TaskPlan,
    healthy_plan,
    plan_failing_at,
    write_experiment,
)
from eagle3_monitor.simulate.logtext import (
    ACCOUNT_PREFIX,
    benchmark_log,
    dump_log,
    synthesis_log,
    training_log,
)
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER
from eagle3_monitor.vocabulary import ROLE_BY_TASK_INDEX, Role

RSS_TARGET_MB = 60.0
CPU_TARGET_SECONDS = 1.0  # per 5 minutes
REVIEWS = 20
STORED_RUNS = 1000
RESULTS = Path(__file__).resolve().parent / "results" / "daemon.json"
COMMAND = "python bench/daemon_bench.py"
TICK = os.sysconf("SC_CLK_TCK")

STAND_IN_SACCT = """#!{python}
import sys
args = sys.argv[1:]
if "--version" in args:
    print("slurm 22.05.8")
    sys.exit(0)
ids = set(args[args.index("-j") + 1].split(",")) if "-j" in args else None
start = args[args.index("-S") + 1] if "-S" in args else None
with open({rows!r}) as rows:
    for line in rows:
        values = line.rstrip("\\n").split("\\x1f")
        if ids is not None and values[1] not in ids:
            continue
        if start is not None and values[7] != "Unknown" and values[7] < start:
            continue
        sys.stdout.write(line)
"""
_PARTIAL_OUTPUT: dict[Role, Callable[[random.Random], str]] = {
    Role.SYNTHESIS: lambda rng: synthesis_log(rng, shards=2, finish=False),
    Role.DUMP: lambda rng: dump_log(rng, finish=False),
    Role.TRAINING: lambda rng: training_log(rng, steps=3, finish=False),
    Role.BENCHMARK: lambda rng: benchmark_log(rng, finish=False),
}


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str
    met: bool


@dataclass(frozen=True)
class Experiment:
    directory: Path | None  # None: gone from disk
    job_base: str
    first_job_id: int
    exit_codes: tuple[int | None, ...]  # None: never ran (its dependency failed)


# ---------------------------------------------------------------------------- the inputs
def real_experiments(root: Path, count: int) -> list[Experiment]:
    """Half pass, half fail at a task, each failure a different category's fixture case."""
    cases = {case.category: case for case in load_cases() if case.exit_code not in (None, 0)}
    failing = sorted(cases.values(), key=lambda case: case.category)
    experiments = []
    for number in range(count):
        job_base, first_job_id = f"Bench{number:04d}-8B_EAGLE3_offline", 500000 + 10 * number
        plans = healthy_plan()
        if number % 2:
            case = failing[(number // 2) % len(failing)]
            rng = random.Random(case.name)
            role = ROLE_BY_TASK_INDEX[case.task]
            failed = TaskPlan(role, task_log=_PARTIAL_OUTPUT[role](rng) + case.log,
                              exit_code=case.exit_code, artifacts=False)  # fmt: skip
            plans = plan_failing_at(case.task, failed)
        directory = write_experiment(
            root / f"site{number:04d}",
            plans,
            epoch=1764115200 + number,
            job_base=job_base,
            first_job_id=first_job_id,
            seed=number,
        )
        codes = tuple(plan.exit_code if plan.ran else None for plan in plans)
        experiments.append(Experiment(directory, job_base, first_job_id, codes))
    return experiments


def gone_experiments(count: int, first: int) -> list[Experiment]:
    return [
        Experiment(None, f"Gone{n:04d}-8B_EAGLE3_offline", 700000 + 10 * n, (0, 0, 1, None))
        for n in range(first, first + count)
    ]


def sacct_rows(experiments: list[Experiment], ended: datetime) -> str:
    lines = []
    for number, experiment in enumerate(experiments):
        submit = ended - timedelta(hours=1, seconds=number)
        for index, code in enumerate(experiment.exit_codes):
            lines.append(_row(experiment, index, code, submit, ended))
    return "".join(line + "\n" for line in lines)


def _row(
    experiment: Experiment, index: int, code: int | None, submit: datetime, end: datetime
) -> str:
    job_id = str(experiment.first_job_id + index)
    state = "CANCELLED by 0" if code is None else "COMPLETED" if code == 0 else "FAILED"
    work_dir = (
        str(experiment.directory / f"{experiment.job_base}_{index}")
        if experiment.directory
        else f"/nonexistent/cicd/{experiment.job_base}_{index}"
    )
    stamp = "%Y-%m-%dT%H:%M:%S"
    values = {
        "JobID": job_id,
        "JobIDRaw": job_id,
        "JobName": f"{ACCOUNT_PREFIX}.{experiment.job_base}_{index}",
        "State": state,
        "ExitCode": f"{code or 0}:0",
        "Submit": (submit + timedelta(seconds=index)).strftime(stamp),
        "Start": "Unknown" if code is None else submit.strftime(stamp),
        "End": end.strftime(stamp),
        "User": _user(),
        "WorkDir": work_dir,
        "Partition": "batch",
        "Reason": "DependencyNeverSatisfied" if code is None else "None",
        "NodeList": "None assigned" if code is None else "gpu-a001",
        "Timelimit": "04:00:00",
        "Comment": "",
        "Cluster": "bench",
    }
    return DELIMITER.join(values[field] for field in BASE_FIELDS)


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------------------- the daemon
@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    database: Path
    socket: Path
    rows: Path
    output: Path

    def set_rows(self, text: str) -> None:
        staged = self.rows.with_suffix(".new")
        staged.write_text(text)
        staged.replace(self.rows)
        query(self.socket, {"command": "poll"}, timeout=5)

    def database_says(self, sql: str) -> int:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as connection:
            return int(connection.execute(sql).fetchone()[0])

    def reviews(self) -> int:
        return self.database_says("SELECT count(*) FROM reviews")

    def settled(self) -> bool:
        """No final reply owed and nothing left to send."""
        owing = self.database_says(
            "SELECT count(*) FROM jobs j WHERE j.final = 1 AND j.run_id IS NOT NULL AND NOT "
            "EXISTS (SELECT 1 FROM outbox o WHERE o.job = j.id AND o.event = 'final')"
        )
        unsent = self.database_says(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        )
        return owing == 0 and unsent == 0

    def polled(self) -> bool:
        answer = query(self.socket, {"command": "status"}, timeout=5)
        return answer.get("last_poll") is not None


@contextmanager
def running_daemon(scratch: Path, name: str, rows_text: str = "") -> Iterator[Daemon]:
    """The daemon, once its first poll (which sees `rows_text`) is done."""
    directory = scratch / name
    directory.mkdir()
    rows = directory / "rows.txt"
    rows.write_text(rows_text)
    sacct = directory / "sacct"
    sacct.write_text(STAND_IN_SACCT.format(python=sys.executable, rows=str(rows)))
    scontrol = directory / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'No jobs in the system'\nexit 1\n")
    for tool in (sacct, scontrol):
        tool.chmod(0o755)
    config = {
        "slurm": {"sacct": str(sacct), "scontrol": str(scontrol)},
        "state": {"database": str(directory / "state.db")},
        "status": {"socket": str(directory / "status.sock")},
        # the runs ended before the start: announced as before this release (a backfill)
        "watch": {"experiment_roots": [str(scratch / "experiments")], "backfill_hours": 2},
        "slack": {"mode": "console", "pace_seconds": 0},
        "daemon": {"shutdown_timeout_seconds": 10, "log_level": "warning"},
    }
    (directory / "monitor.yaml").write_text(yaml.safe_dump(config))
    output = directory / "daemon.out"
    command = [str(Path(sys.executable).parent / "eagle3-monitor"), "run", "--config",
               str(directory / "monitor.yaml")]  # fmt: skip
    with systemd_stand_in(directory / "notify.sock") as notify, output.open("wb") as sink:
        environment = {**os.environ, "NOTIFY_SOCKET": str(notify)}
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
        daemon = Daemon(process, directory / "state.db", directory / "status.sock", rows, output)
        try:
            wait_until(lambda: daemon.socket.exists() and daemon.polled(), 60, "the first poll")
            yield daemon
        finally:
            stop(daemon)


@contextmanager
def systemd_stand_in(path: Path) -> Iterator[Path]:
    """A NOTIFY_SOCKET that takes the daemon's READY/STATUS/WATCHDOG datagrams."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(0.5)
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            try:
                receiver.recv(4096)
            except TimeoutError:
                continue

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield path
    finally:
        done.set()
        reader.join()
        receiver.close()


def stop(daemon: Daemon) -> None:
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()


def _local_now() -> datetime:
    """sacct prints local times."""
    return datetime.now(UTC).astimezone()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.2)


# ---------------------------------------------------------------------------- /proc
def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return sorted(set(found))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def command_of(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(word.decode(errors="replace") for word in words if word)
    return text if len(text) < 70 else text[:67] + "..."


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(own utime+stime, waited-for children's cutime+cstime) in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def on_cpu_seconds(pid: int) -> float:
    """The time the scheduler ran the process's threads (the first field of each thread's
    /proc schedstat, in ns): exact, where utime+stime is sampled once per clock tick and so
    counts a 1 ms wake-up that meets a tick as 10 ms, and one that does not as nothing."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def workers(pid: int) -> list[int]:
    """Live descendants that are not the stand-in Slurm tools."""
    return [child for child in descendants(pid) if "sacct" not in command_of(child)
            and "scontrol" not in command_of(child)]  # fmt: skip


# ---------------------------------------------------------------------------- the phases
def memory_phase(scratch: Path, experiments: list[Experiment]) -> list[Row]:
    rows: list[Row] = []
    with running_daemon(scratch, "memory") as daemon:
        time.sleep(10)
        idle = rss_mb(daemon.process.pid)
        print(f"daemon RSS idle after start: {idle:.1f} MB")
        rows.append(_rss_row("daemon RSS idle after start", idle))
        started = time.monotonic()
        daemon.set_rows(sacct_rows(experiments, _local_now()))
        wait_until(lambda: daemon.reviews() >= REVIEWS and daemon.settled(), 600, "the reviews")
        took = time.monotonic() - started
        time.sleep(3)
        after = rss_mb(daemon.process.pid)
        alive = workers(daemon.process.pid)
        print(f"{daemon.reviews()} reviews, announced in {took:.1f} s")
        print(f"daemon RSS after {REVIEWS} reviews: {after:.1f} MB")
        rows.append(_rss_row(f"daemon RSS after {REVIEWS} reviews", after))
        for pid in alive:
            worker = rss_mb(pid)
            print(f"  child {pid} RSS {worker:.1f} MB  ({command_of(pid)})")
            rows.append(Row(f"review worker RSS right after {REVIEWS} reviews", f"{worker:.1f} MB",
                            "reported (freed when the worker retires)", True))  # fmt: skip
        if alive:
            retired = _wait_for_no_workers(daemon.process.pid, 120)
            later = rss_mb(daemon.process.pid)
            left = workers(daemon.process.pid)
            print(f"after {retired:.0f} s idle: daemon RSS {later:.1f} MB, workers alive: "
                  f"{len(left)}")  # fmt: skip
            rows.append(_rss_row(f"daemon RSS after {REVIEWS} reviews, worker retired", later))
    return rows


def _wait_for_no_workers(pid: int, timeout: float) -> float:
    started = time.monotonic()
    while workers(pid) and time.monotonic() - started < timeout:
        time.sleep(1)
    return time.monotonic() - started


def _rss_row(figure: str, megabytes: float) -> Row:
    return Row(figure, f"{megabytes:.1f} MB", f"<= {RSS_TARGET_MB:g} MB",
               megabytes <= RSS_TARGET_MB)  # fmt: skip


def cpu_phase(scratch: Path, real: list[Experiment], window: float) -> list[Row]:
    experiments = real + gone_experiments(STORED_RUNS - len(real), len(real))
    # ended half an hour ago: the first poll (24 h back) finds them, later ones look 10 min back
    ended = sacct_rows(experiments, _local_now() - timedelta(minutes=30))
    started = time.monotonic()
    with running_daemon(scratch, "cpu", ended) as daemon:
        wait_until(
            lambda: daemon.reviews() >= STORED_RUNS and daemon.settled(), 1800, "1,000 reviews"
        )
        runs = daemon.database_says("SELECT count(*) FROM runs")
        print(f"{runs} runs stored, reviewed and announced in {time.monotonic() - started:.0f} s")
        time.sleep(15)  # the last cycles finish
        pid = daemon.process.pid
        before, before_exact = cpu_ticks(pid), on_cpu_seconds(pid)
        before_workers = {child: on_cpu_seconds(child) for child in workers(pid)}
        time.sleep(window)
        after, after_exact = cpu_ticks(pid), on_cpu_seconds(pid)
        after_workers = {child: on_cpu_seconds(child) for child in workers(pid)}
        stored_rss = rss_mb(pid)
    worker_seconds = sum(seconds - before_workers.get(child, 0)
                         for child, seconds in after_workers.items())  # fmt: skip
    own = after_exact - before_exact + worker_seconds
    sampled = (after[0] - before[0]) / TICK
    tools = (after[1] - before[1]) / TICK
    per_five = own * 300 / window
    print(f"idle CPU over {window:g} s with {runs} runs stored: {own:.3f} s on CPU (workers "
          f"{worker_seconds:.3f} s; utime+stime, sampled per tick: {sampled:.2f} s) -> "
          f"{per_five:.2f} s per 5 minutes (scaled from the {window:g} s window); stand-in "
          f"sacct/scontrol: {tools:.2f} s, not counted")  # fmt: skip
    print(f"daemon RSS idle with {runs} runs stored: {stored_rss:.1f} MB")
    scaled = "" if window == 300 else ", scaled"
    return [Row(f"idle CPU with {runs} runs stored (measured {window:g} s{scaled})",
                f"{per_five:.2f} s per 5 min", f"<= {CPU_TARGET_SECONDS:g} s per 5 min",
                per_five <= CPU_TARGET_SECONDS),
            Row(f"daemon RSS idle with {runs} runs stored", f"{stored_rss:.1f} MB",
                "reported (the RSS target is for idle and after 20 reviews)", True)]  # fmt: skip


def report(rows: list[Row]) -> None:
    width = max(len(row.figure) for row in rows)
    print()
    print(f"{'figure':<{width}}  {'measured':>16}  {'target':<40}  met")
    for row in rows:
        print(f"{row.figure:<{width}}  {row.measured:>16}  {row.target:<40}  "
              f"{'yes' if row.met else 'NO'}")  # fmt: skip
    document: dict[str, Any] = {
        "bench": "daemon",
        "command": COMMAND,
        "rows": [row.__dict__ for row in rows],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=300.0, help="idle CPU window, seconds")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="e3d", dir="/tmp") as name:
        scratch = Path(name)
        scratch.chmod(0o755)
        experiments = real_experiments(scratch / "experiments", REVIEWS)
        rows = memory_phase(scratch, experiments)
        rows += cpu_phase(scratch, experiments, options.window)
    report(rows)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
