"""Read a .safetensors file's header (8-byte little-endian length, then JSON) without loading
tensors, and check that the tensors it lists fit in the file."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import open_checked

MAX_HEADER_BYTES = 100 << 20
MAX_DIMENSIONS = 16
MAX_DIMENSION = 1 << 48


class SafetensorsError(ValueError):
    """The file is not a usable safetensors file."""


@dataclass(frozen=True)
class SafetensorsSummary:
    tensors: int
    parameters: int
    data_bytes: int


def read_safetensors_summary(path: Path) -> SafetensorsSummary:
    try:
        with open_checked(path) as opened:
            size = opened.status.st_size
            if size == 0:
                raise SafetensorsError("the file is empty (0 bytes)")
            prefix = opened.stream.read(8) or b""
            if len(prefix) < 8:
                raise SafetensorsError(f"the file is {size} bytes, too short for a header")
            (header_length,) = struct.unpack("<Q", prefix)
            if header_length > min(MAX_HEADER_BYTES, size - 8):
                raise SafetensorsError(f"header length {header_length} does not fit the file")
            header = _parse_header(opened.stream.read(header_length) or b"")
    except UnusableInputError as error:
        raise SafetensorsError(str(error).removeprefix(f"{path}: ")) from None
    return _summarize(header, size - 8 - header_length)


def _parse_header(raw: bytes) -> dict[str, object]:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SafetensorsError(f"the header is not valid JSON: {error!s:.200}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("the header is not a JSON object")
    return header


def _summarize(header: dict[str, object], data_bytes: int) -> SafetensorsSummary:
    tensors = parameters = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise SafetensorsError(f"tensor {name!r} has no description")
        offsets, shape = entry.get("data_offsets"), entry.get("shape")
        if not (_whole_numbers(offsets) and len(offsets) == 2 and _whole_numbers(shape)):
            raise SafetensorsError(f"tensor {name[:80]!r} lacks whole-number data_offsets or shape")
        if not 0 <= offsets[0] <= offsets[1] <= data_bytes:
            raise SafetensorsError(f"tensor {name[:80]!r} lies outside the file (truncated?)")
        if len(shape) > MAX_DIMENSIONS or any(not 0 <= d <= MAX_DIMENSION for d in shape):
            raise SafetensorsError(f"tensor {name[:80]!r} has an impossible shape")
        tensors += 1
        parameters += math.prod(shape)
    if tensors == 0:
        raise SafetensorsError("the file holds no tensors")
    return SafetensorsSummary(tensors, parameters, data_bytes)


def _whole_numbers(value: Any) -> TypeGuard[list[int]]:
    return isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    )
