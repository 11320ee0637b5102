"""Config mistakes get a one-line message that says what to change, at file:line:column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from eagle3_monitor import yamlpos
from eagle3_monitor.config import MonitorConfig, load_config, load_config_and_catalog
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.yamlpos import parse_located
from tests.cli_runner import run_cli

LOADERS = [
    pytest.param(getattr(yaml, "CSafeLoader", yaml.SafeLoader), id="libyaml"),
    pytest.param(yaml.SafeLoader, id="pure-python"),
]


@pytest.fixture(params=LOADERS)
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Both parsers PyYAML may use: libyaml's messages differ from the pure-Python ones."""
    monkeypatch.setattr(yamlpos, "_COMPOSER", request.param)
    return request.param


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config_and_catalog(path)
    return str(raised.value)


def test_a_misspelt_key_names_the_key_it_probably_meant(tmp_path: Path) -> None:
    path = write(tmp_path, "watch:\n  users: []\n  lookbak_hours: 2\n")

    assert error_of(path) == (
        f"{path}:3:3: at 'watch.lookbak_hours': unknown key 'lookbak_hours'; "
        "did you mean 'lookback_hours'?"
    )


def test_a_misspelt_section_names_the_section_it_probably_meant(tmp_path: Path) -> None:
    path = write(tmp_path, "slak:\n  mode: bot\nvalidat: {}\n")

    assert error_of(path).splitlines() == [
        f"{path}:1:1: at 'slak': unknown key 'slak'; did you mean 'slack'?",
        f"{path}:3:1: at 'validat': unknown key 'validat'; did you mean 'validate'?",
    ]


def test_an_unknown_key_with_no_near_match_lists_the_keys_there(tmp_path: Path) -> None:
    path = write(tmp_path, "status:\n  colour: red\n")

    assert error_of(path) == (
        f"{path}:2:3: at 'status.colour': unknown key 'colour'; the keys here are: socket, "
        "allowed_users, allowed_groups"
    )


def test_a_wrong_choice_names_the_choices_and_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "daemon:\n  log_level: warn\n  stall_after_minutes: {trainig: 5}\n")

    assert error_of(path).splitlines() == [
        f"{path}:2:14: at 'daemon.log_level': 'warn' is not one of 'debug', 'info', "
        "'warning', 'error'; did you mean 'warning'?",
        f"{path}:3:25: at 'daemon.stall_after_minutes.trainig': 'trainig' is not one of "
        "'default', 'synthesis', 'dump', 'training', 'benchmark'; did you mean 'training'?",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watch:\n  lookback_hours: .inf\n", "must be a number > 0 and ≤ 720 (got .inf)"),
        ("watch:\n  lookback_hours: -.Inf\n", "must be a number > 0 and ≤ 720 (got -.Inf)"),
        ("daemon:\n  poll_interval_seconds: .nan\n", "must be a number ≥ 1 and ≤ 3600 (got .nan)"),
        (
            "daemon:\n  review_workers: 1" + "0" * 40 + "\n",
            f"must be a whole number ≥ 1 and ≤ 16 (got 1{'0' * 40})",
        ),
        (
            "slurm:\n  timeout_seconds: 1" + "0" * 400 + "\n",
            f"must be a number > 0 and ≤ 3600 (got 1{'0' * 400})",
        ),
        ("daemon:\n  review_workers: 2.5\n", "must be a whole number ≥ 1 and ≤ 16 (got 2.5)"),
        (
            "daemon:\n  stall_after_minutes: {dump: .inf}\n",
            "must be a number > 0 and ≤ 10080 (got .inf)",
        ),
        ("review:\n  acceptance_threshold: 0\n", "must be a number > 0 and ≤ 64 (got 0)"),
    ],
    ids=["inf", "minus-inf", "nan", "huge-int", "huge-float", "fraction", "dict-value", "zero"],
)
def test_numbers_out_of_range_name_the_range_and_the_value_as_written(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    error = error_of(path)

    assert error.startswith(f"{path}:2:"), error
    assert error.endswith(message), error
    assert len(error.splitlines()) == 1


def number_fields(model: type[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every numeric field of the schema, by dotted path, with its annotation."""
    found = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += number_fields(annotation, f"{key}.")
        elif annotation in {int, float}:
            found.append((key, info))
    return found


def test_every_numeric_field_has_an_upper_bound_and_refuses_infinity() -> None:
    fields = number_fields(MonitorConfig)
    assert len(fields) >= 10, fields

    for key, info in fields:
        assert any(hasattr(item, "le") or hasattr(item, "lt") for item in info.metadata), key
        section, name = key.rsplit(".", 1)
        data: dict[str, Any] = {}
        cursor = data
        for part in section.split("."):
            cursor = cursor.setdefault(part, {})
        cursor[name] = float("inf")
        with pytest.raises(ValueError, match="finite number"):
            MonitorConfig.model_validate(data)


@pytest.mark.parametrize("command", [["check-config", "--skip-secrets"], ["poll", "--once"]])
def test_an_infinite_lookback_is_one_line_for_check_config_and_poll(
    tmp_path: Path, command: list[str]
) -> None:
    path = write(tmp_path, f"watch:\n  lookback_hours: .inf\nstate:\n  database: {tmp_path}/db\n")

    done = run_cli(*command[:1], "--config", path, *command[1:])

    assert done.status == 2, done
    assert done.stderr == (
        f"eagle3-monitor: error: {path}:2:19: at 'watch.lookback_hours': "
        "must be a number > 0 and ≤ 720 (got .inf)\n"
    )


def test_duplicate_keys_are_refused_naming_both_places(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "watch:\n  lookback_hours: 2\n  users: []\n  lookback_hours: 3\nslack: {}\nslack: {}\n",
    )

    assert error_of(path).splitlines() == [
        f"{path}:4:3: at 'watch.lookback_hours': key 'lookback_hours' is written twice in one "
        "mapping (first at line 2, column 3); keep one",
        f"{path}:6:1: at 'slack': key 'slack' is written twice in one mapping (first at line 5, "
        "column 1); keep one",
    ]


def test_duplicate_keys_are_reported_with_the_schema_errors_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "watch:\n  users: []\n  users: []\n  lookbak_hours: 1\n")

    lines = error_of(path).splitlines()

    assert [line.split(": at ")[0] for line in lines] == [f"{path}:3:3", f"{path}:4:3"]


def test_duplicate_keys_in_a_rule_file_are_refused_there(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        "rules:\n  - id: x\n    regex: a\n    regex: b\n    category: unknown\n"
    )
    path = write(tmp_path, "review:\n  rule_files: [site.yaml]\n")

    assert error_of(path) == (
        f"{tmp_path / 'site.yaml'}:4:5: at 'rules[0].regex': key 'regex' is written twice in "
        "one mapping (first at line 3, column 5); keep one"
    )


SYNTAX_MISTAKES = [
    (
        "over-indented",
        "watch:\n  users: []\n    lookback_hours: 2\n",
        "3:5: bad indentation: this line is indented more than the keys above it (column 3, "
        "line 2); line it up with them, or end the line above with ':' to make it a key with "
        "nested values; line 3 reads '    lookback_hours: 2'",
    ),
    (
        "between-levels",
        "watch:\n    users: []\n  accounts: []\n",
        "3:3: bad indentation: this line is indented between levels (the keys above are at "
        "columns 1 and 5); line it up with one of them; line 3 reads '  accounts: []'",
    ),
    (
        "list-item-among-keys",
        "watch:\n  users: []\n  - alice\n",
        "3:3: a list item ('- ...') where a key was expected: put it under a key that holds a "
        "list, indented below that key; line 3 reads '  - alice'",
    ),
    (
        "colon-in-value",
        "slack:\n  default_mention: team: infra\n",
        "2:24: a value holding ': ' must be quoted: write it in quotes, e.g. key: 'a: b', or put "
        "the nested key on a line of its own; line 2 reads '  default_mention: team: infra'",
    ),
    (
        "key-without-colon",
        "watch:\n  users\n  accounts: []\n",
        "3:11: unexpected ':': is the line above a key missing its ':', or does this value "
        "need quotes?; line 3 reads '  accounts: []'",
    ),
    (
        "tab",
        "watch:\n\tusers: []\n",
        "2:1: a tab character: YAML indents with spaces only; replace the tab with spaces; "
        "line 2 reads '\\tusers: []'",
    ),
    (
        "unclosed-double-quote",
        'slack:\n  default_channel: "#runs\nwatch: {}\n',
        '2:20: the " opened here is never closed: add the closing "; line 2 reads '
        "'  default_channel: \"#runs'",
    ),
    (
        "unclosed-single-quote",
        "slack:\n  default_channel: '#runs\n",
        "2:20: the ' opened here is never closed: add the closing '; line 2 reads "
        "'  default_channel: '#runs'",
    ),
    (
        "unclosed-bracket",
        "watch:\n  users: [alice, bob\n  accounts: []\n",
        "2:10: the '[' opened here is not closed before line 3, column 11: add ']' (and ',' "
        "between items); line 2 reads '  users: [alice, bob'",
    ),
    (
        "duplicate-anchor",
        "watch:\n  users: &team [alice]\n  accounts: &team [gpu]\n",
        "3:13: anchor &team is defined twice (first at line 2, column 10): give this one "
        "another name; line 3 reads '  accounts: &team [gpu]'",
    ),
    (
        "undefined-alias",
        "watch:\n  users: *team\n",
        "2:10: alias *team names no anchor defined above it: define &team first, or quote the "
        "value if '*' is meant literally; line 2 reads '  users: *team'",
    ),
    (
        "backslash-in-double-quotes",
        'watch:\n  job_name_pattern: "^x\\d+$"\n',
        "2:24: unknown escape '\\d' in a double-quoted string: use single quotes for regexes "
        "and paths (backslashes stay as written), or write the backslash twice; line 2 reads "
        "'  job_name_pattern: \"^x\\d+$\"'",
    ),
    (
        "reserved-character",
        "watch:\n  users: @alice\n",
        "2:10: a value cannot start with '@' (reserved in YAML): put the value in quotes, e.g. "
        "'@...'; line 2 reads '  users: @alice'",
    ),
    (
        "two-documents",
        "watch: {}\n---\nslack: {}\n",
        "2:1: a second YAML document ('---'): a config is one document; remove the line; line "
        "2 reads '---'",
    ),
    (
        "control-character",
        "watch:\n  users: [al\x07ice]\n",
        "2:13: a character YAML does not allow (U+0007, a control character?): delete it or "
        "retype the line; line 2 reads '  users: [al\\x07ice]'",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [pytest.param(text, message, id=name) for name, text, message in SYNTAX_MISTAKES],
)
@pytest.mark.usefixtures("composer")
def test_yaml_syntax_errors_say_what_to_change_and_show_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_located(text, "config.yaml")

    assert str(raised.value) == f"config.yaml:{message}"
    assert "<block" not in str(raised.value) and "expected key" not in str(raised.value)


def test_a_syntax_error_reaches_the_user_as_one_line_without_parser_jargon(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "watch:\n  users: []\n    lookback_hours: 2\n")

    done = run_cli("check-config", path)

    assert done.status == 2
    assert done.stderr.startswith(f"eagle3-monitor: error: {path}:3:5: bad indentation")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_missing_rule_file_is_reported_at_the_entry_that_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "review:\n  rule_files:\n    - site.yaml\n    - other.yaml\n")

    lines = error_of(path).splitlines()

    assert [line.split(": at ")[0] for line in lines] == [f"{path}:3:7", f"{path}:4:7"]
    assert lines[0].startswith(f"{path}:3:7: at 'review.rule_files[0]': {tmp_path / 'site.yaml'}")


def test_a_config_that_loads_remembers_where_its_keys_are(tmp_path: Path) -> None:
    path = write(tmp_path, "slack:\n  mode: bot\n  token_file: /nowhere\n")

    config = load_config(path).config

    assert config.where_key(("slack", "token_file")) == f"{path}:3:3"
    assert MonitorConfig().where_key(("slack", "token_file")) is None


def test_messages_name_no_pydantic_internals(tmp_path: Path) -> None:
    path = write(tmp_path, "watch:\n  lookback_hours: .inf\n  lookbak: 1\ndaemon: {log_level: x}\n")

    error = error_of(path).replace(str(path), "config.yaml")

    assert not re.search(r"Input should|Extra inputs|pydantic|\[key\]", error), error


def test_a_missing_token_file_is_reported_at_the_key_that_names_it(tmp_path: Path) -> None:
    token = tmp_path / "slack-token"
    path = write(tmp_path, f"slack:\n  mode: bot\n  token_env: null\n  token_file: {token}\n")

    done = run_cli("check-config", path)

    assert done.status == 2
    assert done.stderr == (
        f"eagle3-monitor: error: {path}:4:3: at 'slack.token_file': no Slack bot token found "
        f"(tried slack.token_file {token}: No such file or directory); set slack.token_file or "
        "slack.token_env\n"
    )


def test_a_token_file_that_is_a_directory_is_one_line_at_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, f"slack:\n  mode: bot\n  token_file: {tmp_path}\n")

    done = run_cli("check-config", path, env={"SLACK_BOT_TOKEN": ""})

    assert done.status == 2 and "internal error" not in done.stderr
    assert done.stderr.startswith(f"eagle3-monitor: error: {path}:3:3: at 'slack.token_file': ")
    assert "Is a directory" in done.stderr and "$SLACK_BOT_TOKEN: not set or empty" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_bot_with_no_token_source_is_reported_at_its_mode(tmp_path: Path) -> None:
    path = write(tmp_path, "slack:\n  default_channel: '#runs'\n  mode: bot\n")

    done = run_cli("check-config", path, env={"SLACK_BOT_TOKEN": ""})

    assert done.stderr.startswith(f"eagle3-monitor: error: {path}:3:3: at 'slack.mode': no Slack")


def test_a_missing_webhook_file_is_reported_at_the_key_that_names_it(tmp_path: Path) -> None:
    hook = tmp_path / "hook-url"
    path = write(tmp_path, f"slack:\n  mode: webhook\n  webhook_url_file: {hook}\n")

    done = run_cli("notify-test", "--config", path)

    assert done.status == 2
    assert done.stderr == (
        f"eagle3-monitor: error: {path}:3:3: at 'slack.webhook_url_file': "
        f"slack.webhook_url_file {hook}: {hook}: No such file or directory\n"
    )


FAILING_RULE = """\
    - id: site-quota
      category: disk_full
      regex: 'Disk quota exceeded'
      summary: 'over quota'
      fix: 'Clean up.'
      samples:
        match: ['write failed: Disk quota exceeded', 'quota hit']
        no_match: ['Disk quota exceeded? no']
"""


def test_failing_rule_samples_in_the_config_are_reported_where_each_sample_is(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "review:\n  rules:\n" + FAILING_RULE)

    done = run_cli("check-config", "--skip-secrets", path)

    assert done.status == 2
    assert done.stderr.splitlines() == [
        f"eagle3-monitor: error: {path}:9:54: at 'review.rules[0].samples.match[1]' "
        "(rule site-quota): sample does not match: 'quota hit'",
        f"eagle3-monitor: error: {path}:10:20: at 'review.rules[0].samples.no_match[0]' "
        "(rule site-quota): sample matches but must not: 'Disk quota exceeded? no'",
    ]


def test_failing_rule_samples_in_a_rule_file_are_reported_in_that_file(tmp_path: Path) -> None:
    rules = tmp_path / "site-rules.yaml"
    rules.write_text("rules:\n" + "".join(line[2:] for line in FAILING_RULE.splitlines(True)))
    path = write(tmp_path, "review:\n  rule_files: [site-rules.yaml]\n")

    done = run_cli("rules", "test", "--config", path)

    assert done.status == 1
    assert done.stdout.splitlines()[:2] == [
        f"FAIL {rules}:8:52: at 'rules[0].samples.match[1]' (rule site-quota): sample does not "
        "match: 'quota hit'",
        f"FAIL {rules}:9:18: at 'rules[0].samples.no_match[0]' (rule site-quota): sample "
        "matches but must not: 'Disk quota exceeded? no'",
    ]


def test_a_config_override_of_a_builtin_rule_is_blamed_for_its_own_samples_only(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "review:\n  rules:\n    - id: cuda-oom\n      priority: 12\n"
        "    - id: nccl-warn\n      samples: {match: ['nothing like it']}\n",
    )

    done = run_cli("check-config", "--skip-secrets", path)

    assert done.stderr == (
        f"eagle3-monitor: error: {path}:6:25: at 'review.rules[1].samples.match[0]' "
        "(rule nccl-warn): sample does not match: 'nothing like it'\n"
    )


def test_check_config_reports_the_secret_and_the_samples_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"slack:\n  mode: bot\n  token_file: {tmp_path / 'none'}\nreview:\n  rules:\n"
        + FAILING_RULE,
    )

    done = run_cli("check-config", path)

    lines = done.stderr.splitlines()
    assert done.status == 2 and len(lines) == 3, lines
    assert lines[0].startswith(f"eagle3-monitor: error: {path}:3:3: at 'slack.token_file'")


def test_a_misspelt_rule_field_and_choice_name_what_was_meant(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "review:\n  rules:\n    - id: site-x\n      regx: 'oops'\n      kind: metrc\n"
        "      category: unknown\n      summary: s\n      fix: f\n"
        "      samples: {match: [oops]}\n",
    )

    assert error_of(path).splitlines() == [
        f"{path}:3:7: at 'review.rules[0].regex': 'regex' is required here",
        f"{path}:4:7: at 'review.rules[0].regx': unknown key 'regx'; did you mean 'regex'?",
        f"{path}:5:13: at 'review.rules[0].kind': 'metrc' is not one of 'error', 'symptom', "
        "'termination', 'exception', 'benign', 'success', 'done', 'exit', 'metric', 'role', "
        "'frame'; did you mean 'metric'?",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "slack: !!python/object x\n",
            "1:8: the tag '!!python/object' is not allowed here: remove it (a config holds "
            "plain values)",
        ),
        ("watch:\n  lookback_hours: !!int x\n", "2:19: 'x' is not a valid !!int: fix the value "
         "or remove the tag"),
        ("[a, b]: x\n", "1:1: a key must be a plain word, not a list or a mapping: write it as "
         "`name: value`"),
    ],
    ids=["python-tag", "bad-int-tag", "list-as-key"],
)  # fmt: skip
def test_values_yaml_cannot_read_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_located(text, "config.yaml")

    assert str(raised.value) == f"config.yaml:{message}"
