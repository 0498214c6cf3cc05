"""get_job and cancel_job: wait for, report on, or stop a job handle."""

from __future__ import annotations

import logging

import anyio

from nemo_mcp.api import NemoClient
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import EditJob, ExportJob, JobManager, JobStatus, ProgressFn, UploadJob
from nemo_mcp.server.models import CancelResult, JobResult
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.edits import edit_running
from nemo_mcp.server.workflows.restored import Restored
from nemo_mcp.store import JobRecord

log = logging.getLogger(__name__)


class Handles:
    """Live jobs of this process first; then the handles in the state store (`restored`): jobs an earlier
    server process started, or ours that have left memory."""

    def __init__(
        self, api: NemoClient, jobs: JobManager, settings: ServerSettings, restored: Restored | None = None
    ) -> None:
        self.api = api
        self.jobs = jobs
        self.settings = settings
        self.restored = restored

    def _live(self, job_id: str) -> EditJob | ExportJob | UploadJob | None:
        job = self.jobs.get(job_id)
        return job if isinstance(job, EditJob | ExportJob | UploadJob) else None

    async def _record(self, job_id: str) -> JobRecord:
        rec = await self.restored.find(job_id) if self.restored is not None else None
        if rec is None:
            raise ToolFailure(
                "unknown_job",
                f"No job {job_id!r} on this server (handles are kept a day, across restarts). Call "
                "get_timeline to see the project's current state.",
            )
        return rec

    async def get_job(self, job_id: str, wait_seconds: float | None, progress: ProgressFn) -> JobResult:
        job = self._live(job_id)
        if job is None:
            rec = await self._record(job_id)
            assert self.restored is not None
            job = await self.restored.resume(rec)  # a render still running: followed again, same handle
            if job is None:
                return await self.restored.answer(rec, self.settings.wait_for(wait_seconds), progress)
        await self.jobs.wait(job, self.settings.wait_for(wait_seconds), progress)
        res = JobResult(job=job.view(), notes=[job.note] if job.note else [])
        if job.status is JobStatus.RUNNING:
            if isinstance(job, EditJob):
                res.edit = edit_running(job)
            return res
        if job.status is JobStatus.CANCELLED:
            return res  # a structured answer: the view says "cancelled"
        # A failed job raises its failure here; a finished one gives its result.
        if isinstance(job, EditJob):
            res.edit = job.outcome()
        elif isinstance(job, ExportJob):
            res.export = job.outcome()
        else:
            res.upload = job.outcome()
        return res

    async def cancel_job(self, job_id: str) -> CancelResult:
        job = self._live(job_id)
        if job is None:
            rec = await self._record(job_id)
            assert self.restored is not None
            return await self.restored.cancel(rec)
        if job.done:
            return CancelResult(
                job_id=job.id,
                kind=job.kind,
                status=job.status.value,
                backend_cancelled=False,
                message=f"Job {job.id} already ended ({job.status.value}); nothing to cancel.",
            )
        if isinstance(job, EditJob):
            return CancelResult(
                job_id=job.id,
                kind=job.kind,
                status=job.status.value,
                backend_cancelled=False,
                message=(
                    "Stopped waiting. The NemoVideo agent cannot be interrupted: it keeps working on this "
                    "instruction and the credits are charged. Its changes will show in get_timeline; the "
                    f"instruction is not re-sent. (get_job(job_id='{job.id}') still reports the outcome.)"
                ),
            )
        backend = False
        if isinstance(job, ExportJob) and job.render_id:
            try:
                await self.api.cancel_render(job.render_id)
                backend = True
            except Exception as exc:
                log.info("render cancel failed: %s", as_failure(exc).text)
        self.jobs.cancel(job)
        with anyio.move_on_after(5):
            await job.wait_done()
        if isinstance(job, UploadJob):
            what = "The upload was stopped; files not fully sent are discarded."
        else:
            what = "The render was cancelled on the backend." if backend else "Stopped."
        return CancelResult(
            job_id=job.id, kind=job.kind, status=job.status.value, backend_cancelled=backend, message=what
        )
