"""check_credits: the balance, and what to do when it runs low."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

from nemo_mcp.server.models import CreditsResult
from nemo_mcp.server.toolkit import READ_ONLY, lines, nemo_tool, service_of


def credits_text(r: CreditsResult) -> str:
    return lines(
        f"Credits: {r.available:g} available, {r.frozen:g} frozen (in use), {r.total:g} total.", r.advice
    )


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=credits_text, title="Check credits", annotations=READ_ONLY)
    async def check_credits(ctx: Context) -> CreditsResult:
        """Show available, frozen (in use) and total NemoVideo credits, and what to do when they run low
        (free anonymous users get a registration link)."""
        return await service_of(ctx).reads.check_credits()
