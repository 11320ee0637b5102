"""CPU cost of one poll cycle over 1,000, 10,000 and 100,000 sacct job rows, with its targets.

The rows are replayed through the configurable sacct path: a stand-in `sacct` (a small Python
script) prints them in the exact --parsable2 format the backend asks for, so parsing, grouping
into runs, log lookup and the SQLite reads and writes are all measured in this process (the
stand-in's own CPU is shown apart, as a real sacct's would be slurmdbd's work). Per size:

- first poll: an empty database, every job new (runs created, jobs and events inserted);
- second poll: the first to ask for the unfinished jobs by id, whose step lines are new;
- steady state, every row returned (the third poll): the stand-in ignores the window and
  answers the window query with all rows (the by-id query for the unfinished jobs lists those
  asked for, with each job's batch and extern steps, as sacct does). The worst case, on
  purpose: the targets apply to it. It writes nothing to the database (a poll that records
  nothing moves the watermark every 5 minutes only), which the bench checks;
- one job changed: the same, after one running job completed (exactly one change recorded);
- first poll after a restart: a new store object and backend on the same database (the poll's
  memory empty): every row compared with the database, nothing written;
- steady state, window honoured: the stand-in honours -S/-E/-s as sacct does (a job is listed
  when it had one of the states during the window: it ended after -S, or it is still pending
  or running however long ago it started) and -j; the daemon's real cost after its first poll,
  which asks from the last poll minus the overlap.

The jobs are 60% COMPLETED, 10% FAILED, 10% RUNNING, 10% PENDING and 10% CANCELLED, four
tasks to a run; their work dirs do not exist (no logs to find). Each size is measured
`--repeat` times (3), each time from an empty database, and each figure is the median: a single
first poll at 10,000 rows measured 0.46, 0.49 and 0.73 s in three runs of the same code. Figures
go to bench/results/poll.json; the exit status is 1 when a target is missed.

    python bench/poll_bench.py [--sizes 1000 10000 100000] [--repeat 3] [--no-results]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results_file import write_results
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import PollResult, WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER, SacctBackend, SacctSettings
from eagle3_monitor.state.store import Store

COMMAND = "python bench/poll_bench.py"
SIZES = (1000, 10000, 100000)
REPEAT = 3  # each figure the median of this many measurements
STATES = ["COMPLETED"] * 6 + ["FAILED", "RUNNING", "PENDING", "CANCELLED by 0"]
# CPU seconds by (figure, rows); a figure without a target here is reported only
TARGETS = {
    ("first poll", 10000): 0.5,
    ("steady, every row", 10000): 0.2,
    ("steady, every row", 100000): 2.0,
}
STAND_IN = '''#!{python}
"""sacct stand-in: answers from {data}; mode {mode}."""
import sys

args = sys.argv[1:]
if "--version" in args:
    print("slurm 22.05.8")
    sys.exit(0)
DELIMITER = "\\x1f"


def value(flag):
    return args[args.index(flag) + 1] if flag in args else None


ids = set((value("-j") or "").split(",")) - {{""}}
since = value("-S")
out = []
with open("{data}", encoding="utf-8") as rows:
    for line in rows.read().splitlines():
        fields = line.split(DELIMITER)
        if ids and fields[1] not in ids:
            continue  # -j lists the jobs asked for, whatever the mode
        ended_before = not ids and since and fields[7] != "Unknown" and fields[7] < since
        if "{mode}" == "window" and ended_before:
            continue
        out.append(line)
        if "-X" not in args:  # steps, as sacct lists them without -X
            for step in ("batch", "extern"):
                out.append(DELIMITER.join([f"{{fields[0]}}.{{step}}", f"{{fields[1]}}.{{step}}",
                                           step, *fields[3:]]))
sys.stdout.write("\\n".join(out) + "\\n" if out else "")
'''


@dataclass(frozen=True)
class Row:
    figure: str
    rows: int
    cpu: float
    wall: float
    tools: float
    changes: int
    examined: int
    target: float | None = None

    @property
    def met(self) -> bool:
        return self.target is None or self.cpu <= self.target

    def as_result(self) -> dict[str, object]:  # bench/results_file.py's row
        return {
            "figure": f"{self.figure}, {self.rows:,} rows: CPU",
            "measured": f"{self.cpu:.3f} s ({self.cpu / self.rows * 1e6:.1f} µs/row)",
            "target": f"<= {self.target:g} s" if self.target is not None else "reported",
            "met": self.met,
        }


def row_values(number: int, start: datetime) -> dict[str, str]:
    run, task = divmod(number, 4)
    name = f"Bench{run:05d}_EAGLE3_offline"
    state = STATES[number % len(STATES)]
    submit = (start + timedelta(seconds=run)).strftime("%Y-%m-%dT%H:%M:%S")
    end = "Unknown" if state in ("RUNNING", "PENDING") else submit
    return {
        "JobID": str(100000 + number),
        "JobIDRaw": str(100000 + number),
        "JobName": f"acct-modelopt.{name}_{task}",
        "State": state,
        "ExitCode": "1:0" if state == "FAILED" else "0:0",
        "Submit": submit,
        "Start": "Unknown" if state == "PENDING" else submit,
        "End": end,
        "User": "bench",
        "WorkDir": f"/nonexistent/cicd/cicd_{1764000000 + run}/{name}_{task}",
        "Partition": "batch",
        "Reason": "None",
        "NodeList": "gpu-a001",
        "Timelimit": "04:00:00",
        "Comment": "",
        "Cluster": "bench",
    }


def write_rows(data: Path, rows: list[dict[str, str]]) -> None:
    data.write_text("".join(DELIMITER.join(r[f] for f in BASE_FIELDS) + "\n" for r in rows))


def stand_in_tools(directory: Path, data: Path, mode: str) -> tuple[Path, Path]:
    sacct = directory / f"sacct-{mode}"
    sacct.write_text(STAND_IN.format(python=sys.executable, data=data, mode=mode))
    scontrol = directory / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'No jobs in the system'\nexit 1\n")
    sacct.chmod(0o755)
    scontrol.chmod(0o755)
    return sacct, scontrol


def cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


class Poller:
    """A store and a backend, as one daemon process holds them."""

    def __init__(self, directory: Path, data: Path, mode: str) -> None:
        sacct, scontrol = stand_in_tools(directory, data, mode)
        settings = SacctSettings(sacct=str(sacct), scontrol=str(scontrol), timeout=600)
        self.backend = SacctBackend(settings)
        self.store = Store.open(directory / f"state-{mode}.db")
        self.settings = WatchSettings(job_name_pattern=DEFAULT_JOB_NAME_PATTERN)

    def poll(self, figure: str, rows: int) -> tuple[Row, PollResult]:
        before_own, before_children = cpu_seconds()
        wall = time.perf_counter()
        result = poll_once(self.backend, self.store, self.settings)
        wall = time.perf_counter() - wall
        own, children = cpu_seconds()
        assert result.ok, result.error
        measured = Row(
            figure,
            rows,
            own - before_own,
            wall,
            children - before_children,
            len(result.transitions),
            result.jobs_examined,
            TARGETS.get((figure, rows)),
        )
        return measured, result

    def close(self) -> None:
        self.store.close()


def measure(count: int) -> list[Row]:
    start = datetime.now().astimezone() - timedelta(hours=2)
    jobs = [row_values(number, start) for number in range(count)]
    measured = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        data = directory / "rows.txt"
        write_rows(data, jobs)
        every_row = Poller(directory, data, "all")
        first, _ = every_row.poll("first poll", count)
        assert first.changes == count, first
        second, _ = every_row.poll("second poll, every row", count)
        writes = every_row.store.connection.total_changes
        steady, _ = every_row.poll("steady, every row", count)
        writes = every_row.store.connection.total_changes - writes
        assert second.changes == 0 and steady.changes == 0 and writes == 0, (steady, writes)
        running = next(job for job in jobs if job["State"] == "RUNNING")
        running.update(
            State="COMPLETED", End=datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        )
        write_rows(data, jobs)
        changed, _ = every_row.poll("one job changed, every row", count)
        assert changed.changes == 1, changed
        every_row.close()
        restarted = Poller(directory, data, "all")
        restart, _ = restarted.poll("first poll after a restart, every row", count)
        assert restart.changes == 0, restart
        restarted.close()
        window = Poller(directory, data, "window")
        window.poll("first poll, window", count)
        honoured, _ = window.poll("steady, window honoured", count)
        assert honoured.changes == 0, honoured
        window.close()
        measured += [first, second, steady, changed, restart, honoured]
    print(f"    ({writes} database rows written by a steady poll)")
    return measured


def medians(measurements: list[list[Row]]) -> list[Row]:
    """Figure by figure, the measurement with the median CPU."""
    by_figure = zip(*measurements, strict=True)
    return [sorted(same, key=lambda row: row.cpu)[len(same) // 2] for same in by_figure]


def show(row: Row) -> None:
    target = f"target <= {row.target:g} s" if row.target is not None else "reported"
    verdict = "" if row.target is None else ("  met" if row.met else "  MISSED")
    print(
        f"{row.rows:>7,} rows  {row.figure:<39} CPU {row.cpu:7.3f} s "
        f"({row.cpu / row.rows * 1e6:6.1f} µs/row)  wall {row.wall:7.3f} s  "
        f"stand-in {row.tools:5.3f} s  examined {row.examined:>6}  changes {row.changes:>6}  "
        f"{target}{verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=REPEAT, help="measurements per figure")
    parser.add_argument("--no-results", action="store_true", help="Do not write poll.json.")
    args = parser.parse_args()
    rows: list[Row] = []
    for size in args.sizes:
        for row in medians([measure(size) for _ in range(args.repeat)]):
            show(row)
            rows.append(row)
        sys.stdout.flush()
    if not args.no_results and tuple(args.sizes) == SIZES and args.repeat == REPEAT:
        write_results("poll", COMMAND, [r.as_result() for r in rows])
    missed = [row for row in rows if not row.met]
    for row in missed:
        print(f"MISSED: {row.figure}, {row.rows:,} rows: {row.cpu:.3f} s > {row.target:g} s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
