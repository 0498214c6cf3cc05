"""The hosted server's lifespan: the state store (shared with ``NEMO_STORE_URL``), this worker's lease, the
job task group, and the registry of users' services (:class:`~nemo_mcp.server.hosted.tenants.Tenants`)
instead of the single service of a local install."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, cast

import anyio
from mcp.server import MCPServer

from nemo_mcp.server.hosted.config import HostedConfig
from nemo_mcp.server.hosted.current import TenantsSlot, no_user
from nemo_mcp.server.hosted.leases import Leases, SharedLeases
from nemo_mcp.server.hosted.link_page import LinkCodes
from nemo_mcp.server.hosted.tenants import Tenants
from nemo_mcp.server.hosted.vault import Vault
from nemo_mcp.server.lifespan import ServiceSlot
from nemo_mcp.server.service import NemoService, build_api_config
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import PriceSource, cloud_prices, embedded_prices
from nemo_mcp.server.toolkit import AppContext
from nemo_mcp.store import LOCAL_TENANT, StateStore, open_shared_store, open_store
from nemo_mcp.store.memory import MemoryStore
from nemo_mcp.store.redis import RedisStore

__all__ = ["hosted_lifespan"]

log = logging.getLogger(__name__)


class _NoUser:
    """The service in per-user mode outside any user's request: every use fails closed with ``[auth]``."""

    def __getattr__(self, name: str) -> Any:
        raise no_user()


async def _open_store(settings: ServerSettings, config: HostedConfig) -> StateStore:
    if config.store_url:
        store = open_shared_store(config.store_url)
        if isinstance(store, RedisStore):
            await store.ping()  # an unreachable store fails the start, not the first user's call
        log.info("shared state store: %s", store.location)
        return store
    if settings.backend == "local":
        return MemoryStore()
    return await anyio.to_thread.run_sync(open_store, settings.config_dir)


def hosted_lifespan(
    settings: ServerSettings, slot: ServiceSlot, tenants_slot: TenantsSlot, config: HostedConfig
) -> Callable[[MCPServer[AppContext]], AbstractAsyncContextManager[AppContext]]:
    @asynccontextmanager
    async def lifespan(server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with AsyncExitStack() as stack:
            base_url = settings.api_url
            backend_url: str | None = None
            prices: PriceSource = cloud_prices
            if settings.backend == "local":
                from nemo_mcp.local import Knobs, run_local_backend

                knobs = (
                    settings.local_knobs if settings.local_knobs is not None else Knobs.from_env(settings.env)
                )
                backend = await stack.enter_async_context(run_local_backend(knobs))
                base_url = backend_url = str(backend.url)
                prices = embedded_prices(backend.knobs)
            state = await _open_store(settings, config)
            stack.push_async_callback(state.aclose)
            leases: Leases = (
                SharedLeases(state.redis, state.prefix, lease=config.lease_seconds)
                if isinstance(state, RedisStore)
                else Leases()
            )
            stack.push_async_callback(leases.release)
            api_config = build_api_config(settings, base_url)
            vault = Vault(config.secret_keys, settings.server_key) if config.per_user else None
            tg = await stack.enter_async_context(anyio.create_task_group())
            tg.start_soon(leases.run)
            tenants = Tenants(
                state=state,
                settings=settings,
                config=api_config,
                prices=prices,
                task_group=tg,
                leases=leases,
                vault=vault,
            )
            stack.push_async_callback(tenants.aclose)
            tenants_slot.tenants = tenants
            tenants_slot.extra.update(vault=vault, codes=LinkCodes(state), config=api_config)
            service = cast(NemoService, _NoUser()) if config.per_user else await tenants.service(LOCAL_TENANT)
            slot.service = service
            log.info(
                "hosted mode: %s, worker %s, store %s",
                "a NemoVideo account per user" if config.per_user else "one shared NemoVideo account",
                leases.owner,
                state.location,
            )
            try:
                yield AppContext(service=service, backend_url=backend_url)
            finally:
                slot.service = None
                tenants_slot.tenants = None
                tg.cancel_scope.cancel()

    return lifespan
