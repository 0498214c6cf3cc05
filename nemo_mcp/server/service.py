"""What the tools do, independent of MCP plumbing: projects, routing, turns, renders, uploads, credits.

One `NemoService` per server lifespan. It owns the `NemoClient`, the `JobManager` and the `ProjectStore`.
Tools call it with a `progress` callback (the request's `ctx.report_progress`) and get result models back;
every failure leaves as a `ToolError` built in `errors.py`.

The behaviour lives in focused modules, combined here:
`service_core` (errors, projects, job views), `service_read` (timeline, credits), `service_upload`,
`service_turn` (one agent turn), `service_export` (render + download), `service_edit` (edit_video routing);
this module adds the job tools (get_job, cancel_job) and the ApiConfig builder.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from nemo_mcp.api import (
    ApiConfig,
)
from nemo_mcp.server.errors import describe, refuse
from nemo_mcp.server.jobs import JobKind
from nemo_mcp.server.models import (
    CancelResult,
    EditResult,
    ExportResult,
    JobResult,
    UploadResult,
)
from nemo_mcp.server.service_core import Progress
from nemo_mcp.server.service_edit import EditMixin
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.translate import GuiAction

log = logging.getLogger(__name__)


class NemoService(EditMixin):
    async def get_job(self, job_id: str, wait_seconds: float | None, progress: Progress) -> JobResult:
        try:
            job = self.jobs.get(job_id)
        except KeyError:
            raise refuse(
                "unknown_job",
                f"No job {job_id!r} on this server (handles last one hour and do not survive a restart). "
                "Call get_timeline to see the project's current state.",
            ) from None
        done = await self.jobs.wait(job, self._wait(wait_seconds), progress)
        view = self.job_view(job)
        if not done:
            res = JobResult(
                job=view, message=f"Still running after {view.elapsed_seconds:.0f} s: {job.message}."
            )
            if job.kind is JobKind.EDIT:
                res.edit = self._edit_running(job)
            return res
        outcome = self._job_outcome(job)
        res = JobResult(job=view, message=getattr(outcome, "message", "") or f"Job {job.id} finished.")
        if isinstance(outcome, EditResult):
            res.edit = outcome
            res.message = outcome.reply or outcome.message
        elif isinstance(outcome, ExportResult):
            res.export = outcome
        elif isinstance(outcome, UploadResult):
            res.upload = outcome
        return res

    async def cancel_job(self, job_id: str) -> CancelResult:
        try:
            job = self.jobs.get(job_id)
        except KeyError:
            raise refuse("unknown_job", f"No job {job_id!r} on this server.") from None
        kind: Any = job.kind.value
        if job.done:
            return CancelResult(
                job_id=job.id,
                kind=kind,
                status=job.status.value,
                backend_cancelled=False,
                message=f"Job {job.id} already ended ({job.status.value}); nothing to cancel.",
            )
        if job.kind is JobKind.EDIT:
            return CancelResult(
                job_id=job.id,
                kind=kind,
                status=job.status.value,
                backend_cancelled=False,
                message=(
                    "Stopped waiting. The NemoVideo agent cannot be interrupted: it keeps working on this "
                    "instruction and the credits are charged. Its changes will show in get_timeline; the "
                    f"instruction is not re-sent. (get_job(job_id='{job.id}') still reports the outcome.)"
                ),
            )
        backend = False
        if job.kind is JobKind.EXPORT:
            rid = job.info.get("render_id")
            if rid:
                try:
                    await self.api.cancel_render(rid)
                    backend = True
                except Exception as exc:
                    log.info("render cancel failed: %s", describe(exc)[1])
        self.jobs.cancel(job)
        with anyio.move_on_after(5):
            await job.wait_done()
        what = "The render was cancelled on the backend." if backend else "Stopped."
        if job.kind is JobKind.UPLOAD:
            what = "The upload was stopped; files not fully sent are discarded."
        return CancelResult(
            job_id=job.id,
            kind=kind,
            status=job.status.value,
            backend_cancelled=backend,
            message=what,
        )


def build_api_config(settings: ServerSettings, base_url: str | None) -> ApiConfig:
    overrides: dict[str, Any] = dict(settings.api_overrides)
    if base_url:
        overrides["base_url"] = base_url
    overrides.setdefault("config_dir", settings.config_dir)
    if settings.backend == "local":
        overrides.setdefault("persist_token", False)
        if base_url:
            # The embedded backend serves its own claim and register pages; nemovideo.com knows
            # nothing of local tokens, so links to it would be dead ends.
            overrides.setdefault("web_url", base_url)
    env = dict(settings.env) if settings.env is not None else None
    if env is not None and env.get("NEMO_API_URL", "").strip().lower() == "local":
        env.pop("NEMO_API_URL")
    return ApiConfig.from_env(env, **overrides)


__all__ = ["GuiAction", "NemoService", "Progress", "build_api_config"]
