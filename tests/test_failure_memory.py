"""Failure memory (issue 16): fingerprints that survive noise, and the failure reply that names
the earlier occurrences of the same failure with links to their threads, says how often it
happened and what changed before a later run passed. The daemon in-process on a real SQLite
file, posting through slack_sdk's real WebClient to the Slack test server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from eagle3_monitor.review.fingerprint import fingerprint, normalise
from eagle3_monitor.review.memory import FailureMemory, LaterPass, Occurrence
from eagle3_monitor.review.model import Evidence, RootCause
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.memory import Recall
from eagle3_monitor.simulate.experiment import (
    TaskPlan,
    healthy_plan,
    plan_failing_at,
    write_experiment,
)
from eagle3_monitor.slack.messages import Message, memory_text, readable
from eagle3_monitor.slack.transport import BotTransport
from eagle3_monitor.slurm.model import JobKey, JobRecord, JobState
from eagle3_monitor.vocabulary import Category, Role
from tests.daemon_harness import InProcessDaemon, in_process_daemon
from tests.fakes.slurm import pipeline_job
from tests.slack_server import SlackTestServer, StoredMessage

TOKEN = "xoxb-test-token"
CHANNEL = "C-RUNS"

OOM_LINES = (
    "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.00 GiB. GPU 0 has "
    "a total capacity of 79.15 GiB of which 1.02 GiB is free. Process 48113 has 78.12 GiB "
    "memory in use. Of the allocated memory 74.30 GiB is allocated by PyTorch.",
    "[rank5]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 512.00 MiB. GPU 5 "
    "has a total capacity of 139.81 GiB of which 20.44 MiB is free. Process 991 has 139.7 GiB "
    "memory in use. Of the allocated memory 131.02 GiB is allocated by PyTorch.",
    "[rank7]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.25 GiB. GPU 7 has "
    "a total capacity of 79.15 GiB of which 310.50 MiB is free. Process 7 has 78.8 GiB memory "
    "in use. Of the allocated memory 70.00 GiB is allocated by PyTorch.",
)
NCCL_LINES = (
    "[rank3]:[E1126 03:10:11.512563 ProcessGroupNCCL.cpp:632] [Rank 3] Watchdog caught "
    "collective operation timeout: WorkNCCL(SeqNum=1812, OpType=ALLREDUCE, NumelIn=262144, "
    "NumelOut=262144, Timeout(ms)=1800000) ran for 1800093 milliseconds before timing out.",
    "[rank12]:[E0203 17:45:02.001 ProcessGroupNCCL.cpp:616] [Rank 12] Watchdog caught "
    "collective operation timeout: WorkNCCL(SeqNum=77, OpType=ALLREDUCE, NumelIn=1048576, "
    "NumelOut=1048576, Timeout(ms)=600000) ran for 600412 milliseconds before timing out.",
)
NCCL_HOST_LINES = (
    "nid001234:3301:3390 [2] transport/net_ib.cc:1295 NCCL WARN NET/IB : Got completion from "
    "peer 10.12.0.7<51432> with status=12 opcode=0 len=0 vendor err 129 (Recv) localGid "
    "::ffff:10.12.0.9 remoteGids::ffff:10.12.0.7 hca mlx5_2",
    "dgx-b200-017:88121:88190 [6] transport/net_ib.cc:1295 NCCL WARN NET/IB : Got completion "
    "from peer 192.168.40.21<40077> with status=12 opcode=0 len=0 vendor err 129 (Recv) "
    "localGid ::ffff:192.168.40.3 remoteGids::ffff:192.168.40.21 hca mlx5_0",
)
VLLM_LINES = (
    "(APIServer pid=4121) ERROR 11-26 03:10:11 [api_server.py:1234] ValueError: The model's max "
    "seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache "
    "(20480). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
    "initializing the engine.",
    "(APIServer pid=88) ERROR 02-03 17:45:02 [api_server.py:1240] ValueError: The model's max "
    "seq len (131072) is larger than the maximum number of tokens that can be stored in KV "
    "cache (98304). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
    "initializing the engine.",
)
FILE_LINES = (
    "FileNotFoundError: [Errno 2] No such file or directory: '/lustre/fsw/alice/cicd/"
    "cicd_1764115200/Qwen3-8B_EAGLE3_offline_1/hidden_states/part-00012.pt'",
    "FileNotFoundError: [Errno 2] No such file or directory: '/scratch/bob/cicd/"
    "cicd_1764999999/Qwen3-8B_EAGLE3_offline_1/hidden_states/part-00477.pt'",
)
TIMESTAMPED = (
    "2025-11-26T03:10:11.512+00:00 worker 0x7f3a2c01b8e0 session 5f1c9a2e-8b7d-4c1e-9f00-"
    "3a6b2d4e8c11 lost its engine on 10.0.0.5:8000",
    "2026-02-03 17:45:02,118 worker 0x55d0a1e2f000 session 0b8e6d1c-2f4a-4e3b-8c7d-"
    "9e1f2a3b4c5d lost its engine on 172.16.9.200:8001",
)


def cause(line: str, rule: str = "cuda-oom", category: Category = Category.GPU_OOM) -> RootCause:
    return RootCause(category, rule, "summary", "fix", (Evidence(Path("x.out"), 812, line),))


# ---------------------------------------------------------------- fingerprints


@pytest.mark.parametrize(
    "lines", [OOM_LINES, NCCL_LINES, NCCL_HOST_LINES, VLLM_LINES, FILE_LINES, TIMESTAMPED]
)
def test_fingerprints_are_equal_for_lines_that_differ_only_in_noise(lines: tuple[str, ...]) -> None:
    prints = {fingerprint(cause(line), "dump", "Qwen3-8B_EAGLE3_offline") for line in lines}
    assert len({p.fingerprint for p in prints}) == 1, {p.pattern for p in prints}
    assert len({p.example for p in prints}) == len(lines)  # the line as seen stays


def test_the_normalised_line_keeps_the_words_and_drops_sizes_gpus_pids_and_times() -> None:
    assert normalise(OOM_LINES[1]) == (
        "[rank<n>]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate <size>. GPU <n> "
        "has a total capacity of <size> of which <size> is free. Process <n> has <size> memory "
        "in use. Of the allocated memory <size> is allocated by PyTorch."
    )
    assert normalise(TIMESTAMPED[0]) == "<time> worker <hex> session <hex> lost its engine on <ip>"
    assert normalise(FILE_LINES[0]).endswith("No such file or directory: '<path>'")
    assert normalise("\x1b[31mERROR\x1b[0m  at   host  gpu-a17") == "ERROR at host <host>"


def test_fingerprints_differ_across_causes_roles_and_pipelines() -> None:
    base = fingerprint(cause(OOM_LINES[0]), "dump", "Qwen3-8B_EAGLE3_offline")
    others = [
        fingerprint(cause(NCCL_LINES[0], "nccl-timeout", Category.NCCL), "dump",
                    "Qwen3-8B_EAGLE3_offline"),
        fingerprint(cause(VLLM_LINES[0], "vllm-kv-cache", Category.KV_CACHE), "dump",
                    "Qwen3-8B_EAGLE3_offline"),
        fingerprint(cause(OOM_LINES[0], "cuda-oom-other"), "dump", "Qwen3-8B_EAGLE3_offline"),
        fingerprint(cause(OOM_LINES[0]), "training", "Qwen3-8B_EAGLE3_offline"),
    ]  # fmt: skip
    assert len({base.fingerprint, *(other.fingerprint for other in others)}) == 5
    assert len({base.cause, *(other.cause for other in others)}) == 5
    elsewhere = fingerprint(cause(OOM_LINES[1]), "dump", "Llama-3.3-70B_EAGLE3_offline")
    assert elsewhere.fingerprint != base.fingerprint
    assert elsewhere.cause == base.cause  # the same cause on another pipeline


def test_a_slurm_ending_is_fingerprinted_by_its_summary_not_the_logs_last_lines() -> None:
    def timeout(last_line: str) -> RootCause:
        evidence = (Evidence(Path("x.out"), 9000, last_line),)
        return RootCause(Category.TIME_LIMIT, "slurm-state-timeout",
                         "Slurm ended the job at its time limit", "fix", evidence)  # fmt: skip

    one = fingerprint(timeout("step 1200/5000 loss 1.93"), "training", "M_EAGLE3")
    two = fingerprint(timeout("Epoch 2: saving checkpoint to /ckpt/x"), "training", "M_EAGLE3")
    assert one.fingerprint == two.fingerprint
    assert one.pattern == "Slurm ended the job at its time limit"


# ---------------------------------------------------------------- the reply's wording


def occurrence(experiment: str, link: str | None, **fields: str) -> Occurrence:
    return Occurrence("Qwen3-8B_EAGLE3_offline", experiment, "task_1", "418301",
                      "2026-11-26T01:20:00+00:00", link, **fields)  # fmt: skip


def test_memory_text_escapes_names_and_refuses_links_that_are_not_plain_urls() -> None:
    memory = FailureMemory(
        last_7_days=1,
        last_30_days=2,
        recent=(
            occurrence("cicd_<!channel>", "https://x.slack.com/a|<!here>"),
            occurrence("cicd_2", None, channel="C-RUNS", ts="1764000001.000002"),
        ),
        later_pass=LaterPass("cicd_3", "418501", ("nodes 1 → 2",), ("-x: <b>", "+x: 2")),
    )
    text = memory_text(memory)
    assert "<!channel>" not in text and "<!here>" not in text and "|thread>" not in text
    assert "`cicd_&lt;!channel&gt;`" in text
    assert "channel C-RUNS, ts 1764000001.000002" in text
    assert "once in the last 7 days, 2 in the last 30" in text
    assert "• nodes 1 → 2" in text and "-x: &lt;b&gt;" in text


# ---------------------------------------------------------------- the daemon


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(TOKEN) as server:
        yield server


@pytest.fixture
def monitor(tmp_path: Path, catalog: Catalog, slack: SlackTestServer) -> InProcessDaemon:
    notifier = BotTransport(TOKEN, slack.base_url, timeout=5, retries=0)
    return in_process_daemon(
        tmp_path / "daemon", catalog, notifier=notifier, slack={"pace_seconds": 0,
                                                                "default_channel": CHANNEL},
    )  # fmt: skip


def shifted(record: JobRecord, by: timedelta) -> JobRecord:
    key = record.key
    assert key.submit is not None and record.start is not None and record.end is not None
    return replace(record, key=JobKey(key.cluster, key.job_id, key.submit + by),
                   start=record.start + by, end=record.end + by)  # fmt: skip


def run_of_pipeline(
    root: Path,
    number: int,
    oom_line: str | None,
    *,
    after: timedelta,
    nodes: int = 1,
    job_base: str = "Qwen3-8B_EAGLE3_offline",
) -> list[JobRecord]:
    """Run `number` of the pipeline `job_base` (its own experiment and job ids), `after` the
    first: task_1 dies of `oom_line`, or passes when it is None (its batch script asking for
    `nodes`)."""
    if oom_line is None:
        plans = healthy_plan()
    else:
        failed = TaskPlan(Role.DUMP, task_log=f"RANK 0 GPU count: 8\n{oom_line}\n", exit_code=1)
        plans = plan_failing_at(1, failed)
    first_job_id = 418200 + 100 * number
    experiment = write_experiment(root / f"run{number}", plans, epoch=1764115200 + number * 3600,
                                  first_job_id=first_job_id, job_base=job_base)  # fmt: skip
    script = experiment / f"{job_base}_1_sbatch.sh"
    script.write_text(script.read_text().replace("--nodes=1", f"--nodes={nodes}"))
    states = [JobState.COMPLETED] * 4
    if oom_line is not None:
        states = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.CANCELLED]
    jobs = []
    for index, state in enumerate(states):
        never_ran = oom_line is not None and index > 1
        job = pipeline_job(experiment, index, state, first_job_id=first_job_id, job_base=job_base,
                           exit_code=int(state is JobState.FAILED), started=not never_ran,
                           reason="DependencyNeverSatisfied" if never_ran else "None")  # fmt: skip
        jobs.append(job if never_ran else shifted(job, after))
    return jobs


def failure_messages(slack: SlackTestServer) -> list[StoredMessage]:
    """task_1's failure replies, one per run, in the order the runs failed."""
    return [m for m in slack.messages(CHANNEL) if m.text.startswith("task_1 fail")]


def failure_replies(slack: SlackTestServer) -> list[str]:
    return [readable(Message(m.text, m.blocks)) for m in failure_messages(slack)]


def reply_ts(slack: SlackTestServer, run_number: int) -> str:
    return failure_messages(slack)[run_number].ts


def run_and_settle(monitor: InProcessDaemon, jobs: list[JobRecord]) -> None:
    monitor.slurm.set(*monitor.slurm.records.values(), *jobs)
    monitor.settle()


def test_the_third_identical_failure_names_the_two_earlier_ones_with_links_to_their_threads(
    tmp_path: Path, monitor: InProcessDaemon, slack: SlackTestServer
) -> None:
    for number, line in enumerate(OOM_LINES):
        run_and_settle(
            monitor, run_of_pipeline(tmp_path, number, line, after=timedelta(hours=number))
        )

    first, second, third = failure_replies(slack)
    assert "Seen before" not in first
    assert (
        ":repeat: *Seen before on this pipeline:* once in the last 7 days, 1 in the last 30."
        in second
    )
    assert (
        ":repeat: *Seen before on this pipeline:* 2 times in the last 7 days, 2 in the last 30."
        in third
    )
    links = re.findall(r"<(https://test\.slack\.com/archives/[^|>]+)\|thread>", third)
    expected = [
        f"https://test.slack.com/archives/{CHANNEL}/p{reply_ts(slack, n).replace('.', '')}"
        for n in (1, 0)  # newest first
    ]
    assert [link.split("?", 1)[0] for link in links] == expected
    assert "`cicd_1764118800` task_1 (job 418301)" in third
    assert "`cicd_1764115200` task_1 (job 418201)" in third
    assert len(slack.call_times("chat.getPermalink")) == 1 + 2


def test_a_later_pass_between_two_identical_failures_says_what_changed(
    tmp_path: Path, monitor: InProcessDaemon, slack: SlackTestServer
) -> None:
    run_and_settle(monitor, run_of_pipeline(tmp_path, 0, OOM_LINES[0], after=timedelta(0)))
    run_and_settle(monitor, run_of_pipeline(tmp_path, 1, None, after=timedelta(hours=1), nodes=2))
    run_and_settle(monitor, run_of_pipeline(tmp_path, 2, OOM_LINES[1], after=timedelta(hours=2)))

    third = failure_replies(slack)[-1]
    assert (
        "After the last one, `cicd_1764118800` passed this task (job 418301). What changed:"
        in third
    )
    assert "• nodes 1 → 2" in third
    assert "-      nodes: 1\n+      nodes: 2" in third  # the pipeline YAML rebuilt from each run


def test_without_a_permalink_the_reply_names_the_channel_and_ts(
    tmp_path: Path, monitor: InProcessDaemon, slack: SlackTestServer
) -> None:
    run_and_settle(monitor, run_of_pipeline(tmp_path, 0, OOM_LINES[0], after=timedelta(0)))
    slack.fail_next("chat.getPermalink", error="ratelimited", status=429)

    run_and_settle(monitor, run_of_pipeline(tmp_path, 1, OOM_LINES[1], after=timedelta(hours=1)))

    second = failure_replies(slack)[-1]
    assert f"channel {CHANNEL}, ts {reply_ts(slack, 0)}" in second
    assert "|thread>" not in second


def test_a_restart_that_reviews_again_keeps_one_failure_per_job(
    tmp_path: Path, monitor: InProcessDaemon
) -> None:
    run_and_settle(monitor, run_of_pipeline(tmp_path, 0, OOM_LINES[0], after=timedelta(0)))
    failures = monitor.store.failures_since("2000-01-01")
    assert [(f.task_index, f.rule, f.role) for f in failures] == [(1, "cuda-oom", "dump")]

    again = failures[0]
    assert not monitor.store.record_failure(replace(again, seen_at="2030-01-01T00:00:00+00:00"))
    monitor.settle()
    assert monitor.store.failures_since("2000-01-01") == failures


def test_the_same_cause_on_another_pipeline_is_a_weaker_hint_not_a_repeat(
    tmp_path: Path, monitor: InProcessDaemon, slack: SlackTestServer
) -> None:
    run_and_settle(monitor, run_of_pipeline(tmp_path, 0, OOM_LINES[0], after=timedelta(0)))
    other = "Llama-3.3-70B_EAGLE3_offline"
    jobs = run_of_pipeline(tmp_path, 1, OOM_LINES[1], after=timedelta(hours=1), job_base=other)
    run_and_settle(monitor, jobs)

    reply = failure_replies(slack)[-1]
    assert "Seen before on this pipeline" not in reply
    assert (
        "_The same cause on other pipelines:_ once in the last 30 days; latest on "
        "`Qwen3-8B_EAGLE3_offline`: 2026-11-26 01:20 UTC · `cicd_1764115200` task_1 (job 418201)"
        f" · <https://test.slack.com/archives/{CHANNEL}/p{reply_ts(slack, 0).replace('.', '')}"
    ) in reply
    assert "(seen" not in failure_messages(slack)[-1].text  # the fallback counts this pipeline


def test_a_failing_memory_lookup_costs_the_reply_its_memory_not_the_reply(
    tmp_path: Path,
    monitor: InProcessDaemon,
    slack: SlackTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_and_settle(monitor, run_of_pipeline(tmp_path, 0, OOM_LINES[0], after=timedelta(0)))

    def broken(*_: object) -> None:
        raise RuntimeError("the lookup has a bug")

    monkeypatch.setattr(Recall, "review", broken)
    run_and_settle(monitor, run_of_pipeline(tmp_path, 1, OOM_LINES[1], after=timedelta(hours=1)))

    second = failure_replies(slack)[-1]
    assert second.startswith(":x: *task_1* (dump) *fail*: `gpu_oom`")
    assert "Seen before" not in second
    assert len(monitor.store.failures_since("2000-01-01")) == 1  # this one was not kept
