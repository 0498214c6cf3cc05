"""The SQLite file behind :mod:`nemo_mcp.store.sqlite`: opening it soundly, and the two ways to use it.

- WAL journal (readers never wait for the writer), ``synchronous=FULL`` (a committed token survives a
  power cut, not only a crash), a busy timeout, and short transactions: every read-modify-write is one
  ``BEGIN IMMEDIATE`` transaction, so two processes never lose each other's writes.
- Each call runs on a worker thread (the event loop never waits on the disk or on another process's
  transaction); one connection per opened file, used by one thread at a time.
- A file that is not a sound database (it fails to open or ``PRAGMA quick_check``) is moved aside as
  ``state.db.corrupt-<time>`` with its -wal/-shm, named in the log, and a new one is created.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from nemo_mcp.store.files import create_private_file, move_aside

__all__ = ["Database", "open_checked"]

log = logging.getLogger("nemo_mcp.store")

BUSY_TIMEOUT_MS = 10_000

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


class Database:
    """One connection and the two ways to use it: a plain read, or a write transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._lock = threading.Lock()  # sqlite3 connections are not for two threads at once
        self.closed = False

    def read_now(self, work: Work[T]) -> T:
        with self._lock:
            self._check_open()
            return work(self.conn)

    def write_now(self, work: Work[T]) -> T:
        with self._lock:
            self._check_open()
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return result

    def _check_open(self) -> None:
        if self.closed:
            raise sqlite3.ProgrammingError("the state store is closed")

    async def read(self, work: Work[T]) -> T:
        return await anyio.to_thread.run_sync(self.read_now, work)

    async def write(self, work: Work[T]) -> T:
        return await anyio.to_thread.run_sync(self.write_now, work)

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self.conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        row = conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
    except BaseException:
        conn.close()
        raise
    return conn


def open_checked(path: Path) -> sqlite3.Connection:
    """A connection to a sound database at ``path``: a corrupt file (and its -wal/-shm) is moved aside."""
    create_private_file(path)
    try:
        conn = _connect(path)
    except sqlite3.OperationalError:
        raise  # locked, unreadable folder...: not a damaged file, nothing to move
    except sqlite3.DatabaseError as exc:
        aside = move_aside(path, "corrupt")
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists() and aside is not None:
                extra.rename(aside.with_name(aside.name + suffix))
        log.warning(
            "the state store %s was damaged (%s): kept as %s, starting a new one (tokens, projects and job "
            "handles in it are not read)",
            path,
            exc,
            aside.name if aside else "(gone)",
        )
        create_private_file(path)
        conn = _connect(path)
    return conn
