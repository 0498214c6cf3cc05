"""``link_account``: link the user's own NemoVideo account (hosted, per-user mode only).

The token never passes through the model: the tool makes a one-time link to the page nemo-mcp serves
(:mod:`nemo_mcp.server.hosted.link_page`) and asks the host to open it with URL-mode elicitation where the
host can (a 2025-era session with a back-channel that declared ``elicitation.url``); otherwise the link is
in the result for the user to open. ``status`` says whether a token is linked; ``unlink`` goes back to the
user's own anonymous identity.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from nemo_mcp.server.hosted.current import TenantsSlot, current_tenant, no_user
from nemo_mcp.server.hosted.link_page import CODE_SECONDS, LinkCodes
from nemo_mcp.server.hosted.vault import Vault
from nemo_mcp.server.toolkit import lines, nemo_tool, writes

__all__ = ["LinkResult", "register"]

MODERN = "2026-07-28"


class LinkResult(BaseModel):
    status: Literal["linked", "not_linked", "link_opened", "link_ready", "unlinked", "declined"]
    url: str | None = Field(default=None, description="the one-time link page (open it in a browser)")
    expires_in_seconds: int | None = None
    nemovideo_user: str | None = None
    message: str = ""


def link_text(r: LinkResult) -> str:
    return lines(r.message, f"Link: {r.url}" if r.url and r.status == "link_ready" else None)


def _can_open_url(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    el = caps.elicitation if caps is not None else None
    if el is None or el.url is None:
        return False
    version = ctx.protocol_version
    return (version is None or version < MODERN) and bool(ctx.session.can_send_request)


def register(mcp: MCPServer[Any], slot: TenantsSlot, public_url: str) -> None:
    def parts() -> tuple[str, Vault, LinkCodes]:
        tenant = current_tenant()
        vault, codes = slot.extra.get("vault"), slot.extra.get("codes")
        if tenant is None or not isinstance(vault, Vault) or not isinstance(codes, LinkCodes):
            raise no_user()
        return tenant, vault, codes

    @nemo_tool(mcp, render=link_text, title="Link NemoVideo account", annotations=writes(open_world=False))
    async def link_account(
        ctx: Context,
        action: Annotated[
            Literal["link", "status", "unlink"],
            Field(description="link: open the page to link; status: is one linked; unlink: forget it"),
        ] = "link",
    ) -> LinkResult:
        """Link the user's own NemoVideo account to this server (their credits and plan), or check or undo
        it. The user pastes their token on a page of this server in their browser; never ask for the token
        in the chat. Without a linked account each user works with their own free anonymous account."""
        tenant, vault, codes = parts()
        state = slot.tenants.state if slot.tenants is not None else None
        if state is None:
            raise no_user()
        tokens = state.for_tenant(tenant).tokens
        linked, user = await vault.linked_user(tokens)
        if action == "status":
            who = f" as {user}" if user else ""
            if linked:
                return LinkResult(
                    status="linked", nemovideo_user=user, message=f"A NemoVideo account is linked{who}."
                )
            return LinkResult(
                status="not_linked",
                message="No NemoVideo account is linked: this user works with their own free anonymous "
                "account. Call link_account to link one.",
            )
        if action == "unlink":
            gone = await vault.unlink(tokens)
            if slot.tenants is not None:
                slot.tenants.forget(tenant)
            return LinkResult(
                status="unlinked" if gone else "not_linked",
                message="The linked NemoVideo account was forgotten; this user's own anonymous account is "
                "used from the next call."
                if gone
                else "No NemoVideo account was linked; nothing changed.",
            )
        url = f"{public_url}/link/{await codes.make(tenant)}"
        minutes = int(CODE_SECONDS // 60)
        if _can_open_url(ctx):
            try:
                answer = await ctx.elicit_url(
                    "Link your NemoVideo account: paste your NemoVideo API token on this nemo-mcp page "
                    f"(valid {minutes} minutes, single use).",
                    url,
                    url.rsplit("/", 1)[-1][:16],
                )
            except Exception:  # the host could not open it: hand the link over instead
                answer = None
            if answer is not None and answer.action == "accept":
                return LinkResult(
                    status="link_opened",
                    expires_in_seconds=int(CODE_SECONDS),
                    message="The link page was opened for the user. Once they submit their token, the "
                    "next call uses their NemoVideo account (link_account action=status to check).",
                )
            if answer is not None:
                return LinkResult(
                    status="declined", message="The user did not open the link page; nothing changed."
                )
        return LinkResult(
            status="link_ready",
            url=url,
            expires_in_seconds=int(CODE_SECONDS),
            message="Ask the user to open this page in their browser and paste their NemoVideo API token "
            f"there (valid {minutes} minutes, single use). Do not ask for the token in the chat."
            + (" A NemoVideo account is already linked; linking replaces it." if linked else ""),
        )
