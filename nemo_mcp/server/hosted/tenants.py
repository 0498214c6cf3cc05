"""One service per user: their NemoVideo client, projects, jobs, downloads and frames, and nobody else's.

A tenant is the verified user (``user:<sub>``; in a shared deployment without per-user auth, the one
local tenant). Its service is the ordinary :class:`~nemo_mcp.server.service.NemoService` built over:

- the tenant's view of the state store (``store.for_tenant``): its projects, current project, job records
  and anonymous token, so another user's session id or job id is simply not there;
- its own NemoVideo client: the linked token (decrypted by :class:`~nemo_mcp.server.hosted.vault.Vault`)
  or, without one, its own client id and the anonymous token minted for it; never the operator's
  ``NEMO_TOKEN`` and never the MCP access token;
- its own download folder and frame cache (``<root>/users/<digest of the tenant>``);
- a :class:`~nemo_mcp.server.hosted.shared_jobs.SharedJobManager` in the server's task group, answering
  for handles other workers hold (:class:`~nemo_mcp.server.hosted.remote_jobs.SharedHandles`).

Services are made on a user's first request and kept while used: one idle for ``IDLE_SECONDS`` with no
running job is closed (its data stays in the store). Whether the user linked or unlinked a token since is
checked at most every ``RECHECK_SECONDS`` (the link page may have been answered by another worker); the
service is then rebuilt, once its running jobs are done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup

from nemo_mcp.api import ApiConfig, NemoClient
from nemo_mcp.server.hosted.leases import Leases
from nemo_mcp.server.hosted.remote_jobs import RemoteJobs, SharedHandles
from nemo_mcp.server.hosted.shared_jobs import SharedJobManager
from nemo_mcp.server.hosted.vault import LINKED, Vault
from nemo_mcp.server.projects import ProjectStore
from nemo_mcp.server.service import NemoService
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import PriceSource
from nemo_mcp.server.workflows.frames import cache_root
from nemo_mcp.store import LOCAL_TENANT, StateStore

__all__ = ["Tenant", "Tenants", "folder_of"]

log = logging.getLogger(__name__)

IDLE_SECONDS = 1800.0
RECHECK_SECONDS = 5.0
MAX_TENANTS = 2000


def folder_of(tenant: str) -> str:
    """A tenant's folder name: a digest, so no user id ever becomes a path."""
    return hashlib.sha256(tenant.encode()).hexdigest()[:24]


@dataclass
class Tenant:
    key: str
    service: NemoService
    api: NemoClient
    jobs: SharedJobManager
    linked: str | None  # the stored (encrypted) linked token this service was built with
    used_at: float
    checked_at: float

    @property
    def busy(self) -> bool:
        return any(not j.done for j in self.jobs.all())


class Tenants:
    def __init__(
        self,
        *,
        state: StateStore,
        settings: ServerSettings,
        config: ApiConfig,
        prices: PriceSource,
        task_group: TaskGroup,
        leases: Leases,
        vault: Vault | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.settings = settings
        self.config = config
        self.prices = prices
        self.tg = task_group
        self.leases = leases
        self.vault = vault  # None: one shared identity (no per-user auth)
        self.clock = clock
        self._tenants: dict[str, Tenant] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def service(self, tenant: str) -> NemoService:
        """The tenant's service (made, or rebuilt after a link change, as needed)."""
        now = self.clock()
        t = self._tenants.get(tenant)
        if t is not None and now - t.checked_at < RECHECK_SECONDS:
            t.used_at = now
            return t.service
        lock = self._locks.setdefault(tenant, anyio.Lock())
        async with lock:
            t = self._tenants.get(tenant)
            if t is not None and self.clock() - t.checked_at < RECHECK_SECONDS:
                return t.service
            linked = await self._linked_marker(tenant)
            if t is not None and (linked == t.linked or t.busy):
                t.checked_at = t.used_at = self.clock()
                return t.service
            if t is not None:
                await self._close(t)
            self._evict_idle()
            t = await self._build(tenant, linked)
            self._tenants[tenant] = t
            return t.service

    def forget(self, tenant: str) -> None:
        """Check the tenant's credentials again on its next request (after a link or an unlink here)."""
        t = self._tenants.get(tenant)
        if t is not None:
            t.checked_at = -RECHECK_SECONDS

    async def _linked_marker(self, tenant: str) -> str | None:
        if self.vault is None:
            return None
        rec = await self.state.for_tenant(tenant).tokens.read(LINKED + self.vault.server)
        return rec.token if rec is not None else None

    def _settings_of(self, tenant: str) -> ServerSettings:
        if self.vault is None:
            return self.settings
        sub = folder_of(tenant)
        env = dict(self.settings.env or {})
        env["NEMO_CACHE_DIR"] = str(cache_root(self.settings) / "users" / sub)
        return dataclasses.replace(
            self.settings, download_root=self.settings.download_root / "users" / sub, env=env
        )

    async def _config_of(self, tenant: str) -> ApiConfig:
        if self.vault is None:
            return self.config  # the deployment's own identity (NEMO_TOKEN, or the shared anonymous one)
        tokens = self.state.for_tenant(tenant).tokens
        token = await self.vault.linked(tenant, tokens)
        if token is not None:
            return self.config.replace(token=token, client_id=None)
        return self.config.replace(token=None, client_id=await self.vault.client_id(tenant, tokens))

    async def _build(self, tenant: str, linked: str | None) -> Tenant:
        store = self.state.for_tenant(tenant)
        settings = self._settings_of(tenant)
        api = NemoClient(await self._config_of(tenant), tokens=store.tokens)
        jobs = SharedJobManager(
            self.tg,
            self.leases,
            heartbeat=settings.heartbeat_seconds,
            records=store.jobs,
            server=settings.server_key,
            retention=settings.job_retention_seconds,
        )
        service = NemoService(
            api, jobs, ProjectStore(store.projects, settings.server_key), settings, self.prices
        )
        service.jobs = SharedHandles(service.jobs, RemoteJobs(api, store.jobs, self.leases, settings))
        now = self.clock()
        log.info("serving %s", "the local tenant" if tenant == LOCAL_TENANT else f"user {folder_of(tenant)}")
        return Tenant(tenant, service, api, jobs, linked, now, now)

    def _evict_idle(self) -> None:
        now = self.clock()
        idle = [t for t in self._tenants.values() if now - t.used_at > IDLE_SECONDS and not t.busy]
        if len(self._tenants) >= MAX_TENANTS:  # past the cap, the least recently used idle ones go too
            rest = sorted((t for t in self._tenants.values() if not t.busy), key=lambda t: t.used_at)
            idle += rest[: len(self._tenants) - MAX_TENANTS + 1]
        for t in {t.key: t for t in idle}.values():
            del self._tenants[t.key]
            self._locks.pop(t.key, None)
            self.tg.start_soon(self._close, t)

    @staticmethod
    async def _close(t: Tenant) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await t.api.aclose()
            except Exception as exc:  # closing must never break serving others
                log.info("closing a user's NemoVideo client: %s", exc)

    async def aclose(self) -> None:
        for t in list(self._tenants.values()):
            await self._close(t)
        self._tenants.clear()

    def __len__(self) -> int:
        return len(self._tenants)

    def get(self, tenant: str) -> Any:
        return self._tenants.get(tenant)
