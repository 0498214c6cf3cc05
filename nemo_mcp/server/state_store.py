"""The state store a server uses: the SQLite store of its config folder (shared with every nemo-mcp process
of the user), or memory with the embedded backend (whose sessions end with the process) and when the
config folder cannot be used (said in the log: tokens, projects and job handles then last this process)."""

from __future__ import annotations

import logging
import sqlite3

import anyio.to_thread

from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.store import StateStore, open_store
from nemo_mcp.store.memory import MemoryStore

__all__ = ["open_server_store"]

log = logging.getLogger(__name__)


async def open_server_store(settings: ServerSettings) -> StateStore:
    if settings.backend == "local":
        return MemoryStore()
    try:
        store = await anyio.to_thread.run_sync(open_store, settings.config_dir)
    except (OSError, sqlite3.Error) as exc:
        log.warning(
            "could not open the state store in %s (%s): the token, projects and job handles will last "
            "this process only",
            settings.config_dir,
            exc,
        )
        return MemoryStore()
    log.info("state store: %s", store.location)
    return store
