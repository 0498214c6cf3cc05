"""get_timeline: the project's tracks and clips, and whether it can be exported."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

from nemo_mcp.server.apps.review import REVIEW_URI
from nemo_mcp.server.models import TimelineResult
from nemo_mcp.server.toolkit import READ_ONLY, SessionId, lines, nemo_tool, service_of


def timeline_text(r: TimelineResult) -> str:
    if not r.session_id:
        return f"No project yet: upload_media or edit_video creates one. {r.readiness}"
    running = [
        f"Still running: {j.kind} job {j.job_id} ({j.elapsed_seconds:.0f} s, {j.message})." for j in r.running
    ]
    return lines(r.summary, r.readiness, *running)


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=timeline_text, title="Show the timeline", annotations=READ_ONLY, ui=REVIEW_URI)
    async def get_timeline(ctx: Context, session_id: SessionId = None) -> TimelineResult:
        """Show the project's tracks and clips, a one-line summary, whether it can be exported yet, and any
        edit or render still running on it."""
        return await service_of(ctx).reads.get_timeline(session_id)
