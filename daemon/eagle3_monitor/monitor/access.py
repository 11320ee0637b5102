"""Which files the daemon may quote to Slack on a job owner's behalf.

The daemon reads with its own rights (often more than the job's owner has), so before it scans a
log for a run it checks that the file, after following symlinks, lies inside the configured
experiment roots (when any are configured) and that the run's owner could read it: search
permission on every directory above it, read permission on the file itself, by the usual
owner / group / other bits. A symlink from an experiment dir to /etc/shadow fails both."""

from __future__ import annotations

import functools
import grp
import os
import pwd
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Account:
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


def _permits(account: Account, status: os.stat_result, owner: int, group: int, other: int) -> bool:
    if account.uid == 0:
        return True
    if status.st_uid == account.uid:
        return bool(status.st_mode & owner)
    if status.st_gid in account.gids:
        return bool(status.st_mode & group)
    return bool(status.st_mode & other)


def readable_by(path: Path, account: Account) -> bool:
    """Could `account` open `path` (symlinks followed) for reading?"""
    try:
        resolved = path.resolve(strict=True)
        for directory in reversed(resolved.parents):
            if not _permits(account, directory.stat(), stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
                return False
        return _permits(account, resolved.stat(), stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
    except (OSError, RuntimeError):
        return False


def inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """No roots configured: anywhere. Else the resolved path must lie under one of them."""
    if not roots:
        return True
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


@functools.lru_cache(maxsize=512)
def _account(user: str) -> Account | None:
    """Cached: group databases can be slow (LDAP), and this runs every follow cycle."""
    return Account.named(user)


def reader_for(user: str, roots: tuple[Path, ...]) -> Callable[[Path], bool]:
    """The check for one run's files: inside the roots and readable by its owner. An owner
    unknown on this host (another cluster's account) may read nothing."""
    account = _account(user)

    def may_read(path: Path) -> bool:
        return account is not None and inside(path, roots) and readable_by(path, account)

    return may_read
