"""The status socket: a Unix stream socket speaking JSON lines. One request per connection
(`{"command": "status"}`, `runs`, `run <id>`, `job <id>`, `poll`), bounded in size and time,
each connection on its own thread so many clients never block the daemon. The peer's uid/gid
(SO_PEERCRED) must be root, the daemon's own user or a member of its group, or allowed by the
config."""

from __future__ import annotations

import grp
import json
import os
import pwd
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_REQUEST_BYTES = 4096
REQUEST_TIMEOUT = 5.0
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def peer_credentials(connection: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end."""
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


class AccessPolicy:
    def __init__(self, users: list[str], groups: list[str]) -> None:
        self.uids = {os.getuid(), 0} | _known(_uid, users)
        self.gids = {os.getgid()} | _known(_gid, groups)

    def allows(self, uid: int, gid: int) -> bool:
        if uid in self.uids or gid in self.gids:
            return True
        try:
            name = pwd.getpwuid(uid).pw_name
            return any(name in grp.getgrgid(gid).gr_mem for gid in self.gids)
        except KeyError:
            return False


def _known(lookup: Callable[[str], int | None], names: list[str]) -> set[int]:
    return {number for number in map(lookup, names) if number is not None}


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _gid(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog: a burst of clients is queued, not refused
    handle_request_fn: Handler
    policy: AccessPolicy


class _RequestHandler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(REQUEST_TIMEOUT)
        _, uid, gid = peer_credentials(self.connection)
        if not self.server.policy.allows(uid, gid):
            self._answer(
                {"ok": False, "error": f"uid {uid} is not allowed to query eagle3-monitor"}
            )
            return
        try:
            line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
        except TimeoutError:
            return
        if len(line) > MAX_REQUEST_BYTES:
            self._answer({"ok": False, "error": f"request longer than {MAX_REQUEST_BYTES} bytes"})
            return
        try:
            request = json.loads(line or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            self._answer({"ok": False, "error": "send one JSON object per line"})
            return
        try:
            self._answer(self.server.handle_request_fn(request))
        except Exception as error:
            self._answer({"ok": False, "error": f"{type(error).__name__}: {error}"})

    def _answer(self, document: dict[str, Any]) -> None:
        try:
            self.wfile.write(json.dumps(document, default=str).encode() + b"\n")
        except OSError:
            return


class StatusSocket:
    """Serve `handler` on `path` (0660, in a 0750 directory) until `close()`."""

    def __init__(self, path: Path, handler: Handler, policy: AccessPolicy) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o750)  # noqa: PTH101, S103 - group-gated on purpose
        if path.is_socket():
            path.unlink()
        self.server = _Server(str(path), _RequestHandler)
        self.server.handle_request_fn = handler
        self.server.policy = policy
        os.chmod(path, 0o660)  # noqa: PTH101
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="status-socket", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.path.unlink(missing_ok=True)


def query(path: Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """The client side: one request, one answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        client.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    return answer if isinstance(answer, dict) else {"ok": False, "error": "bad answer"}
