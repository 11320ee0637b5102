"""sacct polling against a real Slurm: every final state, arrays, dependencies, outages."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eagle3_monitor.monitor.poll import PollResult, WatchSettings, poll_once
from eagle3_monitor.slurm.sacct import SacctBackend, SacctSettings
from eagle3_monitor.state.store import Store, StoredJob
from tests.cli_runner import run_cli
from tests.integration.conftest import (
    PATTERN,
    Cluster,
    accounting_down,
    ensure_pyslurm,
    make_lane_backend,
    poll_until,
)

pytestmark = pytest.mark.slurm
Poll = Callable[[], PollResult]


def jobs_by_index(store: Store, base: str) -> dict[int | None, StoredJob]:
    [run] = [run for run in store.runs() if run.job_base == base]
    return {job.task_index: job for job in store.jobs_of_run(run.id)}


def job(store: Store, job_id: str) -> StoredJob:
    [found] = [j for run in store.runs() for j in store.jobs_of_run(run.id) if j.job_id == job_id]
    return found


def has(store: Store, job_id: str) -> bool:
    return any(j.job_id == job_id for run in store.runs() for j in store.jobs_of_run(run.id))


def final(store: Store, *job_ids: str) -> Callable[[], bool]:
    def check() -> bool:
        jobs = {j.job_id: j for run in store.runs() for j in store.jobs_of_run(run.id)}
        return all(i in jobs and jobs[i].final for i in job_ids)

    return check


def test_poll_completed_and_failed_jobs_are_final_with_events_and_logs(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    ok = cluster.sbatch(f"acct-x.{base}_0", "echo start; sleep 1; echo done", workdir=tmp_path)
    bad = cluster.sbatch(f"acct-x.{base}_1", "echo failing >&2; exit 3", workdir=tmp_path)

    poll_until(poller, final(store, ok, bad), timeout=60)

    jobs = jobs_by_index(store, base)
    assert (jobs[0].state, jobs[0].exit_code) == ("COMPLETED", 0)
    assert (jobs[1].state, jobs[1].exit_code) == ("FAILED", 3)
    assert jobs[0].log_paths == [str(tmp_path / f"sbatch_acct-x.{base}_0_{ok}.out")]
    events = store.events(jobs[1].row)
    assert events[-1].new_state == "FAILED" and events[-1].final
    assert [e.final for e in events].count(True) == 1


def test_poll_cancelled_job(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    job_id = cluster.sbatch(f"acct-x.{base}_0", "sleep 600", workdir=tmp_path)
    poll_until(
        poller, lambda: has(store, job_id) and job(store, job_id).state == "RUNNING", timeout=60
    )

    cluster.run("scancel", job_id)
    poll_until(poller, final(store, job_id), timeout=60)

    assert job(store, job_id).state == "CANCELLED"
    assert [e.new_state for e in store.events(job(store, job_id).row)][-2:] == [
        "RUNNING",
        "CANCELLED",
    ]


def test_poll_array_with_one_failing_task(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    array = cluster.sbatch(
        f"acct-x.{base}_0",
        "sleep 1; exit $(( SLURM_ARRAY_TASK_ID == 2 ))",
        "--array=0-3",
        workdir=tmp_path,
    )

    def mine() -> list[StoredJob]:
        return [
            j for run in store.runs() if run.job_base == base for j in store.jobs_of_run(run.id)
        ]

    poll_until(poller, lambda: len(mine()) == 4 and all(j.final for j in mine()), timeout=90)

    jobs = sorted(mine(), key=lambda j: j.display_id)
    assert [j.display_id for j in jobs] == [f"{array}_{i}" for i in range(4)]
    assert [j.state for j in jobs] == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
    assert len({j.job_id for j in jobs}) == 4  # array tasks have their own raw ids


def test_poll_dependency_never_satisfied(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    parent = cluster.sbatch(f"acct-x.{base}_0", "sleep 1; exit 1", workdir=tmp_path)
    child = cluster.sbatch(
        f"acct-x.{base}_1",
        "echo never",
        f"--dependency=afterok:{parent}",
        "--kill-on-invalid-dep=yes",
        workdir=tmp_path,
    )

    poll_until(poller, final(store, parent, child), timeout=90)

    jobs = jobs_by_index(store, base)
    assert jobs[0].state == "FAILED"
    assert jobs[1].state == "CANCELLED"
    # sacct 22.05 keeps the pending reason; 25.11's accounting says "None" for it
    assert jobs[1].reason == ("Dependency" if cluster.version == "22.05" else "None")
    assert jobs[1].log_paths == []  # it never ran
    waiting = " while waiting on a dependency" if cluster.version == "22.05" else ""
    assert jobs[1].slurm_view().never_ran == f"cancelled before start{waiting}"  # poll, status


def test_poll_node_failure(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    job_id = cluster.sbatch(f"acct-x.{base}_0", "sleep 600", workdir=tmp_path)
    poll_until(
        poller, lambda: has(store, job_id) and job(store, job_id).state == "RUNNING", timeout=60
    )
    node = cluster.run("hostname", "-s").strip()

    cluster.run(
        "scontrol", "update", f"nodename={node}", "state=down", "reason=eagle3-monitor-test"
    )
    try:
        poll_until(poller, final(store, job_id), timeout=90)
    finally:
        cluster.run("scontrol", "update", f"nodename={node}", "state=resume", check=False)
        cluster.wait_until_idle(node)

    assert job(store, job_id).state == "NODE_FAIL"


def test_poll_survives_an_accounting_outage_and_catches_up(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    job_id = cluster.sbatch(f"acct-x.{base}_0", "sleep 6", workdir=tmp_path)
    poll_until(poller, lambda: has(store, job_id), timeout=60)
    cluster.wait_for_squeue_state(job_id, "R")
    before = job(store, job_id).state

    cluster.script("stop", "slurmdbd")
    try:
        failed = poller()
        assert not failed.ok and accounting_down(failed.error or ""), failed.error
        assert job(store, job_id).state == before  # nothing recorded from a failed poll
        cluster.wait_for_squeue_state(job_id, "")  # the job ends while accounting is down
    finally:
        cluster.script("start", "slurmdbd")

    poll_until(poller, final(store, job_id), timeout=120, interval=2)
    stored = job(store, job_id)
    assert (stored.state, stored.end is not None) == ("COMPLETED", True)
    assert [e.new_state for e in store.events(stored.row)][-1] == "COMPLETED"


def test_poll_restart_resumes_from_the_database_without_duplicates(
    cluster: Cluster, base: str, tmp_path: Path
) -> None:
    database = tmp_path / "state.db"
    settings = WatchSettings(job_name_pattern=PATTERN)
    backend = SacctBackend(SacctSettings(timeout=30))
    first = Store.open(database)
    job_id = cluster.sbatch(f"acct-x.{base}_0", "sleep 2", workdir=tmp_path)
    poll_until(lambda: poll_once(backend, first, settings), lambda: has(first, job_id), timeout=60)
    first.close()

    second = Store.open(database)  # the daemon restarted; the job ends meanwhile
    poll_until(lambda: poll_once(backend, second, settings), final(second, job_id), timeout=60)
    again = poll_once(backend, second, settings)

    assert again.transitions == []
    events = second.events(job(second, job_id).row)
    assert [e.final for e in events].count(True) == 1
    assert second.watermark("sacct-discovery") is not None
    second.close()


@pytest.mark.slow
def test_poll_time_limit(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    job_id = cluster.sbatch(f"acct-x.{base}_0", "sleep 600", "--time=1", workdir=tmp_path)

    poll_until(poller, final(store, job_id), timeout=150, interval=3)

    stored = job(store, job_id)
    assert stored.state == "TIMEOUT"
    log = Path(stored.log_paths[0]).read_text()
    assert "DUE TO TIME LIMIT" in log


def test_poll_out_of_memory_in_the_cgroup_variant(
    cluster: Cluster, poller: Poll, store: Store, base: str, tmp_path: Path
) -> None:
    if "proctrack/cgroup" not in Path(cluster.conf).read_text():
        pytest.fail(
            "the dev cluster runs without task/cgroup: OUT_OF_MEMORY cannot happen (SLURM_DEV_CGROUP=1)"
        )
    script = "python3 -c \"import time; a = b'1' * (400 << 20); print('allocated', flush=True); time.sleep(60)\""
    job_id = cluster.sbatch(f"acct-x.{base}_1", script, "--mem=100M", workdir=tmp_path)

    poll_until(poller, final(store, job_id), timeout=90)

    stored = job(store, job_id)
    assert stored.state == "OUT_OF_MEMORY"
    assert (stored.exit_code, stored.signal, stored.exit_status) == (0, 125, 137)  # as review
    # 22.05: "Detected 1 oom-kill event(s)"; 25.11: "Detected 1 oom_kill event"
    assert re.search(r"Detected 1 oom[-_]kill event", Path(stored.log_paths[0]).read_text())


def test_cli_poll_once_json_shows_the_run_and_its_tasks(
    cluster: Cluster, base: str, tmp_path: Path
) -> None:
    first = cluster.sbatch(f"acct-x.{base}_0", "exit 0", workdir=tmp_path)
    second = cluster.sbatch(
        f"acct-x.{base}_1", "exit 2", f"--dependency=afterany:{first}", workdir=tmp_path
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(f"state:\n  database: {tmp_path / 'state.db'}\nwatch:\n  lookback_hours: 1\n")
    cluster.wait_for_squeue_state(second, "")

    deadline = time.monotonic() + 60
    while True:
        done = run_cli(
            "poll", "--once", "--json", "--config", config, env={"SLURM_CONF": cluster.conf}
        )
        assert done.status == 0, done
        runs = [run for run in json.loads(done.stdout)["runs"] if run["job_base"] == base]
        states = [
            (t["task"], t["job_id"], t["state"], t["final"]) for run in runs for t in run["tasks"]
        ]
        if (all(final for *_, final in states) and len(states) == 2) or time.monotonic() > deadline:
            break
        time.sleep(1)

    assert states == [("task_0", first, "COMPLETED", True), ("task_1", second, "FAILED", True)]


@pytest.mark.pyslurm_lane
def test_pyslurm_and_sacct_record_the_same_runs_states_logs_and_events(
    cluster: Cluster, base: str, tmp_path: Path
) -> None:
    ok = cluster.sbatch(f"acct-x.{base}_0", "echo done", workdir=tmp_path)
    bad = cluster.sbatch(f"acct-x.{base}_1", "exit 3", f"--dependency=afterok:{ok}",
                         workdir=tmp_path)  # fmt: skip
    never = cluster.sbatch(f"acct-x.{base}_2", "echo never", f"--dependency=afterok:{bad}",
                           "--kill-on-invalid-dep=yes", workdir=tmp_path)  # fmt: skip
    settings = WatchSettings(job_name_pattern=PATTERN)
    stores = {name: Store.open(tmp_path / f"{name}.db") for name in ("sacct", "pyslurm")}
    backends = {name: make_lane_backend(name) for name in stores}

    def both() -> PollResult:  # in lockstep: both see the jobs at (nearly) the same moment
        results = [poll_once(backends[name], stores[name], settings) for name in stores]
        return next((result for result in results if not result.ok), results[0])

    poll_until(both, lambda: all(final(s, ok, bad, never)() for s in stores.values()), 90)
    seen: dict[str, list[tuple[object, ...]]] = {}
    for name, store in stores.items():
        [run] = [run for run in store.runs() if run.job_base == base]
        seen[name] = [
            (j.task_index, j.job_id, j.state, j.exit_code, j.final, tuple(j.log_paths),
             [(e.new_state, e.final) for e in store.events(j.row) if e.final])
            for j in store.jobs_of_run(run.id)
        ]  # fmt: skip
        store.close()

    assert seen["pyslurm"] == seen["sacct"]
    assert [(task, state) for task, _, state, *_ in seen["sacct"]] == [
        (0, "COMPLETED"), (1, "FAILED"), (2, "CANCELLED")
    ]  # fmt: skip


@pytest.mark.pyslurm_mismatch
def test_pyslurm_built_for_25_11_is_refused_in_one_line_by_a_22_05_cluster(
    cluster: Cluster, tmp_path: Path
) -> None:
    site = ensure_pyslurm()
    config = tmp_path / "monitor.yaml"
    config.write_text(f"state:\n  database: {tmp_path / 'state.db'}\nslurm:\n  backend: pyslurm\n")

    done = run_cli("poll", "--once", "--config", config,
                   env={"SLURM_CONF": cluster.conf, "PYTHONPATH": str(site)})  # fmt: skip

    assert done.status == 1, done  # 1: Slurm could not be asked
    [line] = done.stdout.strip().splitlines()
    assert line == ("poll FAILED: pyslurm 25.11 does not match the installed Slurm 22.05: "
                    "install pyslurm==22.05.* or use backend: sacct (states below may be stale)")  # fmt: skip
    assert "Traceback" not in done.stderr
