"""The regex engines behind the one-pass scan: which rules occur in a chunk of log, and where.

Two questions per chunk, so that a rule printed on every line costs nothing per line once a
report has all the early hits of it it keeps:

- `present(chunk)`: which rules occur in it at all (each reported at most once);
- `positions(chunk, rules)`: where those rules match (a byte inside each matching line).

Engines:
- Hyperscan (x86-64 with SSSE3, the `hyperscan` package): one database of every rule compiled
  SINGLEMATCH answers `present` at over a gigabyte per second (chunks without a candidate are
  skipped in its SIMD prefilter); small databases of just the rules asked for answer
  `positions`, compiled on first use and kept.
- RE2 (everywhere; EAGLE3_MONITOR_ENGINE=re2 forces it): a RE2 set over the chunk answers
  `present`, the alternation of the asked rules finds candidate lines and a RE2 set classifies
  each line for `positions`.

The scanner confirms every position with its rule's own RE2 pattern on the line, so both
engines find the same hits (tests/test_engines.py compares them on every fixture).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Sequence
from typing import Any, Protocol

import re2

hyperscan: Any
try:  # optional: a fast path where the CPU and platform have it
    import hyperscan
except ImportError:  # pragma: no cover - platform dependent
    hyperscan = None

ENGINE_VARIABLE = "EAGLE3_MONITOR_ENGINE"  # "re2" forces the portable engine
Buffer = bytes | bytearray | memoryview


class Engine(Protocol):
    name: str

    def present(self, chunk: Buffer) -> set[int]: ...

    def positions(self, chunk: Buffer, rules: frozenset[int]) -> list[tuple[int, int]]: ...


# --------------------------------------------------------------------------------- RE2


class Re2Engine:
    name = "re2"

    def __init__(self, patterns: Sequence[str], options: Any) -> None:
        self.patterns = list(patterns)
        self.options = options
        self.every = _re2_set([f"(?m){pattern}" for pattern in self.patterns], options)

    def present(self, chunk: Buffer) -> set[int]:
        if self.every is None:
            return set()
        return set(self.every.Match(bytes(chunk)) or [])

    def positions(self, chunk: Buffer, rules: frozenset[int]) -> list[tuple[int, int]]:
        search, classify, indices = self._matcher(rules)
        found: list[tuple[int, int]] = []
        end, position = len(chunk), 0
        while position < end and (match := search(chunk, position, end)) is not None:
            start = match.start()
            if chunk[start] in b"\r\n":  # an anchored pattern matched the break before
                start += 1
            line_start, line_end = line_bounds(chunk, start, end)
            for index in classify.Match(bytes(chunk[line_start:line_end])) or []:
                found.append((indices[index], start))
            # Resume at the line's end: a `\r` there starts the next line, and a pattern that
            # begins `(?:^|\r)` must be able to see it.
            position = max(line_end, position + 1)
        return found

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one engine per catalog, few rule sets
    def _matcher(self, rules: frozenset[int]) -> tuple[Any, Any, list[int]]:
        indices = sorted(rules)
        patterns = [self.patterns[i] for i in indices]
        alternation = "(?m)" + "|".join(f"(?:{pattern})" for pattern in patterns)
        search = re2.compile(alternation.encode(), self.options).search
        return search, _re2_set([f"(?m){p}" for p in patterns], self.options), indices


def _re2_set(patterns: Sequence[str], options: Any) -> Any:
    if not patterns:
        return None
    rule_set = re2.Set.SearchSet(options)
    for pattern in patterns:
        rule_set.Add(pattern.encode())
    rule_set.Compile()
    return rule_set


# ---------------------------------------------------------------------------- Hyperscan


class HyperscanEngine:
    name = "hyperscan"

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        single = hyperscan.HS_FLAG_SINGLEMATCH
        self.every = self._compile(range(len(self.patterns)), single)

    def present(self, chunk: Buffer) -> set[int]:
        found: set[int] = set()
        add = found.add

        def on_match(rule: int, _start: int, _stop: int, _flags: int, _context: object) -> None:
            add(rule)

        database, scratch = self.every
        database.scan(chunk, match_event_handler=on_match, scratch=scratch)
        return found

    def positions(self, chunk: Buffer, rules: frozenset[int]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(rule: int, _start: int, stop: int, _flags: int, _context: object) -> None:
            append((rule, max(stop - 1, 0)))

        database, scratch = self._positions_database(rules)
        database.scan(chunk, match_event_handler=on_match, scratch=scratch)
        return found

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one engine per catalog, few rule sets
    def _positions_database(self, rules: frozenset[int]) -> tuple[Any, Any]:
        return self._compile(sorted(rules), 0)

    def _compile(self, indices: Sequence[int] | range, flag: int) -> tuple[Any, Any]:
        base = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY | flag
        database = hyperscan.Database()
        database.compile(
            expressions=[self.patterns[i].encode() for i in indices],
            ids=list(indices),
            elements=len(indices),
            flags=[base] * len(indices),
        )
        return database, hyperscan.Scratch(database)


def best_engine(patterns: Sequence[str], options: Any) -> Engine:
    """Hyperscan when it is installed, the CPU runs it and every pattern compiles; RE2
    otherwise (or when EAGLE3_MONITOR_ENGINE=re2)."""
    if hyperscan is not None and patterns and os.environ.get(ENGINE_VARIABLE, "") != "re2":
        with contextlib.suppress(Exception):  # an unsupported CPU or pattern: RE2
            return HyperscanEngine(patterns)
    return Re2Engine(patterns, options)


def line_bounds(buffer: Any, position: int, end: int) -> tuple[int, int]:
    """The line around `position` in buffer[:end]: lines end at `\\n` and at `\\r`."""
    previous = buffer.rfind(b"\n", 0, position)
    previous = max(previous, buffer.rfind(b"\r", max(previous, 0), position))
    following = buffer.find(b"\n", position, end)
    following = end if following < 0 else following
    carriage = buffer.find(b"\r", position, following)
    return previous + 1, following if carriage < 0 else carriage
