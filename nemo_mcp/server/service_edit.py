"""edit_video: route the instruction, then credits / state / export / upload / an agent turn."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nemo_mcp.api import (
    SessionLostError,
)
from nemo_mcp.server.errors import refuse
from nemo_mcp.server.jobs import Job, JobKind
from nemo_mcp.server.models import (
    EditResult,
    ExportResult,
    UploadResult,
)
from nemo_mcp.server.paths import has_control_chars
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.routing import Intent, route
from nemo_mcp.server.service_core import Progress
from nemo_mcp.server.service_export import ExportMixin
from nemo_mcp.server.service_read import ReadMixin
from nemo_mcp.server.service_turn import TurnMixin
from nemo_mcp.server.service_upload import UploadMixin

log = logging.getLogger(__name__)


class EditMixin(TurnMixin, UploadMixin, ExportMixin, ReadMixin):
    async def edit_video(
        self, instruction: str, session_id: str | None, wait_seconds: float | None, progress: Progress
    ) -> EditResult:
        if has_control_chars(instruction, allow_newlines=True):
            raise refuse(
                "invalid_argument",
                "The instruction contains control characters (such as NUL or escape codes); remove them and "
                "send plain text. Nothing was sent.",
            )
        r = route(instruction)
        wait = self._wait(wait_seconds)
        started = time.monotonic()

        if r.intent is Intent.CREDITS:
            credits = await self.check_credits()
            rec = self.projects.current()
            return EditResult(
                session_id=rec.session_id if rec else "",
                routed_to="credits",
                credits=credits,
                message=credits.message,
            )
        if r.intent is Intent.STATE:
            tl = await self.get_timeline(session_id)
            return EditResult(
                session_id=tl.session_id,
                routed_to="state",
                timeline=tl,
                timeline_summary=tl.summary,
                message=tl.message,
            )
        if r.intent is Intent.EXPORT:
            ex = await self.export_video(session_id, None, wait, None, False, progress)
            return self._edit_from_export(ex)
        if r.intent is Intent.UPLOAD and not r.sources:
            raise refuse(
                "no_media",
                "No file path or URL found in the instruction. Call upload_media with sources=[...] "
                "(local paths or http(s) URLs), or put the path in the instruction.",
            )

        # Preflight before anything is created or sent: errors name the file and the rule.
        checked_up = self.preflight(r.sources) if r.intent is Intent.UPLOAD else []
        first = Path(r.sources[0]).stem if r.sources else None
        rec = await self.project(session_id, create=True, hint=instruction[:200], title=first)
        self._refuse_if_turn_running(rec)

        if r.intent is Intent.UPLOAD and r.then is not Intent.AGENT:
            checked = checked_up

            async def upload_work(job: Job) -> UploadResult:
                new_rec, infos, notes = await self._do_upload(rec, checked, job)
                return self._upload_result(new_rec, infos, notes)

            names = ", ".join(s.name for s in checked)
            ujob = self.jobs.start(JobKind.UPLOAD, rec.session_id, f"upload {names}", upload_work)
            up = await self._await_upload(ujob, wait, progress)
            result = EditResult(
                session_id=up.session_id, routed_to="upload", upload=up, status=up.status, message=up.message
            )
            if up.status == "running":
                result.job = up.job
                result.next_step = up.next_step
                if r.then is not None:
                    result.notes.append(f"After the upload finishes, ask again: {r.rest!r}.")
                return result
            remaining = max(0.0, wait - (time.monotonic() - started))
            if r.then is Intent.EXPORT:
                result.export = await self.export_video(up.session_id, None, remaining, None, False, progress)
                result.message += " " + result.export.message
                result.status = "running" if result.export.status == "running" else "done"
                result.next_step = result.export.next_step
            elif r.then is Intent.CREDITS:
                result.credits = await self.check_credits()
            elif r.then is Intent.STATE:
                result.timeline = await self.get_timeline(up.session_id)
            else:
                result.next_step = up.next_step
            return result

        # AGENT (possibly after an upload in the same job).
        text = r.rest or instruction.strip()

        async def work(job: Job) -> EditResult:
            upload: UploadResult | None = None
            target = rec
            if checked_up:
                new_rec, infos, notes = await self._do_upload(rec, checked_up, job)
                upload = self._upload_result(new_rec, infos, notes)
                target = new_rec
                job.session_id = target.session_id
            try:
                res = await self._turn(job, target, text)
            except SessionLostError:
                await self._raise_lost(target)
                raise
            res.upload = upload
            if r.then_export and res.next_step.startswith("Refine"):
                # Said once, as the next step.
                res.next_step = "You also asked for an export: call export_video to render the MP4."
            return res

        desc = f"edit: {text[:120]}"
        job = self.jobs.start(JobKind.EDIT, rec.session_id, desc, work, info={"instruction": text})
        job.update(message="starting")
        done = await self.jobs.wait(job, max(0.0, wait - (time.monotonic() - started)), progress)
        if done:
            result = self._job_outcome(job)
            assert isinstance(result, EditResult)
            result.job = None
            return result
        return self._edit_running(job)

    def _refuse_if_turn_running(self, rec: ProjectRecord) -> None:
        running = self.jobs.running(rec.session_id, JobKind.EDIT)
        if running is not None:
            instr = str(running.info.get("instruction", running.description))[:120]
            raise refuse(
                "turn_running",
                f"An edit is still running on project {rec.session_id} (job {running.id}, "
                f"{running.elapsed:.0f} s so far): {instr!r}. It is never re-sent. Wait for it with "
                f"get_job(job_id='{running.id}') before sending another instruction to this project.",
            )

    def _edit_from_export(self, ex: ExportResult) -> EditResult:
        return EditResult(
            session_id=ex.session_id,
            routed_to="export",
            status="running" if ex.status == "running" else "done",
            export=ex,
            job=ex.job,
            message=ex.message,
            next_step=ex.next_step,
        )
