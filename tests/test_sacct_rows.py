"""sacct answers parsed once and asked for in lists the kernel accepts: a line seen before gives
the same record, steps never pile up on a cached record, local times convert as `astimezone`
does (DST changes included), and thousands of tracked ids are asked for in several `-j` lists
parsed as one answer."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from eagle3_monitor.slurm import sacct
from eagle3_monitor.slurm.sacct import (
    BASE_FIELDS,
    DELIMITER,
    MAX_ID_LIST_CHARS,
    Completed,
    RowCache,
    SacctBackend,
    parse_sacct,
    parse_time,
)


def line(job_id: str, state: str = "RUNNING", name: str = "a.M_0") -> str:
    values = {"JobID": job_id, "JobIDRaw": job_id.partition(".")[0], "JobName": name,
              "State": state, "ExitCode": "0:0", "Submit": "2026-11-26T05:00:00",
              "Start": "2026-11-26T05:00:01", "End": "Unknown", "Cluster": "c"}  # fmt: skip
    return DELIMITER.join(values.get(field, "") for field in BASE_FIELDS) + "\n"


def test_a_line_seen_before_gives_the_same_record_as_a_fresh_parse() -> None:
    text = line("1") + line("1.batch", name="batch") + line("2", "COMPLETED")
    cache = RowCache()

    first = parse_sacct(text, BASE_FIELDS, cache)
    again = parse_sacct(text, BASE_FIELDS, cache)

    assert again == first == parse_sacct(text, BASE_FIELDS)
    assert [len(record.steps) for record in again] == [1, 0]
    assert again[1] is first[1]  # not parsed again


def test_steps_never_pile_up_on_a_cached_record() -> None:
    cache = RowCache()
    alone = parse_sacct(line("1"), BASE_FIELDS, cache)

    for _ in range(3):
        with_step = parse_sacct(line("1") + line("1.batch", name="batch"), BASE_FIELDS, cache)

    assert [step.name for step in with_step[0].steps] == ["batch"]
    assert alone[0].steps == []


def test_a_changed_line_is_parsed_again() -> None:
    cache = RowCache()
    parse_sacct(line("1"), BASE_FIELDS, cache)

    [ended] = parse_sacct(line("1", "COMPLETED"), BASE_FIELDS, cache)

    assert ended.raw_state == "COMPLETED"


@pytest.fixture(params=["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    sacct._zone_of_hour.cache_clear()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()
    sacct._zone_of_hour.cache_clear()


def test_local_times_convert_as_astimezone_does_through_dst_changes(zone: str) -> None:
    moment, differ = datetime(2026, 1, 1, tzinfo=UTC), []  # only its wall-clock text is used
    while moment < datetime(2027, 1, 1, tzinfo=UTC):
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        fast, exact = parse_time(text), datetime.fromisoformat(text).astimezone()
        assert fast is not None
        if (fast, fast.tzname(), fast.replace(tzinfo=None)) != (
            exact, exact.tzname(), exact.replace(tzinfo=None)
        ):  # fmt: skip
            differ.append(text)
        moment += timedelta(minutes=7, seconds=13)

    assert differ == []


class ManyJobs:
    """sacct -j: each asked job is RUNNING; every command is kept."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], timeout: float) -> Completed:
        if "--version" in command:
            return Completed(0, "slurm 22.05.8\n", "")
        self.commands.append(list(command))
        ids = command[command.index("-j") + 1].split(",")
        return Completed(0, "".join(line(job_id) for job_id in ids), "")


def test_thousands_of_tracked_ids_are_asked_for_in_lists_the_kernel_accepts() -> None:
    slurm = ManyJobs()
    ids = [str(1_000_000 + number) for number in range(20_000)]

    records = SacctBackend(runner=slurm).jobs_by_id(ids)

    lists = [command[command.index("-j") + 1] for command in slurm.commands]
    assert len(lists) > 1 and all(len(ids) <= MAX_ID_LIST_CHARS for ids in lists)
    assert ",".join(lists).split(",") == ids
    assert [record.job_id for record in records] == ids
