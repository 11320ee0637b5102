"""`eagle3-monitor new-model`: a complete `hf_offline_eagle3.yaml` for a model, in the layout of
the launcher's own examples (tools/launcher/examples/<Org>/<Model>/hf_offline_eagle3.yaml),
with a comment on every decision it makes from the model's config.json."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.launcher.sizing import Sizing, size_for
from eagle3_monitor.lint.model_config import ModelFacts

VLLM_CONTAINER = "vllm/vllm-openai:latest"
TRTLLM_CONTAINER = "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc10"
PROMPTS = "/hf-local/modelopt/Speculative-Decoding-Dataset-v2-default"
MT_BENCH = "/hf-local/HuggingFaceH4/mt_bench_prompts/raw/question.jsonl"
RECIPE = "modules/Model-Optimizer/modelopt_recipes/general/speculative_decoding/eagle3.yaml"
TIKTOKEN_CACHE_DIR = "/hf-local/tiktoken_cache"
DUMP_SCRIPTS = {
    "vllm": "common/eagle3/dump_offline_data_vllm.sh",
    "hf": "common/eagle3/dump_offline_data_hf.sh",
    "trtllm": "common/eagle3/dump_offline_data.sh",
}
WIDTH = 96
TIMES = {"task_0": "08:00:00", "task_1": "04:00:00", "task_2": "12:00:00", "task_3": "02:00:00"}


@dataclass(frozen=True)
class NewModelRequest:
    model: ModelFacts
    hf_model: str  # the checkpoint's path inside the container, e.g. /hf-local/Qwen/Qwen3-8B
    gpus_per_node: int = 4
    gpu_memory_gb: float = 192.0
    nodes: int | None = None
    bf16_model: str | None = None  # NVFP4: the BF16 base for the dump and training
    dump_backend: str = "auto"
    source: str = ""  # the command line, for the header


@dataclass
class _Lines:
    """YAML text with end-of-line comments lined up per block."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str, comment: str = "") -> None:
        self.lines.append((text, comment))

    def comment(self, text: str, indent: int = 0) -> None:
        """A comment line, wrapped at WIDTH columns."""
        prefix = " " * indent + "# "
        wrapped = textwrap.wrap(
            text,
            WIDTH - len(prefix),
            subsequent_indent="  ",
            break_on_hyphens=False,
            break_long_words=False,
        ) or [""]
        self.lines += [((prefix + line).rstrip(), "") for line in wrapped]

    def blank(self) -> None:
        self.lines.append(("", ""))

    def render(self) -> str:
        """The text, end-of-line comments lined up within each block between blank lines."""
        out: list[str] = []
        block: list[tuple[str, str]] = []
        for text, comment in [*self.lines, ("", "")]:
            if text:
                block.append((text, comment))
                continue
            width = max((len(line) for line, why in block if why), default=0)
            out += [f"{line:<{width}}  # {why}" if why else line for line, why in block]
            out.append("")
            block = []
        return "\n".join(out).rstrip("\n") + "\n"


def default_hf_model(model: ModelFacts) -> str:
    """/hf-local/<Org>/<Model> from the model directory's last two names."""
    directory = model.directory.resolve()
    parts = [directory.parent.name, directory.name] if directory.parent.name else [directory.name]
    return str(PurePosixPath("/hf-local", *parts))


def dump_backend_for(model: ModelFacts, requested: str) -> tuple[str, str]:
    """(backend, why) for the hidden-state dump."""
    if requested != "auto":
        return requested, f"{requested}, as asked (--dump-backend)"
    if model.is_vlm:
        return "hf", "HF: a VLM (the HF dump runs its text path; vLLM and TRT-LLM cannot)"
    if model.sliding_window:
        return "hf", "HF: sliding-window attention (the TRT-LLM dump cannot, the guide prefers HF)"
    return "vllm", "vLLM, the default: a text model without sliding-window attention"


def new_model_yaml(request: NewModelRequest) -> str:
    model = request.model
    if model.is_nvfp4 and not request.bf16_model:
        raise UnusableInputError(
            f"{model.path}: an NVFP4 checkpoint; the dump and training need its BF16 base model: "
            "pass --bf16-model /hf-local/<Org>/<BF16 model>"
        )
    try:
        sizing = size_for(model, request.gpus_per_node, request.gpu_memory_gb, request.nodes)
    except ValueError as error:
        raise UnusableInputError(f"{model.path}: cannot size the model: {error}") from None
    backend, backend_why = dump_backend_for(model, request.dump_backend)
    out = _Lines()
    _header(out, request, sizing, backend_why)
    _pipeline_head(out, request)
    _synthesis(out, request, sizing)
    _dump(out, request, sizing, backend)
    _training(out, request)
    _benchmark(out, request, sizing)
    return out.render()


def _name(request: NewModelRequest) -> str:
    return PurePosixPath(request.hf_model).name


def _header(out: _Lines, request: NewModelRequest, sizing: Sizing, backend_why: str) -> None:
    model = request.model
    kind = "MoE" if model.is_moe else "dense"
    if model.is_vlm:
        kind += " VLM"
    parameters = (
        f"{sizing.parameters / 1e9:,.1f}B parameters"
        if sizing.parameters
        else "size from its index"
    )
    name = request.hf_model.removeprefix("/hf-local/")
    out.comment(f"EAGLE3 offline speculative decoding pipeline for {name}.")
    if request.source:
        out.comment("Written by eagle3-monitor, every choice explained beside it:")
        out.lines.append((f"#   {request.source}", ""))
    out.comment("")
    architecture = ", ".join(model.architectures) or model.model_type
    precision = model.quantization or model.dtype
    out.comment(f"{model.model_type} ({architecture}): {kind}, {parameters}, {precision}.")
    out.comment(f"Sizing: {sizing.explanation()}.")
    if sizing.nodes == 1 and sizing.smallest_tp < sizing.tensor_parallel:
        gpus = "1 GPU" if sizing.smallest_tp == 1 else f"{sizing.smallest_tp} GPUs"
        out.comment(
            f"{gpus} would hold it; all {sizing.tensor_parallel} of the node serve it, "
            "for throughput (--gpus-per-node N to use fewer)."
        )
    out.comment(f"Dump backend: {backend_why}.")
    for note in _model_notes(request):
        out.comment(note)
    out.comment("")
    out.comment("task_0: data synthesis: a vLLM server answers the prompt set")
    out.comment("task_1: hidden-state dump: the target model's hidden states for each answer")
    out.comment("task_2: training: the EAGLE3 draft head, then its export to /scratchspace/export")
    out.comment("task_3: benchmark: speculative decoding with the draft, acceptance length")
    out.comment("All tasks share /scratchspace to pass artifacts between steps.")
    out.comment("")
    out.comment("Usage:")
    out.comment("  eagle3-monitor lint hf_offline_eagle3.yaml --model-config <model>/config.json")
    out.comment("  uv run launch.py --yaml hf_offline_eagle3.yaml --yes")
    out.blank()


def _model_notes(request: NewModelRequest) -> list[str]:
    model, notes = request.model, []
    if model.custom_code:
        notes.append(
            "Custom code (auto_map): trust_remote_code on every task that loads the model."
        )
    if model.is_mla and model.attention:
        rank = model.attention.kv_lora_rank
        notes.append(f"MLA attention (kv_lora_rank {rank}): the kimik2 draft decoder.")
    if model.is_moe and model.moe_intermediate_size:
        notes.append(
            f"MoE ({model.experts} experts): the draft's MLP sized like one expert "
            f"({model.moe_intermediate_size}), not the dense {model.intermediate_size}."
        )
    if model.harmony:
        notes.append(
            "Harmony tokenizer: TIKTOKEN_RS_CACHE_DIR points at a local copy of its vocab "
            f"({TIKTOKEN_CACHE_DIR})."
        )
    if model.is_nvfp4:
        notes.append(
            "NVFP4 checkpoint: task_0 and task_3 serve it (Blackwell GPUs, vLLM v0.15.0+); "
            "task_1 and task_2 use the BF16 base (hf_model_bf16)."
        )
    return notes


def _pipeline_head(out: _Lines, request: NewModelRequest) -> None:
    out.add(f"job_name: {_name(request)}_EAGLE3_offline")
    out.add("pipeline:")
    out.add("  allow_to_fail: false")
    out.add("  skip: false")
    out.add("  note:")
    out.blank()
    out.add("  global_vars:")
    out.add(f"    hf_model: {request.hf_model}")
    if request.model.is_nvfp4:
        out.add(f"    hf_model_bf16: {request.bf16_model}", "the BF16 base of the NVFP4 checkpoint")
    out.blank()


def _slurm(
    out: _Lines, task: str, nodes: int, gpus: int, container: str, *, why: str = "", image: str = ""
) -> None:
    out.add("    slurm_config:")
    out.add('      _factory_: "slurm_factory"')
    out.add(f"      nodes: {nodes}", why)
    out.add("      ntasks_per_node: 1")
    out.add(f"      gpus_per_node: {gpus}")
    out.add(f'      time: "{TIMES[task]}"')
    out.add(f"      container: {container}", image)
    out.blank()


def _environment(out: _Lines, variables: list[tuple[str, str, str]]) -> None:
    if not variables:
        return
    out.add("    environment:")
    for name, value, why in variables:
        out.add(f"      - {name}: {value}", why)


def _tokenizer_variables(request: NewModelRequest) -> list[tuple[str, str, str]]:
    if not request.model.harmony:
        return []
    return [("TIKTOKEN_RS_CACHE_DIR", TIKTOKEN_CACHE_DIR, "harmony vocab, offline")]


def _nodes_note(sizing: Sizing) -> str:
    return f"{sizing.nodes} nodes hold the weights" if sizing.nodes > 1 else ""


def _synthesis(out: _Lines, request: NewModelRequest, sizing: Sizing) -> None:
    model = request.model
    out.comment("Step 1: data synthesis via a vLLM server.", 2)
    out.comment('Args before "--" go to vllm serve; args after "--" go to common/query.py.', 2)
    out.add("  task_0:")
    out.add("    script: common/vllm/query.sh")
    out.add("    args:")
    out.add("      - --model <<global_vars.hf_model>>")
    out.add(
        f"      - --tensor-parallel-size {sizing.tensor_parallel}",
        f"divides the {model.attention.heads if model.attention else '?'} attention heads",
    )
    if sizing.nodes > 1:
        out.add(f"      - --pipeline-parallel-size {sizing.nodes}", "one pipeline stage per node")
    if model.custom_code:
        out.add("      - --trust-remote-code", "custom code: for the server, before --")
    out.add("      - --")
    out.add(f"      - --data {PROMPTS}")
    out.add("      - --save /scratchspace/data")
    _environment(out, [("HF_LOCAL", "/hf-local", ""), *_tokenizer_variables(request)])
    image = "NVFP4 needs v0.15.0+" if model.is_nvfp4 else ""
    _slurm(
        out,
        "task_0",
        sizing.nodes,
        request.gpus_per_node,
        VLLM_CONTAINER,
        why=_nodes_note(sizing),
        image=image,
    )


def _checkpoint_var(request: NewModelRequest) -> str:
    return "hf_model_bf16" if request.model.is_nvfp4 else "hf_model"


def _dump(out: _Lines, request: NewModelRequest, sizing: Sizing, backend: str) -> None:
    model = request.model
    out.comment("Step 2: dump the target model's hidden states.", 2)
    if sizing.nodes > 1:
        node_gb = request.gpus_per_node * request.gpu_memory_gb
        out.comment(
            f"CHECK: the dump runs on one node, and {request.gpus_per_node} × "
            f"{request.gpu_memory_gb:g} GB ({node_gb:,.0f} GB) cannot hold "
            f"{sizing.weight_gb:,.0f} GB of weights: give task_1 bigger GPUs, or a "
            "TRT-LLM dump with --tp across nodes.",
            2,
        )
    out.add("  task_1:")
    out.add(f"    script: {DUMP_SCRIPTS[backend]}")
    out.add("    args:")
    out.add("      - --input-data /scratchspace/data")
    out.add("      - --output-dir /scratchspace/offline_hidden_states")
    out.add("      - --max-seq-len 8192")
    if backend == "trtllm":
        out.add(f"      - --tp {sizing.tensor_parallel}", "TRT-LLM needs its parallelism told")
        moe_ep = _moe_expert_parallel(model, sizing.tensor_parallel)
        why = "experts spread over the GPUs" if moe_ep > 1 else "moe_ep × moe_tp = tp"
        out.add(f"      - --moe-ep {moe_ep}", why)
    variables = [("HF_MODEL_CKPT", f"<<global_vars.{_checkpoint_var(request)}>>", "")]
    if model.custom_code:
        if backend == "trtllm":
            variables.append(("TRUST_REMOTE_CODE", '"1"', "custom code"))
        else:
            out.comment("(the HF and vLLM dump scripts pass --trust_remote_code themselves)", 6)
    _environment(out, [*variables, *_tokenizer_variables(request)])
    container = TRTLLM_CONTAINER if backend in ("trtllm", "hf") else VLLM_CONTAINER
    _slurm(out, "task_1", 1, request.gpus_per_node, container)


def _moe_expert_parallel(model: ModelFacts, tp: int) -> int:
    return tp if model.is_moe and model.experts and model.experts % tp == 0 else 1


def _training(out: _Lines, request: NewModelRequest) -> None:
    model = request.model
    out.comment("Step 3: train the EAGLE3 draft head (offline), then export it.", 2)
    out.add("  task_2:")
    out.add("    script: common/eagle3/train_eagle.sh")
    out.add("    args:")
    out.add(f"      - --config {RECIPE}")
    out.add(f"      - model.model_name_or_path=<<global_vars.{_checkpoint_var(request)}>>")
    if model.custom_code:
        out.add("      - model.trust_remote_code=true", "custom code")
    out.add("      - data.offline_data_path=/scratchspace/offline_hidden_states")
    out.add("      - training.output_dir=/scratchspace/eagle3")
    out.add("      - training.training_seq_len=4096")
    out.add("      - training.disable_tqdm=true")
    out.add("      - training.ar_validate_steps=500000")
    if model.is_moe and model.moe_intermediate_size:
        size = model.moe_intermediate_size
        out.add(f"      - eagle.eagle_architecture_config.intermediate_size={size}", "one expert")
    if model.is_mla:
        out.add("      - eagle.eagle_decoder_type=kimik2", "MLA attention")
    _slurm(out, "task_2", 1, request.gpus_per_node, TRTLLM_CONTAINER)


def _benchmark(out: _Lines, request: NewModelRequest, sizing: Sizing) -> None:
    model = request.model
    out.comment("Step 4: benchmark speculative decoding (vLLM) with the exported draft.", 2)
    out.add("  task_3:")
    out.add("    script: common/specdec_bench/quick_check.sh")
    out.add("    args:")
    out.add("      - --draft_model_dir /scratchspace/export")
    out.add("      - --draft_length 3")
    out.add("      - --output_length 4096")
    out.add("      - --engine VLLM")
    out.add(f"      - --tp_size {sizing.tensor_parallel}", "as task_0")
    out.add("      - --ep_size 1")
    out.add("      - --speculative_algorithm EAGLE3")
    out.add(f"      - --mtbench {MT_BENCH}")
    out.add("      - --concurrency 1")
    if model.custom_code:
        out.add("      - --trust_remote_code", "custom code")
    target = "the NVFP4 target" if model.is_nvfp4 else ""
    _environment(
        out,
        [
            ("HF_LOCAL", "/hf-local", ""),
            ("HF_MODEL_CKPT", "<<global_vars.hf_model>>", target),
            *_tokenizer_variables(request),
        ],
    )
    _slurm(
        out, "task_3", sizing.nodes, request.gpus_per_node, VLLM_CONTAINER, why=_nodes_note(sizing)
    )
    out.lines.pop()  # no blank line at the end
