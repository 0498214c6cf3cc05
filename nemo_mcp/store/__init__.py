"""The server's state store (identity, projects, job handles): the interface in :mod:`nemo_mcp.store.base`.

The bottom layer of the package: imports nothing of ``nemo_mcp`` (``api`` and ``server`` use it), and
neither ``mcp`` nor the embedded backend.
"""

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
]
