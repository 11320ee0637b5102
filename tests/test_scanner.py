"""The one-pass scanner: line splitting, numbering, chunk boundaries, hostile input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.review import scanner
from eagle3_monitor.review.scanner import clean_text, scan_file
from eagle3_monitor.rules import Catalog

OOM = b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."


def write(tmp_path: Path, data: bytes, name: str = "log.out") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rules_hit(scan: scanner.FileScan) -> list[tuple[str, int]]:
    return [(hit.rule.id, hit.line) for hit in scan.hits]


def test_scan_line_numbers_count_newlines_only(catalog: Catalog, tmp_path: Path) -> None:
    data = b"one\ntwo\r\n 10%|#  | 1/10\r 20%|## | 2/10\r" + OOM + b"\nfour\n"

    scan = scan_file(write(tmp_path, data), catalog)

    assert ("cuda-oom", 3) in rules_hit(scan)
    assert scan.lines == 4


def test_scan_carriage_return_splits_progress_bar_from_the_error(
    catalog: Catalog, tmp_path: Path
) -> None:
    data = b"Map:  45%|####5     | 93/206\r" + OOM + b"\rMap:  46%|####6     | 94/206\n"

    scan = scan_file(write(tmp_path, data), catalog)

    texts = [hit.text for hit in scan.hits if hit.rule.id == "cuda-oom"]
    assert texts == [OOM.decode()]


def test_scan_anchored_rule_matches_after_carriage_return(catalog: Catalog, tmp_path: Path) -> None:
    scan = scan_file(write(tmp_path, b"100%|##########| 5/5\rjob exited with code 3\n"), catalog)

    exits = [hit.groups["code"] for hit in scan.hits if hit.rule.id == "job-exit-trailer"]
    assert exits == ["3"]


def test_scan_traceback_glued_to_a_progress_bar_is_found(catalog: Catalog, tmp_path: Path) -> None:
    data = b" 45%|####5 | 4500/10000 [12:34<15:23]Traceback (most recent call last):\n"

    scan = scan_file(write(tmp_path, data), catalog)

    assert ("python-traceback", 1) in rules_hit(scan)


def test_scan_matches_across_chunk_boundaries(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "CHUNK_BYTES", 7)
    data = b"".join(b"filler line %d\n" % n for n in range(50)) + OOM + b"\n" + b"tail\n"

    scan = scan_file(write(tmp_path, data), catalog)

    assert ("cuda-oom", 51) in rules_hit(scan)
    assert scan.lines == 52
    assert scan.tail[-1] == (52, "tail")


def test_scan_huge_line_is_cut_not_buffered_whole(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "CHUNK_BYTES", 1 << 16)
    monkeypatch.setattr(scanner, "MAX_LINE_BYTES", 1 << 18)
    data = b"x" * (3 << 20) + b"\n" + OOM + b"\n"

    scan = scan_file(write(tmp_path, data), catalog)

    assert ("cuda-oom", 2) in rules_hit(scan)


def test_scan_binary_and_invalid_utf8_are_read_not_fatal(catalog: Catalog, tmp_path: Path) -> None:
    data = bytes(range(256)) * 100 + b"\n\xff\xfe" + OOM + b"\x00\x1b[31m\n"

    scan = scan_file(write(tmp_path, data), catalog)

    [hit] = [hit for hit in scan.hits if hit.rule.id == "cuda-oom"]
    assert hit.text.startswith("\ufffd\ufffdtorch.OutOfMemoryError")
    assert "\x00" not in hit.text and "\x1b" not in hit.text


def test_scan_empty_file_has_no_lines_and_no_hits(catalog: Catalog, tmp_path: Path) -> None:
    scan = scan_file(write(tmp_path, b""), catalog)

    assert (scan.lines, scan.hits, scan.tail) == (0, [], [])


def test_scan_last_line_without_newline_is_scanned(catalog: Catalog, tmp_path: Path) -> None:
    scan = scan_file(write(tmp_path, b"start\n" + OOM), catalog)

    assert ("cuda-oom", 2) in rules_hit(scan)
    assert scan.lines == 2


def test_scan_keeps_first_and_last_hits_of_a_frequent_rule(
    catalog: Catalog, tmp_path: Path
) -> None:
    data = b"".join(b"step %d\n%s\n" % (n, OOM) for n in range(1000))

    path = write(tmp_path, data)
    scan, exact = scan_file(path, catalog), scan_file(path, catalog, exact=True)

    lines = [hit.line for hit in scan.hits if hit.rule.id == "cuda-oom"]
    assert exact.counts["cuda-oom"] == 1000  # `rules test` counts every line
    assert len(lines) == scanner.FIRST_HITS_KEPT + scanner.LAST_HITS_KEPT
    assert (lines[0], lines[-1]) == (2, 2000)
    assert lines[scanner.FIRST_HITS_KEPT] == 2000 - 2 * (scanner.LAST_HITS_KEPT - 1)
    assert [(h.rule.id, h.line) for h in scan.hits] == [(h.rule.id, h.line) for h in exact.hits]


def test_scan_benign_line_hides_error_rules_only(catalog: Catalog, tmp_path: Path) -> None:
    data = (
        b"/x.py:1: UserWarning: CUDA error: an illegal memory access was encountered\n"
        b"UserWarning: Average AL: 2.5\n"
    )

    scan = scan_file(write(tmp_path, data), catalog)

    assert [hit.rule.id for hit in scan.hits] == ["acceptance-length-al"]


def test_scan_fifo_is_refused_without_blocking(catalog: Catalog, tmp_path: Path) -> None:
    fifo = tmp_path / "log.out"
    os.mkfifo(fifo)

    with pytest.raises(UnusableInputError, match="not a regular file"):
        scan_file(fifo, catalog)


def test_scan_missing_file_is_an_unusable_input(catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(UnusableInputError, match="No such file"):
        scan_file(tmp_path / "gone.out", catalog)


def test_clean_text_cuts_long_lines_with_an_ellipsis() -> None:
    text = clean_text(b"a" * 2000, limit=10)

    assert text == "a" * 9 + "…"


@pytest.mark.parametrize(("start", "end"), [(0, 0), (0, 5), (3, 3_000_001), (1, 4_194_304)])
def test_newlines_are_counted_alike_below_and_above_the_vectorised_size(
    start: int, end: int
) -> None:
    data = bytearray(b"ab\ncd\r\n" * 700_000)  # 4.9 MB: several NumPy blocks and a partial one

    assert scanner.count_newlines(data, start, end) == data.count(b"\n", start, end)


def test_a_line_longer_than_the_read_buffer_grows_it_and_keeps_line_numbers(
    catalog: Catalog, tmp_path: Path
) -> None:
    log = tmp_path / "long.log"
    long_line = b"x" * (scanner.CHUNK_BYTES + scanner.CARRY_BYTES + 10)
    log.write_bytes(b"one\n" + long_line + b" " + OOM + b"\nthree\n")

    scan = scan_file(log, catalog)

    assert scan.lines == 3
    assert ("cuda-oom", 2) in rules_hit(scan)
    assert scan.tail[-1] == (3, "three")


def test_a_hit_deep_inside_a_long_line_is_confirmed_and_kept_around_the_match(
    catalog: Catalog, tmp_path: Path
) -> None:
    log = tmp_path / "tensor.log"
    before, after = b"0.1234, " * (9 << 17), b", 0.5678" * (3 << 17)  # 9 MB ... 3 MB
    log.write_bytes(b"first\n" + before + OOM + after + b"\nlast\n")

    scan = scan_file(log, catalog)

    [hit] = [hit for hit in scan.hits if hit.rule.id == "cuda-oom"]
    assert hit.line == 2
    assert hit.text.startswith("…") and "CUDA out of memory" in hit.text  # marked as cut
    assert scan.lines == 3
