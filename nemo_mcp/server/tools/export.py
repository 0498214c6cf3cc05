"""export_video: render the timeline to an MP4, optionally save it in the download folder."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.apps.review import REVIEW_URI
from nemo_mcp.server.models import ExportResult
from nemo_mcp.server.toolkit import SessionId, WaitSeconds, lines, nemo_tool, progress_of, service_of, writes


def export_body(r: ExportResult) -> str:
    if r.status == "running":
        pct = f"{r.progress_percent:.0f}%" if r.progress_percent is not None else "queued"
        elapsed = r.job.elapsed_seconds if r.job is not None else 0.0
        return lines(
            f"Rendering: {pct} after {elapsed:.0f} s (renders take about 30-90 s).",
            f"job_id: {r.job.job_id}  render_id: {r.render_id or '(submitting)'}"
            if r.job is not None
            else None,
        )
    return lines(
        f"Export finished: {r.url}",
        f"Saved to {r.downloaded_to}" if r.downloaded_to else None,
        f"{r.link_label}: {r.browser_link}" if r.browser_link else None,
    )


def export_text(r: ExportResult) -> str:
    return lines(export_body(r), f"Next: {r.next_step}" if r.next_step else None)


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=export_text, title="Export video", annotations=writes(), ui=REVIEW_URI)
    async def export_video(
        ctx: Context,
        session_id: SessionId = None,
        render_id: Annotated[
            str | None,
            Field(
                max_length=200,
                description="Resume waiting for this earlier render instead of starting a new one.",
            ),
        ] = None,
        wait_seconds: WaitSeconds = None,
        download_dir: Annotated[
            str | None,
            Field(
                max_length=1000,
                description="Also save the MP4 locally: a sub-folder of the server's download folder "
                "(NEMO_DOWNLOAD_DIR, default ~/Downloads/nemo-mcp); '' means the folder itself.",
            ),
        ] = None,
        download: Annotated[
            bool, Field(description="Save the MP4 into the download folder (implied by download_dir).")
        ] = False,
        overwrite: Annotated[
            bool,
            Field(
                description="Replace an existing file of the same name; by default a new name is chosen "
                "(name_1.mp4, ...)."
            ),
        ] = False,
    ) -> ExportResult:
        """Render the project's timeline to an MP4 (free; about 30-90 s) and return its URL and a link to open
        the project in the NemoVideo web editor; optionally download it into the confined download folder.

        Checks first that the timeline has clips (otherwise says what to do). A render that outlives
        wait_seconds returns a job_id and render_id; call get_job or export_video(render_id=...) again.
        An export already running on the project is resumed, never duplicated.
        """
        return await service_of(ctx).exports.export_video(
            session_id, render_id, wait_seconds, download_dir, download, progress_of(ctx), overwrite=overwrite
        )
