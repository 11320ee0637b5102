"""Hostile files: FIFOs, swapped symlinks, /proc, devices, alias bombs, escape sequences and
newlines in secrets. Nothing hangs, nothing leaks, every refusal is one line."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eagle3_monitor.errors import ConfigError, UnusableInputError
from eagle3_monitor.review.layout import discover, read_metadata
from eagle3_monitor.review.run import review_path
from eagle3_monitor.roles import role_from_batch_log
from eagle3_monitor.rules import Catalog
from eagle3_monitor.safe_read import ReadPolicy, open_checked, read_small
from eagle3_monitor.simulate.experiment import healthy_plan, write_experiment
from eagle3_monitor.slack.text import code_block
from eagle3_monitor.slack.transport import load_token
from eagle3_monitor.yamlpos import parse_located
from tests.cli_runner import run_cli

JOB = "Qwen3-8B_EAGLE3_offline"


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block takes longer than `seconds`."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fifo(path: Path) -> Path:
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def test_fifos_in_an_experiment_never_block_a_review(tmp_path: Path, catalog: Catalog) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    fifo(experiment / "metadata.json")
    task_dir = experiment / f"{JOB}_1"
    [batch_log] = task_dir.glob("sbatch_*.out")
    fifo(batch_log)
    fifo(task_dir / "log-extra.out")

    with within(10):
        review = review_path(experiment, catalog)
        role = role_from_batch_log(str(batch_log))
        metadata = read_metadata(experiment)

    problems = [problem for task in review.tasks for problem in task.problems]
    assert any("not a regular file (a FIFO)" in problem for problem in problems)
    assert role is None and metadata == {}


@pytest.mark.parametrize("command", [["lint"], ["check-config", "--skip-secrets"]])
def test_a_fifo_given_as_a_yaml_file_is_a_one_line_error(
    tmp_path: Path, command: list[str]
) -> None:
    path = fifo(tmp_path / "pipeline.yaml")

    done = run_cli(*command, path)

    assert done.status == 2, done
    assert "not a regular file (a FIFO)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_symlink_swapped_in_after_the_path_was_resolved_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = tmp_path / "run" / "task"
    public.mkdir(parents=True)
    (public / "log.out").write_text("harmless\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "log.out").write_text("root's secret\n")
    resolve = os.path.realpath

    def resolve_then_swap(path: str, *, strict: bool = False) -> str:
        real = resolve(path, strict=strict)
        public.rename(tmp_path / "run" / "moved")  # the race: a symlink takes the dir's place
        public.symlink_to(secret)
        return real

    monkeypatch.setattr(os.path, "realpath", resolve_then_swap)

    with pytest.raises(UnusableInputError, match=r"a symbolic link was swapped in|not a directory"):
        read_small(public / "log.out")


def test_proc_and_device_files_are_never_read(tmp_path: Path, catalog: Catalog) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    task_dir = experiment / f"{JOB}_0"
    (task_dir / "log-env.out").symlink_to("/proc/self/environ")
    (task_dir / "log-zero.out").symlink_to("/dev/zero")
    os.environ["E3_CANARY"] = "canary-6f1d"

    with within(10):
        review = review_path(experiment, catalog)

    [task] = [t for t in review.tasks if t.index == 0]
    assert any("a /proc or /sys file" in problem for problem in task.problems)
    assert any("not a regular file (a device)" in problem for problem in task.problems)
    assert "canary-6f1d" not in repr(review)


def test_a_policy_refuses_paths_outside_its_roots_and_an_unknown_owner(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (outside / "x.out").write_text("x\n")
    (inside / "link.out").symlink_to(outside / "x.out")

    with pytest.raises(UnusableInputError, match="outside the experiment roots"):
        read_small(inside / "link.out", policy=ReadPolicy(roots=(inside,)))
    with (
        pytest.raises(UnusableInputError, match="owner 'ghost' is unknown"),
        open_checked(
            outside / "x.out", ReadPolicy(deny_all="the job's owner 'ghost' is unknown here")
        ),
    ):
        pass


def test_files_bigger_than_allowed_are_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as stream:
        stream.truncate(1 << 30)  # a sparse gigabyte

    with pytest.raises(UnusableInputError, match="more than the 4194304 allowed"):
        read_small(big)


def test_a_token_with_a_newline_is_refused_naming_its_source_not_its_value(tmp_path: Path) -> None:
    token = tmp_path / "slack-token"
    token.write_text("xoxb-1111-secret\nxoxb-2222-other\n")

    with pytest.raises(ConfigError) as raised:
        load_token(str(token), None)

    assert f"slack.token_file {token}" in str(raised.value)
    assert "xoxb" not in str(raised.value)


def test_a_fifo_as_the_token_file_does_not_block(tmp_path: Path) -> None:
    token = fifo(tmp_path / "slack-token")

    with within(5), pytest.raises(ConfigError, match="no Slack bot token found"):
        load_token(str(token), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
            f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
            for i in range(8)
        ), "too many values"),
        ("[" * 900 + "]" * 900 + "\n", "nested too deeply"),
        ("a:\n" + "".join("  " * i + f"  k{i}:\n" for i in range(1, 80)) + "\n", "nested too deeply"),
    ],
    ids=["alias-bomb", "900-levels", "80-level-mapping"],
)  # fmt: skip
def test_yaml_bombs_and_deep_nesting_are_one_line_errors(text: str, message: str) -> None:
    with within(10), pytest.raises(ConfigError, match=message):
        parse_located(text, "hostile.yaml")


def test_escape_sequences_in_names_and_lines_reach_the_terminal_inert(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    task_dir = experiment / f"{JOB}_2"
    [log] = task_dir.glob("log-*.out")
    with log.open("a") as stream:
        stream.write("\x1b]0;pwned\x07\x9b31mRuntimeError: boom \x1b[2J\u202egnp.exe\n")
        stream.write("[ERROR] ./code/common/eagle3/train_eagle.sh:63 failed with status 1.\n")
    (task_dir / "log-\x1b]8;;evil\x07x.out").write_text("hello\n")

    done = run_cli("review", "--no-color", "--no-slurm", experiment)

    assert "\x1b" not in done.stdout + done.stderr
    assert "\x9b" not in done.stdout and "\u202e" not in done.stdout
    assert discover(experiment)


def test_four_backticks_in_evidence_cannot_close_the_code_block() -> None:
    block = code_block(["before ```` after", "````"], 2000)

    assert block.count("```") == 2
    assert block.startswith("```\n") and block.endswith("\n```")


def test_a_scan_out_of_time_still_reads_the_end_of_the_file(
    tmp_path: Path, catalog: Catalog
) -> None:
    from eagle3_monitor.review.scanner import scan_file  # noqa: PLC0415

    log = tmp_path / "huge.out"
    with log.open("wb") as stream:
        stream.write(b"starting\n" * 10)
        stream.write(b"progress line\n" * 3_000_000)  # ~42 MB nobody waits for
        stream.write(b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n")
        stream.write(b"job exited with code 1\n")

    scan = scan_file(log, catalog, time_budget=0)

    assert scan.skipped > 30_000_000
    assert any("out of memory" in hit.text for hit in scan.hits)
    assert scan.tail[-1][1] == "job exited with code 1"


def test_a_task_with_thousands_of_logs_is_judged_on_its_newest(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, healthy_plan())
    task_dir = experiment / f"{JOB}_1"
    for number in range(1000):
        (task_dir / f"log-extra_{number:04d}.out").write_text("noise\n")

    [task] = [t for t in discover(experiment).tasks if t.index == 1]

    assert len(task.logs) == 256
    assert task_dir / "log-extra_0999.out" in {log.path for log in task.logs}
