"""Job handles this process does not hold: answered from their records in the state store.

A handle outlives the process that started it (`jobs.py` writes each job's record). When `get_job` names a
handle this process has no live job for, its record says what to do:

- a render still running is resumed by its render id: polled upstream under the same handle and saved
  where it was asked (the folder is checked again against today's download root);
- an edit still running is re-derived: the agent's stream and reply went with the process that read them,
  so the project's state is polled and diffed against the snapshot taken when the turn started; a change
  is the outcome, no change yet is "running" until the turn's time budget has passed;
- an upload still running cannot be resumed (the bytes not yet sent went with that process);
- a finished job gives its stored result or failure.

Every answer about a job another process started says so, and how long ago. `cancel_job` on such a handle
says what can and cannot be stopped: a render is cancelled on the backend by its id; an agent turn cannot
be interrupted; an interrupted upload has nothing left to stop.
"""

from __future__ import annotations

import re
import time
from typing import Any

import anyio

from nemo_mcp.api import NemoClient, NemoError, ProjectState, SessionLostError, diff
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import ExportJob, JobManager, ProgressFn
from nemo_mcp.server.media_policy import resolve_download_dir
from nemo_mcp.server.models import CancelResult, EditResult, ExportResult, JobResult, JobView, UploadResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.exports import Exports
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.snapshots import state_of
from nemo_mcp.store import JobRecord

__all__ = ["Restored", "age_text"]

# between state checks of a restored edit (then the last one again)
POLL_SECONDS = (0.5, 1.0, 2.0, 3.0, 5.0)
NEXT_READY = "Refine with another edit_video instruction, or call export_video to render the MP4."
NEXT_NOT_READY = "Continue with edit_video (e.g. generate or add media) before exporting."
_TAGGED = re.compile(r"^\[([a-z_]+)\] (.*)$", re.DOTALL)


def age_text(seconds: float) -> str:
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _failure_of(text: str | None) -> ToolFailure:
    m = _TAGGED.match(text or "")
    return ToolFailure(m.group(1), m.group(2)) if m else ToolFailure("internal", "the job failed.")


class Restored:
    def __init__(
        self,
        api: NemoClient,
        jobs: JobManager,
        projects: Projects,
        exports: Exports,
        settings: ServerSettings,
    ) -> None:
        self.api = api
        self.jobs = jobs
        self.projects = projects
        self.exports = exports
        self.settings = settings

    async def find(self, job_id: str) -> JobRecord | None:
        """The record of a handle on this backend, if the store has one."""
        if self.jobs.records is None:
            return None
        rec = await self.jobs.records.get(job_id.strip())
        return rec if rec is not None and rec.server == self.jobs.server else None

    def note(self, rec: JobRecord) -> str | None:
        if rec.owner == self.jobs.owner:
            return None  # our own, finished long enough ago to have left memory
        return (
            f"Job {rec.id} ({rec.kind}) was started by an earlier server process "
            f"{age_text(time.time() - rec.started_at)} ago."
        )

    def _view(self, rec: JobRecord, message: str | None = None) -> JobView:
        return JobView(
            job_id=rec.id,
            kind=rec.kind,
            status=rec.status,
            session_id=rec.session_id,
            description=rec.description,
            elapsed_seconds=round(max(0.0, time.time() - rec.started_at), 1),
            progress_percent=rec.progress,
            message=message or rec.message,
            next_step="" if rec.done else f"Call get_job(job_id='{rec.id}') to check again.",
        )

    async def _save(self, rec: JobRecord, **changes: Any) -> JobRecord:
        for key, value in changes.items():
            setattr(rec, key, value)
        rec.updated_at = time.time()
        if self.jobs.records is not None:
            await self.jobs.records.put(rec)
        return rec

    async def _fail(self, rec: JobRecord, failure: ToolFailure) -> ToolFailure:
        await self._save(rec, status="failed", failure=failure.text)
        return failure

    # -- get_job ----------------------------------------------------------------------------------------

    async def resume(self, rec: JobRecord) -> ExportJob | None:
        """A running render's live job under the same handle (None when this record is not one)."""
        if rec.kind != "export" or rec.done or not rec.render_id or not rec.session_id:
            return None
        folder = None
        asked = rec.details.get("download_dir")
        if isinstance(asked, str) and asked:
            try:
                folder = resolve_download_dir(asked, self.settings.download_root)
            except ToolFailure:
                folder = None  # no longer allowed: the render is still reported, with its URL
        job = ExportJob(
            id=rec.id,
            session_id=rec.session_id,
            description=rec.description,
            render_id=rec.render_id,
            download_dir=folder,
            file_name=rec.details.get("file_name") or None,
            overwrite=bool(rec.details.get("overwrite")),
            started_wall=rec.started_at,
        )
        project = await self.projects.store.get(rec.session_id) or ProjectRecord(
            session_id=rec.session_id, task_id="", server=self.settings.server_key
        )
        job.note = f"{self.note(rec) or ''} Its render {rec.render_id} is followed again by its id.".strip()
        self.exports.resume(job, project, age=time.time() - rec.started_at)
        return job

    async def answer(self, rec: JobRecord, wait: float, progress: ProgressFn) -> JobResult:
        """get_job for a record that is not (or no longer) a live job here."""
        note = self.note(rec)
        notes = [note] if note else []
        if rec.status == "succeeded" and rec.result is not None:
            return self._finished(rec, notes)
        if rec.status == "failed":
            failure = _failure_of(rec.failure)
            raise failure.amended(note) if note else failure
        if rec.status == "cancelled":
            return JobResult(job=self._view(rec), notes=notes)
        if rec.kind == "edit":
            return await self._edit(rec, wait, progress, notes)
        what = (
            "the upload stopped with it: files not fully sent were discarded. Call upload_media again with "
            "the same files."
            if rec.kind == "upload"
            else "it stopped before NemoVideo gave the render an id, so there is nothing to follow. Call "
            "export_video again (an export costs no credits)."
        )
        raise await self._fail(rec, ToolFailure("job_interrupted", f"{note or ''} Then {what}".strip()))

    def _finished(self, rec: JobRecord, notes: list[str]) -> JobResult:
        res = JobResult(job=self._view(rec), notes=notes)
        try:
            if rec.kind == "edit":
                res.edit = EditResult.model_validate(rec.result)
            elif rec.kind == "export":
                res.export = ExportResult.model_validate(rec.result)
            else:
                res.upload = UploadResult.model_validate(rec.result)
        except ValueError:
            res.notes.append("Its result was written by another version of nemo-mcp; call get_timeline.")
        return res

    async def _edit(self, rec: JobRecord, wait: float, progress: ProgressFn, notes: list[str]) -> JobResult:
        sid = rec.session_id or ""
        said = f"{rec.instruction or rec.description!r}"[:160]
        lead = notes[0] if notes else f"Job {rec.id} stopped being followed."
        if rec.snapshot is None or not sid:
            raise await self._fail(
                rec,
                ToolFailure(
                    "job_interrupted",
                    f"{lead} It stopped before the instruction {said} was sent, or before the project was "
                    "read. Call get_timeline to see whether it was applied; send it again only if not.",
                ),
            )
        before = state_of(sid, rec.snapshot)
        now, changes = await self._changes(sid, before, wait, progress)
        if changes:
            result = EditResult(
                session_id=sid,
                routed_to="agent",
                status="done",
                changes=changes,
                timeline_summary=now.summary_line(),
                notes=[
                    "Its reply went with the process that followed it, so what changed is read from the "
                    "project (the instruction was not re-sent)."
                ],
                next_step=NEXT_READY if now.export_ready else NEXT_NOT_READY,
            )
            rec = await self._save(rec, status="succeeded", result=result.model_dump(mode="json"))
            return JobResult(job=self._view(rec), edit=result, notes=notes)
        age = time.time() - rec.started_at
        if age < self.api.config.sse_read_timeout:
            message = f"no change on the project yet, {age_text(age)} after the instruction was sent"
            view = self._view(rec, message)
            edit = EditResult(
                session_id=sid, routed_to="agent", status="running", job=view, next_step=view.next_step
            )
            edit.notes.append(
                "The NemoVideo agent may still be working; the instruction is never sent twice."
            )
            return JobResult(job=view, edit=edit, notes=notes)
        raise await self._fail(
            rec,
            ToolFailure(
                "stream_interrupted",
                f"{lead} The server following it stopped, and the project has not changed since the "
                f"instruction {said} was sent. It was NOT re-sent (that could charge twice). Check "
                "get_timeline, and send it again if nothing happened.",
            ),
        )

    async def _changes(
        self, sid: str, before: ProjectState, wait: float, progress: ProgressFn
    ) -> tuple[ProjectState, list[str]]:
        """Poll the project for up to `wait` seconds until it differs from `before` (one look at least)."""
        deadline = time.monotonic() + wait
        started = time.monotonic()
        delays = iter(POLL_SECONDS)
        while True:  # bounded by the deadline: each pass sleeps (half a second at least) or returns
            try:
                now = await self.api.get_state(sid)
            except SessionLostError:
                raise ToolFailure(
                    "session_lost",
                    f"Project {sid} no longer exists on NemoVideo, so the edit cannot be checked. Call "
                    "new_project or list_projects.",
                ) from None
            changes = [c.sentence for c in diff(before, now)]
            left = deadline - time.monotonic()
            if changes or left <= 0:
                return now, changes
            await progress(
                round(time.monotonic() - started, 2) + 0.01, None, "checking the project for the edit"
            )
            await anyio.sleep(min(left, next(delays, POLL_SECONDS[-1])))

    # -- cancel_job -------------------------------------------------------------------------------------

    async def cancel(self, rec: JobRecord) -> CancelResult:
        note = self.note(rec) or f"Job {rec.id} is not running in this server process."
        if rec.done:
            return CancelResult(
                job_id=rec.id,
                kind=rec.kind,
                status=rec.status,
                backend_cancelled=False,
                message=f"Job {rec.id} already ended ({rec.status}); nothing to cancel.",
            )
        if rec.kind == "export" and rec.render_id:
            try:
                await self.api.cancel_render(rec.render_id)
            except NemoError as exc:
                msg = (
                    f"{note} Its render {rec.render_id} could not be cancelled ({as_failure(exc).text}); it "
                    "may still finish: get_job reports it."
                )
                return CancelResult(
                    job_id=rec.id, kind="export", status="running", backend_cancelled=False, message=msg
                )
            rec = await self._save(rec, status="cancelled", message="cancelled")
            return CancelResult(
                job_id=rec.id,
                kind="export",
                status="cancelled",
                backend_cancelled=True,
                message=f"{note} Its render {rec.render_id} was cancelled on the backend.",
            )
        if rec.kind == "edit":
            return CancelResult(
                job_id=rec.id,
                kind="edit",
                status="running",
                backend_cancelled=False,
                message=f"{note} The NemoVideo agent cannot be interrupted: if it is still working on the "
                "instruction, its changes will show in get_timeline and the credits are charged. Nothing "
                f"else runs for this job. (get_job(job_id='{rec.id}') reports what changed.)",
            )
        what = "the upload" if rec.kind == "upload" else "the export, before its render had an id"
        rec = await self._save(rec, status="failed", failure=f"[job_interrupted] {note}")
        return CancelResult(
            job_id=rec.id,
            kind=rec.kind,
            status="failed",
            backend_cancelled=False,
            message=f"{note} Nothing is left to stop: {what} ended with that process (files not fully sent "
            "were discarded).",
        )
