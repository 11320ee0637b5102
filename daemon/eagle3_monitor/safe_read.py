"""Read a small file the safe way: open it once without following a symlink and without
blocking on a FIFO, check the open descriptor (a regular file, not too big), then read from
that descriptor. Used for the launcher's leftovers and model configs, which may sit in
directories other users write to."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from eagle3_monitor.errors import UnusableInputError

SMALL_FILE_BYTES = 4 << 20


def read_small(path: Path, limit: int = SMALL_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; UnusableInputError (one line)
    for a missing file, a symlink, a FIFO or device, or a file too big."""
    data = _read(path, limit, whole=True)
    if len(data) > limit:
        raise UnusableInputError(f"{path}: grew past {limit} bytes while being read")
    return data


def read_head(path: Path, limit: int) -> bytes:
    """The first `limit` bytes of a regular file of any size (a log's head)."""
    return _read(path, limit, whole=False)[:limit]


def _read(path: Path, limit: int, *, whole: bool) -> bytes:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise UnusableInputError(f"{path}: no such file") from None
    except OSError as error:
        reason = "a symbolic link" if error.errno == errno.ELOOP else (error.strerror or str(error))
        raise UnusableInputError(f"{path}: cannot open: {reason}") from None
    with os.fdopen(descriptor, "rb", buffering=0) as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UnusableInputError(f"{path}: not a regular file")
        if whole and status.st_size > limit:
            raise UnusableInputError(f"{path}: {status.st_size} bytes, more than {limit}")
        try:
            return stream.read(limit + 1) or b""
        except OSError as error:
            raise UnusableInputError(f"{path}: cannot read: {error.strerror}") from None


def read_small_text(path: Path, limit: int = SMALL_FILE_BYTES) -> str:
    try:
        return read_small(path, limit).decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnusableInputError(f"{path}: not UTF-8 text: {error.reason}") from None
