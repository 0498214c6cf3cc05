"""`build_server(settings) -> MCPServer`: nemo-mcp's tools, resources and prompts on one server.

The tools live in `nemo_mcp.server.tools` (one module per family), the behaviour in
`nemo_mcp.server.workflows`, the shared clients in the lifespan; this module only puts them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nemo_mcp import __version__
from nemo_mcp.server import prompts, resources
from nemo_mcp.server.apps import review
from nemo_mcp.server.lifespan import ServiceSlot, make_lifespan
from nemo_mcp.server.mcp_server import NemoMCPServer
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.tools import register_all

if TYPE_CHECKING:  # hosted mode's modules load only when it is asked for
    from nemo_mcp.server.hosted.mode import Hosted

INSTRUCTIONS = """\
nemo-mcp edits video in plain language on the NemoVideo cloud (rendering happens server-side).

Workflow: upload_media (local paths or http(s) URLs) -> edit_video (describe the result: "trim to 10 s and
add the title 'Urban Dreams'", "generate a 10 s city timelapse with lo-fi music") -> get_timeline ->
export_video (renders an MP4, returns its URL; download_dir saves it locally).

- get_frames shows the video as one image of frames labelled with their times (free): look at the result of
  an edit or an export before saying it is done.
- A current project is kept across restarts; new_project starts a fresh one, list_projects shows earlier ones.
- Long work returns status "running" with a job_id within about 40 s. Call get_job(job_id) to keep waiting.
  NEVER resend an instruction that is still running: it would run (and be charged) twice.
- Cancelling a call stops the waiting, not the backend work. cancel_job stops a render; an agent edit
  cannot be stopped once sent.
- Call export_video, check_credits and get_timeline directly for those; edit_video also routes by itself:
  "export"/"导出" renders, "credits"/"积分" shows the balance, "status"/"状态" shows the timeline, a file
  path or URL in the instruction is uploaded first.
- Errors start with a tag like [no_credits] or [not_exportable] and say what to do next.
- Generation takes 2-5 minutes and costs about 100 credits; an edit about 50; export is free.
- Paid instructions are quoted first. Above the spending policy the user confirms the cost: the host asks
  them, or the result has status needs_confirmation and a confirmation_token: ask the user, and only if
  they agree call edit_video again with the same instruction and confirmation=<token>. Never set
  confirmation on your own. Results say what each instruction cost (credits.charged).
"""


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "name": "nemo-mcp", "version": __version__})


def build_server(settings: ServerSettings | None = None, hosted: Hosted | None = None) -> NemoMCPServer:
    """`hosted`: serve a team (per-user OAuth, a shared store, workers: `nemo_mcp.server.hosted`)."""
    settings = settings or ServerSettings.from_env()
    slot = ServiceSlot()
    apps = review.build_apps(settings)  # the review player and its app-only tools (MCP Apps)
    mcp = NemoMCPServer(
        "nemo-mcp",
        title="NemoVideo editor",
        description="Edit video in plain language through the NemoVideo cloud.",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=hosted.lifespan(settings, slot) if hosted else make_lifespan(settings, slot),
        log_level="WARNING",
        extensions=[apps],
        **(hosted.server_options() if hosted else {}),
    )
    register_all(mcp)
    resources.register(mcp, slot)
    review.register(mcp)
    prompts.register(mcp)
    if hosted is not None:
        hosted.register(mcp)
    mcp.custom_route("/health", methods=["GET"])(health)
    return mcp
