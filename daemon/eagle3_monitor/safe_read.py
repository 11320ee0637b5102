"""Open a file the safe way, once, and read only from that descriptor.

Every file eagle3-monitor reads (logs, batch scripts, artifacts, configs, model configs) comes
through `open_checked`:

1. The path is resolved once (`realpath`); with experiment roots configured it must lie under
   one of them.
2. The resolved path is walked from `/` one component at a time with `openat(…, O_NOFOLLOW)`:
   a component swapped for a symlink after step 1 makes the walk fail instead of being
   followed. With a read policy for a job's owner, each directory's descriptor must grant the
   owner search permission.
3. The file is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO cannot block the open), and the
   open descriptor is checked: a regular file, not on /proc or /sys, readable by the owner, not
   bigger than the caller allows. The permission check and the read use the same descriptor, so
   nothing can be swapped in between.
"""

from __future__ import annotations

import errno
import grp
import io
import os
import pwd
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError

SMALL_FILE_BYTES = 4 << 20
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_PSEUDO_FILESYSTEMS = ("/proc", "/sys")


@dataclass(frozen=True)
class Account:
    """A local account: whose read permission a policy checks."""

    uid: int
    gids: frozenset[int]

    @classmethod
    def named(cls, user: str) -> Account | None:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return None
        groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
        return cls(entry.pw_uid, frozenset(groups))

    def may(self, status: os.stat_result, owner: int, group: int, other: int) -> bool:
        if self.uid == 0:
            return True
        if status.st_uid == self.uid:
            return bool(status.st_mode & owner)
        if status.st_gid in self.gids:
            return bool(status.st_mode & group)
        return bool(status.st_mode & other)


@dataclass(frozen=True)
class ReadPolicy:
    """Where files may lie and whose rights they are read with. The daemon builds one per run
    (the job's owner, the configured experiment roots); the CLI reads with its own rights."""

    roots: tuple[Path, ...] = ()
    account: Account | None = None
    deny_all: str = ""  # set: nothing may be read, and why (an owner unknown on this host)

    def allows(self, path: Path) -> bool:
        """Whether `path` would be read (opened and checked, nothing read)."""
        try:
            with open_checked(path, self):
                return True
        except UnusableInputError:
            return False


@dataclass(frozen=True)
class Opened:
    stream: io.FileIO
    status: os.stat_result


@contextmanager
def open_checked(
    path: Path, policy: ReadPolicy | None = None, limit: int | None = None
) -> Iterator[Opened]:
    """The file at `path`, opened and checked as the module says; UnusableInputError (one
    line naming the path) when it may not or cannot be read."""
    policy = policy or ReadPolicy()
    descriptor = _open_file(path, policy)
    with io.FileIO(descriptor, "rb", closefd=True) as stream:
        status = os.fstat(descriptor)
        _check_file(path, status, policy, limit)
        yield Opened(stream, status)


def read_small(
    path: Path, limit: int = SMALL_FILE_BYTES, policy: ReadPolicy | None = None
) -> bytes:
    """The whole of a regular file of at most `limit` bytes."""
    with open_checked(path, policy, limit) as opened:
        data = _read(path, opened.stream, limit + 1)
    if len(data) > limit:
        raise UnusableInputError(f"{path}: grew past {limit} bytes while being read")
    return data


def read_small_text(
    path: Path, limit: int = SMALL_FILE_BYTES, policy: ReadPolicy | None = None
) -> str:
    try:
        return read_small(path, limit, policy).decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnusableInputError(f"{path}: not UTF-8 text: {error.reason}") from None


def read_head(path: Path, limit: int, policy: ReadPolicy | None = None) -> bytes:
    """The first `limit` bytes of a regular file of any size (a log's head)."""
    with open_checked(path, policy) as opened:
        return _read(path, opened.stream, limit)[:limit]


def _read(path: Path, stream: io.FileIO, count: int) -> bytes:
    try:
        return stream.read(count) or b""
    except OSError as error:
        raise UnusableInputError(f"{path}: cannot read: {error.strerror or error}") from None


def _open_file(path: Path, policy: ReadPolicy) -> int:
    if policy.deny_all:
        raise UnusableInputError(f"{path}: skipped: {policy.deny_all}")
    try:
        real = Path(os.path.realpath(path, strict=True))
    except OSError as error:
        raise UnusableInputError(f"{path}: {_reason(error)}") from None
    if policy.roots and not any(real.is_relative_to(root) for root in _real_roots(policy.roots)):
        raise UnusableInputError(f"{path}: skipped: outside the experiment roots")
    directory = os.open("/", _DIRECTORY)
    try:
        for name in real.parts[1:-1]:
            child = _open_directory(path, directory, name)
            os.close(directory)
            directory = child
            _check_directory(path, directory, policy)
        return _open_at(path, directory, real.name)
    finally:
        os.close(directory)


def _open_directory(path: Path, directory: int, name: str) -> int:
    """The descriptor of `name` under `directory`, never through a symlink."""
    try:
        return os.open(name, _DIRECTORY, dir_fd=directory)
    except OSError as error:
        raise UnusableInputError(f"{path}: cannot open: {_reason(error)}") from None


def _check_directory(path: Path, directory: int, policy: ReadPolicy) -> None:
    account = policy.account
    search = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
    if account is not None and not account.may(os.fstat(directory), *search):
        raise UnusableInputError(f"{path}: skipped: the job's owner cannot reach it")


def _open_at(path: Path, directory: int, name: str) -> int:
    try:
        return os.open(name, _FILE, dir_fd=directory)
    except OSError as error:
        raise UnusableInputError(f"{path}: cannot open: {_reason(error)}") from None


def _check_file(path: Path, status: os.stat_result, policy: ReadPolicy, limit: int | None) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise UnusableInputError(f"{path}: skipped: not a regular file ({_kind(status)})")
    if status.st_dev in _pseudo_devices():
        raise UnusableInputError(f"{path}: skipped: a /proc or /sys file")
    account = policy.account
    if account is not None and not account.may(status, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH):
        raise UnusableInputError(f"{path}: skipped: the job's owner cannot read it")
    if limit is not None and status.st_size > limit:
        raise UnusableInputError(f"{path}: {status.st_size} bytes, more than the {limit} allowed")


def _kind(status: os.stat_result) -> str:
    mode = status.st_mode
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISDIR, "a directory")):  # fmt: skip
        if test(mode):
            return name
    return "not a file"


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link was swapped in"
    if error.errno == errno.ENOTDIR:
        return "a path component is not a directory"
    return error.strerror or str(error)  # "No such file or directory", as the shell says it


@cache
def _pseudo_devices() -> frozenset[int]:
    devices = set()
    for mount in _PSEUDO_FILESYSTEMS:
        try:
            devices.add(Path(mount).stat().st_dev)
        except OSError:
            continue
    return frozenset(devices)


def _real_roots(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(Path(os.path.realpath(root)) for root in roots)
