"""sacct's StdOut/StdErr patterns expanded as Slurm expands them for a batch job's output
(sbatch(1) FILENAME PATTERN; src/common/print_fields.c expand_stdio_fields in 25.11)."""

from __future__ import annotations

import pytest

from eagle3_monitor.slurm.filename_pattern import JobNaming, expand, output_path

JOB = JobNaming(
    job_id="128", name="Qwen3-8B_EAGLE3_offline_2", user="alice", work_dir="/lustre/exp",
    batch_host="gpu-a017",
)  # fmt: skip
ARRAY_TASK = JobNaming(
    job_id="1307", name="shard", user="bob", work_dir="/w/", array_job_id="1300",
    array_index="7", batch_host="n1", restarts=2,
)  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "expanded"),
    [
        ("job%J.out", "job128.out"),  # the batch step has no step id
        ("job%4j.out", "job0128.out"),  # the man page's examples
        ("job%2j-%2t.out", "job128-00.out"),
        ("sbatch_%x_%j.out", "sbatch_Qwen3-8B_EAGLE3_offline_2_128.out"),
        ("%u/%N/%s-%n.log", "alice/gpu-a017/batch-0.log"),
        ("100%%_%j", "100%_128"),
        ("%A_%a.out", "128_4294967294.out"),  # not an array task: Slurm's NO_VAL index
        ("%b", "4"),
        ("%12j", "0000000128"),  # padding stops at 10
        ("%5x", "Qwen3-8B_EAGLE3_offline_2"),  # no padding for text
        ("odd%q%3q", "odd%q%3q"),  # not a symbol: kept as written
        ("trailing%", "trailing"),
        ("no\\\\expansion_%j", "noexpansion_%j"),  # a backslash turns expansion off
    ],
)
def test_batch_output_patterns_expand_as_slurm_does(pattern: str, expanded: str) -> None:
    assert expand(pattern, JOB) == expanded


def test_array_tasks_expand_master_id_index_and_restarts() -> None:
    assert expand("%A_%a_%3b_r%r.out", ARRAY_TASK) == "1300_7_007_r2.out"


@pytest.mark.parametrize("pattern", ["%S.out", "%N.out"])
def test_a_symbol_whose_value_is_unknown_leaves_the_path_unknown(pattern: str) -> None:
    assert expand(pattern, JobNaming(job_id="1", name="x")) is None


def test_relative_patterns_lie_under_the_working_directory() -> None:
    assert output_path("logs/%j.out", JOB) == "/lustre/exp/logs/128.out"
    assert output_path("%j.out", ARRAY_TASK) == "/w/1307.out"
    assert output_path("/abs/%j.out", JOB) == "/abs/128.out"
    assert output_path("%j.out", JobNaming(job_id="1", name="x")) is None  # no work dir
    assert output_path("", JOB) is None


def test_every_symbol_at_once_matches_sacct_expand_patterns_of_slurm_25_11() -> None:
    # sbatch --chdir=/tmp/j25 --output='logs/o_…' on the local 25.11.7 cluster (job 2, host vm);
    # `sacct --expand-patterns -o StdOut` printed the expected path, and the file was there.
    pattern = "logs/o_%x_%4j_%A_%a_%b_%u_%N_%s_%n_%t_%J_%r_100%%_%q.out"
    job = JobNaming(job_id="2", name="pat_EAGLE3_1", user="root", work_dir="/tmp/j25",
                    batch_host="vm")  # fmt: skip

    assert output_path(pattern, job) == (
        "/tmp/j25/logs/o_pat_EAGLE3_1_0002_2_4294967294_4_root_vm_batch_0_0_2_0_100%_%q.out"
    )
