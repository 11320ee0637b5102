"""What the target model's config.json says about how the pipeline must treat it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError

_EXPERT_COUNT_KEYS = ("num_experts", "n_routed_experts", "num_local_experts", "moe_num_experts")
_VLM_ARCHITECTURE_HINTS = ("ForConditionalGeneration", "VLForCausalLM", "Vision")


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

    @property
    def is_moe(self) -> bool:
        return bool(self.experts)


def read_model_config(path: Path) -> ModelFacts:
    """Facts from a config.json; UnusableInputError (one line) when it cannot be read."""
    try:
        config = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UnusableInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UnusableInputError(f"{path}: cannot read: {error}") from None
    except ValueError as error:
        raise UnusableInputError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise UnusableInputError(f"{path}: not a JSON object")
    return facts_from(config, path)


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
    )


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
