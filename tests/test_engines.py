"""The scan finds the same hits whatever the engine (Hyperscan or RE2) and whether every rule
is followed to the end (`exact`) or a frequent rule is only watched once its first hits are
kept: on every failure fixture, every rule's samples, a synthetic bench-shaped log spanning
several chunks, and generated logs."""

from __future__ import annotations

import dataclasses
import functools
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eagle3_monitor.review import scanner
from eagle3_monitor.review.scanner import FileScan, scan_file
from eagle3_monitor.rules import Catalog
from eagle3_monitor.rules.catalog import re2_options
from eagle3_monitor.rules.engine import ENGINE_VARIABLE, HyperscanEngine, Re2Engine, hyperscan
from tests.failure_cases import FailureCase, load_cases

needs_hyperscan = pytest.mark.skipif(
    hyperscan is None or os.environ.get(ENGINE_VARIABLE) == "re2",
    reason="hyperscan is not installed (or EAGLE3_MONITOR_ENGINE=re2)",
)


@functools.cache
def _variants(catalog_id: int) -> dict[str, Catalog]:
    return {}


def with_engine(catalog: Catalog, name: str) -> Catalog:
    """The catalog with the named engine (built once per catalog and engine)."""
    variants = _variants(id(catalog))
    if name not in variants:
        copy = dataclasses.replace(catalog)  # the same rules, compiled again
        patterns = copy.scan_patterns()
        copy.engine = (
            HyperscanEngine(patterns) if name == "hyperscan" else Re2Engine(patterns, re2_options())
        )
        variants[name] = copy
    return variants[name]


def seen(scan: FileScan) -> tuple[object, ...]:
    hits = sorted(
        (hit.rule.id, hit.line, hit.text, tuple(sorted(hit.groups.items()))) for hit in scan.hits
    )
    return (tuple(hits), scan.lines, tuple(scan.tail))


def assert_same_everywhere(path: Path, catalog: Catalog) -> None:
    engines = ["re2", *(["hyperscan"] if hyperscan is not None else [])]
    results = {
        (name, exact): seen(scan_file(path, with_engine(catalog, name), exact=exact))
        for name in engines
        for exact in (False, True)
    }
    reference = results[("re2", True)]
    for key, result in results.items():
        assert result == reference, key


@pytest.mark.parametrize("case", load_cases(), ids=lambda case: case.id)
def test_every_failure_fixture_is_scanned_alike(
    case: FailureCase, tmp_path: Path, catalog: Catalog
) -> None:
    log = tmp_path / "task.log"
    log.write_text(case.log + case.sbatch_tail)

    assert_same_everywhere(log, catalog)


def test_every_rule_sample_is_scanned_alike(tmp_path: Path, catalog: Catalog) -> None:
    samples = [
        sample
        for compiled in catalog.rules
        for sample in (*compiled.rule.samples.match, *compiled.rule.samples.no_match)
    ]
    log = tmp_path / "samples.log"
    log.write_text("\n".join(samples) + "\n")

    assert_same_everywhere(log, catalog)


def test_a_log_of_many_chunks_with_frequent_and_rare_rules_is_scanned_alike(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "CHUNK_BYTES", 64 << 10)  # many chunks from a small file
    rng = random.Random(7)
    lines = []
    for step in range(20_000):
        roll = rng.random()
        if roll < 0.3:
            lines.append(
                f"{{'loss': {rng.uniform(0, 5):.4f}, 'grad_norm': 0.8, 'epoch': 0.{step}}}"
            )
        elif roll < 0.31:
            lines.append("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.")
        elif roll < 0.32:
            lines.append("Traceback (most recent call last):")
        elif roll < 0.4:
            lines.append("\r".join(f"Processed prompts: {p:3d}%|" for p in range(0, 101, 25)))
        else:
            lines.append(f"INFO step {step}: nothing to see")
    log = tmp_path / "many.log"
    log.write_text("\n".join(lines) + "\njob exited with code 1\n")

    assert_same_everywhere(log, catalog)


POOL = [
    "{'loss': 2.3456, 'grad_norm': 0.9, 'epoch': 0.5}",
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.00 GiB.",
    "Traceback (most recent call last):",
    "ValueError: boom",
    "UserWarning: Average AL: 2.5",
    "Average AL: 3.1",
    "srun: error: gpu-a1: task 0: Exited with exit code 1",
    "job exited with code 0",
    "plain text",
    "",
]


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(POOL), st.sampled_from(["\n", "\r", "\r\n"])),
        min_size=1,
        max_size=400,
    )
)
def test_generated_logs_are_scanned_alike(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory,
                                          pieces: list[tuple[str, str]]) -> None:  # fmt: skip
    log = tmp_path_factory.mktemp("gen") / "gen.log"
    log.write_text("".join(text + end for text, end in pieces))

    assert_same_everywhere(log, catalog)


@needs_hyperscan
def test_the_catalog_picks_hyperscan_where_it_runs(catalog: Catalog) -> None:
    assert catalog.engine.name == "hyperscan"


def _engine_hits(engine: HyperscanEngine | Re2Engine, chunk: bytes) -> object:
    positions, present = engine.scan(chunk, frozenset({0}))
    return sorted(positions), present


CACHE_PATTERNS = [r"CUDA out of memory", r"(?m)^Traceback", r"NCCL (WARN|INFO) .*timeout"]
CACHE_CHUNK = (
    b"x\nTraceback (most recent call last):\nCUDA out of memory. Tried\nNCCL WARN a timeout\n"
)


@needs_hyperscan
def test_compiled_databases_are_kept_and_reused_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "hyperscan"
    first = HyperscanEngine(CACHE_PATTERNS, cache)
    expected = _engine_hits(first, CACHE_CHUNK)
    kept = list(cache.glob("*.hsdb"))
    assert len(kept) == 2  # the all-rules database, and the one with rule 0 watched
    assert all(path.stat().st_mode & 0o077 == 0 for path in kept)

    compiled: list[object] = []
    real = hyperscan.Database

    class Counting(real):  # type: ignore[misc, valid-type]
        def compile(self, **kwargs: object) -> None:
            compiled.append(kwargs)
            super().compile(**kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hyperscan, "Database", Counting)
        again = HyperscanEngine(CACHE_PATTERNS, cache)
        assert _engine_hits(again, CACHE_CHUNK) == expected
    assert compiled == []  # both came from the cache


@needs_hyperscan
def test_a_corrupt_or_symlinked_cache_entry_is_compiled_again(tmp_path: Path) -> None:
    cache = tmp_path / "hyperscan"
    expected = _engine_hits(HyperscanEngine(CACHE_PATTERNS, cache), CACHE_CHUNK)
    entries = sorted(cache.glob("*.hsdb"))
    entries[0].write_bytes(b"not a database")
    secret = tmp_path / "elsewhere.hsdb"
    secret.write_bytes(entries[1].read_bytes())
    entries[1].unlink()
    entries[1].symlink_to(secret)

    again = HyperscanEngine(CACHE_PATTERNS, cache)

    assert _engine_hits(again, CACHE_CHUNK) == expected
    assert all(not path.is_symlink() for path in cache.glob("*.hsdb"))  # both rewritten
    assert entries[0].read_bytes() != b"not a database"


@needs_hyperscan
def test_an_unwritable_cache_only_costs_a_compile(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory should be")
    engine = HyperscanEngine(CACHE_PATTERNS, blocked / "hyperscan")
    assert _engine_hits(engine, CACHE_CHUNK) == _engine_hits(
        HyperscanEngine(CACHE_PATTERNS), CACHE_CHUNK
    )
