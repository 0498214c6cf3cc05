"""edit_video: the instruction is routed (export, credits, status and uploads never reach the agent),
else the NemoVideo agent applies it; the reply says what changed."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.confirm import Approval, consent_of
from nemo_mcp.server.models import EditResult
from nemo_mcp.server.toolkit import SessionId, WaitSeconds, lines, nemo_tool, progress_of, service_of, writes
from nemo_mcp.server.tools.credits import credits_text
from nemo_mcp.server.tools.export import export_body
from nemo_mcp.server.tools.frames import with_frames_around
from nemo_mcp.server.tools.media import upload_body
from nemo_mcp.server.tools.timeline import timeline_text

MAX_INSTRUCTION_CHARS = 4000


def estimate_text(r: EditResult) -> str | None:
    """The quote, said when it decides something (a question, a token, a refusal) or differs from the
    charge."""
    e = r.estimate
    if e is None or (r.status == "done" and r.confirmation_token is None):
        return None
    return f"Estimate: about {e.credits:g} credits ({', '.join(e.kinds)}, at {e.basis}): {e.uncertainty}"


def edit_text(r: EditResult) -> str:
    return lines(
        f"(routed to {r.routed_to}, not sent to the agent)" if r.routed_to != "agent" else None,
        estimate_text(r),
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
                "For an export, the balance or the timeline call export_video, check_credits or "
                "get_timeline instead (upload_media for files); asked for here, they are routed there, never "
                "to the agent. "
                f"At most {MAX_INSTRUCTION_CHARS} characters.",
            ),
        ],
        ctx: Context,
        approval: Approval,
        session_id: SessionId = None,
        wait_seconds: WaitSeconds = None,
        confirmation: Annotated[
            str | None,
            Field(
                max_length=1000,
                description="Only when a result asked for it: the confirmation_token it carried, passed back "
                "unchanged with the same instruction AFTER the user agreed to the quoted cost. Never set "
                "it without asking the user. Hosts that show the user a question need no token.",
            ),
        ] = None,
        before_after_frames: Annotated[
            bool,
            Field(
                description="Also attach a before/after pair of frames (one small image, about 550 tokens) "
                "at the middle of the timeline, to check the edit. Off by default to save context."
            ),
        ] = False,
    ) -> EditResult:
        """Edit or generate video by describing the result; the NemoVideo agent applies it to the timeline.

        For an export, the balance, the timeline or a file, call export_video, check_credits, get_timeline or
        upload_media directly; an instruction that asks for them anyway is routed there instead of the agent
        (a safety net), and an edit that also asks for the export gets both, the edit first.
        The reply says what changed on the timeline (found by comparing the state before and after).
        Edits take 10-30 s, generation 2-5 minutes and costs credits: if it is not done within
        wait_seconds you get status 'running' and a job_id; call get_job(job_id) to keep waiting.
        Never send the same instruction again while it runs (it would be charged twice). Cancelling this
        call does not stop the backend work.
        Paid instructions are quoted first; above the spending policy the user is asked to confirm the cost
        (status 'needs_confirmation' with a confirmation_token when the host cannot ask: ask the user, then
        call again with confirmation=<token>). Every result says what the instruction cost.
        """
        consent = consent_of(approval, confirmation, ctx)
        edit = service_of(ctx).edits.edit_video(
            instruction, session_id, wait_seconds, progress_of(ctx), consent
        )
        return await (with_frames_around(ctx, session_id, edit) if before_after_frames else edit)
