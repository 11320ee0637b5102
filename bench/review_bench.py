"""Review speed and memory against ripgrep on a large synthetic log.

Generates a realistic log (vLLM/NCCL/trainer output with `\\r` progress bars and rare errors),
then times `rg -c -f <(eagle3-monitor rules patterns) LOG` and `eagle3-monitor review LOG`
(best of --runs each, page cache warm) and prints both times, the ratio and our peak RSS.
Targets: ratio <= 2.0, peak RSS <= 150 MB.

    python bench/review_bench.py [--size-mb 1024] [--runs 3]
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
from pathlib import Path

DATA = Path(__file__).resolve().parent / ".data"
TARGET_RATIO = 2.0
TARGET_RSS_MB = 150
RG_OK = (0, 1)  # rg: matches found / none
REVIEW_OK = (0, 1, 3)  # review: pass / failure found / incomplete

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


def progress(rng: random.Random) -> str:
    total = rng.randint(100, 5000)
    frames = []
    for step in range(0, 101, 10):
        frames.append(
            f"Processed prompts: {step:3d}%|{'#' * (step // 10):<10}| {total * step // 100}/{total}"
        )
    return "\r".join(frames)


def block(rng: random.Random, size: int) -> bytes:
    lines: list[str] = []
    written = 0
    while written < size:
        roll = rng.random()
        if roll < 0.0005:
            line = rng.choice(RARE)
        elif roll < 0.08:
            line = progress(rng)
        else:
            line = rng.choice(LINES).format(
                a=rng.uniform(0, 9000),
                b=rng.uniform(0, 9000),
                n=rng.randint(0, 99999),
                r=rng.randint(0, 7),
            )
        lines.append(line)
        written += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def generate(path: Path, size_mb: int) -> None:
    if path.exists() and path.stat().st_size >= size_mb << 20:
        return
    rng = random.Random(42)
    blocks = [block(rng, 4 << 20) for _ in range(8)]
    with path.open("wb") as out:
        written = 0
        while written < size_mb << 20:
            chunk = rng.choice(blocks)
            out.write(chunk)
            written += len(chunk)
        out.write(b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n")
        out.write(b"job exited with code 1\n")


def eagle3_monitor() -> list[str]:
    script = Path(sys.executable).parent / "eagle3-monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "eagle3_monitor"]


def timed(command: list[str], ok: tuple[int, ...]) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) of exactly this child, and its stdout. A failure stops the run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in ok:
            message = err.read().decode()[:500]
            sys.exit(f"review_bench: {command[0]} failed ({child.returncode}): {message}")
        return elapsed, usage.ru_maxrss, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("rg") is None:
        sys.exit("review_bench: ripgrep (rg) is not installed; run scripts/ensure-ripgrep")

    DATA.mkdir(exist_ok=True)
    log = DATA / f"synthetic-{args.size_mb}mb.log"
    generate(log, args.size_mb)
    patterns = DATA / "patterns.txt"
    patterns.write_text(
        subprocess.run(
            [*eagle3_monitor(), "rules", "patterns"], capture_output=True, text=True, check=True
        ).stdout
    )

    rg = ["rg", "--no-config", "-c", "-f", str(patterns), str(log)]
    ours = [*eagle3_monitor(), "review", "--format", "json", str(log)]
    timed(rg, RG_OK)  # warm the page cache
    rg_times, our_times, peaks = [], [], []
    for _ in range(args.runs):
        seconds, _, _ = timed(rg, RG_OK)
        rg_times.append(seconds)
        seconds, peak, output = timed(ours, REVIEW_OK)
        our_times.append(seconds)
        peaks.append(peak)
    assert '"gpu_oom"' in output, "the review did not find the OOM at the end of the log"

    size_gb = log.stat().st_size / (1 << 30)
    rg_best, ours_best, peak_mb = min(rg_times), min(our_times), max(peaks) / 1024
    ratio = ours_best / rg_best
    pattern_count = len(patterns.read_text().splitlines())
    print(f"log: {log.stat().st_size >> 20} MiB ({size_gb:.2f} GiB), {pattern_count} patterns")
    print(f"rg -c -f patterns:      {rg_best:6.2f} s  ({size_gb / rg_best:.2f} GiB/s)")
    print(f"eagle3-monitor review:  {ours_best:6.2f} s  ({size_gb / ours_best:.2f} GiB/s)")
    print(f"(best of {args.runs} runs each, page cache warm)")
    ratio_verdict, rss_verdict = verdict(ratio, TARGET_RATIO), verdict(peak_mb, TARGET_RSS_MB)
    print(f"ratio (ours / rg):      {ratio:6.2f}   target <= {TARGET_RATIO}  {ratio_verdict}")
    print(f"peak RSS (review):      {peak_mb:6.1f} MB target <= {TARGET_RSS_MB} MB  {rss_verdict}")


def verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


if __name__ == "__main__":
    main()
