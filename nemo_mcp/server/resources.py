"""Resources: a project's decoded timeline (a template) and the credit balance."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from nemo_mcp.server.failures import as_failure
from nemo_mcp.server.hosted.current import current_service
from nemo_mcp.server.lifespan import ServiceSlot
from nemo_mcp.server.toolkit import service_of

# A read that names a project the server cannot find is "not found" (-32602), not an internal error.
_NOT_FOUND_TAGS = {"no_project", "session_lost", "invalid_argument"}


def register(mcp: MCPServer[Any], slot: ServiceSlot) -> None:
    @mcp.resource(
        "nemo://projects/{session_id}/timeline",
        name="project_timeline",
        title="Project timeline",
        description="The decoded timeline of a project (tracks, clips, summary line, export readiness).",
        mime_type="application/json",
    )
    async def timeline_resource(session_id: str, ctx: Context) -> str:
        try:
            r = await service_of(ctx).reads.get_timeline(session_id)
        except Exception as exc:
            failure = as_failure(exc)
            error = ResourceNotFoundError if failure.tag in _NOT_FOUND_TAGS else ResourceError
            raise error(failure.text) from None
        return r.model_dump_json()

    @mcp.resource(
        "nemo://credits",
        name="credits",
        title="Credits",
        description="Available, frozen and total NemoVideo credits.",
        mime_type="application/json",
    )
    async def credits_resource() -> str:
        service = current_service() or slot.service  # in hosted mode, the verified user's own
        if service is None:
            raise ResourceError("[internal] the server is not running")
        try:
            r = await service.reads.check_credits()
        except Exception as exc:
            raise ResourceError(as_failure(exc).text) from None
        return r.model_dump_json()
