"""The training loss history: from trainer_state.json, else from the Trainer's log dicts."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

SPARK = "▁▂▃▄▅▆▇█"
SPARKLINE_WIDTH = 24
_AR_KEY = re.compile(r"(?i)(?:^|_)(?:ar|acceptance(?:_length|_rate)?)$")


@dataclass(frozen=True)
class LossHistory:
    losses: list[float]
    source: Path | str
    training_acceptance: float | None = None

    @property
    def final(self) -> float:
        return self.losses[-1]

    @property
    def finite(self) -> bool:
        return all(math.isfinite(value) for value in self.losses)

    def trend(self) -> str:
        finite = [value for value in self.losses if math.isfinite(value)]
        if len(finite) < 2:
            return "too short to tell"
        quarter = max(1, len(finite) // 4)
        start, end = _mean(finite[:quarter]), _mean(finite[-quarter:])
        if end < start * 0.95:
            return f"decreasing ({start:.3g} → {end:.3g})"
        if end > start * 1.05:
            return f"increasing ({start:.3g} → {end:.3g})"
        return f"flat (~{end:.3g})"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def sparkline(values: list[float], width: int = SPARKLINE_WIDTH) -> str:
    """A compact picture of a series: `▇▆▅▃▂▂▁`; non-finite values show as `!`."""
    if not values:
        return ""
    buckets = _downsample(values, width)
    finite = [value for value in buckets if math.isfinite(value)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high - low or 1.0
    characters = []
    for value in buckets:
        if not math.isfinite(value):
            characters.append("!")
        else:
            characters.append(SPARK[min(len(SPARK) - 1, int((value - low) / span * len(SPARK)))])
    return "".join(characters)


def _downsample(values: list[float], width: int) -> list[float]:
    if len(values) <= width:
        return values
    size = len(values) / width
    buckets = []
    for index in range(width):
        chunk = values[int(index * size) : int((index + 1) * size)] or [values[-1]]
        buckets.append(_mean(chunk) if all(math.isfinite(v) for v in chunk) else math.nan)
    return buckets


def find_trainer_state(training_output: Path) -> Path | None:
    """trainer_state.json of the training run: the top-level one, else the newest checkpoint's."""
    top = training_output / "trainer_state.json"
    if top.is_file():
        return top
    checkpoints = sorted(
        (
            path
            for path in training_output.glob("checkpoint-*/trainer_state.json")
            if path.is_file()
        ),
        key=lambda path: _step_of(path.parent.name),
    )
    return checkpoints[-1] if checkpoints else None


def _step_of(name: str) -> int:
    digits = name.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else -1


def loss_history_from_state(path: Path) -> LossHistory | None:
    """The `loss` values of log_history; None when the file has none. ValueError when unreadable."""
    state = json.loads(path.read_text("utf-8"))
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise ValueError("no log_history list")
    losses = [float(entry["loss"]) for entry in history if _has_number(entry, "loss")]
    acceptance = None
    for entry in history:
        if isinstance(entry, dict):
            for key, value in entry.items():
                if _AR_KEY.search(key) and isinstance(value, int | float):
                    acceptance = float(value)
    return LossHistory(losses, path, acceptance) if losses else None


def _has_number(entry: object, key: str) -> bool:
    if not isinstance(entry, dict):
        return False
    value = entry.get(key)
    return isinstance(value, int | float) and not isinstance(value, bool)
