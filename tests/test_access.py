"""What the daemon may quote for a run: inside the configured roots, readable by the job's owner
(checked with a real second local account and real file modes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eagle3_monitor.monitor.access import Account, ReadPolicy, policy_for
from eagle3_monitor.review.layout import discover
from eagle3_monitor.review.run import ReviewSettings, review_experiment
from eagle3_monitor.rules import Catalog

OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n"


@pytest.fixture
def owner(local_user: str) -> str:
    """The job's owner: a local account other than the daemon's."""
    return local_user


@pytest.fixture
def outside(searchable_dir: Path) -> Path:
    return searchable_dir


@pytest.fixture
def tree(outside: Path) -> Path:
    root = outside / "scratch"
    root.mkdir(mode=0o755)
    return root


def test_the_owner_reads_what_its_modes_allow(tree: Path, owner: str) -> None:
    account = Account.named(owner)
    assert account is not None
    public, private = tree / "public.out", tree / "private.out"
    public.write_text(OOM)
    private.write_text(OOM)
    public.chmod(0o644)
    private.chmod(0o600)  # root's file, closed to others
    policy = ReadPolicy((), account)
    assert policy.allows(public) is True
    assert policy.allows(private) is False

    os.chown(private, account.uid, -1)
    assert policy.allows(private) is True
    tree.chmod(0o700)  # a directory above it the owner cannot search
    assert policy.allows(public) is False


def test_symlinks_are_judged_by_their_target(tree: Path, outside: Path, owner: str) -> None:
    secret = outside / "secret"
    secret.write_text("root:$y$j9T$abc:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    link = tree / "sbatch_evil_42.out"
    link.symlink_to(secret)
    assert policy_for(owner, (tree,)).allows(link) is False  # outside the roots
    assert policy_for(owner, ()).allows(link) is False  # unreadable by the owner
    assert ReadPolicy().allows(link) is True  # the CLI reads what its user can


def test_an_owner_unknown_here_may_read_nothing(tree: Path) -> None:
    log = tree / "x.out"
    log.write_text(OOM)
    assert policy_for("no-such-user-e3", ()).allows(log) is False


def test_a_review_skips_logs_the_owner_could_not_read(
    tree: Path, outside: Path, owner: str, catalog: Catalog
) -> None:
    task_dir = tree / "cicd_1" / "M_EAGLE3_0"
    task_dir.mkdir(parents=True)
    for directory in (tree / "cicd_1", task_dir):
        directory.chmod(0o755)
    readable = task_dir / "log-a.M_EAGLE3_0_7_0.out"
    readable.write_text("starting\n")
    readable.chmod(0o644)
    secret = outside / "shadow"
    secret.write_text(OOM)
    secret.chmod(0o600)
    (task_dir / "sbatch_a.M_EAGLE3_0_7.out").symlink_to(secret)

    settings = ReviewSettings(read_policy=policy_for(owner, (tree,)))
    [review] = review_experiment(discover(tree / "cicd_1"), catalog, settings).tasks
    assert review.logs == (readable,)
    assert any("skipped" in problem for problem in review.problems)
    assert review.root_cause is None or "out of memory" not in review.root_cause.summary.lower()
