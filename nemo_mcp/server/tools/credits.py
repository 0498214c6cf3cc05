"""check_credits: the balance, and what to do when it runs low."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

from nemo_mcp.server.models import CreditsResult
from nemo_mcp.server.toolkit import READ_ONLY, lines, nemo_tool, service_of
from nemo_mcp.server.workflows.accounting import charged_sentence


def _n(x: float | str) -> str:
    return f"{x:g}" if isinstance(x, float | int) else x


def credits_text(r: CreditsResult) -> str:
    """The balance, or for a paid action what it cost (the balance after is part of that line)."""
    spent = charged_sentence(r)
    balance = f"Credits: {_n(r.available)} available, {_n(r.frozen)} frozen (in use), {_n(r.total)} total."
    return lines(spent or balance, r.advice)


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=credits_text, title="Check credits", annotations=READ_ONLY)
    async def check_credits(ctx: Context) -> CreditsResult:
        """Show available, frozen (in use) and total NemoVideo credits, and what to do when they run low
        (free anonymous users get a registration link)."""
        return await service_of(ctx).reads.check_credits()
