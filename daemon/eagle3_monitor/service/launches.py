"""New experiments under the roots, seen as the launcher makes them: the daemon polls at once.

While no watched job is pending or running, the daemon asks Slurm only every
`idle_poll_interval_seconds`. The launcher writes an experiment's directory under a root before it
submits the jobs, so a directory that appears there (in a root, or in one of its subdirectories:
`<title>/<title>_<id>`) makes the daemon poll now and at the busy interval for a while.

inotify costs nothing while nothing happens: one thread blocked in poll(2) until the kernel has
an event. It sees what is done on this host only (a shared file system does not tell other
nodes), so a pipeline launched on another login node is seen by the idle poll, within its
interval. Watches are bounded (`MAX_WATCHES`, the most recently changed subdirectories first);
names are never followed through symlinks, and nothing under the roots is read."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import structlog
from inotify_simple import Event, INotify, flags

log = structlog.get_logger("eagle3_monitor")

MAX_WATCHES = 1024
# a directory made or moved into a watched one; the kernel's own notices (queue overflow, a
# watched directory gone) come whatever the mask
WATCHED = flags.CREATE | flags.MOVED_TO | flags.ONLYDIR | flags.DONT_FOLLOW
# A flood of new directories (a hostile user, a copy) costs one call a second: the first call
# keeps the daemon's poll busy for minutes, so the rest would tell it nothing new.
CALL_EVERY_SECONDS = 1.0


class LaunchWatcher:
    """Calls `on_launch()` when a directory appears in a root or in a root's subdirectory."""

    def __init__(self, roots: Sequence[Path], on_launch: Callable[[], None]) -> None:
        self.roots = tuple(roots)
        self.on_launch = on_launch
        self._inotify: INotify | None = None
        self._watched: dict[int, tuple[Path, int]] = {}  # watch descriptor -> (path, depth)
        self._stop_reader, self._stop_writer = -1, -1
        self._thread: threading.Thread | None = None
        self._full_logged = False
        self._called = float("-inf")

    @property
    def watching(self) -> list[Path]:
        return sorted(path for path, _ in self._watched.values())

    def start(self) -> bool:
        """Watch the roots; False (and a warning) when inotify cannot be used here."""
        if not self.roots:
            return False
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError as error:
            log.warning("new experiments are seen by the idle poll only", error=str(error))
            return False
        for root in self.roots:
            if self._watch(root, depth=0):
                self._watch_all(_newest_subdirectories(root), depth=1)
        self._stop_reader, self._stop_writer = os.pipe()
        self._thread = threading.Thread(target=self._run, name="launch-watcher", daemon=True)
        self._thread.start()
        return True

    def close(self) -> None:
        """Stop the thread and release the watches."""
        if self._thread is not None:
            os.write(self._stop_writer, b"x")
            self._thread.join(timeout=5)
            self._thread = None
        for descriptor in (self._stop_reader, self._stop_writer):
            if descriptor >= 0:
                os.close(descriptor)
        self._stop_reader = self._stop_writer = -1
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._watched.clear()

    def _watch_all(self, paths: Iterable[Path], depth: int) -> None:
        for path in paths:
            if not self._watch(path, depth):
                return

    def _watch(self, path: Path, depth: int) -> bool:
        """Watch one directory; False when the bound is reached."""
        assert self._inotify is not None
        if len(self._watched) >= MAX_WATCHES:
            if not self._full_logged:
                self._full_logged = True
                log.warning("watching the most recent experiment directories only",
                            limit=MAX_WATCHES)  # fmt: skip
            return False
        try:
            descriptor = self._inotify.add_watch(path, WATCHED)
        except OSError as error:  # gone meanwhile, unreadable, a symlink, the user's limit
            if depth == 0:
                log.warning("cannot watch an experiment root for new experiments",
                            root=str(path), error=error.strerror or str(error))  # fmt: skip
            return True
        self._watched[descriptor] = (path, depth)
        return True

    def _run(self) -> None:
        assert self._inotify is not None
        poller = select.poll()
        poller.register(self._inotify.fileno(), select.POLLIN)
        poller.register(self._stop_reader, select.POLLIN)
        while True:
            ready = {descriptor for descriptor, _ in poller.poll()}
            if self._stop_reader in ready:
                return
            try:
                launched = self._handle(self._inotify.read(timeout=0))
            except OSError as error:  # closed under us: nothing more to watch
                log.warning("stopped watching for new experiments", error=str(error))
                return
            if launched and time.monotonic() - self._called >= CALL_EVERY_SECONDS:
                self._called = time.monotonic()
                try:
                    self.on_launch()
                except Exception:  # the daemon's hook must not end the watcher
                    log.exception("could not act on a new experiment")

    def _handle(self, events: Iterable[Event]) -> bool:
        """Update the watches; True when a new directory appeared (or events were lost)."""
        launched = False
        for event in events:
            descriptor, mask, name = event.wd, event.mask, event.name
            if mask & flags.Q_OVERFLOW:
                launched = True
            elif mask & flags.IGNORED:
                self._watched.pop(descriptor, None)
            elif mask & flags.ISDIR and descriptor in self._watched:
                parent, depth = self._watched[descriptor]
                if depth == 0:
                    self._watch(parent / name, depth=1)
                launched = True
        return launched


def _newest_subdirectories(root: Path) -> list[Path]:
    """The root's subdirectories (not through symlinks), most recently changed first."""
    found: list[tuple[float, Path]] = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        found.append((entry.stat(follow_symlinks=False).st_mtime, Path(entry.path)))
                except OSError:
                    continue
    except OSError:
        return []
    found.sort(key=lambda item: item[0], reverse=True)
    return [path for _, path in found[:MAX_WATCHES]]
