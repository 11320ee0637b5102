"""One streaming pass over a log file with every rule at once.

The file is read in large chunks. One RE2 pattern (the alternation of every scanning rule) runs
over each chunk in C and finds the next candidate line; only candidate lines come back to
Python, where a RE2 set tells which rules match and the benign rules get their say. Lines end at
`\\n` and at `\\r` (progress bars redraw with `\\r`); line numbers count `\\n` only, as editors
and `sed -n` do. Memory stays bounded whatever the file size: one chunk, plus the carried-over
partial line (a line longer than MAX_LINE_BYTES is cut there), plus a fixed number of kept hits.
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from io import RawIOBase
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.printable import stripped
from eagle3_monitor.rules.catalog import Catalog, CompiledRule
from eagle3_monitor.rules.model import RuleKind
from eagle3_monitor.safe_read import ReadPolicy, open_checked

CHUNK_BYTES = 8 << 20
MAX_LINE_BYTES = 16 << 20
MAX_TEXT_CHARS = 500
FIRST_HITS_KEPT = 20
LAST_HITS_KEPT = 20
TAIL_LINES = 25
TAIL_BYTES = 64 << 10
KEPT_LINE_BYTES = 16 << 10
MAX_SCAN_SECONDS = 120.0  # per file: a 10 GB log cannot hold a review (or the daemon) for long

_HIDDEN_BY_BENIGN = {RuleKind.ERROR, RuleKind.SYMPTOM, RuleKind.EXCEPTION, RuleKind.TERMINATION}


def clean_text(raw: bytes, limit: int = MAX_TEXT_CHARS) -> str:
    """Printable text of a log line: UTF-8 (bad bytes replaced), no ANSI colours or control
    characters, cut at `limit` characters with an ellipsis."""
    text = stripped(raw[: limit * 4].decode("utf-8", "replace")).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Hit:
    """A line that matched a rule."""

    rule: CompiledRule
    line: int
    text: str
    groups: dict[str, str]


@dataclass
class FileScan:
    """What one pass over one log file found."""

    path: Path
    size: int = 0
    lines: int = 0
    hits: list[Hit] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    tail: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0  # bytes left unread when the scan ran out of time (line numbers after
    # the gap count from where reading resumed)

    def hits_of(self, kind: RuleKind) -> list[Hit]:
        return [hit for hit in self.hits if hit.rule.rule.kind is kind]


class _RuleHits:
    """The first and last hits of one rule: enough for 'earliest error' and 'latest value'."""

    def __init__(self) -> None:
        self.first: list[tuple[int, bytes]] = []
        self.last: deque[tuple[int, bytes]] = deque(maxlen=LAST_HITS_KEPT)
        self.count = 0

    def add(self, line_number: int, line: bytes) -> None:
        self.count += 1
        if len(self.first) < FIRST_HITS_KEPT:
            self.first.append((line_number, line))
        else:
            self.last.append((line_number, line))


class _Scanner:
    """Scans a stream through one reusable buffer: no per-chunk allocation or copying."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.search = catalog.candidate_pattern.search
        self.by_rule: dict[str, _RuleHits] = {}
        self.lines_before = 0
        self.tail = b""
        self.size = 0
        self.skipped = 0  # bytes not read for lack of time

    def scan_stream(self, stream: RawIOBase, deadline: float | None = None) -> None:
        """Read `stream` to the end, scanning complete lines as they arrive. Past `deadline`
        (time.monotonic) the rest is skipped but for its last TAIL_BYTES, so the exit trailer
        and the last errors are still seen (`skipped` says how much was not read)."""
        buffer = bytearray(CHUNK_BYTES + MAX_LINE_BYTES)
        view = memoryview(buffer)
        filled = 0  # bytes of an unfinished line carried over from the last read
        while read := stream.readinto(view[filled : filled + CHUNK_BYTES]):
            if deadline is not None and time.monotonic() > deadline and self._skip_to_tail(stream):
                filled = 0
                continue
            self.size += read
            end = filled + read
            cut = max(buffer.rfind(b"\n", filled, end), buffer.rfind(b"\r", filled, end)) + 1
            if cut == 0:
                if end + CHUNK_BYTES <= len(buffer):
                    filled = end
                    continue
                cut = end  # a line longer than MAX_LINE_BYTES: cut it here
            self._scan(buffer, cut)
            buffer[: end - cut] = view[cut:end]
            filled = end - cut
        if filled:
            self._scan(buffer, filled)
            self.lines_before += 1
        view.release()

    def _skip_to_tail(self, stream: RawIOBase) -> bool:
        """Jump to the last TAIL_BYTES of the file (once); False when already there."""
        if self.skipped or not stream.seekable():
            return False
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        target = max(here, end - TAIL_BYTES)
        stream.seek(target)
        self.skipped = target - here
        self.size += self.skipped
        return True

    def _scan(self, buffer: bytearray | bytes, end: int) -> None:
        search = self.search
        position = counted = 0
        line_number = self.lines_before
        next_newline = -1
        while position < end and (match := search(buffer, position, end)) is not None:
            start = match.start()
            if buffer[start] in b"\r\n":  # an anchored pattern matched the line break before
                start += 1
            if next_newline < start:
                next_newline = buffer.find(b"\n", start, end)
                if next_newline < 0:
                    next_newline = end
            previous_newline = buffer.rfind(b"\n", counted, start)
            line_start = (
                max(previous_newline, buffer.rfind(b"\r", max(previous_newline, 0), start)) + 1
            )
            carriage = buffer.find(b"\r", start, next_newline)
            line_end = next_newline if carriage < 0 else carriage
            line_number += buffer.count(b"\n", counted, start)
            counted = start
            self._classify(bytes(buffer[line_start:line_end]), line_number + 1, start - line_start)
            position = line_end + 1
        self.lines_before = line_number + buffer.count(b"\n", counted, end)
        self.tail = (self.tail + bytes(buffer[max(0, end - TAIL_BYTES) : end]))[-TAIL_BYTES:]

    def _classify(self, line: bytes, line_number: int, match_at: int = 0) -> None:
        rules = self.catalog.matching_rules(line)
        if not rules:
            return
        benign = self.catalog.is_benign(line)
        kept = _excerpt(line, match_at)
        for compiled in rules:
            if benign and compiled.rule.kind in _HIDDEN_BY_BENIGN:
                continue
            self.by_rule.setdefault(compiled.id, _RuleHits()).add(line_number, kept)

    def result(self, path: Path) -> FileScan:
        scan = FileScan(path=path, size=self.size, lines=self.lines_before, skipped=self.skipped)
        for rule_id, kept in self.by_rule.items():
            compiled = self.catalog.by_id[rule_id]
            scan.counts[rule_id] = kept.count
            for line_number, line in [*kept.first, *kept.last]:
                hit = Hit(compiled, line_number, clean_text(line), compiled.groups(line))
                scan.hits.append(hit)
        scan.hits.sort(key=lambda hit: hit.line)
        scan.tail = _tail_lines(self.tail, self.lines_before)
        return scan


def _excerpt(line: bytes, match_at: int) -> bytes:
    """What is kept of a hit line: all of it when short, else KEPT_LINE_BYTES from just before
    where the match starts (a 16 MB line costs 16 KB per kept hit, not 16 MB)."""
    if len(line) <= KEPT_LINE_BYTES:
        return line
    start = max(0, min(match_at - 1024, len(line) - KEPT_LINE_BYTES))
    return line[start : start + KEPT_LINE_BYTES]


def _tail_lines(tail: bytes, total_lines: int) -> list[tuple[int, str]]:
    raw_lines = tail.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    numbered = []
    first_number = total_lines - len(raw_lines) + 1
    for offset, raw in enumerate(raw_lines):
        last_segment = raw.rsplit(b"\r", 1)[-1] if raw.strip(b"\r") else raw
        text = clean_text(last_segment)
        if text:
            numbered.append((first_number + offset, text))
    return numbered[-TAIL_LINES:]


def scan_bytes(data: bytes, path: Path, catalog: Catalog, lines_before: int = 0) -> FileScan:
    """Scan complete lines already in memory (live following); line numbers continue from
    `lines_before`."""
    scanner = _Scanner(catalog)
    scanner.lines_before = lines_before
    scanner.size = len(data)
    scanner._scan(data, len(data))
    return scanner.result(path)


def scan_file(
    path: Path,
    catalog: Catalog,
    policy: ReadPolicy | None = None,
    time_budget: float | None = MAX_SCAN_SECONDS,
) -> FileScan:
    """Scan one log file, opened once and checked on its descriptor (`safe_read`). Raises
    UnusableInputError when it may not or cannot be read (a FIFO, a swapped symlink, outside the
    roots, unreadable by the job's owner)."""
    scanner = _Scanner(catalog)
    with open_checked(path, policy) as opened:
        try:
            deadline = time.monotonic() + time_budget if time_budget is not None else None
            scanner.scan_stream(opened.stream, deadline)
        except OSError as error:
            raise UnusableInputError(f"{path}: cannot read: {error.strerror or error}") from None
    return scanner.result(path)
