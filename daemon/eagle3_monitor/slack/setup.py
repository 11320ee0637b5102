"""The transport the config asks for."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.config import MonitorConfig, SlackSection
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


def make_transport(config: MonitorConfig) -> Transport:
    """console (the default), a bot token's Web API, or an incoming webhook. A secret that
    cannot be had is an error at the config entry that names where it should come from."""
    try:
        return _transport(config.slack)
    except ConfigError as error:
        key = _secret_key(config.slack)
        where = config.where_key(("slack", key))
        if where is None:
            raise
        raise ConfigError(f"{where}: at 'slack.{key}': {error}") from None


def _transport(slack: SlackSection) -> Transport:
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
        except OSError as error:  # e.g. a directory
            raise ConfigError(f"{source}: {error.strerror or error}") from None
        return WebhookTransport(checked_secret(text.strip(), source))
    return ConsoleTransport()


def _secret_key(slack: SlackSection) -> str:
    """The key that says where the secret comes from (a default one is not written: `mode`)."""
    if slack.mode == "webhook" and slack.webhook_url_file:
        return "webhook_url_file"
    if slack.mode == "bot" and slack.token_file:
        return "token_file"
    if slack.mode == "bot" and slack.token_env != SlackSection().token_env:
        return "token_env"
    return "mode"
