"""The sacct backend against verbatim Slurm 22.05 and 25.11 output (tests/fixtures/slurm/,
captured with tests/fixtures/slurm/capture.py: the same jobs on both versions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eagle3_monitor.slurm.model import JobRecord, JobState, parse_state
from eagle3_monitor.slurm.sacct import (
    DELIMITER,
    Completed,
    SacctBackend,
    SacctSettings,
    SlurmError,
    parse_sacct,
    parse_scontrol_jobs,
    run_command,
)

FIXTURES = Path(__file__).parent / "fixtures" / "slurm"
CAPTURE_FIELDS = [
    "JobID",
    "JobIDRaw",
    "JobName",
    "State",
    "ExitCode",
    "DerivedExitCode",
    "Start",
    "End",
    "Elapsed",
    "NodeList",
    "WorkDir",
    "Comment",
    "Reason",
    "Submit",
    "User",
    "Partition",
    "Timelimit",
    "SubmitLine",
]


STDIO_FIELDS = ["StdOut", "StdErr"]
LAB = "/lab"  # the capture's lab directory, written `$LAB` in the fixtures


def records(name: str) -> dict[str, JobRecord]:
    fields = CAPTURE_FIELDS + (STDIO_FIELDS if "25.11" in name else [])
    text = (FIXTURES / name).read_text().replace("$LAB", LAB)
    parsed = parse_sacct(text, fields)
    return {record.display_id: record for record in parsed}


@pytest.mark.parametrize("version", ["22.05", "25.11"])
def test_both_versions_give_the_same_states_codes_and_array_tasks(version: str) -> None:
    jobs = records(f"sacct_default_{version}.txt")
    by_name: dict[str, list[JobRecord]] = {}
    for job in jobs.values():
        by_name.setdefault(job.name, []).append(job)

    states = {name: [job.state for job in found] for name, found in by_name.items()}
    assert states["ok"] == [JobState.COMPLETED]
    assert states["fail"] == [JobState.FAILED]
    assert states["timeout"] == [JobState.TIMEOUT]
    assert states["cancel"] == [JobState.CANCELLED]
    assert states["depparent"] == [JobState.FAILED]
    assert sorted(states["array"]) == sorted([JobState.COMPLETED] * 3 + [JobState.FAILED])
    assert (by_name["fail"][0].exit_code, by_name["fail"][0].signal) == (1, 0)
    failed_task = next(job for job in by_name["array"] if job.state is JobState.FAILED)
    assert failed_task.display_id.endswith("_2") and failed_task.array_job_id


def test_slurm_25_11_output_paths_are_expanded_to_the_files_slurm_wrote() -> None:
    # the capture's lab held exactly these files (sbatch_%x_%j.out, sbatch_%x_%A_%a.err, ...)
    jobs = records("sacct_default_25.11.txt")

    assert jobs["3"].stdout == "/lab/jobs/sbatch_ok_3.out"
    assert jobs["3"].stderr == "/lab/jobs/sbatch_ok_3.err"
    assert jobs["8_2"].key.job_id == "13"
    assert jobs["8_2"].stdout == "/lab/jobs/sbatch_array_8_2.out"
    assert jobs["10"].stdout == "/lab/jobs/sbatch_dependent_10.out"


def test_slurm_25_11_cgroup_oom_is_out_of_memory() -> None:
    oom = records("sacct_default_25.11.txt")["7"]

    assert oom.state is JobState.OUT_OF_MEMORY
    assert oom.is_final()


def test_parse_default_capture_allocation_lines_are_the_authority() -> None:
    jobs = records("sacct_default_22.05.txt")

    assert list(jobs) == ["1", "2", "3", "4", "5", "6_0", "6_1", "6_2", "6_3", "7"]
    states = {key: job.state for key, job in jobs.items()}
    assert states["3"] is JobState.TIMEOUT  # its batch step says CANCELLED
    assert jobs["3"].steps[0].state is JobState.CANCELLED
    assert (states["4"], jobs["4"].raw_state) == (JobState.CANCELLED, "CANCELLED by 0")
    assert (jobs["2"].exit_code, jobs["2"].signal) == (1, 0)
    assert (states["5"], jobs["5"].signal) == (JobState.FAILED, 9)


def test_parse_array_tasks_keep_their_raw_ids() -> None:
    jobs = records("sacct_default_22.05.txt")

    raw = {key: jobs[key].key.job_id for key in ("6_0", "6_1", "6_2", "6_3")}
    assert raw == {"6_0": "10", "6_1": "11", "6_2": "12", "6_3": "6"}
    assert jobs["6_2"].state is JobState.FAILED
    assert jobs["6_2"].array_job_id == "6"


def test_parse_job_key_includes_the_submit_time() -> None:
    job = records("sacct_default_22.05.txt")["1"]

    assert job.key.job_id == "1"
    assert job.key.submit == datetime.fromisoformat("2026-11-26T05:55:56").astimezone()


def test_parse_cgroup_out_of_memory_with_exit_zero_is_final() -> None:
    oom = records("sacct_cgroup_22.05.txt")["5"]

    assert (oom.state, oom.exit_code, oom.signal) == (JobState.OUT_OF_MEMORY, 0, 125)
    assert oom.is_final()


def test_node_fail_is_not_final_while_a_requeued_run_follows() -> None:
    job = records("sacct_node_fail_22.05.txt")["20"]

    assert job.state is JobState.NODE_FAIL
    assert job.is_final(still_queued=False)
    assert not job.is_final(still_queued=True)


def test_unknown_end_after_an_accounting_outage_is_not_final() -> None:
    line = "|".join(
        ["21", "21", "late", "COMPLETED", "0:0", "0:0", "2026-11-26T06:06:32", "Unknown"]
    )
    [job] = parse_sacct(line, CAPTURE_FIELDS[:8])

    assert job.state is JobState.COMPLETED
    assert not job.is_final()


def test_dependency_cancelled_jobs_parse_with_their_reason() -> None:
    fields = [
        "JobID",
        "State",
        "Reason",
        "Submit",
        "Eligible",
        "Start",
        "End",
        "Elapsed",
        "ExitCode",
    ]
    text = (
        "8|CANCELLED|Dependency|2026-11-26T05:39:32|Unknown|None|2026-11-26T05:39:41|00:00:00|0:0\n"
        "9|CANCELLED by 0|Dependency|2026-11-26T05:39:32|Unknown|None|2026-11-26T05:39:52|00:00:00|0:0\n"
    )

    jobs = parse_sacct(text, fields)

    assert [(j.display_id, j.state, j.reason, j.start) for j in jobs] == [
        ("8", JobState.CANCELLED, "Dependency", None),
        ("9", JobState.CANCELLED, "Dependency", None),
    ]
    assert all(j.is_final() for j in jobs)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("CANCELLED by 1000", JobState.CANCELLED),
        ("RUNNING", JobState.RUNNING),
        ("SPECIAL_EXIT", JobState.UNKNOWN),
    ],
)
def test_parse_state_words(raw: str, state: JobState) -> None:
    assert parse_state(raw) is state


def test_parse_scontrol_running_job_gives_expanded_stdout() -> None:
    one_line = " ".join(
        line.strip()
        for line in (FIXTURES / "scontrol_show_job_running_22.05.txt").read_text().splitlines()
    )

    jobs = parse_scontrol_jobs(one_line)

    job = jobs["4"]
    assert (job.state, job.queued, job.name) == ("RUNNING", True, "cancel")
    assert job.stdout == "$LAB/jobs/sbatch_cancel_4.out"
    assert job.work_dir == "$LAB/jobs"
    assert job.dependency is None


class FakeSlurm:
    """Records commands and answers like sacct would."""

    def __init__(self, version: str = "slurm 22.05.8", answer: Completed | None = None) -> None:
        self.version = version
        self.answer = answer or Completed(0, "", "")
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], timeout: float) -> Completed:
        self.commands.append(list(command))
        if "--version" in command:
            return Completed(0, self.version + "\n", "")
        return self.answer


def test_sacct_fields_adapt_to_the_installed_version() -> None:
    old, new = FakeSlurm("slurm 22.05.8"), FakeSlurm("slurm 24.05.4")

    assert "StdOut" not in SacctBackend(runner=old).fields()
    assert "StdOut" in SacctBackend(runner=new).fields()


def test_sacct_window_query_uses_end_now_and_every_state() -> None:
    fake = FakeSlurm()
    backend = SacctBackend(SacctSettings(users=("alice", "bob"), clusters=("a", "b")), runner=fake)

    backend.jobs_since(datetime(2026, 11, 26, 5, 0, tzinfo=UTC).astimezone())

    command = fake.commands[-1]
    assert command[:4] == ["sacct", "--parsable2", "--noheader", f"--delimiter={DELIMITER}"]
    assert command[5:7] == ["-u", "alice,bob"] and "-M" in command and "a,b" in command
    assert command[-4:-2] == ["-E", "now"]
    assert command[-2:] == ["-s", "BF,CA,CD,DL,F,NF,OOM,PD,PR,R,RQ,RS,RV,S,TO"]
    assert "-X" in command


def test_sacct_tracked_jobs_in_one_call_sorted_by_id() -> None:
    fake = FakeSlurm()

    SacctBackend(runner=fake).jobs_by_id(["12", "9", "10_3", "9"])

    command = fake.commands[-1]
    assert command[-2:] == ["-j", "9,10_3,12"]
    assert "-a" in command
    assert sum(1 for c in fake.commands if "--version" not in c) == 1


def test_sacct_failure_is_one_line_slurm_error() -> None:
    stderr = (
        "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection to "
        "host:localhost:6819: Connection refused\nsacct: error: Sending PersistInit msg: Connection refused\n"
        "sacct: error: Problem talking to the database: Connection refused\n"
    )
    backend = SacctBackend(runner=FakeSlurm(answer=Completed(1, "", stderr)))

    with pytest.raises(
        SlurmError, match=r"^sacct failed \(exit 1\): sacct: error: Problem talking to the database"
    ):
        backend.jobs_since(datetime.now(UTC) - timedelta(hours=1))


def test_sacct_missing_binary_and_timeout_are_slurm_errors(tmp_path: Path) -> None:
    missing = SacctBackend(SacctSettings(sacct=str(tmp_path / "no-sacct")))
    with pytest.raises(SlurmError, match="No such file"):
        missing.version()

    slow = tmp_path / "slow-sacct"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(SlurmError, match=r"timed out after 0\.5s"):
        SacctBackend(SacctSettings(sacct=str(slow), timeout=0.5)).version()


def test_a_non_utf8_byte_in_slurm_output_is_replaced_not_fatal(tmp_path: Path) -> None:
    script = tmp_path / "sacct"
    script.write_bytes(b"#!/bin/sh\nprintf 'M_EAGLE3_offline_0\\377|COMPLETED\\n'\n")
    script.chmod(0o755)

    done = run_command([str(script)], timeout=10)

    assert done.stdout == "M_EAGLE3_offline_0\ufffd|COMPLETED\n"
