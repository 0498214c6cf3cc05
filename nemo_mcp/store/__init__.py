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
    "open_shared_store",
    "open_store",
]

#: URL schemes of the shared store (NEMO_STORE_URL): Valkey or Redis, over TCP, TLS or a unix socket
SHARED_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")


def open_store(config_dir: Path, *, tenant: str = LOCAL_TENANT) -> StateStore:
    """The store of ``config_dir`` (``state.db`` there, migrating older files on first use). Blocking: call it
    from a worker thread in async code. Raises ``OSError`` or ``sqlite3.Error`` when the folder is unusable
    (callers fall back to :class:`~nemo_mcp.store.memory.MemoryStore` and say so)."""
    from nemo_mcp.store.sqlite import open_sqlite_store

    return open_sqlite_store(Path(config_dir), tenant=tenant)


def open_shared_store(url: str, *, tenant: str = LOCAL_TENANT) -> StateStore:
    """The shared store at ``url`` (``NEMO_STORE_URL``: ``redis://``, ``rediss://``, ``unix://``; ``valkey://``
    and ``valkeys://`` are read as their redis spellings). Connects lazily. Raises ``ValueError`` for
    another scheme and ``ImportError`` when the ``redis`` client is not installed (``nemo-mcp[hosted]``)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in SHARED_SCHEMES:
        schemes = ", ".join(s + "://" for s in SHARED_SCHEMES)
        raise ValueError(f"NEMO_STORE_URL must start with one of {schemes}")
    scheme = {"valkey": "redis", "valkeys": "rediss"}.get(scheme.lower(), scheme.lower())
    from nemo_mcp.store.redis import open_redis_store

    return open_redis_store(f"{scheme}://{rest}", tenant=tenant)
