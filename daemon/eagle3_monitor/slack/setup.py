"""The transport the config asks for."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.config import SlackSection
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.slack.transport import (
    BotTransport,
    ConsoleTransport,
    Transport,
    WebhookTransport,
    load_token,
)


def make_transport(slack: SlackSection) -> Transport:
    """console (the default), a bot token's Web API, or an incoming webhook."""
    if slack.mode == "bot":
        return BotTransport(load_token(slack.token_file, slack.token_env), slack.base_url)
    if slack.mode == "webhook":
        if not slack.webhook_url_file:
            raise ConfigError("slack.mode is webhook but slack.webhook_url_file is not set")
        try:
            url = Path(slack.webhook_url_file).expanduser().read_text("utf-8").strip()
        except OSError as error:
            raise ConfigError(
                f"slack.webhook_url_file {slack.webhook_url_file}: {error.strerror}"
            ) from None
        return WebhookTransport(url)
    return ConsoleTransport()
