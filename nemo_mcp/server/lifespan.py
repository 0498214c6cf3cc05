"""The server's lifespan: ONE `NemoClient` (and, with `backend="local"`, the embedded backend started
in-process first, the client pointed at it), the state store (the token, projects and job handles), the job
task group, the service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server import MCPServer

from nemo_mcp.api import NemoClient
from nemo_mcp.api.saving import sweep_leftovers
from nemo_mcp.server.jobs import JobManager
from nemo_mcp.server.projects import ProjectStore
from nemo_mcp.server.service import NemoService, build_api_config
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import PriceSource, cloud_prices, embedded_prices
from nemo_mcp.server.state_store import open_server_store
from nemo_mcp.server.toolkit import AppContext

log = logging.getLogger(__name__)


@dataclass
class ServiceSlot:
    """The running service, for the static resources (the SDK gives them no Context)."""

    service: NemoService | None = None


def make_lifespan(
    settings: ServerSettings, slot: ServiceSlot
) -> Callable[[MCPServer[AppContext]], AbstractAsyncContextManager[AppContext]]:
    @asynccontextmanager
    async def lifespan(server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with AsyncExitStack() as stack:
            base_url = settings.api_url
            backend_url: str | None = None
            prices: PriceSource = cloud_prices
            if settings.backend == "local":
                from nemo_mcp.local import Knobs, run_local_backend

                kwargs: dict[str, Any] = {}
                if settings.local_data_dir is not None:
                    kwargs["data_dir"] = settings.local_data_dir
                # NEMO_LOCAL_* variables tune the embedded backend (credits, silent turns, faults...).
                knobs = (
                    settings.local_knobs if settings.local_knobs is not None else Knobs.from_env(settings.env)
                )
                backend = await stack.enter_async_context(run_local_backend(knobs, **kwargs))
                base_url = backend_url = str(backend.url)
                log.info("embedded NemoVideo backend at %s", backend_url)
                prices = embedded_prices(backend.knobs)  # quotes at the prices this backend charges
            # leftovers of downloads killed earlier (.part files older than a day) go before anything starts
            swept = await anyio.to_thread.run_sync(sweep_leftovers, settings.download_root)
            if swept:
                log.info("removed %d leftover(s) of interrupted downloads: %s", len(swept), swept[:5])
            # The embedded backend keeps its sessions in memory, so they end with this process: with it the
            # state store is in memory too, and a restart never resumes a gone project.
            state = await open_server_store(settings)
            stack.push_async_callback(state.aclose)
            tokens = state.tokens if settings.backend == "cloud" else None
            config = build_api_config(settings, base_url)
            api = await stack.enter_async_context(NemoClient(config, tokens=tokens))
            tg = await stack.enter_async_context(anyio.create_task_group())
            jobs = JobManager(
                tg,
                heartbeat=settings.heartbeat_seconds,
                records=state.jobs,
                server=settings.server_key,
                retention=settings.job_retention_seconds,
            )
            await jobs.prune_records()
            store = ProjectStore(state.projects, settings.server_key)
            slot.service = NemoService(api, jobs, store, settings, prices)
            try:
                yield AppContext(service=slot.service, backend_url=backend_url)
            finally:
                slot.service = None
                tg.cancel_scope.cancel()

    return lifespan
