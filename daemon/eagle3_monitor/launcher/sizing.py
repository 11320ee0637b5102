"""How many GPUs a model needs to serve: its weights (parameter count x bytes per parameter,
or the safetensors index's total size) against the GPUs' memory, leaving room for the KV cache.

The serving engines take 90% of each GPU (vLLM's gpu_memory_utilization); of that, the weights
may fill at most WEIGHT_SHARE of the GPU so that the KV cache and activations keep the rest.
Tensor parallelism must divide the attention heads; a model too big for one node spreads over
nodes (pipeline parallelism across them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from eagle3_monitor.lint.model_config import ModelFacts

WEIGHT_SHARE = 0.8
_BYTES_PER_PARAMETER = {
    "nvfp4": 0.5625,  # 4-bit values plus an FP8 scale per 16
    "mxfp4": 0.53125,  # 4-bit values plus an 8-bit scale per 32
    "fp8": 1.0,
    "float32": 4.0,
}


@dataclass(frozen=True)
class Sizing:
    parameters: int | None  # estimated from the config; None when it says too little
    weight_gb: float
    weights_from: str  # how weight_gb was found
    tensor_parallel: int
    nodes: int
    gpus_per_node: int
    gpu_memory_gb: float
    smallest_tp: int  # the fewest GPUs that hold the weights

    @property
    def pipeline_parallel(self) -> int:
        return self.nodes

    def explanation(self) -> str:
        """One sentence for the YAML's header."""
        share = self.weight_gb / (self.tensor_parallel * self.nodes * self.gpu_memory_gb)
        where = (
            f"{self.nodes} nodes × {self.gpus_per_node} GPUs"
            if self.nodes > 1
            else f"{self.tensor_parallel} × {self.gpu_memory_gb:g} GB GPUs"
        )
        return (
            f"~{self.weight_gb:,.0f} GB of weights ({self.weights_from}) on {where}: "
            f"{share:.0%} of the memory, the rest for the KV cache"
        )


def bytes_per_parameter(model: ModelFacts) -> float:
    if model.quantization in _BYTES_PER_PARAMETER:
        return _BYTES_PER_PARAMETER[model.quantization]
    return _BYTES_PER_PARAMETER.get(model.dtype, 2.0)


def size_for(
    model: ModelFacts, gpus_per_node: int, gpu_memory_gb: float, nodes: int | None
) -> Sizing:
    """TP and nodes for serving `model`; `nodes` forces the node count."""
    parameters = estimate_parameters(model)
    if model.weight_bytes:
        weight_gb, source = model.weight_bytes / 1e9, "model.safetensors.index.json"
    elif parameters:
        per = bytes_per_parameter(model)
        weight_gb = parameters * per / 1e9
        source = f"{parameters / 1e9:,.1f}B parameters × {per:g} byte{'' if per == 1 else 's'}"
    else:
        raise ValueError("the config has no hidden_size/num_hidden_layers/num_attention_heads")
    per_gpu = gpu_memory_gb * WEIGHT_SHARE
    heads = model.attention.heads if model.attention else 1
    fitting = _valid_tps(gpus_per_node, heads)
    smallest = next((tp for tp in fitting if weight_gb <= tp * per_gpu), fitting[-1])
    tp = fitting[-1]  # the whole node serves: one server per job, so idle GPUs are waste
    needed_nodes = max(1, math.ceil(weight_gb / (tp * per_gpu)))
    return Sizing(
        parameters=parameters,
        weight_gb=weight_gb,
        weights_from=source,
        tensor_parallel=tp,
        nodes=nodes or needed_nodes,
        gpus_per_node=gpus_per_node,
        gpu_memory_gb=gpu_memory_gb,
        smallest_tp=smallest,
    )


def _valid_tps(gpus_per_node: int, heads: int) -> list[int]:
    """GPU counts up to the node's that divide the attention heads, smallest first."""
    return [tp for tp in range(1, gpus_per_node + 1) if heads % tp == 0 and _power_of_two(tp)] or [
        1
    ]


def _power_of_two(value: int) -> bool:
    return value & (value - 1) == 0


def estimate_parameters(model: ModelFacts) -> int | None:
    """Parameters of the text model from its config: embeddings, attention (GQA or MLA),
    dense MLPs and experts. Vision towers are not counted."""
    hidden, layers, attention = model.hidden_size, model.layers, model.attention
    if hidden is None or layers is None or attention is None:
        return None
    embeddings = (model.vocab_size or 0) * hidden * (1 if model.tied_embeddings else 2)
    per_layer_attention = _attention_parameters(model)
    dense_mlp = 3 * hidden * (model.intermediate_size or 4 * hidden)
    if not model.is_moe:
        return embeddings + layers * (per_layer_attention + dense_mlp)
    experts = model.experts or 0
    expert = 3 * hidden * (model.moe_intermediate_size or model.intermediate_size or 4 * hidden)
    shared_width = model.shared_expert_intermediate_size or model.shared_experts * (
        model.moe_intermediate_size or 0
    )
    moe_mlp = experts * expert + 3 * hidden * shared_width + hidden * experts
    dense_layers = min(model.dense_layers, layers)
    mlps = dense_layers * dense_mlp + (layers - dense_layers) * moe_mlp
    return embeddings + layers * per_layer_attention + mlps


def _attention_parameters(model: ModelFacts) -> int:
    hidden, attention = model.hidden_size or 0, model.attention
    assert attention is not None
    if not attention.is_mla:
        query_output = 2 * hidden * attention.heads * attention.head_dim
        return query_output + 2 * hidden * attention.kv_heads * attention.head_dim
    rank = attention.kv_lora_rank or 0
    head = attention.qk_nope_head_dim + attention.qk_rope_head_dim
    query_width = attention.heads * head
    query = (
        hidden * attention.q_lora_rank + attention.q_lora_rank * query_width
        if attention.q_lora_rank
        else hidden * query_width
    )
    key_value = hidden * (rank + attention.qk_rope_head_dim) + rank * attention.heads * (
        attention.qk_nope_head_dim + attention.v_head_dim
    )
    return query + key_value + attention.heads * attention.v_head_dim * hidden
