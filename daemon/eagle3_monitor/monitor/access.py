"""Which files the daemon may quote to Slack on a job owner's behalf.

The daemon reads with its own rights (often more than the job's owner has), so each file it
reads for a run is opened under that run's `ReadPolicy` (`safe_read.py`): it must lie inside the
configured experiment roots (when any are configured) and the run's owner must be able to read
it (search permission on every directory above it, read permission on the file, by the usual
owner / group / other bits), checked on the descriptor that is then read. A symlink from an
experiment dir to /etc/shadow fails both."""

from __future__ import annotations

import functools
from pathlib import Path

from eagle3_monitor.safe_read import Account, ReadPolicy

__all__ = ["Account", "ReadPolicy", "policy_for"]


@functools.lru_cache(maxsize=512)
def _account(user: str) -> Account | None:
    """Cached: group databases can be slow (LDAP), and this runs every follow cycle."""
    return Account.named(user)


def policy_for(user: str, roots: tuple[Path, ...]) -> ReadPolicy:
    """The policy for one run's files: inside the roots and readable by its owner. An owner
    unknown on this host (another cluster's account) may read nothing."""
    account = _account(user)
    if account is None:
        return ReadPolicy(roots, None, deny_all=f"the job's owner {user!r} is unknown here")
    return ReadPolicy(roots, account)
