"""Finding tasks and logs in the launcher's layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review.layout import LogKind, discover, parse_log_name

JOB = "coreai_dlalgo_modelopt-modelopt.Qwen3-8B_EAGLE3_offline_2"
TASK_DIR = "Qwen3-8B_EAGLE3_offline_2"


def touch(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_parse_sbatch_name_gives_job_name_and_id() -> None:
    log = parse_log_name(Path(f"sbatch_{JOB}_1234567.out"), TASK_DIR)

    assert (log.kind, log.slurm_job_name, log.job_id) == (LogKind.SBATCH, JOB, "1234567")


def test_parse_task_log_name_gives_restart() -> None:
    log = parse_log_name(Path(f"log-{JOB}_1234567_2.out"), TASK_DIR)

    assert (log.kind, log.job_id, log.restart) == (LogKind.TASK, "1234567", 2)


def test_parse_array_job_id_with_known_task_dir() -> None:
    log = parse_log_name(Path(f"sbatch_{JOB}_1234567_3.out"), TASK_DIR)

    assert (log.slurm_job_name, log.job_id) == (JOB, "1234567_3")


def test_parse_unknown_names_are_other_logs() -> None:
    assert parse_log_name(Path("slurm-99.out"), None).kind is LogKind.OTHER
    assert parse_log_name(Path("log_task_1.out"), None).kind is LogKind.LOCAL


def test_discover_experiment_tasks_in_index_order_with_gaps_not_run(tmp_path: Path) -> None:
    experiment = tmp_path / "cicd_1700000000"
    touch(experiment / "M_EAGLE3_0" / "sbatch_a.M_EAGLE3_0_11.out")
    touch(experiment / "M_EAGLE3_3" / "log-a.M_EAGLE3_3_14_0.out")
    (experiment / "data").mkdir()

    found = discover(experiment)

    assert found.experiment_id == "cicd_1700000000"
    assert [(task.index, len(task.logs)) for task in found.tasks] == [
        (0, 1),
        (1, 0),
        (2, 0),
        (3, 1),
    ]


def test_discover_current_logs_are_the_newest_job_and_restart(tmp_path: Path) -> None:
    task_dir = tmp_path / "cicd_1" / TASK_DIR
    for name in (
        f"sbatch_{JOB}_100.out",
        f"log-{JOB}_100_0.out",
        f"sbatch_{JOB}_200.out",
        f"log-{JOB}_200_0.out",
        f"log-{JOB}_200_1.out",
    ):
        touch(task_dir / name)

    task = discover(tmp_path / "cicd_1").tasks[-1]

    assert task.latest_job_id == "200"
    assert sorted(log.path.name for log in task.current_logs()) == [
        f"log-{JOB}_200_1.out",
        f"sbatch_{JOB}_200.out",
    ]


def test_discover_local_run_logs_in_the_experiment_dir(tmp_path: Path) -> None:
    touch(tmp_path / "log_task_0.out")
    touch(tmp_path / "log_task_1.out")

    found = discover(tmp_path)

    assert [(task.name, task.index) for task in found.tasks] == [("task_0", 0), ("task_1", 1)]


def test_discover_single_file_takes_task_from_its_dir(tmp_path: Path) -> None:
    log = touch(tmp_path / "cicd_5" / TASK_DIR / f"log-{JOB}_77_0.out")

    found = discover(log)

    assert found.single_file
    assert [(task.task_label, task.latest_job_id) for task in found.tasks] == [("task_2", "77")]
    assert found.experiment_id == "cicd_5"


def test_discover_single_file_outside_the_layout_has_no_task(tmp_path: Path) -> None:
    found = discover(touch(tmp_path / "my.log"))

    assert found.tasks[0].task_label is None


def test_discover_directory_of_experiments_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "cicd_1").mkdir()
    (tmp_path / "cicd_2").mkdir()

    with pytest.raises(UnusableInputError, match=r"holds 2 experiments.*cicd_2"):
        discover(tmp_path)


def test_discover_missing_path_and_empty_dir_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnusableInputError, match="no such file"):
        discover(tmp_path / "nope")
    with pytest.raises(UnusableInputError, match="no log files"):
        discover(tmp_path)


@pytest.mark.parametrize(
    ("name", "index", "job_id"),
    [
        (
            "sbatch_coreai_dlalgo_modelopt-modelopt.Qwen3-8B_EAGLE3_offline_2_9176089.out",
            2,
            "9176089",
        ),
        (
            "log-coreai_dlalgo_modelopt-modelopt.Llama-3_3_EAGLE3_offline_1_9176088_0.out",
            1,
            "9176088",
        ),
        ("sbatch_acct-user.Job_3_9176089_7.out", 3, "9176089_7"),  # an array task of task 3
    ],
)
def test_a_lone_launcher_named_log_keeps_its_task_index_and_job_id(
    tmp_path: Path, name: str, index: int, job_id: str
) -> None:
    log = tmp_path / "downloads" / name
    log.parent.mkdir()
    log.write_text("RANK 0 GPU count: 8\n")

    [task] = discover(log).tasks

    assert (task.index, task.latest_job_id, task.task_label) == (index, job_id, f"task_{index}")


def test_an_array_job_log_without_the_launchers_name_keeps_its_array_id(tmp_path: Path) -> None:
    log = tmp_path / "sbatch_myjob_123_4.out"
    log.write_text("hello\n")

    assert parse_log_name(log, None).job_id == "123_4"
