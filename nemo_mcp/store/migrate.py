"""The SQLite store's schema and its one-time import of the files older versions wrote.

Schema versions are ``PRAGMA user_version``: each entry of :data:`MIGRATIONS` brings the file from its index
to the next, inside one transaction, so a process that dies half-way leaves the previous version.

Older versions kept ``token.json`` (anonymous tokens per API URL) and ``projects.json`` (the registry) in the
config folder. On the first start each is read into the store in one transaction that also notes it in
``imported``, then renamed ``<name>.migrated`` (kept, never deleted); a file that does not parse is moved
aside as ``<name>.corrupt-<time>``. Each step is logged. A crash between the import and the rename only
leaves the rename to do at the next start (the ``imported`` row says so), so nothing is imported twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemo_mcp.store.base import LOCAL_TENANT, ProjectRecord, StoredToken
from nemo_mcp.store.files import move_aside

__all__ = ["MIGRATIONS", "import_legacy_files", "upgrade"]

log = logging.getLogger("nemo_mcp.store")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tokens (
        tenant TEXT NOT NULL, base_url TEXT NOT NULL, token TEXT NOT NULL, expires_at REAL,
        user_id TEXT, client_id TEXT, obtained_at REAL NOT NULL,
        PRIMARY KEY (tenant, base_url));
    CREATE TABLE projects (
        tenant TEXT NOT NULL, server TEXT NOT NULL, session_id TEXT NOT NULL, task_id TEXT NOT NULL,
        title TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, user_id TEXT,
        summary TEXT, lost INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, server, session_id));
    CREATE TABLE current_project (
        tenant TEXT NOT NULL, server TEXT NOT NULL, session_id TEXT NOT NULL,
        PRIMARY KEY (tenant, server));
    CREATE TABLE jobs (
        tenant TEXT NOT NULL, id TEXT NOT NULL, updated_at REAL NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (tenant, id));
    CREATE INDEX jobs_by_age ON jobs (updated_at);
    CREATE TABLE imported (name TEXT PRIMARY KEY, imported_at REAL NOT NULL);
    """,
)

_MAX_LEGACY_FILE = 16 * 1024 * 1024


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the schema to the newest version (the caller holds the store's open lock)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"the state store has schema version {version}; this nemo-mcp knows up to {len(MIGRATIONS)}"
        )
    for target in range(version + 1, len(MIGRATIONS) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# -- the files of older versions -------------------------------------------------------------------------


def _tokens(conn: sqlite3.Connection, doc: Any) -> int:
    tokens = doc.get("tokens") if isinstance(doc, dict) else None
    if not isinstance(tokens, dict):
        raise ValueError("no 'tokens' object")
    n = 0
    for base_url, entry in tokens.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("token"), str)
            or not entry["token"].strip()
        ):
            continue
        expires = entry.get("expires_at")  # older versions wrote epoch seconds or null
        tok = StoredToken(
            token=entry["token"].strip(),
            expires_at=float(expires)
            if isinstance(expires, (int, float)) and not isinstance(expires, bool)
            else None,
            user_id=entry["user_id"] if isinstance(entry.get("user_id"), str) else None,
            client_id=entry["client_id"] if isinstance(entry.get("client_id"), str) else None,
            obtained_at=float(entry["obtained_at"])
            if isinstance(entry.get("obtained_at"), (int, float))
            else time.time(),
        )
        # A token the store already holds for this URL is newer than the file's: keep it.
        cur = conn.execute(
            "INSERT OR IGNORE INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                LOCAL_TENANT,
                str(base_url),
                tok.token,
                tok.expires_at,
                tok.user_id,
                tok.client_id,
                tok.obtained_at,
            ),
        )
        n += cur.rowcount
    return n


def _projects(conn: sqlite3.Connection, doc: Any) -> int:
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    n = 0
    for entry in doc.get("projects") or []:
        try:
            rec = ProjectRecord.from_dict(entry)
        except TypeError:
            continue
        if not isinstance(rec.session_id, str) or not rec.session_id or not isinstance(rec.server, str):
            continue
        cur = conn.execute(
            "INSERT OR IGNORE INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                LOCAL_TENANT,
                rec.server,
                rec.session_id,
                str(rec.task_id or ""),
                str(rec.title or "project"),
                float(rec.created_at),
                float(rec.updated_at),
                rec.user_id if isinstance(rec.user_id, str) else None,
                rec.summary if isinstance(rec.summary, str) else None,
                int(bool(rec.lost)),
            ),
        )
        n += cur.rowcount
    current = doc.get("current")
    if isinstance(current, dict):
        for server, sid in current.items():
            if isinstance(sid, str) and sid:
                conn.execute(
                    "INSERT OR IGNORE INTO current_project VALUES (?, ?, ?)", (LOCAL_TENANT, str(server), sid)
                )
    return n


# One entry of a damaged token.json whose text is still legible: "<API URL>": {... "token": "<token>" ...}
_LEGIBLE_ENTRY = re.compile(
    r'"(https?://[^"\\\s]{1,300})"\s*:\s*\{[^{}]{0,2000}?"token"\s*:\s*"([!-~]{8,4096}?)"'
)


def _salvage_tokens(conn: sqlite3.Connection, path: Path) -> int:
    """The tokens a damaged (e.g. truncated) token.json still shows: losing one locks the client out of
    anonymous tokens for days, and one that no longer works is only refused and replaced."""
    try:
        text = path.read_bytes()[:_MAX_LEGACY_FILE].decode("utf-8", "replace")
    except OSError:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        n = 0
        for url, token in _LEGIBLE_ENTRY.findall(text):
            cur = conn.execute(
                "INSERT OR IGNORE INTO tokens VALUES (?, ?, ?, NULL, NULL, NULL, ?)",
                (LOCAL_TENANT, url, token, time.time()),
            )
            n += cur.rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return n


_LEGACY: tuple[tuple[str, str, Callable[[sqlite3.Connection, Any], int]], ...] = (
    ("token.json", "token(s)", _tokens),
    ("projects.json", "project(s)", _projects),
)


def _retire(path: Path) -> Path | None:
    """Rename an imported file ``<name>.migrated`` (timestamped if that name is taken), owner-only."""
    target = path.with_name(path.name + ".migrated")
    if target.exists():
        kept = move_aside(path, "migrated")
    else:
        try:
            path.rename(target)
        except FileNotFoundError:
            return None
        kept = target
    if kept is not None:
        with contextlib.suppress(OSError):
            kept.chmod(0o600)  # it may hold a token
    return kept


def import_legacy_files(conn: sqlite3.Connection, folder: Path, store_path: Path) -> None:
    """Import ``token.json`` and ``projects.json`` from ``folder`` once (the caller holds the open lock)."""
    for name, what, importer in _LEGACY:
        path = folder / name
        if not path.is_file():
            continue
        done = conn.execute("SELECT 1 FROM imported WHERE name = ?", (name,)).fetchone()
        if done is None:
            try:
                if path.stat().st_size > _MAX_LEGACY_FILE:
                    raise ValueError("too large")
                doc = json.loads(path.read_text(encoding="utf-8"))
                conn.execute("BEGIN IMMEDIATE")
                try:
                    n = importer(conn, doc)
                    conn.execute("INSERT INTO imported VALUES (?, ?)", (name, time.time()))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as exc:
                saved = _salvage_tokens(conn, path) if name == "token.json" else 0
                aside = move_aside(path, "corrupt")
                log.warning(
                    "%s could not be read (%s): kept as %s; %s",
                    path,
                    type(exc).__name__,
                    aside.name if aside else "(gone)",
                    f"{saved} token(s) still legible in it were recovered" if saved else "started without it",
                )
                continue
            log.warning("migrated %d %s from %s into the state store %s", n, what, path, store_path)
        kept = _retire(path)
        if kept is not None:
            log.warning("%s is no longer read; kept as %s", path, kept.name)
