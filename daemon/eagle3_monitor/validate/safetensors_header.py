"""Read a .safetensors file's header (8-byte little-endian length, then JSON) without loading
tensors, and check that the tensors it lists fit in the file."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

MAX_HEADER_BYTES = 100 << 20


class SafetensorsError(ValueError):
    """The file is not a usable safetensors file."""


@dataclass(frozen=True)
class SafetensorsSummary:
    tensors: int
    parameters: int
    data_bytes: int


def read_safetensors_summary(path: Path) -> SafetensorsSummary:
    size = path.stat().st_size
    if size == 0:
        raise SafetensorsError("the file is empty (0 bytes)")
    with path.open("rb") as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"the file is {size} bytes, too short for a header")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > min(MAX_HEADER_BYTES, size - 8):
            raise SafetensorsError(f"header length {header_length} does not fit the file")
        header = _parse_header(stream.read(header_length))
    return _summarize(header, size - 8 - header_length)


def _parse_header(raw: bytes) -> dict[str, object]:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SafetensorsError(f"the header is not valid JSON: {error}") from None
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
        if not (isinstance(offsets, list) and len(offsets) == 2 and isinstance(shape, list)):
            raise SafetensorsError(f"tensor {name!r} lacks data_offsets or shape")
        if not 0 <= offsets[0] <= offsets[1] <= data_bytes:
            raise SafetensorsError(f"tensor {name!r} lies outside the file (truncated?)")
        tensors += 1
        count = 1
        for dimension in shape:
            count *= int(dimension)
        parameters += count
    if tensors == 0:
        raise SafetensorsError("the file holds no tensors")
    return SafetensorsSummary(tensors, parameters, data_bytes)
