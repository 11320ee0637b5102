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
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import re2

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.safe_read import ReadPolicy, read_small

hyperscan: Any
try:  # optional: a fast path where the CPU and platform have it
    import hyperscan
except ImportError:  # pragma: no cover - platform dependent
    hyperscan = None

ENGINE_VARIABLE = "EAGLE3_MONITOR_ENGINE"  # "re2" forces the portable engine
MAX_DATABASE_BYTES = 64 << 20
MAX_CACHED_DATABASES = 64
Buffer = bytes | bytearray | memoryview


class Engine(Protocol):
    name: str

    def present(self, chunk: Buffer) -> set[int]: ...

    def positions(self, chunk: Buffer, rules: frozenset[int]) -> list[tuple[int, int]]: ...

    def scan(
        self, chunk: Buffer, watched: frozenset[int]
    ) -> tuple[list[tuple[int, int]], set[int]]: ...


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

    def scan(
        self, chunk: Buffer, watched: frozenset[int]
    ) -> tuple[list[tuple[int, int]], set[int]]:
        """Positions of every rule not watched, and the watched rules present."""
        chunk = bytes(chunk)  # RE2 searches bytes; Hyperscan reads the buffer in place
        present = self.present(chunk)
        wanted = frozenset(present - watched)
        return (self.positions(chunk, wanted) if wanted else []), present & watched

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
    """One database per set of watched rules (the rest report every match, the watched ones
    once per chunk), compiled on first use and kept in memory and in the user's cache
    directory: a scan's few states cost one compile each, once per catalog."""

    name = "hyperscan"

    def __init__(self, patterns: Sequence[str], cache: Path | None = None) -> None:
        self.patterns = list(patterns)
        self.cache = cache
        self._database(frozenset(), None)  # compiles the patterns now, or raises

    def present(self, chunk: Buffer) -> set[int]:
        return self.scan(chunk, frozenset(range(len(self.patterns))))[1]

    def positions(self, chunk: Buffer, rules: frozenset[int]) -> list[tuple[int, int]]:
        return self.scan(chunk, frozenset(), rules)[0]

    def scan(
        self, chunk: Buffer, watched: frozenset[int], only: frozenset[int] | None = None
    ) -> tuple[list[tuple[int, int]], set[int]]:
        """Every match of the rules not watched, and which watched rules occur: one pass."""
        positions: list[tuple[int, int]] = []
        present: set[int] = set()
        append, add = positions.append, present.add

        def on_match(rule: int, _start: int, stop: int, _flags: int, _context: object) -> None:
            if rule in watched:
                add(rule)
            else:
                append((rule, stop - 1 if stop else 0))

        database, scratch = self._database(watched, only)
        database.scan(chunk, match_event_handler=on_match, scratch=scratch)
        return positions, present

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one engine per catalog, few states
    def _database(self, watched: frozenset[int], only: frozenset[int] | None) -> tuple[Any, Any]:
        indices = sorted(only if only is not None else range(len(self.patterns)))
        base = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
        flags = [base | (hyperscan.HS_FLAG_SINGLEMATCH if i in watched else 0) for i in indices]
        expressions = [self.patterns[i].encode() for i in indices]
        database = self._cached(expressions, indices, flags)
        return database, hyperscan.Scratch(database)

    def _cached(self, expressions: list[bytes], ids: list[int], flags: list[int]) -> Any:
        """A compiled database, from the cache directory when an identical one is there."""
        key = hashlib.sha256(repr((expressions, ids, flags, _version())).encode()).hexdigest()
        path = self.cache / f"{key[:32]}.hsdb" if self.cache else None
        if path is not None:
            with contextlib.suppress(UnusableInputError, hyperscan.error):
                inside = ReadPolicy(roots=(path.parent,))  # nothing planted from elsewhere
                blob = read_small(path, MAX_DATABASE_BYTES, inside)
                return hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
        database = hyperscan.Database()
        database.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        if path is not None:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_new(path, hyperscan.dumpb(database))
                _prune(path.parent)
        return database


def _write_new(path: Path, blob: bytes) -> None:
    """Written to a fresh private file (never through a planted symlink), then renamed."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(partial, flags, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(blob)
    partial.replace(path)


def _prune(directory: Path, keep: int = MAX_CACHED_DATABASES) -> None:
    """The newest `keep` databases stay; older catalogs' go."""
    found = sorted(directory.glob("*.hsdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in found[keep:]:
        old.unlink(missing_ok=True)


def _version() -> str:
    return str(getattr(hyperscan, "__version__", "")) + str(getattr(hyperscan, "HS_VERSION", ""))


def default_cache() -> Path | None:
    """Where compiled databases are kept: systemd's $CACHE_DIRECTORY for the service, else
    $XDG_CACHE_HOME/eagle3-monitor (~/.cache/…); None without either."""
    if os.environ.get("CACHE_DIRECTORY"):
        return Path(os.environ["CACHE_DIRECTORY"].split(":")[0]) / "hyperscan"
    base = os.environ.get("XDG_CACHE_HOME") or (
        str(Path.home() / ".cache") if os.environ.get("HOME") else ""
    )
    return Path(base) / "eagle3-monitor" / "hyperscan" if base else None


def best_engine(patterns: Sequence[str], options: Any) -> Engine:
    """Hyperscan when it is installed, the CPU runs it and every pattern compiles; RE2
    otherwise (or when EAGLE3_MONITOR_ENGINE=re2)."""
    if hyperscan is not None and patterns and os.environ.get(ENGINE_VARIABLE, "") != "re2":
        with contextlib.suppress(Exception):  # an unsupported CPU or pattern: RE2
            return HyperscanEngine(patterns, default_cache())
    return Re2Engine(patterns, options)


def line_bounds(buffer: Any, position: int, end: int) -> tuple[int, int]:
    """The line around `position` in buffer[:end]: lines end at `\\n` and at `\\r`."""
    previous = buffer.rfind(b"\n", 0, position)
    previous = max(previous, buffer.rfind(b"\r", max(previous, 0), position))
    following = buffer.find(b"\n", position, end)
    following = end if following < 0 else following
    carriage = buffer.find(b"\r", position, following)
    return previous + 1, following if carriage < 0 else carriage
