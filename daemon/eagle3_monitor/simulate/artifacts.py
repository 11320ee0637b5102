"""The files each task leaves in the experiment's scratch space, small but in their real formats:
JSONL shards with .done markers, one .pt archive per conversation, the Trainer's
trainer_state.json, an exported config.json with a safetensors model, benchmark results."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

from eagle3_monitor.simulate.logtext import topic_acceptance
from eagle3_monitor.vocabulary import Role

CONVERSATIONS_PER_SHARD = 6
SHARDS = 4
DRAFT_CONFIG = {
    "architectures": ["LlamaForCausalLMEagle3"],
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 256,
    "draft_vocab_size": 128,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-06,
    "use_cache": True,
    "torch_dtype": "bfloat16",
}


def write_artifacts(role: Role, experiment: Path, task_dir: Path, acceptance: float = 2.62) -> None:
    if role is Role.SYNTHESIS:
        write_synthesized_data(experiment / "data")
    elif role is Role.DUMP:
        write_hidden_states(experiment / "offline_hidden_states")
    elif role is Role.TRAINING:
        write_training_outputs(experiment)
    else:
        write_benchmark_results(task_dir, acceptance)


def write_synthesized_data(data: Path, shards: int = SHARDS, marked: bool = True) -> int:
    data.mkdir(parents=True, exist_ok=True)
    conversation = 0
    for shard in range(1, shards + 1):
        name = f"train-{shard:05d}-{shards:05d}.jsonl"
        lines = []
        for _ in range(CONVERSATIONS_PER_SHARD):
            messages = [
                {
                    "role": "user",
                    "content": f"Question {conversation}: explain speculative decoding.",
                },
                {
                    "role": "assistant",
                    "content": "A small draft model proposes tokens; the target verifies them.",
                },
            ]
            lines.append(
                json.dumps(
                    {"conversation_id": f"conv_{conversation:06d}", "conversations": messages}
                )
            )
            conversation += 1
        (data / name).write_text("\n".join(lines) + "\n")
        if marked:
            (data / f"{name}.done").write_text("")
    return conversation


def write_hidden_states(
    states: Path, conversations: int = SHARDS * CONVERSATIONS_PER_SHARD
) -> None:
    """One `.pt` per conversation: a zip archive holding a pickle, as torch.save writes."""
    states.mkdir(parents=True, exist_ok=True)
    for index in range(conversations):
        name = f"conv_{index:06d}"
        payload = {
            "input_ids": list(range(16)),
            "hidden_states": [[0.0] * 8] * 16,
            "conversation_id": name,
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(_entry(f"{name}/data.pkl"), pickle.dumps(payload, protocol=2))
            archive.writestr(_entry(f"{name}/version"), "3\n")
        (states / f"{name}.pt").write_bytes(buffer.getvalue())


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed date, so the same content gives the same bytes."""
    return zipfile.ZipInfo(name, date_time=(2025, 11, 26, 0, 0, 0))


def write_training_outputs(experiment: Path, losses: list[float] | None = None) -> None:
    output = experiment / "eagle3"
    output.mkdir(parents=True, exist_ok=True)
    series = losses if losses is not None else [9.8 * 0.8**step + 1.2 for step in range(30)]
    history: list[dict[str, float | int]] = [
        {
            "loss": loss,
            "grad_norm": 0.5,
            "learning_rate": 1e-4,
            "epoch": (i + 1) / len(series),
            "step": (i + 1) * 10,
        }
        for i, loss in enumerate(series)
    ]
    history.append(
        {"train_runtime": 2781.4, "train_loss": sum(series) / len(series), "step": len(series) * 10}
    )
    state = {"global_step": len(series) * 10, "log_history": history}
    (output / "trainer_state.json").write_text(json.dumps(state, indent=1))
    write_export(experiment / "export")


def write_export(export: Path, config: dict[str, object] | None = None) -> None:
    export.mkdir(parents=True, exist_ok=True)
    (export / "config.json").write_text(json.dumps(config or DRAFT_CONFIG, indent=2))
    write_safetensors(export / "model.safetensors", {"midlayer.mlp.down_proj.weight": (64, 128)})


def write_safetensors(path: Path, tensors: dict[str, tuple[int, ...]]) -> None:
    """A bf16 safetensors file of zeros: 8-byte header length, JSON header, tensor bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors.items():
        size = 2
        for dimension in shape:
            size *= dimension
        header[name] = {
            "dtype": "BF16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(offset))


def write_benchmark_results(task_dir: Path, acceptance: float) -> None:
    per_topic = {
        topic: {"acceptance_length": value} for topic, value in topic_acceptance(acceptance).items()
    }
    results = {"acceptance_length": acceptance, "per_category": per_topic}
    (task_dir / "mtbench.json").write_text(json.dumps(results, indent=2))
    (task_dir / "timing.json").write_text(json.dumps({"ttft_ms": 41.2, "tpot_ms": 7.9}, indent=2))
