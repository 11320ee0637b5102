"""The shipped systemd units pass `systemd-analyze verify` and keep what Slurm needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eagle3_monitor.config import DaemonSection, SlurmSection

REPO = Path(__file__).resolve().parents[1]
SYSTEM_UNIT = REPO / "systemd" / "eagle3-monitor.service"
USER_UNIT = REPO / "systemd" / "user" / "eagle3-monitor.service"
SYSUSERS = REPO / "systemd" / "eagle3-monitor.sysusers"
INSTALLED_BINARIES = (
    "/opt/eagle3-monitor/bin/eagle3-monitor",
    "%h/.local/eagle3-monitor/bin/eagle3-monitor",
)
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None and not os.environ.get("CI"), reason="systemd-analyze is not installed"
)


def verify(unit: Path, tmp_path: Path, *, user: bool = False) -> str:
    """`systemd-analyze verify` on a copy whose ExecStart names this checkout's binary.

    verify exits 0 on many problems (unknown keys, bad values) and only prints them, so any
    output at all is a finding."""
    text = unit.read_text()
    for installed in INSTALLED_BINARIES:
        text = text.replace(installed, str(Path(sys.executable).parent / "eagle3-monitor"))
    copy = tmp_path / unit.name
    copy.write_text(text)
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    command = [ANALYZE or "systemd-analyze", *(["--user"] if user else []), "verify", str(copy)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    return (done.stdout + done.stderr).strip() + (
        "" if done.returncode == 0 else f"\nexit {done.returncode}"
    )


def directives(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@needs_analyze
def test_system_unit_verifies_clean(tmp_path: Path) -> None:
    assert verify(SYSTEM_UNIT, tmp_path) == ""


@needs_analyze
def test_user_unit_verifies_clean(tmp_path: Path) -> None:
    assert verify(USER_UNIT, tmp_path, user=True) == ""


@needs_analyze
def test_verify_check_catches_a_typo(tmp_path: Path) -> None:
    broken = tmp_path / "src" / "eagle3-monitor.service"
    broken.parent.mkdir()
    broken.write_text(SYSTEM_UNIT.read_text().replace("WatchdogSec=", "WatchdogSecs="))
    assert "Unknown key" in verify(broken, tmp_path)


def test_system_unit_is_a_notify_service_with_watchdog_credentials_and_directories() -> None:
    unit = directives(SYSTEM_UNIT)
    assert unit["Type"] == ["notify"]
    assert int(unit["WatchdogSec"][0]) >= 60
    assert unit["LoadCredential"] == ["slack-token:/etc/eagle3-monitor/slack-token"]
    assert unit["StateDirectory"] == unit["RuntimeDirectory"] == ["eagle3-monitor"]
    assert unit["RuntimeDirectoryMode"] == ["0750"]
    assert "--config /etc/eagle3-monitor/config.yaml" in unit["ExecStart"][0]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_system_unit_hardening_keeps_munge_slurmdbd_and_a_stable_account() -> None:
    unit = directives(SYSTEM_UNIT)
    assert set(unit["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert "PrivateNetwork" not in unit and "DynamicUser" not in unit
    assert unit["ProtectSystem"] == ["strict"] and unit["ProtectHome"] == ["read-only"]
    assert unit["NoNewPrivileges"] == ["yes"] and unit["UMask"] == ["0027"]
    account = SYSUSERS.read_text().split("\nu ", 1)[1].split()[0]
    assert unit["User"] == unit["Group"] == [account]


def test_stop_timeout_outlasts_the_daemons_own_shutdown_budget() -> None:
    budget = DaemonSection().shutdown_timeout_seconds + SlurmSection().timeout_seconds
    assert int(directives(SYSTEM_UNIT)["TimeoutStopSec"][0]) >= budget


@needs_analyze
def test_the_system_unit_exposure_is_at_most_two(tmp_path: Path) -> None:
    done = subprocess.run(
        [ANALYZE or "systemd-analyze", "security", "--offline=yes", str(SYSTEM_UNIT)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    [line] = [line for line in done.stdout.splitlines() if "Overall exposure level" in line]
    exposure = float(line.split(":", 1)[1].split()[0])

    assert exposure <= 2.0, done.stdout


def test_a_bad_configuration_does_not_restart_in_a_loop() -> None:
    found = directives(SYSTEM_UNIT)

    assert found["RestartPreventExitStatus"] == ["2"]  # `run` exits 2 on a bad config
    assert found["ProtectProc"] == ["invisible"]
    assert "PrivateUsers" not in found  # the owner checks need real uids (see the unit)


def test_the_units_documentation_exists_after_pip_install(tmp_path: Path) -> None:
    """Documentation= names files under the venv /opt/eagle3-monitor that `pip install .`
    puts there (share/doc/eagle3-monitor, pyproject's data-files). --ignore-installed: pip
    would otherwise uninstall this checkout's own editable install first."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(REPO)], check=True, timeout=300, capture_output=True)  # fmt: skip
    [wheel] = wheels.glob("eagle3_monitor-*.whl")
    prefix = tmp_path / "opt" / "eagle3-monitor"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-warn-script-location", "--ignore-installed", "--prefix", str(prefix),
                    str(wheel)],
                   check=True, timeout=300, capture_output=True)  # fmt: skip
    documentation = [
        url for value in directives(SYSTEM_UNIT)["Documentation"] for url in value.split()
    ]

    assert documentation, "the unit names its documentation"
    for url in documentation:
        assert url.startswith("file:///opt/eagle3-monitor/"), url
        installed = prefix / url.removeprefix("file:///opt/eagle3-monitor/")
        assert installed.is_file(), f"{url}: not installed by pip"
    assert (
        "## Letting the service read users' experiment directories"
        in (prefix / "share" / "doc" / "eagle3-monitor" / "deploy.md").read_text()
    )
