"""JSON artifacts read within bounds: a size limit (checked on the open descriptor), any
parse failure (bad syntax, 5,000-digit numbers, nesting deep enough to exhaust the stack) a
ValueError the caller turns into a failed check."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import read_small


def read_json(path: Path, limit: int) -> Any:
    """The parsed document; ValueError (one line) when it cannot be read or parsed."""
    try:
        return json.loads(read_small(path, limit))
    except UnusableInputError as error:
        raise ValueError(str(error).removeprefix(f"{path}: ")) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, int digits limit
        raise ValueError(f"not valid JSON: {error}") from None


def as_float(value: object) -> float | None:
    """A JSON number as a float (a huge integer becomes inf, not OverflowError); None for
    anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
