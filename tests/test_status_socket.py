"""The status socket on a real Unix socket: answers, limits, and who may ask."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket, query

NOBODY = 65534
ASK_AS_NOBODY = """
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
def socket_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="e3s", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def served(socket_dir: Path) -> Iterator[StatusSocket]:
    server = StatusSocket(socket_dir / "run" / "status.sock", answer, AccessPolicy([], []))
    server.start()
    yield server
    server.close()


def ask_as_nobody(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, "-c", ASK_AS_NOBODY, str(path)],
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


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_local_user_cannot_reach_the_socket(served: StatusSocket) -> None:
    assert ask_as_nobody(served.path) == {"oserror": "Permission denied"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_local_user_is_refused_by_uid_even_when_permissions_are_loosened(
    served: StatusSocket,
) -> None:
    served.path.parent.chmod(0o755)
    served.path.chmod(0o666)
    reply = ask_as_nobody(served.path)
    assert reply == {"ok": False, "error": f"uid {NOBODY} is not allowed to query eagle3-monitor"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_user_named_in_the_config_is_allowed(socket_dir: Path) -> None:
    server = StatusSocket(socket_dir / "s.sock", answer, AccessPolicy(["nobody"], []))
    server.start()
    try:
        server.path.parent.chmod(0o755)
        server.path.chmod(0o666)
        assert ask_as_nobody(server.path)["ok"] is True
    finally:
        server.close()
