"""The default state store: one SQLite file (``state.db``) in the config folder, shared by every nemo-mcp
process of the user.

- Every read-modify-write is one ``BEGIN IMMEDIATE`` transaction on a WAL database, run on a worker
  thread (:mod:`nemo_mcp.store.database`).
- Opening takes ``state.lock`` (a file lock) for the steps that must not race another process's: the
  integrity check (a damaged file is moved aside and a new one created), the schema upgrade, the import
  of older files (:mod:`nemo_mcp.store.migrate`).
- The token mint lock is ``mint.lock``, a file lock too (:mod:`nemo_mcp.store.filelock` says why).
- The folder is 0700 and every file 0600.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio.to_thread

from nemo_mcp.store.base import LOCAL_TENANT, JobRecord, ProjectRecord, StoredToken
from nemo_mcp.store.database import Database, open_checked
from nemo_mcp.store.filelock import FileLock
from nemo_mcp.store.files import private_dir
from nemo_mcp.store.migrate import import_legacy_files, upgrade

__all__ = ["DB_NAME", "SQLiteStore", "open_sqlite_store"]

log = logging.getLogger("nemo_mcp.store")

DB_NAME = "state.db"
OPEN_LOCK = "state.lock"
MINT_LOCK = "mint.lock"
OPEN_LOCK_TIMEOUT = 30.0


def open_sqlite_store(folder: Path, *, tenant: str = LOCAL_TENANT) -> SQLiteStore:
    """Open (creating, repairing, upgrading and migrating as needed) ``folder/state.db``. Blocking: call it
    from a worker thread in async code. Raises ``OSError`` / ``sqlite3.Error`` when the folder is unusable."""
    private_dir(folder)
    path = folder / DB_NAME
    with FileLock(folder / OPEN_LOCK).hold(OPEN_LOCK_TIMEOUT) as held:
        if not held:
            log.warning(
                "another nemo-mcp process held %s for %.0f s; opening anyway", OPEN_LOCK, OPEN_LOCK_TIMEOUT
            )
        conn = open_checked(path)
        try:
            upgrade(conn)
            import_legacy_files(conn, folder, path)
        except BaseException:
            conn.close()
            raise
    return SQLiteStore(Database(path, conn), tenant)


# -- the three parts -------------------------------------------------------------------------------------


class _Tokens:
    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._tenant = tenant
        self._mint = FileLock(db.path.with_name(MINT_LOCK))

    def _row(self, conn: sqlite3.Connection, base_url: str) -> StoredToken | None:
        row = conn.execute(
            "SELECT token, expires_at, user_id, client_id, obtained_at FROM tokens"
            " WHERE tenant = ? AND base_url = ?",
            (self._tenant, base_url),
        ).fetchone()
        return None if row is None else StoredToken(*row)

    async def read(self, base_url: str) -> StoredToken | None:
        return await self._db.read(functools.partial(self._row, base_url=base_url))

    async def save(self, base_url: str, token: StoredToken, *, replacing: str | None) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            current = self._row(conn, base_url)
            if (current.token if current else None) != replacing:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._tenant,
                    base_url,
                    token.token,
                    token.expires_at,
                    token.user_id,
                    token.client_id,
                    token.obtained_at,
                ),
            )
            return True

        return await self._db.write(work)

    async def forget(self, base_url: str, token: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM tokens WHERE tenant = ? AND base_url = ? AND token = ?",
                (self._tenant, base_url, token),
            )
            return cur.rowcount > 0

        return await self._db.write(work)

    def mint_lock(self, base_url: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        # One lock for every URL and tenant of this file: minting is rare, and this keeps it one file.
        return self._mint.hold_async(timeout)


_SELECT_PROJECTS = (
    "SELECT session_id, task_id, server, title, created_at, updated_at, user_id, summary, lost FROM projects"
    " WHERE tenant = ? AND server = ?"
)


def _project(row: tuple[Any, ...]) -> ProjectRecord:
    sid, task, server, title, created, updated, user, summary, lost = row
    return ProjectRecord(sid, task, server, title, created, updated, user, summary, bool(lost))


class _Projects:
    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._tenant = tenant

    async def get(self, server: str, session_id: str) -> ProjectRecord | None:
        def work(conn: sqlite3.Connection) -> ProjectRecord | None:
            row = conn.execute(
                _SELECT_PROJECTS + " AND session_id = ?",
                (self._tenant, server, session_id),
            ).fetchone()
            return None if row is None else _project(row)

        return await self._db.read(work)

    async def recent(self, server: str) -> list[ProjectRecord]:
        def work(conn: sqlite3.Connection) -> list[ProjectRecord]:
            rows = conn.execute(
                _SELECT_PROJECTS + " ORDER BY updated_at DESC, rowid DESC",
                (self._tenant, server),
            )
            return [_project(r) for r in rows]

        return await self._db.read(work)

    async def current(self, server: str) -> str | None:
        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT session_id FROM current_project WHERE tenant = ? AND server = ?",
                (self._tenant, server),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._db.read(work)

    async def add(self, record: ProjectRecord, *, make_current: bool, keep: int) -> None:
        r = record

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO projects (tenant, server, session_id, task_id, title, created_at,"
                " updated_at, user_id, summary, lost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._tenant,
                    r.server,
                    r.session_id,
                    r.task_id,
                    r.title,
                    r.created_at,
                    r.updated_at,
                    r.user_id,
                    r.summary,
                    int(r.lost),
                ),
            )
            if make_current:
                conn.execute(
                    "INSERT OR REPLACE INTO current_project VALUES (?, ?, ?)",
                    (self._tenant, r.server, r.session_id),
                )
            conn.execute(
                "DELETE FROM projects WHERE tenant = ? AND server = ? AND session_id NOT IN ("
                " SELECT session_id FROM projects WHERE tenant = ? AND server = ?"
                " ORDER BY updated_at DESC, rowid DESC LIMIT ?)",
                (self._tenant, r.server, self._tenant, r.server, max(1, keep)),
            )

        await self._db.write(work)

    async def set_current(self, server: str, session_id: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO current_project VALUES (?, ?, ?)", (self._tenant, server, session_id)
            )

        await self._db.write(work)

    async def touch(
        self, server: str, session_id: str, *, summary: str | None = None, user_id: str | None = None
    ) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE projects SET updated_at = ?, summary = COALESCE(?, summary),"
                " user_id = COALESCE(?, user_id) WHERE tenant = ? AND server = ? AND session_id = ?",
                (time.time(), summary, user_id, self._tenant, server, session_id),
            )
            return cur.rowcount > 0

        return await self._db.write(work)

    async def mark_lost(self, server: str, session_id: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            key = (self._tenant, server, session_id)
            conn.execute(
                "UPDATE projects SET lost = 1 WHERE tenant = ? AND server = ? AND session_id = ?", key
            )
            conn.execute(
                "DELETE FROM current_project WHERE tenant = ? AND server = ? AND session_id = ?", key
            )

        await self._db.write(work)


class _Jobs:
    def __init__(self, db: Database, tenant: str) -> None:
        self._db = db
        self._tenant = tenant

    async def put(self, record: JobRecord) -> None:
        text = json.dumps(record.to_dict(), ensure_ascii=False, default=str)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                (self._tenant, record.id, record.updated_at, text),
            )

        await self._db.write(work)

    async def get(self, job_id: str) -> JobRecord | None:
        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT record FROM jobs WHERE tenant = ? AND id = ?", (self._tenant, job_id)
            ).fetchone()
            return None if row is None else str(row[0])

        text = await self._db.read(work)
        if text is None:
            return None
        try:
            return JobRecord.from_dict(json.loads(text))
        except (ValueError, TypeError):
            log.warning("job record %s could not be read; treated as unknown", job_id)
            return None

    async def prune(self, before: float) -> int:
        def work(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM jobs WHERE tenant = ? AND updated_at < ?", (self._tenant, before)
            ).rowcount

        return await self._db.write(work)


class SQLiteStore:
    """:class:`~nemo_mcp.store.base.StateStore` over one SQLite file; see :func:`open_sqlite_store`."""

    def __init__(self, db: Database, tenant: str = LOCAL_TENANT) -> None:
        self._db = db
        self._tenant = tenant
        self._tokens = _Tokens(db, tenant)
        self._projects = _Projects(db, tenant)
        self._jobs = _Jobs(db, tenant)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._db.path)!r}, tenant={self._tenant!r})"

    @property
    def tenant(self) -> str:
        return self._tenant

    @property
    def location(self) -> str:
        return str(self._db.path)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def tokens(self) -> _Tokens:
        return self._tokens

    @property
    def projects(self) -> _Projects:
        return self._projects

    @property
    def jobs(self) -> _Jobs:
        return self._jobs

    def for_tenant(self, tenant: str) -> SQLiteStore:
        return SQLiteStore(self._db, tenant)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._db.close)

    def close(self) -> None:
        """Close from synchronous code (tests, a child process)."""
        self._db.close()
