"""Transports: the Slack Web API (threads, edits, metadata), an incoming webhook (no threads),
and the console. Errors are sorted into permanent (park, report) and transient (retry later)."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from eagle3_monitor.errors import ConfigError, UnusableInputError
from eagle3_monitor.safe_read import read_small_text
from eagle3_monitor.slack.messages import Message, readable

SECRET_FILE_BYTES = 16 << 10

METADATA_EVENT = "eagle3_monitor_notification"
# Errors that will not go away by retrying: the token or the channel is wrong.
BLOCKING_ERRORS = {
    "invalid_auth",
    "token_revoked",
    "account_inactive",
    "not_authed",
    "token_expired",
}
# A permalink as Slack gives it; anything else (a space, `|`, `>`) could break the mrkdwn link.
_LINK = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9/_.?=&%-]*")
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}
# What went wrong, in a few words a metric can count by (never Slack's own, open-ended codes):
# HTTP 429; HTTP 5xx; no answer; a bad token; a channel it cannot post to; any other refusal.
ERROR_KINDS = ("rate_limited", "server_error", "unreachable", "auth", "channel", "refused")
_SECRETS = re.compile(
    r"(?P<token>xox[a-z]-|xapp-)[^\s'\"]+|(?P<hook>hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"]+"
    r"|(?P<bearer>Bearer\s+)[^\s'\"]+"
)


def redact(text: str) -> str:
    """Remove anything shaped like a Slack token, webhook URL or bearer credential from text
    bound for logs, status or the terminal (exception messages from HTTP libraries included)."""
    return _SECRETS.sub(_redacted, text)


def _redacted(match: re.Match[str]) -> str:
    if match.group("token"):
        return "xox?-…redacted…" if match.group("token").startswith("xox") else "xapp-…redacted…"
    return f"{match.group('hook') or match.group('bearer')}…redacted…"


class DeliveryError(Exception):
    """A message could not be delivered. `permanent`: retrying the same request cannot work;
    `blocking`: nothing will work until the configuration changes (bad token); `kind`: one of
    ERROR_KINDS."""

    def __init__(
        self, message: str, *, permanent: bool, blocking: bool = False, kind: str | None = None
    ) -> None:
        super().__init__(redact(message))
        self.permanent = permanent
        self.blocking = blocking
        self.kind = kind or ("auth" if blocking else "refused" if permanent else "unreachable")


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str | None  # None where the transport has no message ids (webhook)


class Transport(Protocol):
    supports_threads: bool

    def post(
        self, channel: str, message: Message, *, thread_ts: str | None, key: str
    ) -> Posted: ...

    def update(self, channel: str, ts: str, message: Message) -> None: ...

    def find(self, channel: str, thread_ts: str | None, key: str) -> str | None: ...

    def permalink(self, channel: str, ts: str) -> str | None: ...


def load_token(token_file: str | None, token_env: str | None) -> str:
    """The bot token from a file, an environment variable or systemd's credentials directory
    (`LoadCredential=slack-token:...`); never from the config file itself. When none has one,
    the error says why each source was passed over."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    candidates: list[tuple[str, str | None, str]] = []  # source, value, why it has none
    if token_file:
        candidates.append((f"slack.token_file {token_file}", *_read(Path(token_file).expanduser())))
    if token_env:
        candidates.append((f"${token_env}", os.environ.get(token_env), "not set or empty"))
    if credentials:
        candidates.append(
            ("$CREDENTIALS_DIRECTORY/slack-token", *_read(Path(credentials) / "slack-token"))
        )
    for source, value, _ in candidates:
        if value and value.strip():
            return checked_secret(value.strip(), source)
    tried = "; ".join(f"{source}: {why}" for source, _, why in candidates)
    raise ConfigError(
        f"no Slack bot token found (tried {tried or 'no source configured'}); set "
        "slack.token_file or slack.token_env"
    )


def checked_secret(value: str, source: str) -> str:
    """A token or URL as read, refused (naming where it came from, never the value) when it
    holds whitespace or control characters: a pasted newline would otherwise end up in HTTP
    headers and in log lines that redaction cannot see whole."""
    if any(character.isspace() or not character.isprintable() for character in value):
        raise ConfigError(
            f"{source}: the secret holds whitespace or control characters (a stray newline or "
            "paste?); write it on one line, nothing else in the file"
        )
    return value


def _read(path: Path) -> tuple[str | None, str]:
    """A secret file's text, or None and why it could not be read (never its content)."""
    try:
        text = read_small_text(path, SECRET_FILE_BYTES)
    except UnusableInputError as error:
        return None, str(error).removeprefix(f"{path}: ")
    except OSError as error:  # e.g. a directory
        return None, error.strerror or type(error).__name__
    return text, "empty"


class BotTransport:
    """chat.postMessage / chat.update / conversations.replies through slack_sdk's WebClient."""

    supports_threads = True

    def __init__(self, token: str, base_url: str = "https://slack.com/api/", *, timeout: int = 15,
                 retries: int = 2) -> None:  # fmt: skip
        handlers = [
            ConnectionErrorRetryHandler(max_retry_count=retries),
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
        ]
        self.client = WebClient(
            token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers
        )

    def auth_test(self) -> dict[str, Any]:
        return dict(self._call(self.client.auth_test).data)

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        response = self._call(
            self.client.chat_postMessage,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            reply_broadcast=message.broadcast if thread_ts else None,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            unfurl_links=False,
            unfurl_media=False,
        )
        return Posted(str(response["channel"]), str(response["ts"]))

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._call(
            self.client.chat_update,
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
        )

    def find(self, channel: str, thread_ts: str | None, key: str) -> str | None:
        """The ts of a message already carrying `key` in its metadata (a post whose success was
        never recorded), or None when it is not there. A lookup that fails for a while (5xx,
        unreachable) raises DeliveryError: the row waits, it is never posted on a guess.
        Without the history scopes (a permanent refusal): None, i.e. at-least-once."""
        try:
            if thread_ts:
                response = self._call(
                    self.client.conversations_replies,
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                response = self._call(
                    self.client.conversations_history,
                    channel=channel,
                    include_all_metadata=True,
                    limit=200,
                )
        except DeliveryError as error:
            if error.blocking or not error.permanent:
                raise
            return None
        for found in response.get("messages") or []:
            payload = (found.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(found["ts"])
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        """chat.getPermalink: a link to the message; None when Slack will not say (any
        failure: the caller shows the channel and ts instead)."""
        try:
            response = self._call(self.client.chat_getPermalink, channel=channel, message_ts=ts)
        except DeliveryError:
            return None
        link = response.get("permalink")
        return link if isinstance(link, str) and _LINK.fullmatch(link) else None

    @staticmethod
    def _call(method: Any, **arguments: Any) -> Any:
        try:
            return method(**{k: v for k, v in arguments.items() if v is not None})
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response is not None else ""
            status = error.response.status_code if error.response is not None else 0
            if status == 429 or status >= 500:
                raise DeliveryError(f"Slack answered HTTP {status}", permanent=False,
                                    kind=_http_kind(status)) from None  # fmt: skip
            blocking = code in BLOCKING_ERRORS
            raise DeliveryError(
                f"Slack refused: {code or status}", permanent=True, blocking=blocking,
                kind="channel" if code in CHANNEL_ERRORS else None,
            ) from None  # fmt: skip
        except (SlackRequestError, OSError) as error:
            raise DeliveryError(f"Slack unreachable: {error}", permanent=False) from None


def _http_kind(status: int) -> str:
    return "rate_limited" if status == 429 else "server_error"


class WebhookTransport:
    """An incoming webhook: one fixed channel, no threads, no edits, no message ids."""

    supports_threads = False

    def __init__(self, url: str) -> None:
        self.client = WebhookClient(url, timeout=15)

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        try:
            response = self.client.send(text=message.text, blocks=message.blocks)
        except (SlackRequestError, OSError) as error:
            raise DeliveryError(f"webhook unreachable: {error}", permanent=False) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}", permanent=False,
                                kind=_http_kind(response.status_code))  # fmt: skip
        if response.status_code != 200:
            raise DeliveryError(
                f"webhook refused: {response.body}",
                permanent=True,
                blocking=response.status_code in (403, 404),
            )
        return Posted(channel, None)

    def update(self, channel: str, ts: str, message: Message) -> None:
        return None  # a webhook cannot edit; the run's updates are skipped

    def find(self, channel: str, thread_ts: str | None, key: str) -> str | None:
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        return None


class ConsoleTransport:
    """Prints each message as readable text: the default when no Slack is configured."""

    supports_threads = True

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.count = 0

    def post(self, channel: str, message: Message, *, thread_ts: str | None, key: str) -> Posted:
        self.count += 1
        ts = f"console.{self.count:06d}"
        where = f"{channel} thread {thread_ts}" if thread_ts else channel
        self._print(f"[{where}]", message)
        return Posted(channel, ts)

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._print(f"[{channel} update {ts}]", message)

    def find(self, channel: str, thread_ts: str | None, key: str) -> str | None:
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        return None

    def _print(self, header: str, message: Message) -> None:
        body = readable(message)
        self.stream.write(f"{header}\n{body}\n\n")
        self.stream.flush()
