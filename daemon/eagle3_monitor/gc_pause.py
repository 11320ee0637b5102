"""The cyclic garbage collector paused around a burst of allocation.

A poll that meets thousands of new jobs makes tens of thousands of small objects that live on
(records, keys, the poll's memory); each time the collector's allocation threshold is crossed it
walks the young objects again, which is a sixth of such a poll's CPU. Reference counting still
frees everything that is not a cycle while it is paused; the collector runs again, once, after.
Process-wide (so another thread's cycles wait too), which is why it wraps only CPU work that
lasts well under a second, never a wait on Slurm."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pauses in progress, in any thread
_resume = False  # whether the collector was enabled when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Nothing collected inside; the collector as it was once the last pause ends."""
    global _pauses, _resume  # noqa: PLW0603 - process-wide, like the collector itself
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
