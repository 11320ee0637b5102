"""What the target model's config.json (and the files beside it) say about how the pipeline
must treat it: its size, attention, experts, quantisation, tokenizer and custom code."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import read_small_text

_EXPERT_COUNT_KEYS = ("num_experts", "n_routed_experts", "num_local_experts", "moe_num_experts")
_VLM_ARCHITECTURE_HINTS = ("ForConditionalGeneration", "VLForCausalLM", "Vision")
_MAX_LISTED_FILES = 4096


@dataclass(frozen=True)
class Attention:
    heads: int
    kv_heads: int
    head_dim: int
    kv_lora_rank: int | None = None  # MLA (DeepSeek-V3, Kimi-K2): a compressed KV cache
    q_lora_rank: int | None = None
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None


@dataclass(frozen=True)
class ModelFacts:
    path: Path
    architectures: tuple[str, ...]
    model_type: str
    is_vlm: bool
    sliding_window: bool
    custom_code: bool
    experts: int | None
    moe_intermediate_size: int | None
    intermediate_size: int | None
    hidden_size: int | None = None
    layers: int | None = None
    vocab_size: int | None = None
    tied_embeddings: bool = False
    attention: Attention | None = None
    shared_experts: int = 0
    shared_expert_intermediate_size: int | None = None
    dense_layers: int = 0  # leading dense layers of an MoE (first_k_dense_replace)
    dtype: str = "bfloat16"
    quantization: str | None = None  # "nvfp4", "fp8", … from the quantization config
    harmony: bool = False  # the harmony (tiktoken-rs) vocabulary: needs TIKTOKEN_RS_CACHE_DIR
    weight_bytes: int | None = None  # model.safetensors.index.json's total_size

    @property
    def is_moe(self) -> bool:
        return bool(self.experts)

    @property
    def is_mla(self) -> bool:
        return self.attention is not None and self.attention.is_mla

    @property
    def is_nvfp4(self) -> bool:
        return self.quantization == "nvfp4"

    @property
    def directory(self) -> Path:
        return self.path.parent


def read_model_config(path: Path) -> ModelFacts:
    """Facts from a config.json, or a model directory holding one; UnusableInputError (one
    line) when it cannot be read."""
    config_path = path / "config.json" if path.is_dir() else path
    config = _json_object(config_path)
    facts = facts_from(config, config_path)
    return _with_files_beside(facts, config_path.parent)


def _json_object(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(read_small_text(path))
    except ValueError as error:
        raise UnusableInputError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise UnusableInputError(f"{path}: not a JSON object")
    return config


def facts_from(config: dict[str, Any], path: Path) -> ModelFacts:
    raw_text = config.get("text_config")
    text: dict[str, Any] = raw_text if isinstance(raw_text, dict) else {}
    merged = {**config, **text}
    architectures = tuple(str(a) for a in config.get("architectures") or ())
    model_type = str(config.get("model_type") or "")
    return ModelFacts(
        path=path,
        architectures=architectures,
        model_type=model_type,
        is_vlm=_is_vlm(config, architectures, model_type),
        sliding_window=_uses_sliding_window(config) or _uses_sliding_window(text),
        custom_code=bool(config.get("auto_map")),
        experts=next(
            (int(merged[k]) for k in _EXPERT_COUNT_KEYS if _positive_int(merged.get(k))), None
        ),
        moe_intermediate_size=_int_or_none(merged.get("moe_intermediate_size")),
        intermediate_size=_int_or_none(merged.get("intermediate_size")),
        hidden_size=_int_or_none(merged.get("hidden_size")),
        layers=_int_or_none(merged.get("num_hidden_layers")),
        vocab_size=_int_or_none(merged.get("vocab_size")),
        tied_embeddings=merged.get("tie_word_embeddings", model_type.startswith("gemma")) is True,
        attention=_attention(merged),
        shared_experts=_int_or_none(merged.get("n_shared_experts")) or 0,
        shared_expert_intermediate_size=_int_or_none(merged.get("shared_expert_intermediate_size")),
        dense_layers=_int_or_none(merged.get("first_k_dense_replace")) or 0,
        dtype=str(merged.get("torch_dtype") or merged.get("dtype") or "bfloat16"),
        quantization=_quantization(config.get("quantization_config")),
        harmony=model_type == "gpt_oss",
    )


def _attention(config: dict[str, Any]) -> Attention | None:
    heads = _int_or_none(config.get("num_attention_heads"))
    hidden = _int_or_none(config.get("hidden_size"))
    if heads is None or hidden is None:
        return None
    return Attention(
        heads=heads,
        kv_heads=_int_or_none(config.get("num_key_value_heads")) or heads,
        head_dim=_int_or_none(config.get("head_dim")) or hidden // heads,
        kv_lora_rank=_int_or_none(config.get("kv_lora_rank")),
        q_lora_rank=_int_or_none(config.get("q_lora_rank")),
        qk_nope_head_dim=_int_or_none(config.get("qk_nope_head_dim")) or 0,
        qk_rope_head_dim=_int_or_none(config.get("qk_rope_head_dim")) or 0,
        v_head_dim=_int_or_none(config.get("v_head_dim")) or 0,
    )


def _quantization(raw: object) -> str | None:
    """`nvfp4`, `fp8`, … from a quantization_config (ModelOpt writes quant_algo, others
    quant_method)."""
    if not isinstance(raw, dict):
        return None
    nested = raw.get("quantization")
    algorithm = raw.get("quant_algo") or (
        nested.get("quant_algo") if isinstance(nested, dict) else None
    )
    if isinstance(algorithm, str) and algorithm:
        return algorithm.lower()
    method = raw.get("quant_method")
    return method.lower() if isinstance(method, str) and method else None


def _with_files_beside(facts: ModelFacts, directory: Path) -> ModelFacts:
    """What the model directory adds: ModelOpt's hf_quant_config.json, the safetensors index's
    total size. Unreadable extras are ignored: config.json decides."""
    names = _file_names(directory)
    changes: dict[str, Any] = {}
    if facts.quantization is None and "hf_quant_config.json" in names:
        changes["quantization"] = _quantization(_optional_json(directory / "hf_quant_config.json"))
    if "model.safetensors.index.json" in names:
        index = _optional_json(directory / "model.safetensors.index.json")
        metadata = index.get("metadata") if isinstance(index, dict) else None
        total = metadata.get("total_size") if isinstance(metadata, dict) else None
        if _positive_int(total):
            changes["weight_bytes"] = total
    return dataclasses.replace(facts, **changes) if changes else facts


def _file_names(directory: Path) -> set[str]:
    try:
        with os.scandir(directory) as entries:
            return {entry.name for _, entry in zip(range(_MAX_LISTED_FILES), entries, strict=False)}
    except OSError:
        return set()


def _optional_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_small_text(path, 16 << 20))
    except (UnusableInputError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_vlm(config: dict[str, Any], architectures: tuple[str, ...], model_type: str) -> bool:
    if any(
        key in config for key in ("vision_config", "vision_tower", "visual", "mm_projector_type")
    ):
        return True
    if any(hint in name for name in architectures for hint in _VLM_ARCHITECTURE_HINTS):
        return True
    return model_type.endswith("_vl") or "_vl_" in model_type


def _uses_sliding_window(config: dict[str, Any]) -> bool:
    layer_types = config.get("layer_types")
    if isinstance(layer_types, list) and "sliding_attention" in layer_types:
        return True
    window = _int_or_none(config.get("sliding_window"))
    if window is None or config.get("use_sliding_window") is False:
        return False
    return not _window_covers_context(config, window)


def _window_covers_context(config: dict[str, Any], window: int) -> bool:
    """A window as long as the context is no sliding window at all (Qwen2 writes 131072)."""
    context = _int_or_none(config.get("max_position_embeddings"))
    return context is not None and window >= context


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
