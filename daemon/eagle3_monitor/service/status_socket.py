"""The status socket: a Unix stream socket speaking JSON lines. One request per connection
(`{"command": "status"}`, `runs`, `run <id>`, `job <id>`, `poll`, `history`), bounded in size
(4 KiB), JSON depth, time (2 s to send it) and number (256 connections, 64 queued requests, 4
worker threads): a burst of thousands of connections or hundreds of slow clients never stops a
`status` call from being answered. The peer's uid/gid (SO_PEERCRED) must be root, the daemon's
own user or a member of its group, or allowed by the config."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import MonitorError

MAX_REQUEST_BYTES = 4096
MAX_JSON_DEPTH = 8
REQUEST_TIMEOUT = 2.0  # to send a whole request line after connecting
SEND_TIMEOUT = 2.0
MAX_CONNECTIONS = 256  # reading a request; beyond it the slowest is dropped
MAX_PENDING = 64  # complete requests waiting for a worker; beyond it: "busy"
WORKERS = 4
LISTEN_BACKLOG = 4096
ACCEPTS_PER_WAKE = 64
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

    def refusal(self, uid: int) -> str:
        """Why a peer was refused, and what would let it in."""
        group = _group_name(os.getgid())
        return (
            f"uid {uid} is not allowed to query eagle3-monitor: join the group {group} "
            "(or be named in the daemon's status.allowed_users)"
        )


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


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


@dataclass
class _Connection:
    sock: socket.socket
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)


class _Loop:
    """One thread multiplexes every connection with a selector: it accepts as fast as clients
    come (a burst never fills the listen backlog), reads each request up to its size limit and
    deadline, and hands complete requests to a fixed pool of workers. Over MAX_CONNECTIONS, the
    connection closest to its deadline (the slowest) is dropped: slow clients cannot crowd out
    a `status` call."""

    def __init__(self, listener: socket.socket, handler: Handler, policy: AccessPolicy) -> None:
        self.listener, self.handler, self.policy = listener, handler, policy
        self.selector = selectors.DefaultSelector()
        self.connections: dict[int, _Connection] = {}
        self.workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="status-worker")
        self.pending = threading.BoundedSemaphore(MAX_PENDING)
        self.stop = threading.Event()
        self.wakeup_reader, self.wakeup_writer = socket.socketpair()
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ)
        self.selector.register(self.wakeup_reader, selectors.EVENT_READ)

    def run(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=_next_deadline(self.connections)):
                if key.fileobj is self.listener:
                    self._accept_all()
                elif key.fileobj is not self.wakeup_reader:
                    self._read(key.fileobj)  # type: ignore[arg-type]
            self._expire()
        self._close_all()

    def close(self) -> None:
        self.stop.set()
        self.wakeup_writer.send(b"x")

    def _accept_all(self) -> None:
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                client, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE and the like: try again on the next wake
                return
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        try:
            _, uid, gid = peer_credentials(client)
        except OSError:
            client.close()
            return
        if not self.policy.allows(uid, gid):
            _send_and_close(client, {"ok": False, "error": self.policy.refusal(uid)})
            return
        if len(self.connections) >= MAX_CONNECTIONS:
            slowest = min(self.connections.values(), key=lambda c: c.deadline)
            self._drop(slowest.sock)
        client.setblocking(False)
        self.connections[client.fileno()] = _Connection(client, time.monotonic() + REQUEST_TIMEOUT)
        self.selector.register(client, selectors.EVENT_READ)
        self._read(client)  # a real client has usually sent its request already

    def _read(self, client: socket.socket) -> None:
        connection = self.connections.get(client.fileno())
        if connection is None:
            return
        try:
            chunk = client.recv(MAX_REQUEST_BYTES + 1 - len(connection.buffer))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        connection.buffer += chunk
        if b"\n" in connection.buffer or not chunk or len(connection.buffer) > MAX_REQUEST_BYTES:
            self._unregister(client)
            self._dispatch(connection)

    def _dispatch(self, connection: _Connection) -> None:
        if not self.pending.acquire(blocking=False):
            _send_and_close(connection.sock, {"ok": False, "error": "busy: try again"})
            return
        future = self.workers.submit(_serve, connection, self.handler)
        future.add_done_callback(lambda _: self.pending.release())

    def _expire(self) -> None:
        now = time.monotonic()
        for connection in [c for c in self.connections.values() if c.deadline <= now]:
            self._drop(connection.sock)

    def _unregister(self, client: socket.socket) -> None:
        self.connections.pop(client.fileno(), None)
        self.selector.unregister(client)

    def _drop(self, client: socket.socket) -> None:
        self._unregister(client)
        client.close()

    def _close_all(self) -> None:
        for connection in list(self.connections.values()):
            self._drop(connection.sock)
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.selector.close()
        self.wakeup_reader.close()
        self.wakeup_writer.close()


def _next_deadline(connections: dict[int, _Connection]) -> float | None:
    if not connections:
        return None  # nothing to expire: wait for a client (or `close`'s wake-up byte)
    return max(0.0, min(c.deadline for c in connections.values()) - time.monotonic())


def _serve(connection: _Connection, handler: Handler) -> None:
    """Parse one request and answer it (on a worker thread)."""
    _send_and_close(connection.sock, _answer_for(bytes(connection.buffer), handler))


def _answer_for(raw: bytes, handler: Handler) -> dict[str, Any]:
    line = raw.split(b"\n", 1)[0]
    if len(raw) > MAX_REQUEST_BYTES and b"\n" not in raw:
        return {"ok": False, "error": f"request longer than {MAX_REQUEST_BYTES} bytes"}
    if _depth(line) > MAX_JSON_DEPTH:
        return {"ok": False, "error": f"request nested deeper than {MAX_JSON_DEPTH} levels"}
    try:
        request = json.loads(line or b"{}")
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):
        return {"ok": False, "error": "send one JSON object per line"}
    try:
        return handler(request)
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def _depth(line: bytes) -> int:
    """The deepest nesting of brackets (strings ignored roughly: a bound, not a parser)."""
    depth = deepest = 0
    for byte in line:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _send_and_close(client: socket.socket, document: dict[str, Any]) -> None:
    try:
        client.setblocking(True)
        client.settimeout(SEND_TIMEOUT)
        client.sendall(json.dumps(document, default=str).encode() + b"\n")
    except OSError:
        pass
    finally:
        client.close()


class StatusSocket:
    """Serve `handler` on `path` (0660, in a 0750 directory) until `close()`."""

    def __init__(self, path: Path, handler: Handler, policy: AccessPolicy) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o750)  # noqa: PTH101, S103 - group-gated on purpose
        if path.is_socket():
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o660)  # noqa: PTH101
        listener.listen(LISTEN_BACKLOG)
        self.listener = listener
        self.loop = _Loop(listener, handler, policy)
        self.thread = threading.Thread(target=self.loop.run, name="status-socket", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.loop.close()
        self.thread.join(timeout=5)
        self.listener.close()
        self.path.unlink(missing_ok=True)


SYSTEM_SOCKET = Path("/run/eagle3-monitor/status.sock")  # the system unit's RuntimeDirectory
SYSTEM_SOCKET_VARIABLE = "EAGLE3_MONITOR_SYSTEM_SOCKET"  # tests and unusual installs


def system_socket() -> Path:
    """Where the system service's socket is when its config names none."""
    return Path(os.environ.get(SYSTEM_SOCKET_VARIABLE) or SYSTEM_SOCKET)


def client_socket_paths(
    configured: Path | None, system_configured: Path | None, per_user: list[Path]
) -> list[Path]:
    """Where `eagle3-monitor status` looks for the daemon, in order. A socket the client's own
    config names is the only place looked. Otherwise the system service first (the socket
    /etc/eagle3-monitor/config.yaml names, else /run/eagle3-monitor/status.sock), then the
    per-user ones (the user unit's $XDG_RUNTIME_DIR/eagle3-monitor, a daemon run by hand next
    to its database)."""
    if configured is not None:
        return [configured]
    return list(dict.fromkeys([system_configured or system_socket(), *per_user]))


def per_user_sockets(database: Path) -> list[Path]:
    """Where a daemon run by this user serves: under systemd's $RUNTIME_DIRECTORY (inside a
    unit), the user unit's $XDG_RUNTIME_DIR/eagle3-monitor, next to its database otherwise."""
    found = []
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        found.append(Path(runtime.split(":")[0]) / "status.sock")
    user_runtime = os.environ.get("XDG_RUNTIME_DIR")
    if user_runtime:
        found.append(Path(user_runtime) / "eagle3-monitor" / "status.sock")
    found.append(database.parent / "status.sock")
    return found


class DaemonUnreachableError(MonitorError):
    """No socket on the list answered; `str()` says what each one did, in one line."""


def query_first(
    paths: list[Path], request: dict[str, Any], timeout: float = 10.0
) -> tuple[Path, dict[str, Any]]:
    """Ask the first socket that answers; the one that did and its answer. A socket this user
    may not open (the group-gated system one) is named with the group to join."""
    tried = []
    denied: Path | None = None
    for path in paths:
        try:
            return path, query(path, request, timeout)
        except PermissionError:
            denied = denied or path
            tried.append(f"{path} (permission denied)")
        except FileNotFoundError:
            tried.append(f"{path} (no socket)")
        except ConnectionRefusedError:
            tried.append(f"{path} (no daemon listening)")
        except OSError as error:
            tried.append(f"{path} ({error.strerror or error})")
    if denied is not None:
        raise DaemonUnreachableError(permission_advice(denied))
    raise DaemonUnreachableError(f"no eagle3-monitor daemon is answering; tried {', '.join(tried)}")


def permission_advice(path: Path) -> str:
    """One line: who may open the socket, and how to become one of them."""
    group = _group_of(path)
    user = _user_name(os.getuid())
    if group is None:
        return f"{path}: permission denied"
    return (
        f"{path}: permission denied: only members of the group {group} may ask the daemon; "
        f"ask an admin to run `usermod -aG {group} {user}`, then log in again"
    )


def _group_of(path: Path) -> str | None:
    """The group that owns the socket, or its directory when the socket cannot be seen."""
    for candidate in (path, path.parent):
        try:
            return grp.getgrgid(candidate.stat().st_gid).gr_name
        except (OSError, KeyError):
            continue
    return None


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def query(path: Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """The client side: one request, one answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        # A refusal is answered and closed before the request is read: its answer is still there.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            client.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    return answer if isinstance(answer, dict) else {"ok": False, "error": "bad answer"}
