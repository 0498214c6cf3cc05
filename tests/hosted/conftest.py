"""Fixtures of hosted mode: a real issuer (tests/hosted/issuer.py), nemo-mcp's HTTP app in per-user mode on
a uvicorn loopback port over the embedded backend, and MCP clients that present a user's access token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.hosted.config import HostedConfig
from nemo_mcp.server.hosted.mode import Hosted
from nemo_mcp.server.hosted.serve import hosted_http_app
from nemo_mcp.server.http_security import HttpOptions, uvicorn_options
from tests.hosted.issuer import Issuer, run_issuer
from tests.server.conftest import free_port, make_settings


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async with run_issuer() as running:
        yield running


@dataclass
class HostedServer:
    url: str  # base URL (the MCP endpoint is url + "/mcp")
    issuer: Issuer
    hosted: Hosted

    def client(self, sub: str | None, mode: str = "auto", token: str | None = None, **options: Any) -> Client:
        """An MCP client presenting `sub`'s access token (`token`, else a fresh one; None: no token)."""
        return mcp_client(self.url, (token or self.issuer.token(sub)) if sub else None, mode, **options)


def mcp_client(url: str, token: str | None, mode: str = "auto", **options: Any) -> Client:
    """An MCP client of the server at `url` presenting `token` (None: no Authorization header)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
    transport = streamable_http_client(f"{url}/mcp", http_client=http)
    return Client(transport, mode=mode, **options)  # type: ignore[arg-type]


@asynccontextmanager
async def serve_hosted(
    tmp_path: Path, api_url: str, issuer: Issuer, *, store_url: str | None = None, **opts: Any
) -> AsyncIterator[HostedServer]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    issuer.audience = f"{base}/mcp"
    config = HostedConfig(
        issuer=issuer.url,
        public_url=base,
        secret_keys=[Fernet.generate_key().decode()],
        store_url=store_url,
    )
    config.validate(static_token=False)
    hosted = Hosted(config)
    settings = make_settings(tmp_path, api_url)
    http_opts = HttpOptions(host="127.0.0.1", port=port, **opts)
    app = hosted_http_app(build_server(settings, hosted), http_opts, hosted)  # as nemo-mcp serves it
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **uvicorn_options(http_opts)
        )
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield HostedServer(base, issuer, hosted)
        finally:
            server.should_exit = True


ServeHosted = Callable[..., AbstractAsyncContextManager[HostedServer]]


@pytest.fixture
async def hosted(tmp_path: Path, local_backend: LocalBackend, issuer: Issuer) -> AsyncIterator[HostedServer]:
    async with serve_hosted(tmp_path, str(local_backend.url), issuer) as running:
        yield running
