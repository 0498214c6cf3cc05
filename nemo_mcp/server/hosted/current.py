"""The service of the user a request is served for, set around every MCP request in hosted mode.

:class:`TenantMiddleware` (the SDK's server middleware, so it runs in the handler's context on both
protocol eras) finds the tenant: the verified token's subject (``get_access_token()``, filled in by the
SDK's bearer middleware from :class:`~nemo_mcp.server.hosted.jwt_verifier.JwksVerifier`), or the one local
tenant when there is no per-user auth. It puts that tenant's service where ``service_of(ctx)`` and the
resources look first (:func:`current_service`). In per-user mode a request without a verified user gets
no service: it fails closed (the HTTP layer already answered 401 before it could get here).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.store import LOCAL_TENANT

if TYPE_CHECKING:
    from nemo_mcp.server.hosted.tenants import Tenants
    from nemo_mcp.server.service import NemoService

__all__ = ["TenantMiddleware", "TenantsSlot", "current_service", "current_tenant", "tenant_of"]

_SERVICE: ContextVar[NemoService | None] = ContextVar("nemo_tenant_service", default=None)
_TENANT: ContextVar[str | None] = ContextVar("nemo_tenant", default=None)


def tenant_of(token: AccessToken) -> str:
    """The store tenant of a verified token: its subject (one issuer, so the subject alone is unique)."""
    return f"user:{token.subject}"


def current_service() -> NemoService | None:
    """The service of the user being served, or None outside hosted mode."""
    return _SERVICE.get()


def current_tenant() -> str | None:
    return _TENANT.get()


@dataclass
class TenantsSlot:
    """The running registry (made by the hosted lifespan, read by the middleware made before it)."""

    tenants: Tenants | None = None
    per_user: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def requested_tenant(per_user: bool) -> str | None:
    if not per_user:
        return LOCAL_TENANT
    token = get_access_token()
    return tenant_of(token) if token is not None and token.subject else None


class TenantMiddleware:
    def __init__(self, slot: TenantsSlot) -> None:
        self.slot = slot

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        tenants = self.slot.tenants
        tenant = requested_tenant(self.slot.per_user)
        if tenants is None or tenant is None:
            return await call_next(ctx)  # initialize/discover need no service; a tool then fails closed
        service = await tenants.service(tenant)
        token_s, token_t = _SERVICE.set(service), _TENANT.set(tenant)
        try:
            return await call_next(ctx)
        finally:
            _SERVICE.reset(token_s)
            _TENANT.reset(token_t)


def no_user() -> ToolFailure:
    return ToolFailure(
        "auth",
        "This server serves each user with their own NemoVideo account and needs a verified user; the "
        "request had none. Reconnect with a valid access token.",
    )
