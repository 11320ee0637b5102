"""`new-model`: a complete pipeline for each example model, lint-clean by construction, with
the backend, parallelism and flags the model's config calls for."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eagle3_monitor.launcher.new_model import NewModelRequest, default_hf_model, new_model_yaml
from eagle3_monitor.launcher.sizing import estimate_parameters, size_for
from eagle3_monitor.lint.model_config import read_model_config
from eagle3_monitor.lint.run import lint_text
from tests.cli_runner import run_cli

EXAMPLES = Path(__file__).parent.parent / "examples" / "pipelines"
MODELS = EXAMPLES / "models"
BF16_BASE = "/hf-local/meta-llama/Llama-3.3-70B-Instruct"
MODEL_DIRS = sorted(path.parent for path in MODELS.glob("*/*/config.json"))


def generate(model_dir: Path, **options: object) -> str:
    facts = read_model_config(model_dir)
    bf16 = BF16_BASE if facts.is_nvfp4 else None
    request = NewModelRequest(facts, default_hf_model(facts), bf16_model=bf16, **options)  # type: ignore[arg-type]
    return new_model_yaml(request)


def tasks(text: str) -> dict[str, dict]:  # type: ignore[type-arg]
    pipeline = yaml.safe_load(text)["pipeline"]
    return {key: value for key, value in pipeline.items() if key.startswith("task_")}


def environment(task: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {name: value for entry in task.get("environment", []) for name, value in entry.items()}


@pytest.mark.parametrize("model_dir", MODEL_DIRS, ids=lambda path: path.name)
def test_new_model_output_lints_clean_against_its_model(model_dir: Path) -> None:
    text = generate(model_dir)

    report = lint_text(text, f"{model_dir.name}.yaml", read_model_config(model_dir))

    assert report.findings == []


@pytest.mark.parametrize("model_dir", MODEL_DIRS, ids=lambda path: path.name)
def test_bundled_example_pipelines_are_what_new_model_writes(model_dir: Path) -> None:
    options = ["--bf16-model", BF16_BASE] if "FP4" in model_dir.name else []
    relative = model_dir.relative_to(EXAMPLES.parent.parent)

    done = run_cli("new-model", relative, *options, cwd=EXAMPLES.parent.parent)

    assert done.status == 0, done
    assert done.stdout == (EXAMPLES / f"{model_dir.name}.yaml").read_text()


@pytest.mark.parametrize(
    ("model", "dump_script", "tensor_parallel"),
    [
        ("Qwen/Qwen3-8B", "dump_offline_data_vllm.sh", 4),
        ("Qwen/Qwen3-30B-A3B", "dump_offline_data_vllm.sh", 4),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "dump_offline_data_hf.sh", 4),
        ("google/gemma-2-9b-it", "dump_offline_data_hf.sh", 4),
        ("openai/gpt-oss-20b", "dump_offline_data_hf.sh", 4),
        ("moonshotai/Kimi-K2-Instruct", "dump_offline_data_vllm.sh", 4),
    ],
)
def test_dump_backend_and_tensor_parallelism_follow_the_config(
    model: str, dump_script: str, tensor_parallel: int
) -> None:
    pipeline = tasks(generate(MODELS / model))

    assert pipeline["task_1"]["script"].endswith(dump_script)
    assert f"--tensor-parallel-size {tensor_parallel}" in pipeline["task_0"]["args"]
    assert f"--tp_size {tensor_parallel}" in pipeline["task_3"]["args"]


def test_custom_code_and_mla_model_is_trusted_everywhere_and_gets_the_kimik2_decoder() -> None:
    pipeline = tasks(generate(MODELS / "moonshotai" / "Kimi-K2-Instruct"))

    synthesis = pipeline["task_0"]["args"]
    assert synthesis.index("--trust-remote-code") < synthesis.index("--")
    assert "model.trust_remote_code=true" in pipeline["task_2"]["args"]
    assert "--trust_remote_code" in pipeline["task_3"]["args"]
    assert "eagle.eagle_decoder_type=kimik2" in pipeline["task_2"]["args"]
    assert "eagle.eagle_architecture_config.intermediate_size=2048" in pipeline["task_2"]["args"]


def test_a_model_too_big_for_one_node_spans_nodes_with_pipeline_parallelism() -> None:
    text = generate(MODELS / "moonshotai" / "Kimi-K2-Instruct")
    pipeline = tasks(text)

    assert pipeline["task_0"]["slurm_config"]["nodes"] == 2
    assert "--pipeline-parallel-size 2" in pipeline["task_0"]["args"]
    assert "~1,026 GB of weights (1,026.4B parameters × 1 byte) on 2 nodes × 4 GPUs" in text
    assert "CHECK: the dump runs on one node" in text


def test_nvfp4_serves_the_quantized_checkpoint_and_trains_on_the_bf16_base() -> None:
    text = generate(MODELS / "nvidia" / "Llama-3.3-70B-Instruct-FP4")
    pipeline = tasks(text)

    assert yaml.safe_load(text)["pipeline"]["global_vars"]["hf_model_bf16"] == BF16_BASE
    assert environment(pipeline["task_1"])["HF_MODEL_CKPT"] == "<<global_vars.hf_model_bf16>>"
    assert "model.model_name_or_path=<<global_vars.hf_model_bf16>>" in pipeline["task_2"]["args"]
    assert "--model <<global_vars.hf_model>>" in pipeline["task_0"]["args"]
    assert environment(pipeline["task_3"])["HF_MODEL_CKPT"] == "<<global_vars.hf_model>>"


def test_harmony_tokenizer_gets_its_cache_directory() -> None:
    pipeline = tasks(generate(MODELS / "openai" / "gpt-oss-20b"))

    for task in ("task_0", "task_1", "task_3"):
        assert environment(pipeline[task])["TIKTOKEN_RS_CACHE_DIR"] == "/hf-local/tiktoken_cache"


def test_tensor_parallelism_divides_the_attention_heads() -> None:
    vlm = read_model_config(MODELS / "Qwen" / "Qwen2.5-VL-7B-Instruct")  # 28 heads

    assert size_for(vlm, gpus_per_node=8, gpu_memory_gb=80, nodes=None).tensor_parallel == 4


def test_small_gpus_mean_more_nodes_and_the_smallest_tp_is_reported() -> None:
    moe = read_model_config(MODELS / "Qwen" / "Qwen3-30B-A3B")  # ~61 GB in BF16

    one_big = size_for(moe, gpus_per_node=8, gpu_memory_gb=80, nodes=None)
    small = size_for(moe, gpus_per_node=1, gpu_memory_gb=40, nodes=None)

    assert (one_big.tensor_parallel, one_big.nodes, one_big.smallest_tp) == (8, 1, 1)
    assert (small.tensor_parallel, small.nodes) == (1, 2)


@pytest.mark.parametrize(
    ("model", "published_billions"),
    [
        ("Qwen/Qwen3-8B", 8.2),
        ("Qwen/Qwen3-30B-A3B", 30.5),
        ("google/gemma-2-9b-it", 9.2),
        ("openai/gpt-oss-20b", 20.9),
        ("moonshotai/Kimi-K2-Instruct", 1040),
        ("nvidia/Llama-3.3-70B-Instruct-FP4", 70.6),
    ],
)
def test_parameter_estimate_is_within_three_percent_of_the_published_size(
    model: str, published_billions: float
) -> None:
    estimate = estimate_parameters(read_model_config(MODELS / model))

    assert estimate is not None
    assert estimate / 1e9 == pytest.approx(published_billions, rel=0.03)


def test_trtllm_dump_gets_its_tensor_and_expert_parallelism() -> None:
    model_dir = MODELS / "Qwen" / "Qwen3-30B-A3B"
    text = generate(model_dir, dump_backend="trtllm")

    dump = tasks(text)["task_1"]
    assert dump["script"] == "common/eagle3/dump_offline_data.sh"
    assert "--tp 4" in dump["args"] and "--moe-ep 4" in dump["args"]
    assert lint_text(text, "trt.yaml", read_model_config(model_dir)).findings == []


def test_nvfp4_without_its_bf16_base_is_one_line_exit_2() -> None:
    done = run_cli("new-model", MODELS / "nvidia" / "Llama-3.3-70B-Instruct-FP4")

    assert done.status == 2
    assert "an NVFP4 checkpoint" in done.stderr and "--bf16-model" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_config_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_cli("new-model", tmp_path)

    assert done.status == 2
    assert done.stderr.strip() == (
        f"eagle3-monitor: error: {tmp_path}/config.json: No such file or directory"
    )


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    output = tmp_path / "hf_offline_eagle3.yaml"

    done = run_cli("new-model", MODELS / "Qwen" / "Qwen3-8B", "-o", output)

    assert done.status == 0 and done.stdout == ""
    assert yaml.safe_load(output.read_text())["job_name"] == "Qwen3-8B_EAGLE3_offline"
    assert [path.name for path in tmp_path.iterdir()] == [output.name]
