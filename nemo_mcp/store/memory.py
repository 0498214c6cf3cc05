"""A state store that lives in one process's memory: for the embedded backend (whose sessions end with the
process anyway), for a config folder that cannot be written, and for tests. It is also the plainest
statement of the semantics every store keeps (:mod:`nemo_mcp.store.base`)."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import anyio

from nemo_mcp.store.base import LOCAL_TENANT, JobRecord, ProjectRecord, StoredToken

__all__ = ["MemoryStore"]


@dataclass
class _Data:
    """Everything, keyed by tenant first. Methods never await while changing it, so each is atomic."""

    tokens: dict[tuple[str, str], StoredToken] = field(default_factory=dict)
    projects: dict[tuple[str, str, str], ProjectRecord] = field(default_factory=dict)
    current: dict[tuple[str, str], str] = field(default_factory=dict)
    jobs: dict[tuple[str, str], JobRecord] = field(default_factory=dict)
    mint_locks: dict[tuple[str, str], anyio.Semaphore] = field(default_factory=dict)


class _Tokens:
    def __init__(self, data: _Data, tenant: str) -> None:
        self._d = data
        self._t = tenant

    async def read(self, base_url: str) -> StoredToken | None:
        tok = self._d.tokens.get((self._t, base_url))
        return copy.copy(tok)

    async def save(self, base_url: str, token: StoredToken, *, replacing: str | None) -> bool:
        cur = self._d.tokens.get((self._t, base_url))
        if (cur.token if cur else None) != replacing:
            return False
        self._d.tokens[(self._t, base_url)] = copy.copy(token)
        return True

    async def forget(self, base_url: str, token: str) -> bool:
        cur = self._d.tokens.get((self._t, base_url))
        if cur is None or cur.token != token:
            return False
        del self._d.tokens[(self._t, base_url)]
        return True

    def mint_lock(self, base_url: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        # a semaphore, not a lock: like a file lock it has no owner, so a second taker waits, whoever it is
        lock = self._d.mint_locks.setdefault((self._t, base_url), anyio.Semaphore(1))
        return _hold(lock, timeout)


@asynccontextmanager
async def _hold(lock: anyio.Semaphore, within: float) -> AsyncIterator[bool]:
    held = False
    with anyio.move_on_after(within):
        await lock.acquire()
        held = True
    try:
        yield held
    finally:
        if held:
            lock.release()


class _Projects:
    def __init__(self, data: _Data, tenant: str) -> None:
        self._d = data
        self._t = tenant

    async def get(self, server: str, session_id: str) -> ProjectRecord | None:
        return copy.copy(self._d.projects.get((self._t, server, session_id)))

    async def recent(self, server: str) -> list[ProjectRecord]:
        mine = [copy.copy(r) for (t, s, _), r in self._d.projects.items() if t == self._t and s == server]
        # dicts keep insertion order: among equal times the later insertion comes first
        return sorted(reversed(mine), key=lambda r: r.updated_at, reverse=True)

    async def current(self, server: str) -> str | None:
        return self._d.current.get((self._t, server))

    async def add(self, record: ProjectRecord, *, make_current: bool, keep: int) -> None:
        key = (self._t, record.server, record.session_id)
        self._d.projects.pop(key, None)
        self._d.projects[key] = copy.copy(record)
        if make_current:
            self._d.current[(self._t, record.server)] = record.session_id
        kept = {(self._t, r.server, r.session_id) for r in (await self.recent(record.server))[: max(1, keep)]}
        for k in [k for k in self._d.projects if k[:2] == key[:2] and k not in kept]:
            del self._d.projects[k]

    async def set_current(self, server: str, session_id: str) -> None:
        self._d.current[(self._t, server)] = session_id

    async def touch(
        self, server: str, session_id: str, *, summary: str | None = None, user_id: str | None = None
    ) -> bool:
        rec = self._d.projects.get((self._t, server, session_id))
        if rec is None:
            return False
        rec.updated_at = time.time()
        if summary is not None:
            rec.summary = summary
        if user_id is not None:
            rec.user_id = user_id
        return True

    async def mark_lost(self, server: str, session_id: str) -> None:
        rec = self._d.projects.get((self._t, server, session_id))
        if rec is not None:
            rec.lost = True
        if self._d.current.get((self._t, server)) == session_id:
            del self._d.current[(self._t, server)]


class _Jobs:
    def __init__(self, data: _Data, tenant: str) -> None:
        self._d = data
        self._t = tenant

    async def put(self, record: JobRecord) -> None:
        self._d.jobs[(self._t, record.id)] = copy.deepcopy(record)

    async def get(self, job_id: str) -> JobRecord | None:
        return copy.deepcopy(self._d.jobs.get((self._t, job_id)))

    async def prune(self, before: float) -> int:
        old = [k for k, r in self._d.jobs.items() if k[0] == self._t and r.updated_at < before]
        for k in old:
            del self._d.jobs[k]
        return len(old)


class MemoryStore:
    """:class:`~nemo_mcp.store.base.StateStore` in this process's memory (gone when it ends)."""

    def __init__(self, tenant: str = LOCAL_TENANT, *, _data: _Data | None = None) -> None:
        self._data = _data if _data is not None else _Data()
        self._tenant = tenant
        self._tokens = _Tokens(self._data, tenant)
        self._projects = _Projects(self._data, tenant)
        self._jobs = _Jobs(self._data, tenant)

    @property
    def tenant(self) -> str:
        return self._tenant

    @property
    def location(self) -> str:
        return "memory (this process only)"

    @property
    def tokens(self) -> _Tokens:
        return self._tokens

    @property
    def projects(self) -> _Projects:
        return self._projects

    @property
    def jobs(self) -> _Jobs:
        return self._jobs

    def for_tenant(self, tenant: str) -> MemoryStore:
        return MemoryStore(tenant, _data=self._data)

    async def aclose(self) -> None:
        return None
