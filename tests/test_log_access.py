"""How the service account reads users' experiment directories kept at 0750/0640 (the ways
docs/deploy.md documents), and how check-config and status say which roots it cannot read.
Real local users, a real group and real POSIX ACLs (setfacl) where root and acl are there."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from eagle3_monitor.monitor.access import root_problems, root_problems_as
from eagle3_monitor.rules import Catalog
from eagle3_monitor.service.status_socket import AccessPolicy, StatusSocket
from tests.cli_runner import run_cli
from tests.daemon_harness import in_process_daemon

READ_AS = "import sys; print(open(sys.argv[1]).read(), end='')"


def test_a_missing_root_is_one_line_with_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "experiments"

    [line] = root_problems((missing, tmp_path))

    assert line.startswith(f"experiment root {missing}: ")
    assert "finds no such directory" in line and "setfacl -R -m g:" in line


def test_readable_roots_have_no_problem(tmp_path: Path) -> None:
    (tmp_path / "cicd_1").mkdir()
    assert root_problems((tmp_path,)) == []


def test_status_warns_of_roots_the_daemon_cannot_read(
    tmp_path: Path, catalog: Catalog, searchable_dir: Path
) -> None:
    missing = tmp_path / "gone"
    monitor = in_process_daemon(
        tmp_path / "daemon", catalog, watch={"experiment_roots": [str(missing)]}
    )
    assert monitor.status()["unreadable_roots"] == root_problems((missing,))
    served = StatusSocket(searchable_dir / "status.sock", monitor.daemon.status.handle,
                          AccessPolicy([], []))  # fmt: skip
    config = tmp_path / "client.yaml"
    config.write_text(yaml.safe_dump({"status": {"socket": str(served.path)}}))
    served.start()
    try:
        done = run_cli("status", "--config", config)
    finally:
        served.close()

    assert done.status == 0, done.stderr
    assert done.stderr == f"eagle3-monitor: warning: {root_problems((missing,))[0]}\n"


# ---------------------------------------------------------------- real users, groups and ACLs


@dataclass(frozen=True)
class People:
    service: str  # the daemon's account, in its own group
    group: str
    owner: str  # a user who keeps their experiments 0750/0640


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def people() -> Iterator[People]:
    if os.geteuid() != 0 or not all(map(shutil.which, ("useradd", "setpriv", "setfacl"))):
        pytest.skip("needs root, useradd, setpriv and setfacl (apt-get install acl)")
    tag = uuid.uuid4().hex[:6]
    made = People(f"e3s{tag}", f"e3s{tag}", f"e3w{tag}")
    for user in (made.service, made.owner):
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "--user-group", user)  # fmt: skip
    try:
        yield made
    finally:
        for user in (made.service, made.owner):
            subprocess.run(["userdel", user], check=False, capture_output=True)


def as_user(user: str, *command: str) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(user)
    return subprocess.run(
        ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups",
         *command],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def write_as(user: str, path: Path, text: str) -> None:
    """`path` (and its directories) made by `user` with umask 027: 0750 dirs, 0640 files."""
    script = ("import os, sys, pathlib; os.umask(0o027); p = pathlib.Path(sys.argv[1]);"
              " p.parent.mkdir(parents=True, exist_ok=True); p.write_text(sys.argv[2])")  # fmt: skip
    done = as_user(user, sys.executable, "-c", script, str(path), text)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def experiments(people: People, searchable_dir: Path) -> Path:
    """The owner's experiment root with one experiment and its log, all 0750/0640."""
    root = searchable_dir / "experiments"
    root.mkdir(mode=0o750)
    entry = pwd.getpwnam(people.owner)
    os.chown(root, entry.pw_uid, entry.pw_gid)
    write_as(people.owner, root / "cicd_1" / "task_0" / "sbatch_0.out", "job exited with code 0\n")
    return root


def reads(user: str, path: Path) -> bool:
    return as_user(user, sys.executable, "-c", READ_AS, str(path)).returncode == 0


def test_the_service_cannot_read_0750_experiments_and_is_told_how(
    people: People, experiments: Path
) -> None:
    [line] = root_problems_as(people.service, (experiments,))

    assert line == (
        f"experiment root {experiments}: {people.service} cannot read it; give it read access: "
        f"`setfacl -R -m g:{people.group}:rX {experiments} && "
        f"setfacl -R -d -m g:{people.group}:rX {experiments}`, or add {people.service} to the "
        "directories' group (docs/deploy.md)"
    )
    assert not reads(people.service, experiments / "cicd_1" / "task_0" / "sbatch_0.out")


def test_an_acl_with_a_default_on_the_root_lets_the_service_read_old_and_new_experiments(
    people: People, experiments: Path
) -> None:
    grant = f"g:{people.group}:rX"
    _run("setfacl", "-R", "-m", grant, str(experiments))  # what docs/deploy.md says
    _run("setfacl", "-R", "-d", "-m", grant, str(experiments))
    later = experiments / "cicd_2" / "task_1" / "log-task_1_7_0.out"
    write_as(people.owner, later, "step 10 loss 1.2\n")  # made after the ACL, umask 027

    assert root_problems_as(people.service, (experiments,)) == []
    assert reads(people.service, experiments / "cicd_1" / "task_0" / "sbatch_0.out")
    assert reads(people.service, later), "the default ACL reaches experiments made later"
    assert later.stat().st_mode & 0o007 == 0, "others still cannot read it"


def test_group_membership_lets_the_service_read_the_owners_experiments(
    people: People, experiments: Path
) -> None:
    _run("usermod", "-aG", people.owner, people.service)  # the owner's group, 0750/0640
    try:
        assert root_problems_as(people.service, (experiments,)) == []
        assert reads(people.service, experiments / "cicd_1" / "task_0" / "sbatch_0.out")
    finally:
        _run("gpasswd", "-d", people.service, people.owner)


def test_check_config_warns_per_root_the_service_account_cannot_read(
    people: People, experiments: Path, tmp_path: Path
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump({"watch": {"experiment_roots": [str(experiments), "/srv/nope"]}})
    )

    done = run_cli("check-config", config, "--skip-secrets", "--service-user", people.service)

    assert done.status == 0, done.stderr
    assert f"  experiment roots: 2, 0 readable by {people.service}" in done.stdout
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"eagle3-monitor: warning: experiment root {experiments}: ")
    assert "/srv/nope" in warnings[1]
