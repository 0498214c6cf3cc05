"""edit_video: route the instruction (`nemo_mcp.language.routing`), then run its steps. Export, credits,
status and uploads never reach the backend agent; an edit that also asks for the export runs both as one
job (the edit, then the render and its file), unless the user held the export back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from nemo_mcp.api import SessionLostError
from nemo_mcp.language.routing import Intent, Route, route
from nemo_mcp.server.failures import ToolFailure, as_failure, invalid_argument
from nemo_mcp.server.jobs import EditJob, ExportJob, JobManager, ProgressFn
from nemo_mcp.server.media_policy import Source, has_control_chars, resolve_destination
from nemo_mcp.server.models import EditResult, ExportResult, UploadResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import Consent
from nemo_mcp.server.workflows.accounting import live
from nemo_mcp.server.workflows.approvals import Approvals, Ticket
from nemo_mcp.server.workflows.exports import Exports
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.reads import Reads
from nemo_mcp.server.workflows.turns import Turns
from nemo_mcp.server.workflows.uploads import NEXT_AFTER_UPLOAD, Uploads

RUNNING_NOTE = (
    "The NemoVideo agent is still working ({elapsed:.0f} s so far: {status}). Generation usually takes "
    "2-5 minutes, edits 10-30 s. The instruction is being processed once; it must not be sent again."
)
HELD_NOTE = "Not exporting, as you asked: call export_video (or say 'export') when you are ready."
_ROUTED: dict[Intent, Literal["agent", "export", "credits", "state", "upload"]] = {
    Intent.EXPORT: "export",
    Intent.CREDITS: "credits",
    Intent.STATUS: "state",
    Intent.UPLOAD: "upload",
}


def edit_running(job: EditJob) -> EditResult:
    """The answer while an agent turn (and the export after it) is still running."""
    view = job.view()
    return EditResult(
        session_id=job.session_id or "",
        routed_to="agent",
        status="running",
        plan=[s.value for s in job.plan],
        stages=list(job.stages),
        job=view,
        notes=[RUNNING_NOTE.format(elapsed=view.elapsed_seconds, status=job.message)],
        credits=live(job),
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
        approvals: Approvals,
        jobs: JobManager,
        settings: ServerSettings,
    ) -> None:
        self.projects = projects
        self.approvals = approvals
        self.reads = reads
        self.uploads = uploads
        self.turns = turns
        self.exports = exports
        self.jobs = jobs
        self.settings = settings

    async def edit_video(
        self,
        instruction: str,
        session_id: str | None,
        wait_seconds: float | None,
        progress: ProgressFn,
        consent: Consent,
    ) -> EditResult:
        if has_control_chars(instruction, allow_newlines=True):
            raise invalid_argument(
                "The instruction contains control characters (such as NUL or escape codes); remove them and "
                "send plain text. Nothing was sent."
            )
        r = route(instruction)
        if Intent.AGENT not in r.steps and await self.approvals.is_go_ahead_for(instruction, session_id):
            r = Route(steps=(Intent.AGENT,), agent_text=instruction.strip())  # the agent waits for this yes
        if r.wants_file:
            raise ToolFailure(
                "no_media",
                "No file came with the instruction: files reach NemoVideo through this server, not the chat. "
                "Put the file's path or http(s) link in the instruction, or call upload_media with it, then "
                "say what to do with it. Nothing was done.",
            )
        wait = self.settings.wait_for(wait_seconds)
        started = time.monotonic()

        def remaining() -> float:
            return max(0.0, wait - (time.monotonic() - started))

        # Everything is checked before anything is created or sent: the files, and where the MP4 may go.
        target: tuple[Path, str | None] | None = None
        if r.destination and Intent.EXPORT in r.steps:
            target = resolve_destination(r.destination, self.settings.download_root)
        checked = self.uploads.check(list(r.sources)) if r.sources else []
        if Intent.AGENT in r.steps:
            # The agent charges: the user's yes (or a token carrying it) comes before anything is created.
            ticket = await self.approvals.settle(consent, instruction, session_id)
            if ticket.answer is not None:
                return ticket.answer
            return await self._with_agent(
                r, instruction, session_id, checked, target, remaining, progress, ticket, consent
            )
        if Intent.UPLOAD in r.steps:
            return await self._with_upload(r, session_id, checked, target, remaining, progress)
        return await self._local(r, session_id, target, remaining(), progress)

    async def _local(
        self,
        r: Route,
        session_id: str | None,
        target: tuple[Path, str | None] | None,
        wait: float,
        progress: ProgressFn,
    ) -> EditResult:
        """Steps that never reach the agent: credits, status, export, in the order asked."""
        result = EditResult(
            session_id="", routed_to=_ROUTED[r.intent], plan=[s.value for s in r.steps], deferred=r.deferred
        )
        for step in r.steps:
            if step is Intent.CREDITS:
                result.credits = await self.reads.check_credits()
            elif step is Intent.STATUS:
                result.timeline = await self.reads.get_timeline(session_id)
                result.session_id = result.timeline.session_id
            elif step is Intent.EXPORT:
                result.export = await self._export(session_id, target, wait, progress)
                result.session_id = result.export.session_id
                result.status = "running" if result.export.status == "running" else "done"
                result.job = result.export.job
                result.next_step = result.export.next_step
        if not result.session_id:
            rec = await self.projects.store.current()
            result.session_id = rec.session_id if rec else ""
        if r.deferred:
            result.notes.append(HELD_NOTE)
        return result

    async def _export(
        self,
        session_id: str | None,
        target: tuple[Path, str | None] | None,
        wait: float,
        progress: ProgressFn,
    ) -> ExportResult:
        folder, name = target if target is not None else (None, None)
        return await self.exports.export_video(
            session_id,
            None,
            wait,
            str(folder) if folder else None,
            folder is not None,
            progress,
            file_name=name,
        )

    async def _with_upload(
        self,
        r: Route,
        session_id: str | None,
        checked: list[Source],
        target: tuple[Path, str | None] | None,
        remaining: Callable[[], float],
        progress: ProgressFn,
    ) -> EditResult:
        first = Path(checked[0].name).stem if checked else None
        rec = await self.projects.resolve(session_id, create=True, hint="upload", title=first)
        self._refuse_if_turn_running(rec)
        up = await self.uploads.wait(self.uploads.start(rec, checked), remaining(), progress)
        result = EditResult(
            session_id=up.session_id,
            routed_to="upload",
            plan=[s.value for s in r.steps],
            upload=up,
            status=up.status,
        )
        if up.status == "running":
            result.job = up.job
            result.next_step = up.next_step
            if len(r.steps) > 1:
                result.notes.append("After the upload finishes, ask again for the rest of the instruction.")
            return result
        rest = (
            await self._local(
                Route(steps=r.steps[1:], deferred=r.deferred), up.session_id, target, remaining(), progress
            )
            if len(r.steps) > 1
            else None
        )
        if rest is None:
            result.next_step = up.next_step
            return result
        result.credits, result.timeline, result.export = rest.credits, rest.timeline, rest.export
        result.notes += rest.notes
        result.status, result.job = rest.status, rest.job or result.job
        result.next_step = rest.next_step or up.next_step
        return result

    async def _with_agent(
        self,
        r: Route,
        instruction: str,
        session_id: str | None,
        checked: list[Source],
        target: tuple[Path, str | None] | None,
        remaining: Callable[[], float],
        progress: ProgressFn,
        ticket: Ticket,
        consent: Consent,
    ) -> EditResult:
        first = Path(checked[0].name).stem if checked else None
        rec = await self.projects.resolve(session_id, create=True, hint=instruction[:200], title=first)
        self._refuse_if_turn_running(rec)
        self.approvals.redeem(ticket)  # a confirmation token pays for this one send
        text = r.agent_text or instruction.strip()
        job = EditJob(
            session_id=rec.session_id, description=f"edit: {text[:120]}", instruction=text, plan=list(r.steps)
        )
        self.jobs.start(job, self._edit(job, rec, checked, text, r, target, ticket, consent))
        if await self.jobs.wait(job, remaining(), progress):
            return job.outcome().model_copy(update={"job": None})
        return edit_running(job)

    async def _edit(
        self,
        job: EditJob,
        rec: ProjectRecord,
        checked: list[Source],
        text: str,
        r: Route,
        target: tuple[Path, str | None] | None,
        ticket: Ticket,
        consent: Consent,
    ) -> EditResult:
        upload: UploadResult | None = None
        if checked:
            job.update(message="uploading the files")
            rec, infos, notes = await self.uploads.upload(rec, checked, job)
            upload = UploadResult(
                session_id=rec.session_id, files=infos, notes=notes, next_step=NEXT_AFTER_UPLOAD
            )
            job.session_id = rec.session_id
        wants_export = Intent.EXPORT in r.steps and not r.deferred
        if wants_export:
            job.phase = "1/2 the edit"
        job.update(message="sending the instruction to the NemoVideo agent")
        try:
            res = await self.turns.run(job, rec, text, asked_export=wants_export)
        except SessionLostError:
            await self.projects.raise_lost(rec)
        except ToolFailure as failure:
            if failure.result is not None:  # the agent got the instruction: what it waited for is gone
                self.approvals.spending.quotes.agent_went_on(rec.session_id)
            raise
        estimate = ticket.quote.view() if ticket.quote is not None else None
        res = res.model_copy(
            update={
                "upload": upload,
                "plan": [s.value for s in r.steps],
                "deferred": r.deferred,
                "estimate": estimate,
                "confirmation": ticket.view,
            }
        )
        self.approvals.after_reply(res, rec.session_id, consent)
        for step in r.steps:
            if step is Intent.CREDITS and res.credits is None:
                res.credits = await self.reads.check_credits()
            elif step is Intent.STATUS:
                res.timeline = await self.reads.get_timeline(rec.session_id)
        if r.deferred:
            res.notes.append(HELD_NOTE)
        if wants_export:
            await self._then_export(job, rec, res, target)
        return res

    async def _then_export(
        self, job: EditJob, rec: ProjectRecord, res: EditResult, target: tuple[Path, str | None] | None
    ) -> None:
        """The second stage: render what the edit left on the timeline, mirroring the render's progress."""
        if res.awaiting_go_ahead is not None:
            res.notes.append("The export waits too: the agent has not made the change yet.")
            return
        job.phase = "2/2 the render"
        job.update(message="rendering the edited timeline")
        folder, name = target if target is not None else (None, None)
        try:
            export_job = await self.exports.start(rec.session_id, folder, name, after=job)
        except ToolFailure as failure:
            res.notes.append(f"The export did not start: {failure.text}")
            return

        def mirror(ej: ExportJob) -> None:
            pct = f" {ej.progress:.0f}%" if ej.progress is not None else ""
            job.update(progress=ej.progress, message=f"{ej.message}{pct}")

        await self.jobs.follow(export_job, mirror)
        try:
            res.export = export_job.outcome()
        except Exception as exc:  # the edit stands; the render's failure is said, not raised
            res.notes.append(f"The edit is done, but the export failed: {as_failure(exc).text}")
            return
        res.next_step = res.export.next_step

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
