"""edit_video: the instruction is routed (export, credits, status and uploads never reach the agent),
else the NemoVideo agent applies it; the reply says what changed."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.models import EditResult
from nemo_mcp.server.toolkit import SessionId, WaitSeconds, lines, nemo_tool, progress_of, service_of, writes
from nemo_mcp.server.tools.credits import credits_text
from nemo_mcp.server.tools.export import export_body
from nemo_mcp.server.tools.media import upload_body
from nemo_mcp.server.tools.timeline import timeline_text

MAX_INSTRUCTION_CHARS = 4000


def edit_text(r: EditResult) -> str:
    return lines(
        f"(routed to {r.routed_to}, not sent to the agent)" if r.routed_to != "agent" else None,
        upload_body(r.upload) if r.upload is not None else None,
        r.reply,
        *r.stages,
        "Changes: " + "; ".join(r.changes)
        if r.changes and r.reply and not r.reply.startswith("Done.")
        else None,
        r.timeline_summary if r.routed_to == "agent" else None,
        credits_text(r.credits) if r.credits is not None else None,
        timeline_text(r.timeline) if r.timeline is not None else None,
        export_body(r.export) if r.export is not None else None,
        *r.notes,
        f"job_id: {r.job.job_id}"
        if r.job is not None and r.status == "running" and r.export is None
        else None,
        f"Next: {r.next_step}" if r.next_step else None,
    )


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=edit_text, title="Edit video", annotations=writes())
    async def edit_video(
        instruction: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_INSTRUCTION_CHARS,
                description="What to do, in plain language (any language), e.g. 'trim to the first 10 s and "
                "add the title \"Urban Dreams\" at the top', 'add lo-fi background music at 35%'. "
                "'export', 'credits', 'status' and file paths/URLs are handled directly. "
                f"At most {MAX_INSTRUCTION_CHARS} characters.",
            ),
        ],
        ctx: Context,
        session_id: SessionId = None,
        wait_seconds: WaitSeconds = None,
    ) -> EditResult:
        """Edit or generate video by describing the result; the NemoVideo agent applies it to the timeline.

        Export, credit, status and upload requests are routed to the right action instead of the agent.
        The reply says what changed on the timeline (found by comparing the state before and after).
        Edits take 10-30 s, generation 2-5 minutes and costs credits: if it is not done within
        wait_seconds you get status 'running' and a job_id; call get_job(job_id) to keep waiting.
        Never send the same instruction again while it runs (it would be charged twice). Cancelling this
        call does not stop the backend work.
        """
        return await service_of(ctx).edits.edit_video(instruction, session_id, wait_seconds, progress_of(ctx))
