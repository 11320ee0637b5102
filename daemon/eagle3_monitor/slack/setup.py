"""The transport the config asks for."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.config import SlackSection
from eagle3_monitor.errors import ConfigError, UnusableInputError
from eagle3_monitor.safe_read import read_small_text
from eagle3_monitor.slack.transport import (
    SECRET_FILE_BYTES,
    BotTransport,
    ConsoleTransport,
    Transport,
    WebhookTransport,
    checked_secret,
    load_token,
)


def make_transport(slack: SlackSection) -> Transport:
    """console (the default), a bot token's Web API, or an incoming webhook."""
    if slack.mode == "bot":
        return BotTransport(load_token(slack.token_file, slack.token_env), slack.base_url)
    if slack.mode == "webhook":
        if not slack.webhook_url_file:
            raise ConfigError("slack.mode is webhook but slack.webhook_url_file is not set")
        source = f"slack.webhook_url_file {slack.webhook_url_file}"
        try:
            text = read_small_text(Path(slack.webhook_url_file).expanduser(), SECRET_FILE_BYTES)
        except UnusableInputError as error:
            raise ConfigError(f"{source}: {error}") from None
        return WebhookTransport(checked_secret(text.strip(), source))
    return ConsoleTransport()
