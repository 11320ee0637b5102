"""A Slack Web API server for tests, on 127.0.0.1 in a thread. The real slack_sdk WebClient talks
to it (base_url). It checks the Bearer token, enforces the real limits (50 blocks, section text
of 1-3000 characters → invalid_blocks), answers auth.test, chat.postMessage, chat.update,
chat.getPermalink, conversations.replies and conversations.history (with message metadata),
records every accepted message, and fails on request: 429 with Retry-After, 500, a Slack
error, a late answer, or connection refused (the listener closed, then reopened on the same
port)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0  # answer this many seconds late (a slow Slack)


@dataclass
class StoredMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    reply_broadcast: bool
    updates: int = 0
    at: float = 0.0


@dataclass
class SlackState:
    token: str
    channels: set[str]
    messages: list[StoredMessage] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    calls: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: int = 0
    # Called with each message Slack has accepted, before the answer goes back (a fault test
    # kills the client there: Slack has the message, the client never learns its ts).
    after_post: Callable[[StoredMessage], None] | None = None

    def next_ts(self) -> str:
        self.clock += 1
        return f"{1764000000 + self.clock}.{self.clock:06d}"


def _block_problem(blocks: list[dict[str, Any]]) -> str | None:
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed"
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            body = str(text.get("text", ""))
            if block.get("type") == "section" and not 1 <= len(body) <= MAX_SECTION_TEXT:
                return f"must be less than {MAX_SECTION_TEXT + 1} characters"
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._dispatch(parse_qs(urlparse(self.path).query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params: dict[str, Any] = json.loads(body or "{}")
        else:
            params = {k: v[0] for k, v in parse_qs(body).items()}
        params.update({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})
        self._dispatch(params)

    def _webhook(self, params: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            state.calls.append((time.monotonic(), "webhook"))
            queue = state.faults.get("webhook")
            fault = queue.popleft() if queue else None
            if fault is None:
                state.messages.append(StoredMessage("webhook", state.next_ts(), str(params.get("text", "")),
                                                    list(params.get("blocks") or []), None, None, False))  # fmt: skip
        payload = b"ok" if fault is None else (fault.error or "error").encode()
        self.send_response(fault.status if fault else 200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, params: dict[str, Any]) -> None:
        if urlparse(self.path).path.startswith("/hooks/"):
            self._webhook(params)
            return
        params = {
            k: (v[0] if isinstance(v, list) and len(v) == 1 and k != "blocks" else v)
            for k, v in params.items()
        }
        method = urlparse(self.path).path.rsplit("/", 1)[-1]
        state = self.server.state
        with state.lock:
            state.calls.append((time.monotonic(), method))
            queue = state.faults.get(method)
            fault = queue.popleft() if queue else None
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status != 200:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            self._reply(fault.status, {"ok": False, "error": fault.error or "ratelimited"}, headers)
            return
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            self._reply(200, {"ok": False, "error": "invalid_auth"})
            return
        if fault and fault.error:
            self._reply(200, {"ok": False, "error": fault.error})
            return
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            self._reply(200, {"ok": False, "error": "unknown_method"})
            return
        with state.lock:
            self._reply(200, handler(state, params))

    def _reply(
        self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    @staticmethod
    def _api_auth_test(state: SlackState, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "test",
            "user": "eagle3-monitor",
            "bot_id": "B1",
        }

    @staticmethod
    def _blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = params.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    @classmethod
    def _api_chat_postMessage(cls, state: SlackState, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel = str(params.get("channel", ""))
        if channel not in state.channels:
            return {"ok": False, "error": "channel_not_found"}
        blocks = cls._blocks(params)
        problem = _block_problem(blocks)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        metadata = params.get("metadata")
        message = StoredMessage(
            channel=channel,
            ts=state.next_ts(),
            text=str(params.get("text", "")),
            blocks=blocks,
            thread_ts=params.get("thread_ts"),
            metadata=json.loads(metadata) if isinstance(metadata, str) else metadata,
            reply_broadcast=params.get("reply_broadcast") in (True, "true", "1"),
            at=time.monotonic(),
        )
        state.messages.append(message)
        if state.after_post is not None:
            state.after_post(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": {"text": message.text}}

    @classmethod
    def _api_chat_update(cls, state: SlackState, params: dict[str, Any]) -> dict[str, Any]:
        found = [
            m
            for m in state.messages
            if m.channel == params.get("channel") and m.ts == params.get("ts")
        ]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        blocks = cls._blocks(params)
        problem = _block_problem(blocks)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        found[0].text, found[0].blocks = str(params.get("text", "")), blocks
        found[0].updates += 1
        return {"ok": True, "channel": found[0].channel, "ts": found[0].ts}

    @staticmethod
    def _api_chat_getPermalink(state: SlackState, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel, ts = params.get("channel"), params.get("message_ts")
        found = [m for m in state.messages if m.channel == channel and m.ts == ts]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://test.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        if found[0].thread_ts:
            link += f"?thread_ts={found[0].thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    @staticmethod
    def _listing(messages: list[StoredMessage]) -> dict[str, Any]:
        return {
            "ok": True,
            "messages": [
                {
                    "ts": m.ts,
                    "text": m.text,
                    "thread_ts": m.thread_ts,
                    **({"metadata": m.metadata} if m.metadata else {}),
                }
                for m in messages
            ],
            "has_more": False,
        }

    @classmethod
    def _api_conversations_replies(
        cls, state: SlackState, params: dict[str, Any]
    ) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        thread = [
            m for m in state.messages if m.channel == channel and (m.ts == ts or m.thread_ts == ts)
        ]
        return cls._listing(thread)

    @classmethod
    def _api_conversations_history(
        cls, state: SlackState, params: dict[str, Any]
    ) -> dict[str, Any]:
        channel = params.get("channel")
        return cls._listing([m for m in state.messages if m.channel == channel and not m.thread_ts])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: SlackState


class SlackTestServer:
    """`with SlackTestServer(token) as slack:` → slack.base_url for WebClient."""

    def __init__(
        self, token: str = "xoxb-test-token", channels: tuple[str, ...] = ("C-RUNS", "C-OTHER")
    ) -> None:
        self.state = SlackState(token=token, channels=set(channels))
        self.port = 0
        self._server: _Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/T0/B0/secret"

    def start(self) -> None:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.state = self.state
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        """Close the listener: clients get connection refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, method: str, times: int = 1, **fault: Any) -> None:
        with self.state.lock:
            self.state.faults.setdefault(method, deque()).extend(
                Fault(**fault) for _ in range(times)
            )

    def messages(self, channel: str | None = None) -> list[StoredMessage]:
        with self.state.lock:
            return [m for m in self.state.messages if channel is None or m.channel == channel]

    def call_times(self, method: str) -> list[float]:
        with self.state.lock:
            return [at for at, name in self.state.calls if name == method]
