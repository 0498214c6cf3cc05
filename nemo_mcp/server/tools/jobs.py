"""get_job and cancel_job: the handles long work returns."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.models import CancelResult, JobResult
from nemo_mcp.server.toolkit import READ_ONLY, WaitSeconds, lines, nemo_tool, progress_of, service_of, writes
from nemo_mcp.server.tools.edit import edit_text
from nemo_mcp.server.tools.export import export_text
from nemo_mcp.server.tools.media import upload_text


def job_text(r: JobResult) -> str:
    return lines(*r.notes, _outcome_text(r))


def _outcome_text(r: JobResult) -> str:
    j = r.job
    if r.edit is not None:
        return edit_text(r.edit)
    if r.export is not None:
        return export_text(r.export)
    if r.upload is not None:
        return upload_text(r.upload)
    if j.status == "cancelled":
        return f"Job {j.job_id} ({j.description}) was cancelled; nothing more will happen."
    return lines(
        f"Still running after {j.elapsed_seconds:.0f} s: {j.message}.",
        f"job_id: {j.job_id}",
        f"Next: {j.next_step}",
    )


def cancel_text(r: CancelResult) -> str:
    return r.message


JobId = Annotated[str, Field(min_length=1, max_length=100, description="The job_id from a 'running' result.")]


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=job_text, title="Wait for a job", annotations=READ_ONLY)
    async def get_job(job_id: JobId, ctx: Context, wait_seconds: WaitSeconds = None) -> JobResult:
        """Wait for (or check) an edit, export or upload that returned status 'running', and return its
        outcome. Safe to call repeatedly; it never re-sends anything. Handles outlive a server restart and
        last a day."""
        return await service_of(ctx).jobs.get_job(job_id, wait_seconds, progress_of(ctx))

    @nemo_tool(
        mcp, render=cancel_text, title="Cancel a job", annotations=writes(idempotent=True, destructive=True)
    )
    async def cancel_job(
        job_id: Annotated[str, Field(min_length=1, max_length=100, description="The job to cancel.")],
        ctx: Context,
    ) -> CancelResult:
        """Cancel a render (stopped on the backend) or an upload. An agent edit cannot be stopped once sent:
        this only stops waiting for it; the backend finishes it and charges the credits."""
        return await service_of(ctx).jobs.cancel_job(job_id)
