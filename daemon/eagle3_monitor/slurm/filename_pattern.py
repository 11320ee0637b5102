"""The file a job's output went to, from the pattern it was submitted with.

sacct (Slurm 24.05 on) reports `StdOut`/`StdErr` as submitted: `…/sbatch_%x_%j.out`. The
replacement symbols are expanded here as sbatch(1) "FILENAME PATTERN" defines them, and as
Slurm's own `expand_stdio_fields()` (src/common/print_fields.c, 25.11) does it for the batch
script's output (the step named `batch`):

  %%  a "%"                %A  the array's master job id (the job id when not an array)
  %a  the array index      %b  the array index modulo 10
  %j  the job id           %J  the job id (no step id for the batch step)
  %N  the batch host       %n  0 (the first node)      %t  0 (the first task)
  %s  "batch"              %r  the restart count        %u  the user      %x  the job name

A number between `%` and the letter zero-pads a numeric value to that width (at most 10). Any
other letter stays as written (`%q`). A pattern holding a backslash is not expanded at all (its
backslashes are removed). A relative path is under the job's working directory. A symbol whose
value is not known here (%S, a SLUID; %N without a batch host; %u without a user) leaves the
path unknown: None, and the logs are found by listing the task directory instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

NO_ARRAY_INDEX = "4294967294"  # what Slurm prints for %a of a job that is not an array task
MAX_PAD = 10
_SYMBOL = re.compile(r"%(\d*)(.?)", re.DOTALL)
_SYMBOLS = set("AabjJNnrsStux")
_NUMERIC = set("AabjJnrt")


@dataclass(frozen=True)
class JobNaming:
    """What a batch job's output file name can be made of."""

    job_id: str
    name: str
    user: str = ""
    work_dir: str = ""
    array_job_id: str | None = None
    array_index: str | None = None
    batch_host: str | None = None
    restarts: int = 0


def output_path(pattern: str | None, job: JobNaming) -> str | None:
    """The absolute path of the output file `pattern` names for `job`; None when unknown."""
    if not pattern:
        return None
    expanded = expand(pattern, job)
    if expanded is None:
        return None
    if expanded.startswith("/"):
        return expanded
    return str(PurePosixPath(job.work_dir) / expanded) if job.work_dir else None


def expand(pattern: str, job: JobNaming) -> str | None:
    """The pattern's replacement symbols expanded; None when one of them cannot be known."""
    if "\\" in pattern:
        return pattern.replace("\\", "")
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        width, symbol = match.group(1), match.group(2)
        if symbol in ("%", "") and not width:
            return symbol  # "%%" is a "%"; a "%" ending the pattern is dropped, as Slurm does
        if symbol not in _SYMBOLS:
            return match.group(0)  # not a replacement symbol: kept as written
        value = _value(symbol, job)
        if value is None:
            unknown = True
            return ""
        if width and symbol in _NUMERIC:
            return value.zfill(min(int(width), MAX_PAD))
        return value

    expanded = _SYMBOL.sub(replace, pattern)
    return None if unknown else expanded


def _value(symbol: str, job: JobNaming) -> str | None:
    array_index = job.array_index or NO_ARRAY_INDEX
    values: dict[str, str | None] = {
        "A": job.array_job_id or job.job_id,
        "a": array_index,
        "b": str(int(array_index) % 10) if array_index.isdigit() else None,
        "j": job.job_id,
        "J": job.job_id,
        "N": job.batch_host,
        "n": "0",
        "t": "0",
        "s": "batch",
        "r": str(job.restarts),
        "u": job.user or None,
        "x": job.name,
    }
    return values.get(symbol)  # %S, a SLUID, is never known here
