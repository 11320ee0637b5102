"""`lint` against the launcher's own vocabulary: each seeded mistake is reported at its
file:line:col, with a did-you-mean where one exists, and nothing else is reported for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eagle3_monitor.launcher.refresh import main as refresh_main
from eagle3_monitor.launcher.schema import schema_from
from eagle3_monitor.lint.findings import LintFinding
from eagle3_monitor.lint.model_config import read_model_config
from eagle3_monitor.lint.pipeline import load_pipeline
from eagle3_monitor.lint.run import LintReport, lint_pipeline, lint_spec
from tests.cli_runner import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples" / "pipelines"
MODELS = EXAMPLES / "models"
MISTAKES = EXAMPLES / "mistakes" / "Qwen2.5-VL-7B-typos.yaml"
DENSE = EXAMPLES / "Qwen3-8B.yaml"
DENSE_MODEL = MODELS / "Qwen" / "Qwen3-8B"


def edited(
    tmp_path: Path, source: Path, old: str, new: str, count: int = 1, name: str = ""
) -> Path:
    text = source.read_text()
    assert old in text, old
    path = tmp_path / (name or source.name)
    path.write_text(text.replace(old, new, count))
    return path


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def only(report: LintReport, code: str) -> LintFinding:
    [finding] = [f for f in report.findings if f.code == code]
    return finding


def test_every_seeded_mistake_is_reported_at_its_line_and_column() -> None:
    report = lint_pipeline(MISTAKES, MODELS / "Qwen" / "Qwen2.5-VL-7B-Instruct")

    found = {(f.code, f.task, f.location.split(":", 1)[1]) for f in report.findings}
    assert ("unknown-key", "task_0", f"{line_of(MISTAKES, 'sript:')}:5") in found
    assert ("unknown-key", "task_1", f"{line_of(MISTAKES, 'slurm_confg:')}:5") in found
    assert (
        "vllm-dump-unsupported",
        "task_1",
        f"{line_of(MISTAKES, 'dump_offline_data_vllm')}:13",
    ) in found
    assert ("stale-script", "task_2", f"{line_of(MISTAKES, 'offline_training.sh')}:13") in found
    assert ("wrong-type", "task_2", f"{line_of(MISTAKES, 'time: 4h')}:13") in found
    assert ("wrong-type", "task_3", f"{line_of(MISTAKES, 'time: 10:00:00')}:13") in found
    assert ("eagle-config-ignored", "task_2", f"{line_of(MISTAKES, '--eagle_config')}:9") in found


def test_a_misspelt_key_says_what_it_meant_and_nothing_else() -> None:
    report = lint_pipeline(MISTAKES, MODELS / "Qwen" / "Qwen2.5-VL-7B-Instruct")

    script, slurm = [f for f in report.findings if f.code == "unknown-key"]
    assert "`sript` is not a task key" in script.message
    assert script.fix.startswith("did you mean `script`?")
    assert slurm.fix.startswith("did you mean `slurm_config`?")
    messages = " ".join(f.message for f in report.findings)
    assert "has no `script`" not in messages
    assert [f for f in report.findings if f.code == "no-time-limit"] == []


def test_time_limits_are_checked_for_slurm_formats_and_yaml_base_60() -> None:
    report = lint_pipeline(MISTAKES, MODELS / "Qwen" / "Qwen2.5-VL-7B-Instruct")

    hours, base60 = [f for f in report.findings if f.code == "wrong-type"]
    assert hours.message == "time: '4h' is not a Slurm time limit"
    assert (
        "10:00:00 unquoted is the number 36000 to YAML (base 60), which Slurm reads as 36000 minutes"
        in base60.message
    )
    assert 'time: "08:00:00"' in base60.fix


@pytest.mark.parametrize(
    ("old", "new", "code", "fragment", "hint"),
    [
        ("  global_vars:\n    hf_model:", "  global_vars:\n    hf_modle:", "unknown-key",
         "`hf_modle` is not a GlobalVariables field", "did you mean `hf_model`?"),
        ("      nodes: 1\n", "      node: 1\n", "unknown-key",
         "`node` is not a slurm_config field", "did you mean `nodes`?"),
        ("  allow_to_fail: false", "  allow_to_fial: false", "unknown-key",
         "`allow_to_fial` is not a `pipeline` key", "did you mean `allow_to_fail`?"),
        ("job_name:", "jobname:", "unknown-key",
         "`jobname` is not a top-level key", "did you mean `job_name`?"),
        ("  task_3:", "  task_5:", "unknown-key", "five task slots", "Renumber"),
        ("      gpus_per_node: 4\n", "      gpus_per_node: four\n", "wrong-type",
         "gpus_per_node: 'four' is not a whole number", "as a number"),
        ("  skip: false", "  skip: no-thanks", "wrong-type", "is not true or false", "`skip: true`"),
        ("      - HF_LOCAL: /hf-local\n", "      - HF_HOME: /hf-local/cache\n",
         "environment-overridden", "HF_HOME is set by the launcher", "Drop HF_HOME"),
        ("      - HF_LOCAL: /hf-local\n", "      - EXTRA: --a --b\n", "environment-unquoted",
         "exports it unquoted", "without spaces"),
        ("      - HF_LOCAL: /hf-local\n", "      - CACHE: ${oc.env:HOME}\n",
         "environment-interpolation", "OmegaConf interpolation", "escape"),
        ("      container: vllm/vllm-openai:latest", "      container: <<global_vars.hf_model>>",
         "global-var-not-substituted", "only in args and environment", "out"),
        ("common/eagle3/dump_offline_data_vllm.sh", "common/eagle3/dump_offline_data_vlm.sh",
         "unknown-script", "not one of the launcher's scripts",
         "did you mean common/eagle3/dump_offline_data_vllm.sh?"),
        ("--tensor-parallel-size 4", "--tensor-parallel-size 8", "tp-exceeds-gpus",
         "tensor parallelism 8 on 4 GPU(s)", "Lower the TP to 4"),
        ("      - --tp_size 4", "      - --tp_size 3", "tp-does-not-divide-heads",
         "does not divide the model's 32 attention heads", "divides 32"),
    ],
    ids=["global-var", "slurm-field", "pipeline-key", "top-level", "task-5", "int", "bool",
         "env-overridden", "env-unquoted", "env-interpolation", "global-var-in-container",
         "script-typo", "tp-over-gpus", "tp-heads"],
)  # fmt: skip
def test_each_seeded_mistake_is_flagged_with_a_fix(
    tmp_path: Path, old: str, new: str, code: str, fragment: str, hint: str
) -> None:
    pipeline = edited(tmp_path, DENSE, old, new)

    report = lint_pipeline(pipeline, DENSE_MODEL)

    finding = only(report, code)
    assert fragment in finding.message
    assert hint in finding.fix
    line = int(finding.location.split(":")[-2])
    assert (
        new.strip().split("\n")[-1].split(":")[0].strip("- ")
        in pipeline.read_text().splitlines()[line - 1]
    )


def test_stale_scripts_are_flagged_without_a_launcher_checkout(tmp_path: Path) -> None:
    pipeline = edited(
        tmp_path, DENSE, "common/eagle3/train_eagle.sh", "services/pipeline/eagle3/train_eagle.sh"
    )

    finding = only(lint_pipeline(pipeline, DENSE_MODEL), "stale-script")

    assert "old layout: scripts now live under common/" in finding.message
    assert "did you mean common/eagle3/train_eagle.sh?" in finding.fix


def test_trtllm_dump_needs_its_parallelism_told(tmp_path: Path) -> None:
    moe = MODELS / "Qwen" / "Qwen3-30B-A3B"
    base = edited(
        tmp_path,
        EXAMPLES / "Qwen3-30B-A3B.yaml",
        "common/eagle3/dump_offline_data_vllm.sh",
        "common/eagle3/dump_offline_data.sh",
    )
    missing = lint_pipeline(base, moe)
    with_tp = edited(
        tmp_path,
        base,
        "      - --max-seq-len 8192\n",
        "      - --max-seq-len 8192\n      - --tp 4\n",
    )
    no_expert_parallel = lint_pipeline(with_tp, moe)
    bad = edited(tmp_path, with_tp, "      - --tp 4\n", "      - --tp 4\n      - --moe-ep 3\n")

    assert "runs with --tp 1 unless told" in only(missing, "trtllm-dump-parallelism").message
    assert "without --moe-ep" in only(no_expert_parallel, "trtllm-dump-parallelism").message
    assert (
        "--moe-ep 3 does not divide --tp 4"
        in only(lint_pipeline(bad, moe), "trtllm-dump-parallelism").message
    )


def test_sliding_window_is_an_error_on_trtllm_and_a_warning_on_vllm(tmp_path: Path) -> None:
    gemma = MODELS / "google" / "gemma-2-9b-it"
    on_vllm = edited(
        tmp_path,
        DENSE,
        "hf_model: /hf-local/Qwen/Qwen3-8B",
        "hf_model: /hf-local/google/gemma-2-9b-it",
    )
    on_trtllm = edited(
        tmp_path, on_vllm, "dump_offline_data_vllm.sh", "dump_offline_data.sh", name="trt.yaml"
    )

    assert only(lint_pipeline(on_vllm, gemma), "vllm-dump-sliding-window").severity == "warning"
    trtllm = only(lint_pipeline(on_trtllm, gemma), "trtllm-dump-unsupported")
    assert trtllm.message.endswith("it uses sliding-window attention")
    assert "dump_offline_data_vllm.sh" in trtllm.fix


def test_moe_draft_size_is_read_from_an_eagle_config_json(tmp_path: Path) -> None:
    (tmp_path / "eagle_config.json").write_text(
        json.dumps({"intermediate_size": 6144, "hidden_size": 1024})
    )
    pipeline = edited(
        tmp_path,
        EXAMPLES / "Qwen3-30B-A3B.yaml",
        "      - eagle.eagle_architecture_config.intermediate_size=768",
        "      - --eagle_config eagle_config.json",
    )

    report = lint_pipeline(pipeline, MODELS / "Qwen" / "Qwen3-30B-A3B")

    size = only(report, "moe-draft-intermediate-size")
    assert "is 6144 (eagle_config.json)" in size.message and "intermediate_size=768" in size.fix
    assert (
        "hidden_size 1024 (eagle_config.json) is not the model's 2048"
        in only(report, "draft-hidden-size").message
    )


def test_mla_models_need_a_draft_decoder_type(tmp_path: Path) -> None:
    kimi = MODELS / "moonshotai" / "Kimi-K2-Instruct"
    pipeline = edited(
        tmp_path, EXAMPLES / "Kimi-K2-Instruct.yaml", "      - eagle.eagle_decoder_type=kimik2", ""
    )

    finding = only(lint_pipeline(pipeline, kimi), "mla-decoder-type")

    assert "MLA attention (kv_lora_rank 512)" in finding.message
    assert "eagle.eagle_decoder_type=kimik2" in finding.fix
    assert "mla-decoder-type" not in [
        f.code for f in lint_pipeline(EXAMPLES / "Kimi-K2-Instruct.yaml", kimi).findings
    ]


def test_harmony_tokenizer_needs_its_cache_in_synthesis_and_dump(tmp_path: Path) -> None:
    pipeline = edited(
        tmp_path,
        EXAMPLES / "gpt-oss-20b.yaml",
        "      - TIKTOKEN_RS_CACHE_DIR: /hf-local/tiktoken_cache",
        "",
        3,
    )

    report = lint_pipeline(pipeline, MODELS / "openai" / "gpt-oss-20b")

    assert sorted(f.task or "" for f in report.findings if f.code == "tokenizer-cache") == [
        "task_0",
        "task_1",
    ]


def test_nvfp4_checkpoint_in_the_dump_or_training_is_an_error(tmp_path: Path) -> None:
    pipeline = edited(
        tmp_path,
        EXAMPLES / "Llama-3.3-70B-Instruct-FP4.yaml",
        "<<global_vars.hf_model_bf16>>",
        "<<global_vars.hf_model>>",
        2,
    )

    report = lint_pipeline(pipeline, MODELS / "nvidia" / "Llama-3.3-70B-Instruct-FP4")

    assert sorted(f.task or "" for f in report.findings if f.code == "nvfp4-checkpoint") == [
        "task_1",
        "task_2",
    ]


def test_custom_code_on_the_trtllm_dump_needs_trust_remote_code_in_its_environment(
    tmp_path: Path,
) -> None:
    pipeline = edited(
        tmp_path,
        EXAMPLES / "Kimi-K2-Instruct.yaml",
        "dump_offline_data_vllm.sh",
        "dump_offline_data.sh",
    )

    finding = only(
        lint_pipeline(pipeline, MODELS / "moonshotai" / "Kimi-K2-Instruct"), "trust-remote-code"
    )

    assert finding.task == "task_1"
    assert 'TRUST_REMOTE_CODE: "1"' in finding.fix


def test_the_vocabulary_is_refreshed_from_a_launcher_checkout(tmp_path: Path) -> None:
    launcher = tmp_path / "launcher"
    (launcher / "common" / "eagle3").mkdir(parents=True)
    (launcher / "common" / "eagle3" / "train_eagle.sh").write_text("#!/bin/bash\n")
    (launcher / "core.py").write_text(
        "from dataclasses import dataclass\n\n"
        "@dataclass\nclass SandboxTask:\n    script: str = None\n    args: list[str] = None\n"
        "    slurm_config: object = None\n\n"
        "@dataclass\nclass GlobalVariables:\n    hf_model: str = None\n    eval_config: str = None\n\n"
        "@dataclass\nclass SandboxPipeline:\n    global_vars: GlobalVariables = None\n"
        "    task_0: SandboxTask0 = None\n    allow_to_fail: bool = False\n"
    )
    (launcher / "slurm_config.py").write_text(
        "from dataclasses import dataclass\n\n@dataclass\nclass SlurmConfig:\n"
        "    nodes: int = 1\n    time: str = '04:00:00'\n\n"
        "def slurm_factory(host: str = '', reservation: str = None):\n    pass\n"
    )
    (launcher / "launch.py").write_text(
        "def launch(job_name: str = 'x', pipeline: object = None):\n    pass\n"
    )
    output = tmp_path / "schema.json"
    output.write_text(json.dumps({"stale_scripts": {"common/old.sh": "gone"}}))

    assert refresh_main([str(launcher), "-o", str(output)]) == 0

    data = json.loads(output.read_text())
    schema = schema_from(data)
    assert schema.keys("global_vars") == {"hf_model": "str", "eval_config": "str"}
    assert set(schema.keys("slurm_config")) == {"nodes", "time", "host", "reservation", "_factory_"}
    assert schema.keys("task")["slurm_config"] == "SlurmConfig"
    assert schema.keys("pipeline")["task_0"] == "SandboxTask"
    assert schema.scripts == {"common/eagle3/train_eagle.sh"}
    assert schema.stale_scripts == {"common/old.sh": "gone"}
    report = lint_spec(
        load_pipeline(DENSE),
        read_model_config(DENSE_MODEL),
        None,
        launcher_dir=None,
        search_roots=[],
        schema=schema,
    )
    assert "`skip` is not a `pipeline` key" in " ".join(f.message for f in report.findings)


def test_refresh_refuses_a_directory_that_is_not_a_launcher(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refresh_main([str(tmp_path), "-o", str(tmp_path / "schema.json")]) == 2
    assert "is this tools/launcher" in capsys.readouterr().err
    assert not (tmp_path / "schema.json").exists()


def test_cli_lint_prints_the_did_you_mean_and_exits_one() -> None:
    done = run_cli(
        "lint",
        MISTAKES,
        "--model-config",
        MODELS / "Qwen" / "Qwen2.5-VL-7B-Instruct" / "config.json",
    )

    assert done.status == 1
    assert (
        f"{MISTAKES}:{line_of(MISTAKES, 'sript:')}:5: error [unknown-key] task_0: `sript`"
        in done.stdout
    )
    assert "    fix: did you mean `script`?" in done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith("5 errors, 2 warnings, 0 notes")
