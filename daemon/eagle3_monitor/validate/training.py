"""The training loss history: from trainer_state.json, else from the Trainer's log dicts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from eagle3_monitor.validate.jsonfile import as_float, read_json

SPARK = "▁▂▃▄▅▆▇█"
MAX_STATE_BYTES = 64 << 20
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
    """The mean, computed without overflowing for values near ±1e308."""
    return math.fsum(value / len(values) for value in values)


def sparkline(values: list[float], width: int = SPARKLINE_WIDTH) -> str:
    """A compact picture of a series: `▇▆▅▃▂▂▁`; non-finite values show as `!`."""
    if not values:
        return ""
    buckets = _downsample(values, width)
    finite = [value for value in buckets if math.isfinite(value)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high - low  # may overflow to inf for values near ±1e308: then scale each by half
    characters = []
    for value in buckets:
        if not math.isfinite(value):
            characters.append("!")
            continue
        share = (value / 2 - low / 2) / (high / 2 - low / 2) if span else 0.0
        level = int(share * len(SPARK)) if math.isfinite(share) else 0
        characters.append(SPARK[max(0, min(len(SPARK) - 1, level))])
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
    """The `loss` values of log_history (at most MAX_STATE_BYTES read); None when the file has
    none. ValueError when unreadable."""
    state = read_json(path, MAX_STATE_BYTES)
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise ValueError("no log_history list")
    entries = [entry for entry in history if isinstance(entry, dict)]
    losses = [loss for entry in entries if (loss := as_float(entry.get("loss"))) is not None]
    acceptance = None
    for entry in entries:
        for key, value in entry.items():
            number = as_float(value)
            if _AR_KEY.search(str(key)) and number is not None and math.isfinite(number):
                acceptance = number
    return LossHistory(losses, path, acceptance) if losses else None
