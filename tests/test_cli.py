"""End to end: the console script on real directories, good and bad input."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import re2  # the engine the scanner uses

from eagle3_monitor.simulate.experiment import TaskPlan, healthy_plan, write_experiment
from eagle3_monitor.simulate.logtext import dump_log
from eagle3_monitor.vocabulary import Role
from tests.cli_runner import Completed, run_cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "experiments"


def assert_one_line_error(done: Completed, fragment: str) -> None:
    assert done.status == 2, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("eagle3-monitor: error: ")
    assert fragment in lines[0]


@pytest.fixture
def failing_experiment(tmp_path: Path) -> Path:
    plans = healthy_plan()
    plans[1] = TaskPlan(
        Role.DUMP,
        task_log=dump_log(random.Random(1), finish=False)
        + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 7.00 GiB.\n",
        exit_code=1,
    )
    plans[2].ran = plans[3].ran = False
    return write_experiment(tmp_path, plans)


def test_cli_review_passing_run_exits_zero(tmp_path: Path) -> None:
    done = run_cli("review", write_experiment(tmp_path, healthy_plan()))

    assert done.status == 0, done
    assert "PASS" in done.stdout
    assert "\x1b[" not in done.stdout


def test_cli_review_failing_run_exits_one_with_cause_and_rerun(failing_experiment: Path) -> None:
    done = run_cli("review", failing_experiment)

    assert done.status == 1, done
    assert "Root cause: task_1 gpu_oom" in done.stdout
    assert (
        f"eagle3-monitor rerun {failing_experiment} > rerun.yaml && uv run launch.py" in done.stdout
    )
    assert "task_0: skip: true (passed in cicd_1764115200)" in done.stdout
    assert "task_1: --input-data /scratchspace/data → /cicd/cicd_1764115200/data" in done.stdout


def test_cli_review_incomplete_run_exits_three(tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[3] = TaskPlan(Role.BENCHMARK, task_log="RANK 0 GPU count: 8\n", exit_code=None)

    done = run_cli("review", write_experiment(tmp_path, plans))

    assert done.status == 3, done


def test_cli_review_markdown_is_a_triage_report(failing_experiment: Path) -> None:
    done = run_cli("review", "--format", "markdown", failing_experiment)

    for heading in ("# EAGLE3 run review", "## Tasks", "## Root causes", "## Next steps"):
        assert heading in done.stdout
    assert "| task_1 | dump |" in done.stdout
    assert "uv run launch.py --yaml rerun.yaml --yes" in done.stdout
    assert "   - task_0: skip: true (passed in cicd_1764115200)" in done.stdout


def test_cli_review_color_only_when_asked_or_on_a_tty(failing_experiment: Path) -> None:
    assert "\x1b[" in run_cli("review", "--color", failing_experiment).stdout
    assert "\x1b[" not in run_cli("review", failing_experiment).stdout


def test_cli_review_single_log_file(failing_experiment: Path) -> None:
    [log] = (failing_experiment / "Qwen3-8B_EAGLE3_offline_1").glob("log-*.out")

    document = json.loads(run_cli("review", "--format", "json", log).stdout)

    assert [task["task"] for task in document["tasks"]] == ["task_1"]
    assert document["tasks"][0]["root_cause"]["category"] == "gpu_oom"


def test_cli_review_missing_path_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("review", tmp_path / "nope"), "no such file or directory")


def test_cli_review_directory_without_logs_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("review", tmp_path), "no log files")


def test_cli_review_unreadable_single_file_is_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "log-x_1_0.out"
    os.mkfifo(fifo)

    assert_one_line_error(run_cli("review", fifo), "not a regular file")


def test_cli_review_unreadable_log_in_a_task_is_a_warning_not_a_crash(
    failing_experiment: Path,
) -> None:
    os.mkfifo(failing_experiment / "Qwen3-8B_EAGLE3_offline_0" / "log-broken_1_9.out")

    done = run_cli("review", failing_experiment)

    assert done.status == 1, done
    assert "Traceback" not in done.stderr
    assert "warning:" in done.stderr and "not a regular file" in done.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02\xff\xfe" * 50_000,
        b"RANK 0 GPU count: 8\n\xc3\x28 invalid utf-8 \xa0\xa1\nTraceback (most recent call last):\n",
        b"RANK 0 GPU count: 8\nProcessing conversations:  12%|#2  | 400/3295 [00:01<00:1",
    ],
    ids=["empty", "binary", "invalid-utf8", "truncated"],
)
def test_cli_review_hostile_log_content_gets_a_verdict(content: bytes, tmp_path: Path) -> None:
    task_dir = tmp_path / "cicd_1700000001" / "M_EAGLE3_1"
    task_dir.mkdir(parents=True)
    (task_dir / "log-a.M_EAGLE3_1_5_0.out").write_bytes(content)

    done = run_cli("review", "--format", "json", task_dir.parent)

    assert done.status in (1, 3), done
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["verdict"] in ("fail", "incomplete")


def test_cli_rules_test_passes_on_the_builtin_catalog() -> None:
    done = run_cli("rules", "test")

    assert done.status == 0, done
    assert done.stdout.strip().endswith(": 0 failed")


def test_cli_rules_patterns_prints_one_regex_per_scanning_rule() -> None:
    lines = run_cli("rules", "patterns").stdout.splitlines()

    assert len(lines) > 50
    for line in lines:
        re2.compile(line)


def test_cli_bad_config_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("review:\n  acceptance_threshold: [1\n")

    done = run_cli("review", "--config", config, tmp_path)

    assert done.status == 2
    assert f"{config}:2:25: the '[' opened here is not closed" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_config_errors_are_all_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "review:\n"
        "  acceptance_threshold: -1\n"
        "  rules:\n"
        "    - id: my-rule\n"
        "      category: not_a_category\n"
        "      regex: '(unclosed'\n"
        "      samples: {match: [x]}\n"
    )

    done = run_cli("rules", "test", "--config", config)

    assert done.status == 2
    assert f"{config}:2:25: at 'review.acceptance_threshold'" in done.stderr


def test_cli_config_threshold_and_rules_apply(tmp_path: Path) -> None:
    plans = healthy_plan()
    plans[3].task_log = "RANK 0 GPU count: 8\nAverage AL: 2.62\nOur cluster says: GPU 3 is sad\n"
    experiment = write_experiment(tmp_path / "runs", plans)
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "review:\n"
        "  acceptance_threshold: 2.5\n"
        "  rules:\n"
        "    - id: site-sad-gpu\n"
        "      category: cuda_error\n"
        "      priority: 99\n"
        "      fails_task: true\n"
        "      regex: 'GPU (?P<gpu>[0-9]+) is sad'\n"
        "      summary: 'GPU {gpu} is sad'\n"
        "      fix: 'Call the admins.'\n"
        "      samples: {match: ['GPU 1 is sad'], no_match: ['GPU is happy']}\n"
    )

    done = run_cli("review", "--format", "json", "--config", config, experiment)

    cause = json.loads(done.stdout)["root_cause"]
    assert (cause["task"], cause["rule"], cause["summary"]) == (
        "task_3",
        "site-sad-gpu",
        "GPU 3 is sad",
    )


def test_cli_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("eagle3-monitor, version ")
    assert "review" in run_cli("--help").stdout


def test_cli_review_bundled_example_fails_with_a_root_cause() -> None:
    done = run_cli("review", EXAMPLES / "cicd_1764115200")

    assert done.status == 1, done
    assert "Root cause:" in done.stdout


def test_cli_review_bundled_passing_example_passes() -> None:
    done = run_cli("review", EXAMPLES / "cicd_1764201600")

    assert done.status == 0, done


def test_cli_rules_patterns_are_accepted_by_ripgrep(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns.txt"
    patterns.write_text(run_cli("rules", "patterns").stdout)
    empty = tmp_path / "empty.log"
    empty.write_text("nothing to see\n")

    done = subprocess.run(
        ["rg", "--no-config", "-c", "-f", str(patterns), str(empty)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1, done.stderr  # 1: no match; 2 would be a rejected pattern


def test_check_config_reports_every_schema_error_at_once_with_positions(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "daemon:\n  poll_interval_seconds: often\n  stall_after_minutes: {lunch: 5}\n"
        "slack:\n  mode: carrier-pigeon\n"
    )
    done = run_cli("check-config", config)
    assert done.status == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split(": at ")[0].rsplit(":", 2)[1:] for line in lines] == [
        ["2", "26"],
        ["3", "25"],  # the unknown key itself
        ["5", "9"],
    ], lines
    assert "'daemon.poll_interval_seconds'" in lines[0]
    assert "'daemon.stall_after_minutes.lunch" in lines[1] and "'training'" in lines[1]
    assert "'slack.mode'" in lines[2]


def test_check_config_passes_the_example_and_resolves_secret_references(tmp_path: Path) -> None:
    done = run_cli("check-config", REPO / "config" / "eagle3-monitor.example.yaml")
    assert done.status == 0, done.stderr
    assert "all samples pass" in done.stdout

    config = tmp_path / "bot.yaml"
    config.write_text(f"slack:\n  mode: bot\n  token_file: {tmp_path / 'missing-token'}\n")
    assert_one_line_error(run_cli("check-config", config), "no Slack bot token found")
    assert run_cli("check-config", "--skip-secrets", config).status == 0

    token = tmp_path / "token"
    token.write_text("xoxb-secret-value\n")
    config.write_text(f"slack:\n  mode: bot\n  token_file: {token}\n")
    done = run_cli("check-config", config)
    assert done.status == 0 and "xoxb-secret-value" not in done.stdout + done.stderr
