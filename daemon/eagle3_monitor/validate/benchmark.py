"""The acceptance length from the benchmark's JSON result files (their layout varies by
version, so any known key at any depth counts: the shallowest is the overall value, deeper
ones under a topic name are per-topic values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eagle3_monitor.validate.jsonfile import as_float, read_json

RESULT_FILES = ("mtbench.json", "acceptance_rate.json", "acceptance_length.json", "results.json")
AR_KEYS = {
    "acceptance_length",
    "mean_acceptance_length",
    "average_acceptance_length",
    "avg_acceptance_length",
    "al",
    "average_al",
    "avg_al",
    "ar",
}
MAX_RESULT_BYTES = 32 << 20
MAX_DEPTH = 16


@dataclass
class BenchmarkResults:
    files: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    acceptance_length: float | None = None
    source: Path | None = None
    per_topic: dict[str, float] = field(default_factory=dict)


def read_benchmark_results(directories: list[Path]) -> BenchmarkResults:
    results = BenchmarkResults()
    for directory in directories:
        for name in RESULT_FILES:
            path = directory / name
            if path.is_file() and path not in results.files:
                results.files.append(path)
                _read_one(path, results)
    return results


def _read_one(path: Path, results: BenchmarkResults) -> None:
    try:
        document = read_json(path, MAX_RESULT_BYTES)
    except ValueError as error:
        results.unreadable.append(f"{path.name}: {error}")
        return
    found = sorted(_acceptance_values(document, ()), key=lambda item: len(item[0]))
    if not found:
        return
    depth = len(found[0][0])
    overall = [value for trail, value in found if len(trail) == depth]
    topics = {
        str(trail[-2]): value for trail, value in found if len(trail) > depth and len(trail) >= 2
    }
    if results.acceptance_length is None or depth == 1:
        results.acceptance_length = overall[-1]
        results.source = path
    results.per_topic.update(topics)


def _acceptance_values(node: Any, trail: tuple[str, ...]) -> list[tuple[tuple[str, ...], float]]:
    found: list[tuple[tuple[str, ...], float]] = []
    if len(trail) > MAX_DEPTH:
        return found
    if isinstance(node, dict):
        ratio = as_float(node.get("ratio"))
        if {"accept", "count", "ratio"} <= set(node) and ratio is not None:
            found.append(((*trail, "ratio"), ratio))
        for key, value in node.items():
            number = as_float(value)
            if str(key).lower() in AR_KEYS and number is not None:
                found.append(((*trail, str(key)), number))
            elif isinstance(value, dict | list):
                found.extend(_acceptance_values(value, (*trail, str(key))))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(_acceptance_values(item, (*trail, str(index))))
    return found
