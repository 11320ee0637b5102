"""CPU cost of one poll cycle over 1,000 and 10,000 sacct job rows.

The rows are replayed through the configurable sacct path: a stand-in `sacct` prints them in the
exact --parsable2 format the backend asks for, so parsing, grouping into runs, log lookup and
the SQLite writes are all measured. Two polls per size: the first records every job (inserts,
events), the second is the steady state (same rows, nothing changed). Worst case on purpose:
the stand-in answers every query with all rows, where a real sacct window after the first poll
holds only the jobs that changed since the last one.

    python bench/poll_bench.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import BASE_FIELDS, DELIMITER, SacctBackend, SacctSettings
from eagle3_monitor.state.store import Store

STATES = ["COMPLETED"] * 6 + ["FAILED", "RUNNING", "PENDING", "CANCELLED by 0"]


def rows(count: int) -> str:
    start = datetime.now(UTC) - timedelta(hours=2)
    lines = []
    for number in range(count):
        run, task = divmod(number, 4)
        name = f"Bench{run:05d}_EAGLE3_offline"
        state = STATES[number % len(STATES)]
        submit = (start + timedelta(seconds=run)).strftime("%Y-%m-%dT%H:%M:%S")
        end = "Unknown" if state in ("RUNNING", "PENDING") else submit
        values = {
            "JobID": str(100000 + number),
            "JobIDRaw": str(100000 + number),
            "JobName": f"acct-modelopt.{name}_{task}",
            "State": state,
            "ExitCode": "1:0" if state == "FAILED" else "0:0",
            "Submit": submit,
            "Start": submit,
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
        lines.append(DELIMITER.join(values[field] for field in BASE_FIELDS))
    return "\n".join(lines) + "\n"


def stand_in_tools(directory: Path, count: int) -> tuple[Path, Path]:
    data = directory / "rows.txt"
    data.write_text(rows(count))
    sacct = directory / "sacct"
    sacct.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" --version "*) echo "slurm 22.05.8"; exit 0;; esac\n'
        f'exec cat "{data}"\n'
    )
    scontrol = directory / "scontrol"
    scontrol.write_text("#!/bin/sh\necho 'No jobs in the system'\nexit 1\n")
    sacct.chmod(0o755)
    scontrol.chmod(0o755)
    return sacct, scontrol


def cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measure(count: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        sacct, scontrol = stand_in_tools(directory, count)
        backend = SacctBackend(SacctSettings(sacct=str(sacct), scontrol=str(scontrol)))
        store = Store.open(directory / "state.db")
        settings = WatchSettings(job_name_pattern=DEFAULT_JOB_NAME_PATTERN)
        for label in ("first poll (all new)", "steady state"):
            before_own, before_children = cpu_seconds()
            wall = time.perf_counter()
            result = poll_once(backend, store, settings)
            wall = time.perf_counter() - wall
            own, children = cpu_seconds()
            assert result.ok and result.jobs_seen >= count, result
            cpu = own - before_own
            tools = children - before_children
            print(
                f"{count:>6} rows  {label:<21} CPU {cpu:6.3f} s ({cpu / count * 1e6:6.1f} µs/row)  "
                f"wall {wall:6.3f} s  stand-in tools {tools:5.3f} s  "
                f"changes {len(result.transitions)}"
            )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    for size in parser.parse_args().sizes:
        measure(size)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
