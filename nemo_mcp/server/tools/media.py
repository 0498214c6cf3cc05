"""upload_media: videos, images and audio into the project."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.media_policy import SUPPORTED_LIST
from nemo_mcp.server.models import UploadResult
from nemo_mcp.server.toolkit import SessionId, WaitSeconds, lines, nemo_tool, progress_of, service_of, writes
from nemo_mcp.server.workflows.uploads import uploaded_line

MAX_SOURCE_CHARS = 4096


def upload_body(r: UploadResult) -> str:
    if r.status == "running" and r.job is not None:
        return f"Upload still running after {r.job.elapsed_seconds:.0f} s ({r.job.message})."
    return lines(uploaded_line(r), *r.notes)


def upload_text(r: UploadResult) -> str:
    return lines(upload_body(r), f"Next: {r.next_step}" if r.next_step else None)


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=upload_text, title="Upload media", annotations=writes())
    async def upload_media(
        sources: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_CHARS)]],
            Field(
                min_length=1,
                max_length=20,
                description="Local file paths (absolute, ~ allowed) and/or public http(s) URLs. Types: "
                f"{SUPPORTED_LIST}; max 500 MB each.",
            ),
        ],
        ctx: Context,
        session_id: SessionId = None,
        wait_seconds: WaitSeconds = None,
    ) -> UploadResult:
        """Upload videos, images or audio into the project (creates a project if there is none).

        Every file is checked first (exists, allowed folder, supported type, size); nothing is uploaded if
        one fails, and the error names the file and the rule. Progress is reported while bytes move.
        Returns per file: name, type, duration and resolution. Big uploads that take longer than
        wait_seconds return a job_id for get_job.
        """
        return await service_of(ctx).uploads.upload_media(sources, session_id, wait_seconds, progress_of(ctx))
