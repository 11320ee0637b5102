"""Which files the daemon may quote to Slack on a job owner's behalf.

The daemon reads with its own rights (often more than the job's owner has), so each file it
reads for a run is opened under that run's `ReadPolicy` (`safe_read.py`): it must lie inside the
configured experiment roots (when any are configured) and the run's owner must be able to read
it (search permission on every directory above it, read permission on the file, by the usual
owner / group / other bits), checked on the descriptor that is then read. A symlink from an
experiment dir to /etc/shadow fails both."""

from __future__ import annotations

import functools
import grp
import json
import os
import pwd
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eagle3_monitor.safe_read import Account, ReadPolicy

__all__ = ["Account", "ReadPolicy", "policy_for", "root_problems", "root_problems_as"]


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


# ---------------------------------------------------------------- can the service read the roots?
# The policy above decides what may be QUOTED for a job's owner; whether the daemon can READ an
# experiment at all is the kernel's decision (mode bits, the service's groups, POSIX ACLs), so it
# is asked with access(2) as the account the daemon runs as. docs/deploy.md says how to grant it.
EXPERIMENT_DIRS_LOOKED_AT = 200
NAMED = 3


def root_problems(roots: tuple[Path, ...]) -> list[str]:
    """One line per experiment root this process cannot read, or under which it cannot read
    some experiment directories (the first EXPERIMENT_DIRS_LOOKED_AT looked at), with what
    to do; nothing when every root is readable."""
    account = _name(pwd.getpwuid, os.geteuid()) or str(os.geteuid())
    group = _name(grp.getgrgid, os.getegid()) or str(os.getegid())
    problems = []
    for root in roots:
        problem = _problem_with(root)
        if problem is not None:
            problems.append(
                f"experiment root {root}: {account} {problem}; give it read access: "
                f"`setfacl -R -m g:{group}:rX {root} && setfacl -R -d -m g:{group}:rX {root}`, "
                f"or add {account} to the directories' group (docs/deploy.md)"
            )
    return problems


def root_problems_as(user: str, roots: tuple[Path, ...]) -> list[str]:
    """`root_problems` as `user` would see them (its uid and groups): checked in a child that
    drops to that account, so root can check for the service account."""
    entry = pwd.getpwnam(user)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(reader)
            os.initgroups(user, entry.pw_gid)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            with os.fdopen(writer, "w") as out:
                json.dump(root_problems(roots), out)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not text:
        return [f"could not check the experiment roots as {user}"]
    return [str(line) for line in json.loads(text)]


def _problem_with(root: Path) -> str | None:
    if not root.exists():
        return "finds no such directory" if _searchable(root.parent) else "cannot reach it"
    if not os.access(root, os.R_OK | os.X_OK):
        return "cannot read it"
    unreadable = []
    looked = 0
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if looked >= EXPERIMENT_DIRS_LOOKED_AT:
                    break
                if entry.is_dir(follow_symlinks=False):
                    looked += 1
                    if not os.access(entry.path, os.R_OK | os.X_OK):
                        unreadable.append(entry.name)
    except OSError as error:
        return f"cannot list it ({error.strerror})"
    if not unreadable:
        return None
    names = ", ".join(sorted(unreadable)[:NAMED]) + (", ..." if len(unreadable) > NAMED else "")
    return f"cannot read {len(unreadable)} of {looked} directories in it ({names})"


def _searchable(directory: Path) -> bool:
    return os.access(directory, os.X_OK)


def _name(lookup: Callable[[int], Any], number: int) -> str | None:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return None
