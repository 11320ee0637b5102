"""`eagle3-monitor status` finds the system service's socket before a per-user one, says which
paths it tried when none answers, and tells a user outside the service's group which group to
join. Real Unix sockets; the group cases with real local users (root only), the service a real
`eagle3-monitor run` under its own account, the socket directory as the unit makes it."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.service.status_socket import (
    SYSTEM_SOCKET,
    AccessPolicy,
    StatusSocket,
    client_socket_paths,
    per_user_sockets,
    system_socket,
)
from tests.cli_runner import run_cli

REPO = Path(__file__).resolve().parents[1]


def answering(name: str) -> Any:
    def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request.get("command") == "status":
            return {"ok": True, "version": name, "uptime_seconds": 1, "last_poll": None}
        return {"ok": True, "runs": []}

    return handle


def no_system_config(tmp: Path) -> dict[str, str]:
    return {"EAGLE3_MONITOR_SYSTEM_CONFIG": str(tmp / "no-system.yaml"), "HOME": str(tmp)}


def test_an_explicit_socket_is_the_only_place_looked() -> None:
    assert client_socket_paths(Path("/x/mine.sock"), Path("/y/sys.sock"), [Path("/z")]) == [
        Path("/x/mine.sock")
    ]


def test_the_system_socket_comes_before_the_per_user_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EAGLE3_MONITOR_SYSTEM_SOCKET", raising=False)
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    per_user = per_user_sockets(Path("/home/alice/.local/state/eagle3-monitor/state.db"))

    assert client_socket_paths(None, None, per_user) == [
        SYSTEM_SOCKET,
        Path("/run/user/1000/eagle3-monitor/status.sock"),
        Path("/home/alice/.local/state/eagle3-monitor/status.sock"),
    ]
    assert client_socket_paths(None, Path("/srv/e3/status.sock"), per_user)[0] == Path(
        "/srv/e3/status.sock"
    ), "the socket /etc/eagle3-monitor/config.yaml names"


def test_the_system_socket_path_can_be_moved_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EAGLE3_MONITOR_SYSTEM_SOCKET", "/tmp/e3/status.sock")
    assert system_socket() == Path("/tmp/e3/status.sock")


def test_status_asks_the_system_service_before_a_daemon_of_the_users_own(
    searchable_dir: Path,
) -> None:
    system = StatusSocket(searchable_dir / "sys" / "status.sock", answering("system"),
                          AccessPolicy([], []))  # fmt: skip
    home = searchable_dir / "home"
    own = home / ".local" / "state" / "eagle3-monitor" / "status.sock"
    personal = StatusSocket(own, answering("personal"), AccessPolicy([], []))
    env = {**no_system_config(home), "EAGLE3_MONITOR_SYSTEM_SOCKET": str(system.path)}
    personal.start()
    try:
        system.start()
        try:
            first = run_cli("status", "--json", env=env)
        finally:
            system.close()
        then = run_cli("status", "--json", env=env)
    finally:
        personal.close()

    assert first.status == 0, first.stderr
    assert '"version": "system"' in first.stdout
    assert then.status == 0, then.stderr
    assert '"version": "personal"' in then.stdout, "with no system service, the user's own"


def test_the_system_configs_socket_is_found(searchable_dir: Path) -> None:
    served = StatusSocket(searchable_dir / "srv" / "status.sock", answering("configured"),
                          AccessPolicy([], []))  # fmt: skip
    system_config = searchable_dir / "config.yaml"
    system_config.write_text(yaml.safe_dump({"status": {"socket": str(served.path)}}))
    served.start()
    try:
        done = run_cli(
            "status", "--json",
            env={"EAGLE3_MONITOR_SYSTEM_CONFIG": str(system_config), "HOME": str(searchable_dir),
                 "EAGLE3_MONITOR_SYSTEM_SOCKET": str(searchable_dir / "nothing.sock")},
        )  # fmt: skip
    finally:
        served.close()

    assert done.status == 0, done.stderr
    assert '"version": "configured"' in done.stdout


def test_when_no_daemon_answers_the_one_line_error_lists_every_path_tried(tmp_path: Path) -> None:
    system = tmp_path / "run" / "status.sock"
    env = {**no_system_config(tmp_path), "EAGLE3_MONITOR_SYSTEM_SOCKET": str(system),
           "XDG_RUNTIME_DIR": str(tmp_path / "xdg")}  # fmt: skip

    done = run_cli("status", env=env)

    assert done.status == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("eagle3-monitor: error: no eagle3-monitor daemon is answering; tried ")
    assert f"{system} (no socket)" in line
    assert str(tmp_path / "xdg" / "eagle3-monitor" / "status.sock") in line
    assert str(tmp_path / ".local" / "state" / "eagle3-monitor" / "status.sock") in line


# ---------------------------------------------------------------- real users and a real group


@dataclass(frozen=True)
class Accounts:
    group: str
    service: str
    member: str
    outsider: str


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def accounts() -> Iterator[Accounts]:
    """The service's group and account (as sysusers makes them), a member and an outsider."""
    if os.geteuid() != 0 or not all(map(shutil.which, ("useradd", "groupadd", "setpriv"))):
        pytest.skip("needs root, useradd, groupadd and setpriv to make local users and a group")
    tag = uuid.uuid4().hex[:6]
    made = Accounts(f"e3g{tag}", f"e3s{tag}", f"e3m{tag}", f"e3o{tag}")
    _run("groupadd", "--system", made.group)
    _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         "--gid", made.group, made.service)  # fmt: skip
    for user in (made.member, made.outsider):
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "--user-group", user)  # fmt: skip
    _run("usermod", "-aG", made.group, made.member)  # what the README tells admins to run
    try:
        yield made
    finally:
        for user in (made.service, made.member, made.outsider):
            subprocess.run(["userdel", user], check=False, capture_output=True)
        subprocess.run(["groupdel", made.group], check=False, capture_output=True)


# setpriv runs the interpreter itself: this checkout's Python may lie under a directory
# other users cannot search, which only the first exec (setpriv's) gets past.
MONITOR = (sys.executable, "-m", "eagle3_monitor")


def as_user(user: str, *arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`eagle3-monitor ARGUMENTS` as `user` with their groups (what a login gives them)."""
    entry = pwd.getpwnam(user)
    return subprocess.run(
        ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
         *MONITOR, *arguments],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip


@pytest.fixture
def system_service(accounts: Accounts, searchable_dir: Path) -> Iterator[Path]:
    """`eagle3-monitor run` as the service account, its directories as systemd makes them
    (RuntimeDirectory 0750, StateDirectory 0750, UMask 0027), the config 0640 root:group as
    the README installs it. Slurm is a stand-in that fails: the daemon keeps answering."""
    service = pwd.getpwnam(accounts.service)
    gid = grp.getgrnam(accounts.group).gr_gid
    runtime, state, cache = (searchable_dir / name for name in ("run", "lib", "cache"))
    for directory, mode in ((runtime, 0o750), (state, 0o750), (cache, 0o700)):
        directory.mkdir()
        os.chown(directory, service.pw_uid, gid)
        directory.chmod(mode)
    failing = searchable_dir / "sacct"
    failing.write_text("#!/bin/sh\necho 'sacct: error: slurmdbd: stand-in' >&2\nexit 1\n")
    failing.chmod(0o755)
    config = searchable_dir / "config.yaml"
    config.write_text(yaml.safe_dump({"slurm": {"sacct": str(failing), "scontrol": str(failing)},
                                      "daemon": {"shutdown_timeout_seconds": 5}}))  # fmt: skip
    os.chown(config, 0, gid)
    config.chmod(0o640)
    env = {"PATH": os.environ["PATH"], "RUNTIME_DIRECTORY": str(runtime), "HOME": "/nonexistent",
           "STATE_DIRECTORY": str(state), "CACHE_DIRECTORY": str(cache)}  # fmt: skip
    process = subprocess.Popen(
        ["setpriv", f"--reuid={service.pw_uid}", f"--regid={gid}", "--init-groups",
         *MONITOR, "run", "--config", str(config), "--log-console"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, umask=0o027,
    )  # fmt: skip
    sock = runtime / "status.sock"
    deadline = time.monotonic() + 60
    while not sock.is_socket():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the service did not start: {process.communicate()[0]}")
        time.sleep(0.1)
    yield sock
    process.terminate()
    process.communicate(timeout=30)


def client_env(socket_path: Path, system_config: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": "/nonexistent",
            "EAGLE3_MONITOR_SYSTEM_SOCKET": str(socket_path),
            "EAGLE3_MONITOR_SYSTEM_CONFIG": str(system_config)}  # fmt: skip


def test_the_service_socket_is_group_gated_as_the_unit_makes_it(
    accounts: Accounts, system_service: Path
) -> None:
    gid = grp.getgrnam(accounts.group).gr_gid
    assert (system_service.stat().st_mode & 0o777, system_service.stat().st_gid) == (0o660, gid)
    assert system_service.parent.stat().st_mode & 0o777 == 0o750


def test_a_member_of_the_services_group_runs_status_with_no_config_of_their_own(
    accounts: Accounts, system_service: Path
) -> None:
    system_config = system_service.parent.parent / "config.yaml"

    done = as_user(accounts.member, "status", "--json",
                   env=client_env(system_service, system_config))  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert '"version"' in done.stdout and '"runs": []' in done.stdout


def test_a_user_outside_the_group_is_told_in_one_line_which_group_to_join(
    accounts: Accounts, system_service: Path
) -> None:
    system_config = system_service.parent.parent / "config.yaml"  # 0640: unreadable to them

    done = as_user(accounts.outsider, "status",
                   env=client_env(system_service, system_config))  # fmt: skip

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line == (
        f"eagle3-monitor: error: {system_service}: permission denied: only members of the "
        f"group {accounts.group} may ask the daemon; ask an admin to run "
        f"`usermod -aG {accounts.group} {accounts.outsider}`, then log in again"
    )
