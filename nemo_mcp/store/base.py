"""The state-store interface: the server's own data, safe across processes and crashes.

What is kept (nothing else of the server's is persisted; the client id stays the plain ``client_id`` file
other NemoVideo tools read, see :mod:`nemo_mcp.api.identity`):

- **identity**: the anonymous NemoVideo token per API base URL, with its expiry and the user id it belongs to
  (:class:`TokenStore`, what :mod:`nemo_mcp.api` needs to mint a token once across processes);
- **projects**: the registry of backend sessions and each backend's current project
  (:class:`ProjectRecords`);
- **job handles**: what a later server process needs to answer ``get_job`` (:class:`JobRecords`).

:class:`StateStore` bundles the three. Implementations: ``nemo_mcp.store.sqlite`` (the default: one SQLite
file in the config folder), ``nemo_mcp.store.memory`` (one process only: tests, the embedded backend, and
the reference for the semantics). A shared store for several workers (Valkey/Redis,
``NEMO_STORE_URL=redis://...``) implements the same protocols.

Rules every implementation keeps:

- Every method is ``async`` and short: no method waits on the network except the store's own round trip,
  and none holds a lock across an ``await`` of the caller's (``mint_lock`` is the one lock a caller holds).
- Each method is atomic on its own: a read-modify-write (``ProjectRecords.add``, ``TokenStore.save``) is one
  transaction (SQLite ``BEGIN IMMEDIATE``; Redis ``WATCH``/``MULTI`` or a Lua script), so two processes
  never lose each other's writes.
- Records are plain dataclasses with ``to_dict``/``from_dict`` (JSON types only), so a key-value store can
  keep each one as a JSON document; ``from_dict`` ignores unknown keys and fills missing ones with defaults.
- **Tenants**: a store object is bound to one tenant (``store.tenant``, :data:`LOCAL_TENANT` for the single
  local user) and every key it reads or writes includes it; :meth:`StateStore.for_tenant` gives the view of
  another tenant over the same storage (hosted mode keys it by the verified user id). A record never names
  its tenant: the store it was read from does.
- Nothing here logs or formats a token (:class:`StoredToken` hides it from ``repr``).
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self

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

#: the tenant of a single-user install (every record of a local server belongs to it)
LOCAL_TENANT = "local"
#: treat a token as expired this long before its stated expiry
EXPIRY_SKEW = 120.0

JobState = Literal["running", "succeeded", "failed", "cancelled"]


def _from_dict(cls: type[Any], data: Any) -> Any:
    """``cls(**data)`` with only the fields ``cls`` has (a record written by a newer version still reads)."""
    if not isinstance(data, dict):
        raise TypeError(f"a {cls.__name__} is a JSON object")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


# -- records --------------------------------------------------------------------------------------------


@dataclass
class StoredToken:
    """An anonymous NemoVideo token as kept for one API base URL."""

    token: str = field(repr=False)
    expires_at: float | None = None  # epoch seconds; None = no stated expiry
    user_id: str | None = None  # the anonymous user it belongs to (for the ``?bind=`` registration link)
    client_id: str | None = None  # the X-Client-Id it was minted with
    obtained_at: float = field(default_factory=time.time)

    def valid(self, now: float | None = None) -> bool:
        """Non-empty and not within :data:`EXPIRY_SKEW` of its expiry."""
        if not self.token:
            return False
        if self.expires_at is None:
            return True
        now = time.time() if now is None else now
        return now < self.expires_at - EXPIRY_SKEW

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        rec: Self = _from_dict(cls, data)
        return rec


@dataclass
class ProjectRecord:
    """One backend session (a "project") in the registry. Nothing secret: ids, a title, times, a summary."""

    session_id: str
    task_id: str
    server: str  # the backend it lives on: the API base URL, or "local" for the embedded backend
    title: str = "project"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)  # last activity (newest first in listings)
    user_id: str | None = None  # NemoVideo's user id for the session (not the tenant)
    summary: str | None = None  # last known timeline summary line
    lost: bool = False  # the backend answered "session not found"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        rec: Self = _from_dict(cls, data)
        return rec


@dataclass
class JobRecord:
    """What a later server process needs to answer ``get_job`` for a handle it did not start.

    Written when the job starts, when a fact a restart needs becomes known (the render id, the snapshot an
    edit is diffed against), and when it ends. A record left ``running`` by a process that stopped is
    resumed (a render, by its id) or re-derived (an edit, by diffing the project state against
    ``snapshot``) by whoever is asked next.
    """

    id: str  # the handle, ``job_<random>``
    kind: Literal["edit", "export", "upload"]
    server: str  # the backend it runs on (as ProjectRecord.server)
    session_id: str | None
    description: str
    started_at: float = field(default_factory=time.time)  # wall clock, epoch seconds
    updated_at: float = field(default_factory=time.time)  # last write; retention counts from here
    status: JobState = "running"
    owner: str = ""  # the process that runs it ("host:pid:start"): another owner means "started elsewhere"
    progress: float | None = None  # 0..100 when known, at the last write
    message: str = ""  # the last status line, at the last write
    render_id: str | None = None  # export: the render to poll
    instruction: str | None = None  # edit: what was sent to the agent (never re-sent)
    snapshot: dict[str, Any] | None = None  # edit: the project as it was when the turn started
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific facts (plan, download folder...)
    result: dict[str, Any] | None = None  # a finished job's result (its tool result model, as JSON)
    failure: str | None = None  # a failed job's "[tag] message"

    @property
    def done(self) -> bool:
        return self.status != "running"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        rec: Self = _from_dict(cls, data)
        return rec


# -- the three parts --------------------------------------------------------------------------------------


class TokenStore(Protocol):
    """The anonymous token per API base URL, shared by every process of one tenant.

    The backend issues one anonymous token per client id per 7 days, so a token must be minted once and
    never lost: ``save`` and ``forget`` are compare-and-swap, and ``mint_lock`` makes the processes that
    find no usable token take turns (the first mints and saves; the others then read its token).
    """

    async def read(self, base_url: str) -> StoredToken | None:
        """The stored token for ``base_url`` (expired or not), or None."""
        ...

    async def save(self, base_url: str, token: StoredToken, *, replacing: str | None) -> bool:
        """Store ``token`` only if the stored token is still ``replacing`` (None: only if none is stored).

        True when saved; False when another process changed the entry first (read it instead)."""
        ...

    async def forget(self, base_url: str, token: str) -> bool:
        """Delete the entry only if it holds ``token`` (the one the caller saw rejected); True if deleted.

        A process must never forget a token it did not see rejected: another process may have saved a
        fresh one in the meantime."""
        ...

    def mint_lock(self, base_url: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        """``async with tokens.mint_lock(url, timeout=45) as held:`` around "read again, else mint and save".

        Held by at most one process (of this tenant and URL, or more widely) at a time and released when the
        holder dies (a crash must not lock the others out). Yields True once held, False if ``timeout``
        seconds passed first: the caller then goes on without it (its mint may meet a 429, after which it
        reads the store again). Waiting is cancellable and never blocks the event loop."""
        ...


class ProjectRecords(Protocol):
    """The project registry: records per backend (``server``) and the current project of each backend."""

    async def get(self, server: str, session_id: str) -> ProjectRecord | None: ...

    async def recent(self, server: str) -> list[ProjectRecord]:
        """The backend's projects, newest activity (``updated_at``) first."""
        ...

    async def current(self, server: str) -> str | None:
        """The current project's session id (it may name a project since marked lost), or None."""
        ...

    async def add(self, record: ProjectRecord, *, make_current: bool, keep: int) -> None:
        """Insert or replace ``record`` (by server and session id), optionally make it current, and keep
        only the ``keep`` most recently active projects of its backend, in one atomic step."""
        ...

    async def set_current(self, server: str, session_id: str) -> None: ...

    async def touch(
        self, server: str, session_id: str, *, summary: str | None = None, user_id: str | None = None
    ) -> bool:
        """Record activity now (``updated_at``), and the summary / user id when given; False if unknown."""
        ...

    async def mark_lost(self, server: str, session_id: str) -> None:
        """Flag the project lost; if it was current, the backend has no current project any more."""
        ...


class JobRecords(Protocol):
    """Job handles, kept for the retention period after their last write."""

    async def put(self, record: JobRecord) -> None:
        """Insert or replace the record with ``record.id`` (the caller sets ``updated_at``)."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def prune(self, before: float) -> int:
        """Delete the records last written before ``before`` (epoch seconds); how many went. A store that
        expires keys itself (a Redis TTL of the retention period on each ``put``) may return 0."""
        ...


class StateStore(Protocol):
    """One tenant's view of the store: ``store.tokens``, ``store.projects``, ``store.jobs``."""

    @property
    def tenant(self) -> str: ...

    @property
    def location(self) -> str:
        """Where the data lives, for logs and messages (a path, or a URL without credentials)."""
        ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def projects(self) -> ProjectRecords: ...

    @property
    def jobs(self) -> JobRecords: ...

    def for_tenant(self, tenant: str) -> StateStore:
        """The view of ``tenant`` over the same storage (it shares the connection: close only the store
        that was opened)."""
        ...

    async def aclose(self) -> None: ...
