"""`Hosted`: the hosted-mode parts `build_server` adds (auth, request-state keys, lifespan, routes, tools)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.request_state import RequestStateSecurity
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.server.hosted.config import HostedConfig
from nemo_mcp.server.hosted.current import TenantMiddleware, TenantsSlot
from nemo_mcp.server.hosted.jwt_verifier import JwksVerifier
from nemo_mcp.server.hosted.lifespan import hosted_lifespan
from nemo_mcp.server.hosted.link_page import LinkCodes, LinkPage
from nemo_mcp.server.hosted.vault import Vault, derived_key
from nemo_mcp.server.lifespan import ServiceSlot
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.toolkit import AppContext

__all__ = ["Hosted", "HostedConfig"]

REQUEST_STATE_PURPOSE = "nemo-mcp request state v1"


class Hosted:
    def __init__(self, config: HostedConfig) -> None:
        self.config = config
        self.slot = TenantsSlot(per_user=config.per_user)
        self.verifier = JwksVerifier(config) if config.per_user else None

    def server_options(self) -> dict[str, Any]:
        """``MCPServer`` keyword arguments: OAuth (resource server) and request-state keys every worker
        shares (the SDK's default key is per process, so a second round landing on another worker fails)."""
        options: dict[str, Any] = {}
        if self.config.secret_keys:
            keys = [derived_key(k, REQUEST_STATE_PURPOSE) for k in self.config.secret_keys]
            options["request_state_security"] = RequestStateSecurity(keys=keys)
        if self.verifier is not None:
            resource = self.config.resource_url
            options["token_verifier"] = self.verifier
            options["auth"] = AuthSettings(
                issuer_url=self.config.issuer,  # type: ignore[arg-type]
                resource_server_url=resource,  # type: ignore[arg-type]
                required_scopes=self.config.scopes or None,
                # the verifier checks the audience itself; the SDK's check would only repeat it when the
                # audience is the resource URL, and refuse an issuer's own audience name otherwise
                validate_token_resource=self.config.expected_audience == resource,
            )
        return options

    def lifespan(
        self, settings: ServerSettings, slot: ServiceSlot
    ) -> Callable[[MCPServer[AppContext]], AbstractAsyncContextManager[AppContext]]:
        return hosted_lifespan(settings, slot, self.slot, self.config)

    def register(self, mcp: MCPServer[Any]) -> None:
        mcp.middleware.append(TenantMiddleware(self.slot))
        if not self.config.per_user:
            return
        from nemo_mcp.server.hosted import link_tool

        assert self.config.public_url is not None
        link_tool.register(mcp, self.slot, self.config.public_url)
        mcp.custom_route("/link/{code}", methods=["GET", "POST"])(self._link_page)

    async def _link_page(self, request: Request) -> Response:
        tenants = self.slot.tenants
        vault, codes = self.slot.extra.get("vault"), self.slot.extra.get("codes")
        if tenants is None or not isinstance(vault, Vault) or not isinstance(codes, LinkCodes):
            return Response("starting", status_code=503)

        async def linked(tenant: str) -> None:
            tenants.forget(tenant)

        page = LinkPage(codes, vault, tenants.state, lambda: self.slot.extra.get("config"), linked)
        return await page(request)
