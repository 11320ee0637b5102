"""Artifact checks per task role. Each takes paths, returns Checks, and never raises on bad
files: a missing directory, truncated JSON or a zero-byte file is a failed check."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import open_checked
from eagle3_monitor.validate.jsonfile import read_json
from eagle3_monitor.validate.model import Check, CheckStatus
from eagle3_monitor.validate.safetensors_header import SafetensorsError, read_safetensors_summary
from eagle3_monitor.validate.training import (
    LossHistory,
    find_trainer_state,
    loss_history_from_state,
    sparkline,
)

MAX_LISTED = 10
MAX_ENTRIES = 1_000_000  # files listed per artifact directory
MAX_CONFIG_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
LAST_LINE_BYTES = 64 << 10
# config.json fields the benchmark engine reads with strict types (huggingface_hub dataclasses).
TYPED_CONFIG_FIELDS: dict[str, tuple[type, ...]] = {
    "use_cache": (bool,),
    "hidden_size": (int,),
    "num_hidden_layers": (int,),
    "num_attention_heads": (int,),
    "vocab_size": (int,),
    "intermediate_size": (int,),
    "max_position_embeddings": (int,),
    "rms_norm_eps": (float, int),
}


@dataclass(frozen=True)
class DataSummary:
    shards: int
    samples: int


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    """The directory's entries, at most MAX_ENTRIES; OSError when it cannot be listed."""
    with os.scandir(directory) as listing:
        return list(itertools.islice(listing, MAX_ENTRIES))


def _unlistable(name: str, directory: Path, error: OSError) -> Check:
    reason = error.strerror or str(error)
    return Check(name, CheckStatus.FAIL, f"{directory} cannot be listed: {reason}", path=directory)


def check_synthesized_data(data_dir: Path) -> tuple[list[Check], DataSummary | None]:
    """task_0: `.jsonl` shards with `.done` markers; samples counted line by line."""
    if not data_dir.is_dir():
        return [
            Check("data_dir", CheckStatus.FAIL, f"{data_dir} does not exist", path=data_dir)
        ], None
    try:
        names = {entry.name for entry in _entries(data_dir)}
    except OSError as error:
        return [_unlistable("data_dir", data_dir, error)], None
    shards = sorted(name for name in names if name.endswith(".jsonl"))
    if not shards:
        detail = f"no .jsonl shards in {data_dir}"
        return [Check("data_shards", CheckStatus.FAIL, detail, 0, data_dir)], DataSummary(0, 0)
    checks = [
        Check("data_shards", CheckStatus.PASS, f"{len(shards)} shards", len(shards), data_dir)
    ]
    unmarked = [s for s in shards if f"{s}.done" not in names and f"{s[:-6]}.done" not in names]
    if unmarked:
        listed = ", ".join(unmarked[:MAX_LISTED]) + (" …" if len(unmarked) > MAX_LISTED else "")
        detail = (
            f"{len(unmarked)} of {len(shards)} shards have no .done marker "
            f"(lost on timeout?): {listed}"
        )
        checks.append(Check("data_done_markers", CheckStatus.WARN, detail, unmarked, data_dir))
    else:
        checks.append(
            Check(
                "data_done_markers",
                CheckStatus.PASS,
                "every shard has a .done marker",
                [],
                data_dir,
            )
        )
    samples, problems = _count_samples(data_dir, shards)
    status = CheckStatus.PASS if samples else CheckStatus.FAIL
    checks.append(Check("data_samples", status, f"{samples} samples", samples, data_dir))
    if problems:
        checks.append(
            Check(
                "data_readable",
                CheckStatus.WARN,
                "; ".join(problems[:MAX_LISTED]),
                problems,
                data_dir,
            )
        )
    return checks, DataSummary(len(shards), samples)


def _count_samples(data_dir: Path, shards: list[str]) -> tuple[int, list[str]]:
    samples, problems = 0, []
    for name in shards:
        try:
            count, last = _count_lines(data_dir / name)
        except UnusableInputError as error:
            problems.append(str(error).replace(f"{data_dir}/", ""))
            continue
        samples += count
        if last and not _is_json(last):
            problems.append(f"{name}: last line is not valid JSON (truncated?)")
    return samples, problems


def _count_lines(path: Path) -> tuple[int, bytes]:
    """Non-blank lines, and the last one (at most LAST_LINE_BYTES of it), read in chunks: a
    shard of one endless line costs a chunk of memory, not the file."""
    count, last, line = 0, b"", b""
    with open_checked(path) as opened:
        while chunk := opened.stream.read(CHUNK_BYTES):
            pieces = chunk.split(b"\n")
            pieces[0] = line + pieces[0]
            for complete in pieces[:-1]:
                if complete.strip():
                    count, last = count + 1, complete[:LAST_LINE_BYTES]
            line = pieces[-1][-LAST_LINE_BYTES:]
    if line.strip():
        count, last = count + 1, line
    return count, last


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def check_hidden_states(
    states_dir: Path, conversations: int | None, min_share: float
) -> list[Check]:
    """task_1: one `.pt` file per conversation."""
    if not states_dir.is_dir():
        return [
            Check(
                "hidden_states_dir",
                CheckStatus.FAIL,
                f"{states_dir} does not exist",
                path=states_dir,
            )
        ]
    try:
        files = _count_pt_files(states_dir)
    except OSError as error:
        return [_unlistable("hidden_states_dir", states_dir, error)]
    count = files.count
    if not count:
        return [
            Check(
                "hidden_states_files",
                CheckStatus.FAIL,
                f"no .pt files in {states_dir}",
                0,
                states_dir,
            )
        ]
    checks = [
        Check(
            "hidden_states_files",
            CheckStatus.PASS,
            f"{count} .pt files",
            count,
            states_dir,
        )
    ]
    if files.empty:
        detail = f"{files.empty} zero-byte .pt files, e.g. {', '.join(files.empty_examples)}"
        checks.append(
            Check("hidden_states_nonempty", CheckStatus.WARN, detail, files.empty, states_dir)
        )
    if conversations:
        share = count / conversations
        status = CheckStatus.PASS if share >= min_share else CheckStatus.WARN
        detail = (
            f"{count} of {conversations} conversations dumped "
            f"({share:.0%}; warn below {min_share:.0%})"
        )
        checks.append(Check("hidden_states_coverage", status, detail, round(share, 4), states_dir))
    else:
        checks.append(
            Check(
                "hidden_states_coverage",
                CheckStatus.SKIP,
                "no data/ samples to compare with",
                None,
                states_dir,
            )
        )
    return checks


@dataclass
class _PtFiles:
    count: int = 0
    empty: int = 0
    empty_examples: list[str] = field(default_factory=list)


def _count_pt_files(directory: Path) -> _PtFiles:
    """How many `.pt` files, and the zero-byte ones (a few named), in one streaming pass: a
    dump of a million conversations costs no list of a million."""
    found = _PtFiles()
    with os.scandir(directory) as listing:
        for entry in itertools.islice(listing, MAX_ENTRIES):
            if not entry.name.endswith(".pt"):
                continue
            found.count += 1
            if _size(entry) == 0:
                found.empty += 1
                if len(found.empty_examples) < 3:
                    found.empty_examples.append(entry.name)
    return found


def _size(entry: os.DirEntry[str]) -> int:
    """The entry's size; 0 for a broken symlink or anything that cannot be looked at."""
    try:
        return entry.stat().st_size
    except OSError:
        return 0


def check_export(export_dir: Path) -> list[Check]:
    """task_2: export/config.json parses with the field types the engine needs, and
    export/model.safetensors holds tensors."""
    return [
        *_check_export_config(export_dir / "config.json"),
        _check_weights(export_dir / "model.safetensors"),
    ]


def _check_export_config(path: Path) -> list[Check]:
    if not path.is_file():
        return [Check("export_config", CheckStatus.FAIL, f"{path} does not exist", path=path)]
    try:
        config = read_json(path, MAX_CONFIG_BYTES)
    except ValueError as error:
        return [Check("export_config", CheckStatus.FAIL, f"{path.name}: {error}", path=path)]
    if not isinstance(config, dict):
        return [
            Check("export_config", CheckStatus.FAIL, f"{path.name} is not a JSON object", path=path)
        ]
    architectures = config.get("architectures")
    checks = [
        Check(
            "export_config", CheckStatus.PASS, f"architectures {architectures}", architectures, path
        )
    ]
    wrong = [
        f"{field}={config[field]!r} (needs {' or '.join(t.__name__ for t in types)})"
        for field, types in TYPED_CONFIG_FIELDS.items()
        if field in config and not _has_type(config[field], types)
    ]
    if wrong:
        detail = "fields the benchmark engine rejects: " + ", ".join(wrong)
        checks.append(Check("export_config_fields", CheckStatus.FAIL, detail, wrong, path))
    else:
        checks.append(
            Check("export_config_fields", CheckStatus.PASS, "field types fit the engine", [], path)
        )
    return checks


def _has_type(value: object, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _check_weights(path: Path) -> Check:
    if not path.is_file():
        return Check("export_weights", CheckStatus.FAIL, f"{path} does not exist", path=path)
    try:
        summary = read_safetensors_summary(path)
    except (OSError, SafetensorsError, OverflowError) as error:
        return Check("export_weights", CheckStatus.FAIL, f"{path.name}: {error}", path=path)
    detail = f"{summary.tensors} tensors, {summary.parameters:,} parameters"
    return Check("export_weights", CheckStatus.PASS, detail, summary.parameters, path)


def check_training_loss(training_output: Path, logged_losses: list[float]) -> list[Check]:
    """task_2: the loss history ends finite; trend and sparkline; training AR if logged."""
    history, problem = _loss_history(training_output, logged_losses)
    if history is None:
        detail = problem or "no loss history (no trainer_state.json, no loss lines in the log)"
        return [Check("training_loss", CheckStatus.WARN if problem else CheckStatus.SKIP, detail)]
    value = {
        "final": history.final if math.isfinite(history.final) else str(history.final),
        "points": len(history.losses),
        "trend": history.trend(),
        "sparkline": sparkline(history.losses),
    }
    points = f"{len(history.losses)} points from {_name(history.source)}"
    shape = f"{value['sparkline']} {history.trend()}, {points}"
    if history.finite:
        checks = [
            Check(
                "training_loss", CheckStatus.PASS, f"final loss {history.final:.4g}; {shape}", value
            )
        ]
    else:
        checks = [
            Check(
                "training_loss", CheckStatus.FAIL, f"loss is not finite (NaN/inf); {shape}", value
            )
        ]
    if problem:
        checks.append(Check("training_state", CheckStatus.WARN, problem))
    if history.training_acceptance is not None:
        detail = f"estimated training acceptance length {history.training_acceptance:.3g}"
        checks.append(
            Check("training_acceptance", CheckStatus.PASS, detail, history.training_acceptance)
        )
    return checks


def _loss_history(
    training_output: Path, logged: list[float]
) -> tuple[LossHistory | None, str | None]:
    state = find_trainer_state(training_output) if training_output.is_dir() else None
    if state is not None:
        try:
            history = loss_history_from_state(state)
        except (OSError, ValueError) as error:
            return (
                LossHistory(logged, "the training log") if logged else None
            ), f"{state}: unreadable ({error})"
        if history is not None:
            return history, None
    return (LossHistory(logged, "the training log") if logged else None), None


def _name(source: Path | str) -> str:
    return source.name if isinstance(source, Path) else source
