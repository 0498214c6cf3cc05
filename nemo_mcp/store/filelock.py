"""A cross-process lock on a file, released by the kernel when its holder dies.

``fcntl.flock`` (``msvcrt.locking`` on Windows) on a small lock file, taken without blocking and retried
with short sleeps until a deadline, so waiting never blocks the event loop, can be cancelled, and never
leaves a thread blocked in the kernel holding a lock nobody will release. A lock is held per open file:
two holders in one process exclude each other like two processes do.

Why a file lock and not a row in the database: holding a SQLite write transaction for as long as a token
request takes (seconds, with retries) would stall every other write of every process (projects, job
handles); a lease row would survive a ``kill -9`` of its holder until the lease ran out. The kernel drops
a file lock the moment its holder's descriptor is closed, however the process ended.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio

__all__ = ["FileLock"]

_FIRST_POLL = 0.01
_MAX_POLL = 0.1


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    # elsewhere closing the descriptor releases the flock


class FileLock:
    """``with lock.hold(timeout) as held:`` (blocking, for start-up) or ``async with lock.hold_async(...)``;
    ``held`` is False when the time given passed first (the body then runs without the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _try(self) -> int | None:
        """A descriptor holding the lock, or None if another holder has it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if _try_lock(fd):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return None

    @staticmethod
    def _release(fd: int | None) -> None:
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    @contextmanager
    def hold(self, timeout: float) -> Iterator[bool]:
        deadline = time.monotonic() + timeout
        poll = _FIRST_POLL
        fd = self._try()
        while fd is None and time.monotonic() < deadline:
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
            poll = min(poll * 2, _MAX_POLL)
            fd = self._try()
        try:
            yield fd is not None
        finally:
            self._release(fd)

    @asynccontextmanager
    async def hold_async(self, within: float) -> AsyncIterator[bool]:
        deadline = time.monotonic() + within
        poll = _FIRST_POLL
        fd = self._try()
        while fd is None and time.monotonic() < deadline:
            await anyio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
            poll = min(poll * 2, _MAX_POLL)
            fd = self._try()
        try:
            yield fd is not None
        finally:
            self._release(fd)
