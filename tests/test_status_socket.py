"""The status socket on a real Unix socket: answers, limits, and who may ask."""

from __future__ import annotations

import json
import pwd
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket, query

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
    assert reply == {"ok": False, "error": f"uid {uid} is not allowed to query eagle3-monitor"}


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
    for _ in range(20):  # connected, silent: each waits on its own thread until its timeout
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(served.path))
        idle.append(client)
    try:
        assert query(served.path, {"command": "status"}, timeout=2)["ok"] is True
    finally:
        for client in idle:
            client.close()
