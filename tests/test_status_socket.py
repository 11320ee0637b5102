"""The status socket on a real Unix socket: answers, limits, and who may ask."""

from __future__ import annotations

import json
import pwd
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eagle3_monitor.service.status_socket import (
    MAX_REQUEST_BYTES,
    REQUEST_TIMEOUT,
    AccessPolicy,
    StatusSocket,
    query,
)

ASK_AS_USER = """
import json, sys
from pathlib import Path
from eagle3_monitor.service.status_socket import query
try:
    print(json.dumps(query(Path(sys.argv[1]), {"command": "status"})))
except OSError as error:
    print(json.dumps({"oserror": error.strerror}))
"""


def answer(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("command") == "boom":
        raise RuntimeError("handler broke")
    return {"ok": True, "echo": request}


@pytest.fixture
def second_user(local_user: str) -> tuple[str, int]:
    return local_user, pwd.getpwnam(local_user).pw_uid


@pytest.fixture
def socket_dir(searchable_dir: Path) -> Path:
    return searchable_dir


@pytest.fixture
def served(socket_dir: Path) -> Iterator[StatusSocket]:
    server = StatusSocket(socket_dir / "run" / "status.sock", answer, AccessPolicy([], []))
    server.start()
    yield server
    server.close()


def ask_as(user: tuple[str, int], path: Path) -> dict[str, Any]:
    name, uid = user
    gid = pwd.getpwnam(name).pw_gid
    done = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
         sys.executable, "-c", ASK_AS_USER, str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_answers_one_json_request_per_connection(served: StatusSocket) -> None:
    assert query(served.path, {"command": "runs"}) == {"ok": True, "echo": {"command": "runs"}}
    assert query(served.path, {"command": "runs"})["ok"] is True


def test_socket_is_group_gated_on_disk(served: StatusSocket) -> None:
    assert served.path.stat().st_mode & 0o777 == 0o660
    assert served.path.parent.stat().st_mode & 0o777 == 0o750


def test_garbage_and_oversized_requests_get_an_error_not_a_crash(served: StatusSocket) -> None:
    for payload in (b"not json\n", b"[1, 2]\n", b"{" + b"x" * 10_000 + b"\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(served.path))
            client.sendall(payload)
            reply = json.loads(client.makefile("rb").readline())
        assert reply["ok"] is False and reply["error"]
    assert query(served.path, {"command": "boom"}) == {
        "ok": False,
        "error": "RuntimeError: handler broke",
    }
    assert query(served.path, {"command": "status"})["ok"] is True


def test_another_local_user_cannot_reach_the_socket(
    served: StatusSocket, second_user: tuple[str, int]
) -> None:
    assert ask_as(second_user, served.path) == {"oserror": "Permission denied"}


def test_another_local_user_is_refused_by_uid_even_when_permissions_are_loosened(
    served: StatusSocket, second_user: tuple[str, int]
) -> None:
    served.path.parent.chmod(0o755)
    served.path.chmod(0o666)
    _, uid = second_user
    reply = ask_as(second_user, served.path)
    assert reply["ok"] is False
    assert reply["error"].startswith(f"uid {uid} is not allowed to query eagle3-monitor: join the ")


def test_a_user_named_in_the_config_is_allowed(
    socket_dir: Path, second_user: tuple[str, int]
) -> None:
    server = StatusSocket(socket_dir / "s.sock", answer, AccessPolicy([second_user[0]], []))
    server.start()
    try:
        server.path.parent.chmod(0o755)
        server.path.chmod(0o666)
        assert ask_as(second_user, server.path)["ok"] is True
    finally:
        server.close()


def test_many_slow_clients_never_block_an_answer(served: StatusSocket) -> None:
    idle = []
    for _ in range(20):  # connected, silent: each dropped at its deadline
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(served.path))
        idle.append(client)
    try:
        assert query(served.path, {"command": "status"}, timeout=2)["ok"] is True
    finally:
        for client in idle:
            client.close()


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_status_is_answered_through_a_burst_of_connections_and_slow_clients(
    served: StatusSocket, many_descriptors: None
) -> None:
    """3,000 connections that say nothing and 300 that send a byte now and then, while
    `status` is asked seven times: every call answered, none near the client's timeout."""
    held: list[socket.socket] = []

    def connect(count: int, payload: bytes) -> None:
        for _ in range(count):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(served.path))
            if payload:
                client.send(payload)
            held.append(client)

    crowd = [threading.Thread(target=connect, args=(1000, b"")) for _ in range(3)]
    crowd.append(threading.Thread(target=connect, args=(300, b'{"comm')))
    for thread in crowd:
        thread.start()
    latencies = []
    try:
        for _ in range(7):
            started = time.monotonic()
            assert query(served.path, {"command": "status"}, timeout=5)["ok"] is True
            latencies.append(time.monotonic() - started)
            time.sleep(0.1)
    finally:
        for thread in crowd:
            thread.join()
        for client in held:
            client.close()
    assert len(held) == 3300  # every connect succeeded: no EAGAIN from a full backlog
    assert max(latencies) < 1.0, latencies


def test_a_slow_client_is_dropped_at_its_deadline(served: StatusSocket) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(REQUEST_TIMEOUT + 3)
        client.connect(str(served.path))
        client.send(b'{"command"')
        started = time.monotonic()
        assert client.recv(100) == b""  # closed without an answer
        assert time.monotonic() - started < REQUEST_TIMEOUT + 2


@pytest.mark.parametrize("depth", [9, 104, 2000])
def test_deeply_nested_requests_get_an_error_answer(served: StatusSocket, depth: int) -> None:
    request = b'{"a":' * depth + b"1" + b"}" * depth
    if len(request) > MAX_REQUEST_BYTES:
        request = b"[" * 4000
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(served.path))
        client.sendall(request + b"\n")
        reply = json.loads(client.makefile("rb").readline())

    assert reply["ok"] is False
    assert "nested deeper" in reply["error"] or "longer than" in reply["error"]
    assert query(served.path, {"command": "status"})["ok"] is True
