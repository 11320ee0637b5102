"""systemd's notify protocol: one datagram to $NOTIFY_SOCKET (a leading `@` names an abstract
socket). A no-op when the variable is unset, so the daemon runs the same outside systemd."""

from __future__ import annotations

import os
import socket


class SystemdNotifier:
    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self.last_status = ""

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str) -> bool:
        """Send `KEY=value` lines (READY="1", STATUS="...", WATCHDOG="1", STOPPING="1")."""
        if not self.address:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                # never block the main loop: a receiver that stopped reading loses the message
                sock.send(message, socket.MSG_DONTWAIT)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> None:
        self.send(READY="1", STATUS=status)

    def status(self, status: str) -> None:
        """STATUS= only when it changed."""
        if status != self.last_status and self.send(STATUS=status):
            self.last_status = status

    def watchdog(self) -> None:
        self.send(WATCHDOG="1")

    def stopping(self) -> None:
        self.send(STOPPING="1", STATUS="stopping")


def watchdog_interval() -> float | None:
    """Half of WatchdogSec (systemd passes WATCHDOG_USEC), or None when no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None
