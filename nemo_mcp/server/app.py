"""`build_server(settings) -> MCPServer`: tools, resources and prompts of nemo-mcp.

The lifespan creates ONE `NemoClient` (and, with `backend="local"`, starts the embedded backend in-process
first and points the client at it), the job task group, and the project registry.
"""

import inspect
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nemo_mcp import __version__
from nemo_mcp.api import NemoClient
from nemo_mcp.server.errors import describe
from nemo_mcp.server.jobs import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, JobManager
from nemo_mcp.server.models import (
    CancelResult,
    CreditsResult,
    EditResult,
    ExportResult,
    JobResult,
    NewProjectResult,
    ProjectListResult,
    TimelineResult,
    UploadResult,
)
from nemo_mcp.server.projects import ProjectStore
from nemo_mcp.server.service import NemoService, Progress, build_api_config
from nemo_mcp.server.settings import ServerSettings

_Fn = TypeVar("_Fn", bound=Callable[..., Any])
log = logging.getLogger(__name__)

INSTRUCTIONS = """\
nemo-mcp edits video in plain language on the NemoVideo cloud (rendering happens server-side).

Workflow: upload_media (local paths or http(s) URLs) -> edit_video (describe the result: "trim to 10 s and
add the title 'Urban Dreams'", "generate a 10 s city timelapse with lo-fi music") -> get_timeline ->
export_video (renders an MP4, returns its URL; download_dir saves it locally).

- A current project is kept across restarts; new_project starts a fresh one, list_projects shows earlier ones.
- Long work returns status "running" with a job_id within about 40 s. Call get_job(job_id) to keep waiting.
  NEVER resend an instruction that is still running: it would run (and be charged) twice.
- Cancelling a call stops the waiting, not the backend work. cancel_job stops a render; an agent edit
  cannot be stopped once sent.
- edit_video routes by itself: "export"/"导出" renders, "credits"/"积分" shows the balance,
  "status"/"状态" shows the timeline, a file path or URL in the instruction is uploaded first.
- Errors start with a tag like [no_credits] or [not_exportable] and say what to do next.
- Generation takes 2-5 minutes and costs about 100 credits; an edit about 50; export is free.
"""

# Annotation presets (all four hints set explicitly on every tool).
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
LOCAL_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def _write(
    *, idempotent: bool = False, destructive: bool = False, open_world: bool = True
) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


WAIT_FIELD = Field(
    ge=0,
    le=MAX_WAIT_SECONDS,
    description=(
        f"Seconds to wait before returning status 'running' with a job_id (default {DEFAULT_WAIT_SECONDS:g}, "
        f"max {MAX_WAIT_SECONDS:g}). The work continues either way."
    ),
)
SESSION_FIELD = Field(
    max_length=200,
    description="Project to use (from list_projects). Omit to use the current project.",
)
MAX_INSTRUCTION_CHARS = 4000
MAX_SOURCE_CHARS = 4096


@dataclass
class AppContext:
    service: NemoService
    backend_url: str | None = None


class _Holder:
    """Static resources get no Context; they reach the service through the server object."""

    service: NemoService | None = None


def _respond(model: BaseModel, text: str) -> CallToolResult:
    data = model.model_dump(mode="json")
    return CallToolResult(
        content=[
            TextContent(type="text", text=text.strip() or "OK"),
            TextContent(type="text", text=json.dumps(data, ensure_ascii=False, separators=(",", ":"))),
        ],
        structured_content=data,
    )


def _progress(ctx: Context) -> Progress:
    async def report(progress: float, total: float | None, message: str) -> None:
        await ctx.report_progress(progress, total, message)

    return report


def _service(ctx: Context) -> NemoService:
    app = cast(AppContext, ctx.request_context.lifespan_context)
    return app.service


def _error_result(message: str) -> CallToolResult:
    """An is_error result whose text starts with the tag (`[no_credits] ...`), as the instructions promise.

    Raising ToolError would make the SDK prefix "Error executing tool <name>: " to the text."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


async def _guard(coro: Any, service: NemoService) -> Any:
    """Run a service call; every failure becomes a tagged error result, mapped in ONE place."""
    try:
        return await coro
    except ToolError as exc:
        return _error_result(str(exc))
    except Exception as exc:
        return _error_result(str(service.error(exc)))


# --- readable texts -------------------------------------------------------------------------------------


def _edit_text(r: EditResult) -> str:
    parts: list[str] = []
    if r.routed_to != "agent":
        parts.append(f"(routed to {r.routed_to}, not sent to the agent)")
    if r.upload is not None:
        parts.append(r.upload.message)
    if r.reply:
        parts.append(r.reply)
    if r.stages:
        parts.extend(r.stages)
    if r.changes and r.reply and not r.reply.startswith("Done."):
        parts.append("Changes: " + "; ".join(r.changes))
    if r.timeline_summary and r.routed_to == "agent":
        parts.append(r.timeline_summary)
    if r.message:
        parts.append(r.message)
    parts.extend(r.notes)
    if r.job is not None and r.status == "running":
        parts.append(f"job_id: {r.job.job_id}")
    if r.next_step:
        parts.append("Next: " + r.next_step)
    return "\n".join(p for p in parts if p)


def _export_text(r: ExportResult) -> str:
    parts = [r.message]
    if r.status == "running" and r.job is not None:
        parts.append(f"job_id: {r.job.job_id}  render_id: {r.render_id or '(submitting)'}")
    if r.next_step:
        parts.append("Next: " + r.next_step)
    return "\n".join(p for p in parts if p)


def build_server(settings: ServerSettings | None = None) -> MCPServer[AppContext]:
    settings = settings or ServerSettings.from_env()
    holder = _Holder()

    @asynccontextmanager
    async def lifespan(server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with AsyncExitStack() as stack:
            base_url = settings.api_url
            backend_url: str | None = None
            registry_dir = settings.config_dir
            if settings.backend == "local":
                from nemo_mcp.local import Knobs, run_local_backend

                kwargs: dict[str, Any] = {}
                if settings.local_data_dir is not None:
                    kwargs["data_dir"] = settings.local_data_dir
                # NEMO_LOCAL_* variables tune the embedded backend (credits, silent turns, faults...).
                knobs = settings.local_knobs
                if knobs is None:
                    knobs = Knobs.from_env(settings.env)
                backend = await stack.enter_async_context(run_local_backend(knobs, **kwargs))
                base_url = backend_url = str(backend.url)
                log.info("embedded NemoVideo backend at %s", backend_url)
                # The embedded backend keeps its sessions in memory, so they end with this process: its
                # project registry lives with the backend's data, and a restart never resumes a gone project.
                registry_dir = backend.data_dir / "mcp-projects"
            config = build_api_config(settings, base_url)
            api = await stack.enter_async_context(NemoClient(config))
            tg = await stack.enter_async_context(anyio.create_task_group())
            projects = ProjectStore(registry_dir, settings.server_key)
            service_ref: list[NemoService] = []

            def map_error(exc: BaseException) -> tuple[str, str]:
                if service_ref:
                    return service_ref[0].describe(exc)
                return describe(exc)

            jobs = JobManager(tg, map_error, heartbeat=settings.heartbeat_seconds)
            service = NemoService(api, jobs, projects, settings, config.web_url)
            service_ref.append(service)
            holder.service = service
            try:
                yield AppContext(service=service, backend_url=backend_url)
            finally:
                holder.service = None
                tg.cancel_scope.cancel()

    mcp: MCPServer[AppContext] = MCPServer(
        "nemo-mcp",
        title="NemoVideo editor",
        description="Edit video in plain language through the NemoVideo cloud.",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level="WARNING",
    )

    def tool(**options: Any) -> Callable[[_Fn], _Fn]:
        """`mcp.tool` with the docstring dedented: hosts show the description as is (no Python 3.13
        docstring dedent on 3.11/3.12), and indentation is noise in the model's context."""

        def register(fn: _Fn) -> _Fn:
            return mcp.tool(description=inspect.cleandoc(fn.__doc__ or ""), **options)(fn)

        return register

    # --- tools ------------------------------------------------------------------------------------------

    @tool(
        title="Upload media",
        annotations=_write(idempotent=False),
        structured_output=True,
    )
    async def upload_media(
        sources: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_CHARS)]],
            Field(
                min_length=1,
                max_length=20,
                description="Local file paths (absolute, ~ allowed) and/or public http(s) URLs. Types: mp4, "
                "mov, avi, webm, mkv, jpg, png, gif, webp, mp3, wav, m4a, aac; max 500 MB each.",
            ),
        ],
        ctx: Context,
        session_id: Annotated[str | None, SESSION_FIELD] = None,
        wait_seconds: Annotated[float | None, WAIT_FIELD] = None,
    ) -> Annotated[CallToolResult, UploadResult]:
        """Upload videos, images or audio into the project (creates a project if there is none).

        Every file is checked first (exists, allowed folder, supported type, size); nothing is uploaded if
        one fails, and the error names the file and the rule. Progress is reported while bytes move.
        Returns per file: name, type, duration and resolution. Big uploads that take longer than
        wait_seconds return a job_id for get_job.
        """
        svc = _service(ctx)
        r = await _guard(svc.upload_media(sources, session_id, wait_seconds, _progress(ctx)), svc)
        if isinstance(r, CallToolResult):
            return r
        text = r.message + (f"\nNext: {r.next_step}" if r.next_step else "")
        return _respond(r, text)

    @tool(
        title="Edit video",
        annotations=_write(idempotent=False),
        structured_output=True,
    )
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
        session_id: Annotated[str | None, SESSION_FIELD] = None,
        wait_seconds: Annotated[float | None, WAIT_FIELD] = None,
    ) -> Annotated[CallToolResult, EditResult]:
        """Edit or generate video by describing the result; the NemoVideo agent applies it to the timeline.

        Export, credit, status and upload requests are routed to the right action instead of the agent.
        The reply says what changed on the timeline (found by comparing the state before and after).
        Edits take 10-30 s, generation 2-5 minutes and costs credits: if it is not done within
        wait_seconds you get status 'running' and a job_id; call get_job(job_id) to keep waiting.
        Never send the same instruction again while it runs (it would be charged twice). Cancelling this
        call does not stop the backend work.
        """
        svc = _service(ctx)
        r = await _guard(svc.edit_video(instruction, session_id, wait_seconds, _progress(ctx)), svc)
        if isinstance(r, CallToolResult):
            return r
        return _respond(r, _edit_text(r))

    @tool(title="Show the timeline", annotations=READ_ONLY, structured_output=True)
    async def get_timeline(
        ctx: Context,
        session_id: Annotated[str | None, SESSION_FIELD] = None,
    ) -> Annotated[CallToolResult, TimelineResult]:
        """Show the project's tracks and clips, a one-line summary, whether it can be exported yet, and any
        edit or render still running on it."""
        svc = _service(ctx)
        r = await _guard(svc.get_timeline(session_id), svc)
        if isinstance(r, CallToolResult):
            return r
        return _respond(r, r.message)

    @tool(title="Check credits", annotations=READ_ONLY, structured_output=True)
    async def check_credits(ctx: Context) -> Annotated[CallToolResult, CreditsResult]:
        """Show available, frozen (in use) and total NemoVideo credits, and what to do when they run low
        (free anonymous users get a registration link)."""
        svc = _service(ctx)
        r = await _guard(svc.check_credits(), svc)
        if isinstance(r, CallToolResult):
            return r
        return _respond(r, r.message)

    @tool(
        title="Export video",
        annotations=_write(idempotent=False, open_world=True),
        structured_output=True,
    )
    async def export_video(
        ctx: Context,
        session_id: Annotated[str | None, SESSION_FIELD] = None,
        render_id: Annotated[
            str | None,
            Field(
                max_length=200,
                description="Resume waiting for this earlier render instead of starting a new one.",
            ),
        ] = None,
        wait_seconds: Annotated[float | None, WAIT_FIELD] = None,
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
    ) -> Annotated[CallToolResult, ExportResult]:
        """Render the project's timeline to an MP4 (free; about 30-90 s) and return its URL and a link to open
        the project in the NemoVideo web editor; optionally download it into the confined download folder.

        Checks first that the timeline has clips (otherwise says what to do). A render that outlives
        wait_seconds returns a job_id and render_id; call get_job or export_video(render_id=...) again.
        An export already running on the project is resumed, never duplicated.
        """
        svc = _service(ctx)
        r = await _guard(
            svc.export_video(
                session_id,
                render_id,
                wait_seconds,
                download_dir,
                download,
                _progress(ctx),
                overwrite=overwrite,
            ),
            svc,
        )
        if isinstance(r, CallToolResult):
            return r
        return _respond(r, _export_text(r))

    @tool(title="Wait for a job", annotations=READ_ONLY, structured_output=True)
    async def get_job(
        job_id: Annotated[
            str, Field(min_length=1, max_length=100, description="The job_id from a 'running' result.")
        ],
        ctx: Context,
        wait_seconds: Annotated[float | None, WAIT_FIELD] = None,
    ) -> Annotated[CallToolResult, JobResult]:
        """Wait for (or check) an edit, export or upload that returned status 'running', and return its
        outcome. Safe to call repeatedly; it never re-sends anything. Handles last one hour."""
        svc = _service(ctx)
        r = await _guard(svc.get_job(job_id, wait_seconds, _progress(ctx)), svc)
        if isinstance(r, CallToolResult):
            return r
        if r.edit is not None:
            text = _edit_text(r.edit)
        elif r.export is not None:
            text = _export_text(r.export)
        elif r.upload is not None:
            text = r.upload.message
        else:
            text = r.message
        if r.job.status == "running" and r.edit is None:
            text += f"\njob_id: {r.job.job_id}\nNext: {r.job.next_step}"
        return _respond(r, text)

    @tool(
        title="Cancel a job",
        annotations=_write(idempotent=True, destructive=True),
        structured_output=True,
    )
    async def cancel_job(
        job_id: Annotated[str, Field(min_length=1, max_length=100, description="The job to cancel.")],
        ctx: Context,
    ) -> Annotated[CallToolResult, CancelResult]:
        """Cancel a render (stopped on the backend) or an upload. An agent edit cannot be stopped once sent:
        this only stops waiting for it; the backend finishes it and charges the credits."""
        svc = _service(ctx)
        r = await _guard(svc.cancel_job(job_id), svc)
        if isinstance(r, CallToolResult):
            return r
        return _respond(r, r.message)

    @tool(title="Start a new project", annotations=_write(idempotent=False), structured_output=True)
    async def new_project(
        ctx: Context,
        title: Annotated[str | None, Field(max_length=100, description="A name for the project.")] = None,
    ) -> Annotated[CallToolResult, NewProjectResult]:
        """Start a fresh, empty project and make it current. Earlier projects stay available through
        list_projects and session_id."""
        svc = _service(ctx)
        r = await _guard(svc.new_project(title), svc)
        if isinstance(r, CallToolResult):
            return r
        text = r.message + (f"\n{svc.link_label}: {r.browser_link}" if r.browser_link else "")
        return _respond(r, text)

    @tool(title="List projects", annotations=LOCAL_READ, structured_output=True)
    async def list_projects(ctx: Context) -> Annotated[CallToolResult, ProjectListResult]:
        """List this server's projects (newest first) with their last known timeline summary and which one
        is current. Pass a session_id to other tools to work on an earlier project."""
        svc = _service(ctx)
        r = await _guard(_async(svc.list_projects), svc)
        if isinstance(r, CallToolResult):
            return r
        lines = [r.message]
        for p in r.projects:
            flag = " (current)" if p.current else (" (gone)" if p.lost else "")
            lines.append(
                f"- {p.session_id}{flag}: {p.title}, updated {p.updated_at}. {p.summary or ''}".rstrip()
            )
        return _respond(r, "\n".join(lines))

    # --- resources ----------------------------------------------------------------------------------

    @mcp.resource(
        "nemo://projects/{session_id}/timeline",
        name="project_timeline",
        title="Project timeline",
        description="The decoded timeline of a project (tracks, clips, summary line, export readiness).",
        mime_type="application/json",
    )
    async def timeline_resource(session_id: str, ctx: Context) -> str:
        svc = _service(ctx)
        try:
            r = await svc.get_timeline(session_id)
        except ToolError as exc:
            from mcp.server.mcpserver.exceptions import ResourceError

            raise ResourceError(str(exc)) from None
        return r.model_dump_json()

    @mcp.resource(
        "nemo://credits",
        name="credits",
        title="Credits",
        description="Available, frozen and total NemoVideo credits.",
        mime_type="application/json",
    )
    async def credits_resource() -> str:
        from mcp.server.mcpserver.exceptions import ResourceError

        svc = holder.service
        if svc is None:
            raise ResourceError("[internal] the server is not running")
        try:
            r = await svc.check_credits()
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        return r.model_dump_json()

    # --- prompts ------------------------------------------------------------------------------------

    @mcp.prompt(name="quick_edit", title="Quick edit", description="Upload one clip, edit it, export an MP4.")
    def quick_edit(
        file: str, goal: str = "extract metadata, generate a summary, and export a trimmed clip"
    ) -> str:
        return (
            f"Use the nemo-mcp tools to edit my video.\n1. upload_media(sources=[{file!r}]).\n"
            f"2. edit_video(instruction={goal!r}). If it returns status 'running', call get_job with the "
            "job_id until it is done; never resend the instruction.\n3. get_timeline to check the result.\n"
            "4. export_video(download=true) and give me the URL and where the file was saved."
        )

    @mcp.prompt(name="batch_edit", title="Batch of files", description="Process several files one by one.")
    def batch_edit(files: str, instruction: str) -> str:
        return (
            "Process each of these files separately with nemo-mcp (comma-separated): "
            f"{files}\nFor each file: new_project(title=<file name>), upload_media([file]), "
            f"edit_video({instruction!r}) (wait with get_job while 'running'), "
            "then export_video(download=true). "
            "Each file gets its own project and render. Finish with a table: file, URL, local path."
        )

    @mcp.prompt(
        name="iterative_refine", title="Iterative refinement", description="Rough cut first, then refine."
    )
    def iterative_refine(goal: str) -> str:
        return (
            f"Goal: {goal}\nWork iteratively with nemo-mcp: start with a rough cut via edit_video, then "
            "get_timeline and describe what is on it. Propose 2-3 concrete refinements (timing, titles, "
            "music volume), apply the one I pick with edit_video, and repeat. Export only when I say so."
        )

    # --- HTTP-only routes ---------------------------------------------------------------------------

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": "nemo-mcp", "version": __version__})

    mcp.custom_route("/health", methods=["GET"])(health)

    return mcp


async def _async(fn: Any) -> Any:
    return fn()
