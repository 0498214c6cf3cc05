"""The server's state store (identity, projects, job handles): the interface in :mod:`nemo_mcp.store.base`,
:func:`open_store` to get one.

The bottom layer of the package: imports nothing else of ``nemo_mcp`` (``api`` and ``server`` use it), and
neither ``mcp`` nor the embedded backend. Implementations are imported when opened (``sqlite3`` stays out of
a cold start that never needs it).
"""

from pathlib import Path

from nemo_mcp.store.base import (
    EXPIRY_SKEW,
    LOCAL_TENANT,
    JobRecord,
    JobRecords,
    JobState,
    ProjectRecord,
    ProjectRecords,
    StateStore,
    StoredToken,
    TokenStore,
)

__all__ = [
    "EXPIRY_SKEW",
    "LOCAL_TENANT",
    "JobRecord",
    "JobRecords",
    "JobState",
    "ProjectRecord",
    "ProjectRecords",
    "StateStore",
    "StoredToken",
    "TokenStore",
    "open_store",
]


def open_store(config_dir: Path, *, tenant: str = LOCAL_TENANT) -> StateStore:
    """The store of ``config_dir`` (``state.db`` there, migrating older files on first use). Blocking: call it
    from a worker thread in async code. Raises ``OSError`` or ``sqlite3.Error`` when the folder is unusable
    (callers fall back to :class:`~nemo_mcp.store.memory.MemoryStore` and say so)."""
    from nemo_mcp.store.sqlite import open_sqlite_store

    return open_sqlite_store(Path(config_dir), tenant=tenant)
