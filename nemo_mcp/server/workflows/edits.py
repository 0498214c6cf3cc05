"""edit_video: route the instruction (the skill's table), then credits / state / export / upload / an agent
turn. Export, credits, status and upload never reach the backend agent."""

from __future__ import annotations

import time
from pathlib import Path

from nemo_mcp.api import SessionLostError
from nemo_mcp.server.failures import ToolFailure, invalid_argument
from nemo_mcp.server.jobs import EditJob, JobManager, ProgressFn
from nemo_mcp.server.media_policy import Source, has_control_chars
from nemo_mcp.server.models import EditResult, ExportResult, UploadResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.routing import Intent, route
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.exports import Exports
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.reads import Reads
from nemo_mcp.server.workflows.turns import Turns
from nemo_mcp.server.workflows.uploads import NEXT_AFTER_UPLOAD, Uploads

RUNNING_NOTE = (
    "The NemoVideo agent is still working ({elapsed:.0f} s so far: {status}). Generation usually takes "
    "2-5 minutes, edits 10-30 s. The instruction is being processed once; it must not be sent again."
)


def edit_running(job: EditJob) -> EditResult:
    """The answer while an agent turn is still running."""
    view = job.view()
    return EditResult(
        session_id=job.session_id or "",
        routed_to="agent",
        status="running",
        stages=list(job.stages),
        job=view,
        notes=[RUNNING_NOTE.format(elapsed=view.elapsed_seconds, status=job.message)],
        next_step=view.next_step,
    )


class Edits:
    def __init__(
        self,
        projects: Projects,
        reads: Reads,
        uploads: Uploads,
        turns: Turns,
        exports: Exports,
        jobs: JobManager,
        settings: ServerSettings,
    ) -> None:
        self.projects = projects
        self.reads = reads
        self.uploads = uploads
        self.turns = turns
        self.exports = exports
        self.jobs = jobs
        self.settings = settings

    async def edit_video(
        self, instruction: str, session_id: str | None, wait_seconds: float | None, progress: ProgressFn
    ) -> EditResult:
        if has_control_chars(instruction, allow_newlines=True):
            raise invalid_argument(
                "The instruction contains control characters (such as NUL or escape codes); remove them and "
                "send plain text. Nothing was sent."
            )
        r = route(instruction)
        wait = self.settings.wait_for(wait_seconds)
        started = time.monotonic()

        def remaining() -> float:
            return max(0.0, wait - (time.monotonic() - started))

        if r.intent is Intent.CREDITS:
            rec = self.projects.store.current()
            return EditResult(
                session_id=rec.session_id if rec else "",
                routed_to="credits",
                credits=await self.reads.check_credits(),
            )
        if r.intent is Intent.STATE:
            tl = await self.reads.get_timeline(session_id)
            return EditResult(session_id=tl.session_id, routed_to="state", timeline=tl)
        if r.intent is Intent.EXPORT:
            ex = await self.exports.export_video(session_id, None, wait, None, False, progress)
            return _from_export(ex)
        if r.intent is Intent.UPLOAD and not r.sources:
            raise ToolFailure(
                "no_media",
                "No file path or URL found in the instruction. Call upload_media with sources=[...] "
                "(local paths or http(s) URLs), or put the path in the instruction.",
            )

        # Check the files before anything is created or sent: errors name the file and the rule.
        checked = self.uploads.check(r.sources) if r.intent is Intent.UPLOAD else []
        first = Path(r.sources[0]).stem if r.sources else None
        rec = await self.projects.resolve(session_id, create=True, hint=instruction[:200], title=first)
        self._refuse_if_turn_running(rec)

        if r.intent is Intent.UPLOAD and r.then is not Intent.AGENT:
            up = await self.uploads.wait(self.uploads.start(rec, checked), remaining(), progress)
            result = EditResult(session_id=up.session_id, routed_to="upload", upload=up, status=up.status)
            if up.status == "running":
                result.job = up.job
                result.next_step = up.next_step
                if r.then is not None:
                    result.notes.append(f"After the upload finishes, ask again: {r.rest!r}.")
            elif r.then is Intent.EXPORT:
                result.export = await self.exports.export_video(
                    up.session_id, None, remaining(), None, False, progress
                )
                result.status = "running" if result.export.status == "running" else "done"
                result.next_step = result.export.next_step
            elif r.then is Intent.CREDITS:
                result.credits = await self.reads.check_credits()
            elif r.then is Intent.STATE:
                result.timeline = await self.reads.get_timeline(up.session_id)
            else:
                result.next_step = up.next_step
            return result

        # AGENT (possibly after an upload in the same job).
        text = r.rest or instruction.strip()
        job = EditJob(session_id=rec.session_id, description=f"edit: {text[:120]}", instruction=text)
        self.jobs.start(job, self._edit(job, rec, checked, text, then_export=r.then_export))
        if await self.jobs.wait(job, remaining(), progress):
            return job.outcome().model_copy(update={"job": None})
        return edit_running(job)

    async def _edit(
        self, job: EditJob, rec: ProjectRecord, checked: list[Source], text: str, *, then_export: bool
    ) -> EditResult:
        upload: UploadResult | None = None
        target = rec
        if checked:
            target, infos, notes = await self.uploads.upload(rec, checked, job)
            upload = UploadResult(
                session_id=target.session_id, files=infos, notes=notes, next_step=NEXT_AFTER_UPLOAD
            )
            job.session_id = target.session_id
        try:
            res = await self.turns.run(job, target, text)
        except SessionLostError:
            await self.projects.raise_lost(target)
        res.upload = upload
        if then_export and res.next_step.startswith("Refine"):
            # Said once, as the next step.
            res.next_step = "You also asked for an export: call export_video to render the MP4."
        return res

    def _refuse_if_turn_running(self, rec: ProjectRecord) -> None:
        running = self.jobs.running(rec.session_id, EditJob)
        if running is not None:
            raise ToolFailure(
                "turn_running",
                f"An edit is still running on project {rec.session_id} (job {running.id}, "
                f"{running.elapsed:.0f} s so far): {running.instruction[:120]!r}. It is never re-sent. Wait "
                f"for it with get_job(job_id='{running.id}') before sending another instruction to this "
                "project.",
            )


def _from_export(ex: ExportResult) -> EditResult:
    return EditResult(
        session_id=ex.session_id,
        routed_to="export",
        status="running" if ex.status == "running" else "done",
        export=ex,
        job=ex.job,
        next_step=ex.next_step,
    )
