"""Slack settings: routing, mentions, secrets kept out of the config, notify-test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eagle3_monitor.config import MonitorConfig, load_config
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.slack.messages import finished_message, stalled_message
from tests.cli_runner import run_cli
from tests.slack_server import SlackTestServer

TOKEN = "xoxb-cli-test-token"


@pytest.fixture
def slack() -> Iterator[SlackTestServer]:
    with SlackTestServer(TOKEN, channels=("C-RUNS",)) as server:
        yield server


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_routes_pick_a_channel_by_job_name_or_user() -> None:
    config = MonitorConfig.model_validate(
        {
            "slack": {
                "default_channel": "#runs",
                "routes": [
                    {"job_name": "^.*Qwen3", "channel": "#qwen"},
                    {"user": "alice", "channel": "#alice"},
                ],
                "mentions": {"alice": "U0ALICE"},
                "default_mention": "<!subteam^S0TEAM>",
            }
        }
    )

    assert config.slack.channel_for("acct.Qwen3-8B_EAGLE3_offline_1", "bob") == "#qwen"
    assert config.slack.channel_for("acct.Kimi_EAGLE3_offline_1", "alice") == "#alice"
    assert config.slack.channel_for("acct.Kimi_EAGLE3_offline_1", "bob") == "#runs"
    assert config.slack.mention_for("alice") == "<@U0ALICE>"
    assert config.slack.mention_for("bob") == "<!subteam^S0TEAM>"


def test_a_token_written_in_the_config_is_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, "slack:\n  mode: bot\n  token: xoxb-leaked-123\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert f"{path}:2:3: at 'slack'" in str(raised.value)
    assert "must not be written in the config" in str(raised.value)
    assert "xoxb-leaked-123" not in str(raised.value)


def test_stalled_and_finished_messages_say_what_happened() -> None:
    stalled = stalled_message("task_2", "training", 45, "{'loss': 2.1, 'epoch': 0.5}")
    headline = "task_3 (benchmark) low_acceptance: acceptance length 1.87 < 2.1 <!channel>"
    finished = finished_message(
        "fail", headline, ["24 samples in 4 shards", "24 .pt files"], "█▆▄▂▁"
    )

    assert "no output for 45 min" in stalled.text and stalled.broadcast
    body = finished.blocks[0]["text"]["text"]
    assert body.startswith(":x: *Run failed* — task_3 (benchmark) low_acceptance")
    assert "acceptance length 1.87 &lt; 2.1 &lt;!channel&gt;" in body, "the headline is escaped"
    assert "• 24 .pt files" in body and "`█▆▄▂▁`" in body
    assert finished.broadcast


def test_notify_test_checks_the_token_and_posts(slack: SlackTestServer, tmp_path: Path) -> None:
    token = tmp_path / "slack-token"
    token.write_text(TOKEN + "\n")
    path = config_file(
        tmp_path,
        f"slack:\n  mode: bot\n  base_url: {slack.base_url}\n  token_file: {token}\n  default_channel: C-RUNS\n",
    )

    done = run_cli("notify-test", "--config", path)

    assert done.status == 0, done
    assert "auth.test ok: eagle3-monitor in test" in done.stdout
    [message] = slack.messages("C-RUNS")
    assert "can post here" in message.blocks[0]["text"]["text"]


def test_notify_test_with_a_bad_token_fails_without_printing_it(
    slack: SlackTestServer, tmp_path: Path
) -> None:
    path = config_file(
        tmp_path, f"slack:\n  mode: bot\n  base_url: {slack.base_url}\n  token_env: TEST_TOKEN\n"
    )

    done = run_cli("notify-test", "--config", path, env={"TEST_TOKEN": "xoxb-wrong-secret-99"})

    assert done.status == 1
    assert "invalid_auth" in done.stderr
    assert "xoxb-wrong-secret-99" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_notify_test_without_any_token_is_one_line(tmp_path: Path) -> None:
    path = config_file(tmp_path, "slack:\n  mode: bot\n  token_env: NO_SUCH_TOKEN_VARIABLE\n")

    done = run_cli("notify-test", "--config", path)

    assert done.status == 2
    assert done.stderr == (
        f"eagle3-monitor: error: {path}:3:3: at 'slack.token_env': no Slack bot token found "
        "(tried $NO_SUCH_TOKEN_VARIABLE: not set or empty); set slack.token_file or "
        "slack.token_env\n"
    )
