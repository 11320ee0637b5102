"""The config schema is the one source: of the example config, of docs/config.md, of the
defaults the code uses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from eagle3_monitor.config import MonitorConfig, load_config_and_catalog
from eagle3_monitor.config_doc import (
    EXAMPLE_PATH,
    MARKDOWN_PATH,
    config_markdown,
    entries,
    example_yaml,
)
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import WatchSettings
from eagle3_monitor.review.run import ReviewSettings
from eagle3_monitor.rules.selftest import check_rule_samples
from eagle3_monitor.slurm.sacct import SacctSettings
from eagle3_monitor.yamlpos import load_located
from tests.cli_runner import run_cli

REPO = Path(__file__).resolve().parent.parent
KEYS = [".".join(entry.path) for entry in entries(MonitorConfig)]


def test_the_committed_example_config_is_the_generated_one() -> None:
    assert (REPO / EXAMPLE_PATH).read_text() == example_yaml(), "run: make config-docs"


def test_the_committed_reference_page_is_the_generated_one() -> None:
    assert (REPO / MARKDOWN_PATH).read_text() == config_markdown(), "run: make config-docs"


@pytest.mark.parametrize("key", KEYS)
def test_every_schema_field_is_described(key: str) -> None:
    entry = next(entry for entry in entries(MonitorConfig) if ".".join(entry.path) == key)

    assert len(entry.description) >= 10, f"{key}: give its Field a description"


def test_every_schema_field_is_in_the_example_config_and_the_reference_page() -> None:
    document = load_located(REPO / EXAMPLE_PATH)
    page = config_markdown()

    for entry in entries(MonitorConfig):
        if "[]" in entry.path:  # the fields of list items (routes) are shown by the example
            assert f"| `{'.'.join(entry.path[1:]).replace('.[]', '[]')}` |" in page, entry.path
            continue
        assert entry.path in document.keys, f"{entry.path} missing from the example"
        if len(entry.path) == 1:
            assert f"## `{entry.path[0]}`" in page
        elif entry.section is None:
            assert f"| `{'.'.join(entry.path[1:])}` |" in page, entry.path


def test_the_example_config_shows_the_defaults_except_where_it_says_example() -> None:
    loaded, catalog = load_config_and_catalog(REPO / EXAMPLE_PATH)
    shown = loaded.config.model_dump(by_alias=True)
    defaults = MonitorConfig().model_dump(by_alias=True)

    for entry in entries(MonitorConfig):
        if "[]" in entry.path or entry.section is not None:
            continue
        expected = value_at(defaults, entry.path)
        if entry.example is not None:
            with_example = MonitorConfig.model_validate(nested(entry.path, entry.example))
            expected = value_at(with_example.model_dump(by_alias=True), entry.path)
        assert value_at(shown, entry.path) == expected, entry.path
    assert check_rule_samples(catalog) == []
    assert "site-lustre-eviction" in catalog.by_id and "command-not-found" not in catalog.by_id


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """{'a': {'b': value}} for ('a', 'b')."""
    for part in reversed(path):
        value = {part: value}
    return dict(value)


def value_at(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def test_the_example_config_header_names_commands_that_take_what_it_says() -> None:
    header = (REPO / EXAMPLE_PATH).read_text().split("\n\n", 1)[0]

    assert "eagle3-monitor check-config FILE" in header
    assert run_cli("check-config", REPO / EXAMPLE_PATH).status == 0
    assert run_cli("rules", "test", "--config", REPO / EXAMPLE_PATH).status == 0


def test_config_example_prints_the_example_and_the_reference_page(tmp_path: Path) -> None:
    assert run_cli("config", "example").stdout == example_yaml()
    assert run_cli("config", "example", "--format", "markdown").stdout == config_markdown()

    written = tmp_path / "example.yaml"
    done = run_cli("config", "example", "--output", written)

    assert done.status == 0 and done.stdout == ""
    assert written.read_text() == example_yaml()


class Widgets(BaseModel):
    """A section made up for the test."""

    count: int = Field(default=3, ge=0, le=9, description="How many widgets to frob.")
    colour: str = "red"


class GrownConfig(MonitorConfig):
    widgets: Widgets = Field(default_factory=Widgets, description="Made up for the test.")


def test_a_new_field_is_documented_from_its_schema_alone() -> None:
    text = example_yaml(GrownConfig)
    page = config_markdown(GrownConfig)

    assert "  # How many widgets to frob.\n  # (integer ≥ 0, ≤ 9)\n  count: 3\n" in text
    assert "| `count` | integer ≥ 0, ≤ 9 | `3` | How many widgets to frob. |" in page
    assert "  # (string)\n  colour: red\n" in text
    assert [entry.path for entry in entries(GrownConfig) if not entry.description] == [
        ("widgets", "colour")
    ], "an undescribed field is found by test_every_schema_field_is_described"


def test_the_code_takes_its_defaults_from_the_settings_the_config_makes() -> None:
    defaults = MonitorConfig()

    assert defaults.review_settings() == ReviewSettings()
    assert defaults.sacct_settings() == SacctSettings()
    assert defaults.watch_settings() == WatchSettings(DEFAULT_JOB_NAME_PATTERN)
    assert defaults.watch_settings().lookback == timedelta(hours=defaults.watch.lookback_hours)


@pytest.mark.parametrize(
    "literal",
    [
        '"{experiment}/offline_hidden_states"',
        "DEFAULT_HIDDEN_STATES_MIN_SHARE = 0.9",
        "lookback: timedelta = timedelta(hours=24)",
        "timeout: float = 60.0",
    ],
)
def test_each_default_is_written_once_in_the_code(literal: str) -> None:
    package = REPO / "daemon" / "eagle3_monitor"
    holders = [path.name for path in package.rglob("*.py") if literal in path.read_text()]

    assert len(holders) == 1, holders
    assert "config.py" not in holders


def test_the_config_schema_repeats_none_of_the_codes_defaults() -> None:
    schema = (REPO / "daemon" / "eagle3_monitor" / "config.py").read_text()

    for literal in ("{experiment}/", "0.9", "hours=24"):
        assert literal not in schema, literal
    sacct_timeout = schema.split("timeout_seconds: float = Field(", 1)[1].split(")", 1)[0]
    assert "default=_SACCT.timeout" in sacct_timeout  # not its 60 written again
