"""Review speed and memory against ripgrep, on four kinds of log.

Each mix is a generated log (vLLM/NCCL/trainer output with `\\r` progress bars), kept in
bench/.data/ between runs:

  few-hits       1 GiB, an error line every ~100,000 lines, an OOM at the end
  current        1 GiB, the project's long-standing mix: an error every ~2,000 lines
  one-per-line   256 MiB, every line a rule's own sample line (the worst case for a reviewer)
  long-lines     512 MiB of lines 1-8 MiB long (minified JSON, tensors printed whole)

For each, `rg --no-config -c -f <(eagle3-monitor rules patterns) LOG` and `eagle3-monitor review
--format json LOG` run as child processes, best of --runs (page cache warm), and the ratio of
the two times is compared with its target, as is the review's peak RSS. Targets (issue 13):
ratio <= 1.0 for few-hits, current and long-lines, <= 2.0 for one-per-line; peak RSS <= 100 MB
everywhere. The figures go to bench/results/review.json (the README's table is generated from
it: scripts/bench-table); exit status 1 when a target is missed.

    python bench/review_bench.py [--mix NAME ...] [--scale 1.0] [--runs 3] [--no-results]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results_file import Row, print_row, row, write_results

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
TARGET_RSS_MB = 100.0
RG_OK = (0, 1)  # rg: matches found / none
REVIEW_OK = (0, 1, 3)  # review: pass / failure found / incomplete
ENDING = b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n"

LINES = (
    "INFO 11-26 02:10:44 [loggers.py:123] Engine 000: Avg prompt throughput: {a:.1f} tokens/s, "
    "Avg generation throughput: {b:.1f} tokens/s, Running: 32 reqs, Waiting: 0 reqs, "
    "GPU KV cache usage: 41.2%, Prefix cache hit rate: 12.0%",
    "gpu-a017:2231:{n} [{r}] NCCL INFO Channel {r:02d}/24 :    0   1   2   3   4   5   6   7",
    "{{'loss': {a:.4f}, 'grad_norm': {b:.4f}, 'learning_rate': 9.1e-05, 'epoch': 0.{n}}}",
    'INFO:     10.12.4.17:{n} - "POST /v1/chat/completions HTTP/1.1" 200 OK',
    "[rank{r}]:[W1126 02:02:02.{n} ProcessGroupNCCL.cpp:4115] Warning: using the default "
    "stream for collectives",
    "/usr/local/lib/python3.12/dist-packages/torch/utils/checkpoint.py:86: UserWarning: None of "
    "the inputs have requires_grad=True. Gradients will be None",
    "DEBUG 11-26 02:10:44 [scheduler.py:1102] scheduled {n} tokens for {r} requests",
)
RARE = (
    "[rank3]:[E1126 04:22:10.448 ProcessGroupNCCL.cpp:629] [Rank 3] Watchdog caught collective "
    "operation timeout: WorkNCCL(SeqNum=1043, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, "
    "Timeout(ms)=600000) ran for 600081 milliseconds before timing out.",
    "Traceback (most recent call last):",
    "ValueError: something went wrong in a worker",
    "srun: error: gpu-a017: task 1: Exited with exit code 143",
)


@dataclass(frozen=True)
class Mix:
    name: str
    size_mb: int
    target_ratio: float
    what: str
    block: Callable[[random.Random, int], bytes]


def progress(rng: random.Random) -> str:
    total = rng.randint(100, 5000)
    frames = [
        f"Processed prompts: {step:3d}%|{'#' * (step // 10):<10}| {total * step // 100}/{total}"
        for step in range(0, 101, 10)
    ]
    return "\r".join(frames)


def ordinary(rng: random.Random) -> str:
    return rng.choice(LINES).format(
        a=rng.uniform(0, 9000), b=rng.uniform(0, 9000), n=rng.randint(0, 99999), r=rng.randint(0, 7)
    )


def mixed_block(error_rate: float) -> Callable[[random.Random, int], bytes]:
    def block(rng: random.Random, size: int) -> bytes:
        lines: list[str] = []
        written = 0
        while written < size:
            roll = rng.random()
            if roll < error_rate:
                line = rng.choice(RARE)
            elif roll < 0.08:
                line = progress(rng)
            else:
                line = ordinary(rng)
            lines.append(line)
            written += len(line) + 1
        return ("\n".join(lines) + "\n").encode()

    return block


def sample_lines() -> list[str]:
    """Every rule's own `match` samples: lines each of which some rule matches."""
    from eagle3_monitor.rules.catalog import load_catalog  # noqa: PLC0415

    return [line for rule in load_catalog().rules for line in rule.rule.samples.match]


def one_per_line_block(rng: random.Random, size: int) -> bytes:
    samples = sample_lines()
    lines: list[str] = []
    written = 0
    while written < size:
        line = rng.choice(samples)
        lines.append(line)
        written += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def long_lines_block(rng: random.Random, size: int) -> bytes:
    """Lines of 1-8 MiB: mostly a printed tensor, now and then with a warning inside."""
    parts: list[bytes] = []
    written = 0
    while written < size:
        length = rng.randint(1 << 20, 8 << 20)
        cell = b"%.4f, " % rng.uniform(-1, 1)
        line = bytearray(cell * (length // len(cell)))
        if rng.random() < 0.05:
            at = rng.randrange(len(line))
            line[at:at] = ordinary(rng).encode()
        parts.append(bytes(line) + b"\n")
        written += len(line) + 1
    return b"".join(parts)


MIXES = (
    Mix("few-hits", 1024, 1.0, "an error line every ~100,000 lines", mixed_block(0.00001)),
    Mix("current", 1024, 1.0, "an error line every ~2,000 lines", mixed_block(0.0005)),
    Mix("one-per-line", 256, 2.0, "every line matches a rule", one_per_line_block),
    Mix("long-lines", 512, 1.0, "lines of 1-8 MiB", long_lines_block),
)


def generate(mix: Mix, size_mb: int) -> Path:
    path = DATA / f"{mix.name}-{size_mb}mb.log"
    if path.exists() and path.stat().st_size >= size_mb << 20:
        return path
    rng = random.Random(42)
    blocks = [mix.block(rng, 4 << 20) for _ in range(8)]
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        written = 0
        while written < size_mb << 20:
            chunk = rng.choice(blocks)
            out.write(chunk)
            written += len(chunk)
        out.write(ENDING)
        out.write(b"job exited with code 1\n")
    partial.replace(path)
    return path


def eagle3_monitor() -> list[str]:
    script = Path(sys.executable).parent / "eagle3-monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "eagle3_monitor"]


def timed(command: list[str], ok: tuple[int, ...]) -> tuple[float, float, str]:
    """Wall time, peak RSS (MB) of exactly this child, and its stdout. A failure stops the run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in ok:
            sys.exit(f"review_bench: {command[0]} failed ({code}): {err.read().decode()[:500]}")
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


@dataclass(frozen=True)
class Measured:
    mix: Mix
    size_mb: int
    rg_seconds: float
    review_seconds: float
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.review_seconds / self.rg_seconds

    def rows(self) -> list[Row]:
        label = f"{self.mix.name} ({self.size_mb} MiB, {self.mix.what})"
        ratio = f"{self.ratio:.2f} (rg {self.rg_seconds:.2f} s, review {self.review_seconds:.2f} s)"
        target_ratio = self.mix.target_ratio
        return [
            row(f"{label}: review / rg -c -f", ratio, f"<= {target_ratio:g}",
                self.ratio <= target_ratio),
            row(f"{label}: peak RSS", f"{self.peak_mb:.0f} MB", f"<= {TARGET_RSS_MB:g} MB",
                self.peak_mb <= TARGET_RSS_MB),
        ]  # fmt: skip


def measure(mix: Mix, size_mb: int, patterns: Path, runs: int) -> Measured:
    log = generate(mix, size_mb)
    rg = ["rg", "--no-config", "-c", "-f", str(patterns), str(log)]
    ours = [*eagle3_monitor(), "review", "--format", "json", str(log)]
    timed(rg, RG_OK)  # warm the page cache
    timed(ours, REVIEW_OK)  # and the compiled-rules cache
    rg_times, our_times, peaks = [], [], []
    for _ in range(runs):
        rg_times.append(timed(rg, RG_OK)[0])
        seconds, peak, output = timed(ours, REVIEW_OK)
        our_times.append(seconds)
        peaks.append(peak)
    if '"gpu_oom"' not in output:
        sys.exit(f"review_bench: the review of {log.name} missed the OOM at its end")
    return Measured(mix, size_mb, min(rg_times), min(our_times), max(peaks))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mix", action="append", choices=[mix.name for mix in MIXES])
    parser.add_argument("--scale", type=float, default=1.0, help="Log sizes times this.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-results", action="store_true", help="Do not write the results file.")
    args = parser.parse_args()
    if shutil.which("rg") is None:
        sys.exit("review_bench: ripgrep (rg) is not installed; run scripts/ensure-ripgrep")

    DATA.mkdir(exist_ok=True)
    patterns = DATA / "patterns.txt"
    listed = subprocess.run([*eagle3_monitor(), "rules", "patterns"], capture_output=True,
                            text=True, check=True)  # fmt: skip
    patterns.write_text(listed.stdout)
    count = len(listed.stdout.splitlines())
    print(f"{count} patterns; best of {args.runs} runs each, page cache warm")
    rows: list[Row] = []
    for mix in (m for m in MIXES if not args.mix or m.name in args.mix):
        size = max(1, round(mix.size_mb * args.scale))
        measured = measure(mix, size, patterns, args.runs)
        for found in measured.rows():
            rows.append(found)
            print_row(found)
    if not args.no_results and not args.mix and args.scale == 1.0:
        write_results("review", f"python bench/review_bench.py --runs {args.runs}", rows)
    return 0 if all(found["met"] for found in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
