"""`lint` on launcher-shaped pipelines against dense, MoE, VLM, sliding-window and custom-code
model configs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from eagle3_monitor.lint.run import LintReport, lint_pipeline
from tests.cli_runner import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
CLEAN = FIXTURES / "clean_dense.yaml"
TRTLLM = FIXTURES / "trtllm_dump.yaml"


def codes(report: LintReport, severity: str | None = None) -> list[str]:
    return [f.code for f in report.findings if severity is None or f.severity == severity]


def with_args(tmp_path: Path, source: Path, task: str, args: list[str]) -> Path:
    """A copy of a pipeline with one task's args replaced."""
    data = yaml.safe_load(source.read_text())
    data["pipeline"][task]["args"] = args
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_lint_clean_pipeline_for_a_dense_model_has_no_findings() -> None:
    report = lint_pipeline(CLEAN, FIXTURES / "dense_config.json")

    assert report.findings == []


def test_lint_cli_exit_zero_and_summary_line() -> None:
    done = run_cli("lint", CLEAN, "--model-config", FIXTURES / "dense_config.json")

    assert done.status == 0, done
    assert done.stdout.strip().endswith("0 errors, 0 warnings, 0 notes")


@pytest.mark.parametrize(
    ("config", "reason"),
    [("vlm_config.json", "a VLM"), ("sliding_window_config.json", "sliding-window attention")],
)
def test_lint_trtllm_dump_for_vlm_or_sliding_window_is_an_error(config: str, reason: str) -> None:
    report = lint_pipeline(TRTLLM, FIXTURES / config)

    [finding] = [f for f in report.findings if f.code == "trtllm-dump-unsupported"]
    assert finding.severity == "error"
    assert finding.task == "task_1"
    assert reason in finding.message
    assert "dump_offline_data_hf.sh" in finding.fix
    assert finding.location == f"{TRTLLM}:19:13"


def test_lint_window_as_long_as_the_context_is_not_sliding_window() -> None:
    report = lint_pipeline(TRTLLM, FIXTURES / "qwen2_long_window_config.json")

    assert "trtllm-dump-unsupported" not in codes(report)


def test_lint_vlm_on_the_vllm_dump_is_an_error_and_the_hf_dump_is_fine(tmp_path: Path) -> None:
    on_vllm = lint_pipeline(CLEAN, FIXTURES / "vlm_config.json")
    hf = tmp_path / "hf.yaml"
    hf.write_text(CLEAN.read_text().replace("dump_offline_data_vllm.sh", "dump_offline_data_hf.sh"))

    [finding] = [f for f in on_vllm.findings if f.code == "vllm-dump-unsupported"]
    assert finding.message.endswith("cannot handle this model: it is a VLM")
    assert "dump_offline_data_hf.sh" in finding.fix
    assert codes(lint_pipeline(hf, FIXTURES / "vlm_config.json"), "error") == []


def test_lint_custom_code_without_trust_remote_code_in_task_0_and_task_3(tmp_path: Path) -> None:
    report = lint_pipeline(CLEAN, FIXTURES / "custom_code_config.json")

    errors = [(f.code, f.task) for f in report.findings if f.severity == "error"]
    assert errors == [("trust-remote-code", "task_0"), ("trust-remote-code", "task_3")]
    assert ("trust-remote-code", "task_2") in [(f.code, f.task) for f in report.findings]


def test_lint_trust_remote_code_after_the_separator_goes_to_query_py(tmp_path: Path) -> None:
    pipeline = with_args(
        tmp_path, CLEAN, "task_0", ["--model /hf-local/m", "--", "--trust-remote-code", "--data /d"]
    )

    report = lint_pipeline(pipeline, FIXTURES / "custom_code_config.json")

    [finding] = [f for f in report.findings if f.task == "task_0"]
    assert "after the `--` separator" in finding.message
    line = int(finding.location.split(":")[-2])
    assert "--trust-remote-code" in pipeline.read_text().splitlines()[line - 1]


def test_lint_trust_remote_code_before_the_separator_satisfies_task_0(tmp_path: Path) -> None:
    pipeline = with_args(
        tmp_path, CLEAN, "task_0", ["--model /hf-local/m", "--trust-remote-code", "--", "--data /d"]
    )

    report = lint_pipeline(pipeline, FIXTURES / "custom_code_config.json")

    assert "task_0" not in [f.task for f in report.findings if f.severity == "error"]


def test_lint_moe_draft_intermediate_size_is_checked() -> None:
    mismatched = lint_pipeline(TRTLLM, FIXTURES / "moe_config.json")
    defaulted = lint_pipeline(CLEAN, FIXTURES / "moe_config.json")

    [finding] = [f for f in mismatched.findings if f.code == "moe-draft-intermediate-size"]
    assert "is 1536" in finding.message and "768" in finding.fix
    [default] = [f for f in defaulted.findings if f.code == "moe-draft-intermediate-size"]
    assert "defaults to the dense size (6144)" in default.message


def test_lint_moe_with_matching_draft_size_is_quiet(tmp_path: Path) -> None:
    pipeline = with_args(
        tmp_path, CLEAN, "task_2", ["eagle.eagle_architecture_config.intermediate_size=768"]
    )

    assert "moe-draft-intermediate-size" not in codes(
        lint_pipeline(pipeline, FIXTURES / "moe_config.json")
    )


def test_lint_allow_to_fail_and_missing_time_limits_are_warnings() -> None:
    report = lint_pipeline(TRTLLM, FIXTURES / "dense_config.json")

    assert codes(report, "warning").count("no-time-limit") == 4
    assert "allow-to-fail" in codes(report, "warning")
    assert codes(report, "error") == []


def test_lint_scripts_checked_against_a_launcher_checkout(tmp_path: Path) -> None:
    launcher = tmp_path / "launcher"
    for script in (
        "common/vllm/query.sh",
        "common/eagle3/dump_offline_data_hf.sh",
        "common/eagle3/train_eagle.sh",
        "common/specdec_bench/quick_check.sh",
    ):
        (launcher / script).parent.mkdir(parents=True, exist_ok=True)
        (launcher / script).write_text("#!/bin/bash\n")

    report = lint_pipeline(CLEAN, FIXTURES / "dense_config.json", launcher)

    [finding] = [f for f in report.findings if f.code == "unknown-script"]
    assert (finding.severity, finding.task) == ("error", "task_1")
    assert "did you mean common/eagle3/dump_offline_data_hf.sh?" in finding.fix


def test_lint_finds_the_model_config_from_hf_model(tmp_path: Path) -> None:
    model = tmp_path / "hf-local" / "org" / "vlm"
    model.mkdir(parents=True)
    shutil.copy(FIXTURES / "vlm_config.json", model / "config.json")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(TRTLLM.read_text().replace("/hf-local/org/model", str(model)))

    report = lint_pipeline(pipeline)

    assert report.model_config == model / "config.json"
    assert "trtllm-dump-unsupported" in codes(report, "error")


def test_lint_without_a_readable_model_config_says_model_checks_were_skipped() -> None:
    report = lint_pipeline(TRTLLM)

    assert "model-checks-skipped" in codes(report, "info")


def test_lint_undefined_global_var_is_an_error_at_its_line(tmp_path: Path) -> None:
    pipeline = tmp_path / "typo.yaml"
    pipeline.write_text(
        CLEAN.read_text().replace(
            "HF_MODEL_CKPT: <<global_vars.hf_model>>", "HF_MODEL_CKPT: <<global_vars.hf_modle>>", 1
        )
    )

    done = run_cli("lint", pipeline, "--model-config", FIXTURES / "dense_config.json")

    assert done.status == 1
    assert (
        f"{pipeline}:34:24: error [pipeline-structure] task_1: <<global_vars.hf_modle>> is not defined"
        in done.stdout
    )


def test_lint_json_document(tmp_path: Path) -> None:
    done = run_cli(
        "lint", "--format", "json", TRTLLM, "--model-config", FIXTURES / "vlm_config.json"
    )

    document = json.loads(done.stdout)
    assert done.status == 1
    assert set(document) == {"schema", "path", "model_config", "errors", "warnings", "findings"}
    assert document["schema"] == "eagle3-monitor.lint/1"
    assert set(document["findings"][0]) == {
        "severity",
        "code",
        "task",
        "message",
        "fix",
        "location",
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("pipeline:\n  task_0: [\n", ":3:1: invalid YAML"),
        ("just: a mapping\n", "not a launcher pipeline"),
    ],
    ids=["yaml-error", "not-a-pipeline"],
)
def test_lint_bad_pipeline_file_is_one_line_exit_2(
    text: str, fragment: str, tmp_path: Path
) -> None:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(text)

    done = run_cli("lint", pipeline)

    assert done.status == 2, done
    assert len(done.stderr.strip().splitlines()) == 1
    assert fragment in done.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [('{"architectures": ["X"', "not valid JSON"), (None, "No such file or directory")],
)
def test_lint_bad_model_config_is_one_line_exit_2(
    content: str | None, fragment: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    if content is not None:
        config.write_text(content)

    done = run_cli("lint", CLEAN, "--model-config", config)

    assert done.status == 2, done
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr
