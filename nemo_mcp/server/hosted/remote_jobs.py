"""``get_job`` and ``cancel_job`` on any worker for a job another worker runs (or ran, and died).

Asked about a handle it holds no live job for, a worker reads the record (the tenant's, so another user's
handle is "unknown" exactly like one that never existed) and:

- **another worker runs it** (its lease is alive): a render is polled upstream by this worker, by its
  render id, for the status it reports; an agent turn and an upload are followed through the record the
  owner keeps publishing (:mod:`nemo_mcp.server.hosted.shared_jobs`), until the job ends or the wait is
  over. ``cancel_job`` cancels a render upstream and asks the owner (through the store) to stop its job;
  an upload is stopped by its owner the same way; an agent turn cannot be interrupted anywhere.
- **its worker died** (the lease ran out): a render goes on upstream and is resumed here by its id (as
  after a restart); an agent turn or an upload is marked failed with ``[job_interrupted]`` at once,
  saying what to check, instead of staying "running" for ever.
- otherwise (one process, or a job of this worker that has left memory) the base handles answer
  (:mod:`nemo_mcp.server.workflows.handles`, :mod:`nemo_mcp.server.workflows.restored`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio

from nemo_mcp.api import NemoClient, NemoError
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.hosted.leases import Leases
from nemo_mcp.server.jobs import ProgressFn
from nemo_mcp.server.models import CancelResult, EditResult, ExportResult, JobResult, JobView, UploadResult
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.handles import Handles
from nemo_mcp.store import JobRecord, JobRecords

__all__ = ["RemoteJobs", "SharedHandles"]

log = logging.getLogger(__name__)

POLL_SECONDS = (0.2, 0.3, 0.5, 1.0, 2.0)
ELSEWHERE = "It runs on another worker of this server; this answer follows it through the shared store."


def _failure(text: str | None) -> ToolFailure:
    tag, _, rest = (text or "").partition("] ")
    if tag.startswith("[") and rest:
        return ToolFailure(tag[1:], rest)
    return ToolFailure("internal", "the job failed.")


class RemoteJobs:
    def __init__(
        self, api: NemoClient, records: JobRecords, leases: Leases, settings: ServerSettings
    ) -> None:
        self.api = api
        self.records = records
        self.leases = leases
        self.settings = settings

    async def _elsewhere(self, rec: JobRecord) -> bool | None:
        """True: another live worker runs it; False: its worker died; None: not this module's case."""
        if rec.done or not self.leases.knows_liveness or rec.owner == self.leases.owner:
            return None
        return await self.leases.alive(rec.owner)

    # -- get_job ----------------------------------------------------------------------------------------

    async def answer(self, rec: JobRecord, wait: float, progress: ProgressFn) -> JobResult | None:
        state = await self._elsewhere(rec)
        if state is None:
            return None
        if state is False:
            if rec.kind == "export" and rec.render_id:
                return None  # the render goes on upstream: resumed here by its id (restored.py)
            raise await self._died(rec)
        rec = await self._follow(rec, wait, progress)
        return self._result(rec)

    async def _follow(self, rec: JobRecord, wait: float, progress: ProgressFn) -> JobRecord:
        deadline = time.monotonic() + wait
        delays = iter(POLL_SECONDS)
        upstream: dict[str, Any] = {}
        while not rec.done:
            if rec.kind == "export" and rec.render_id:
                try:  # any worker polls a render upstream for itself
                    status = await self.api.get_render(rec.render_id)
                    upstream = {"progress": status.progress, "message": f"render {status.status}"}
                except NemoError as exc:
                    log.info("render %s: %s", rec.render_id, as_failure(exc).text)
            pct = upstream.get("progress", rec.progress)
            await progress(float(pct or 0.0), 100.0, upstream.get("message") or rec.message or "running")
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await anyio.sleep(min(left, next(delays, POLL_SECONDS[-1])))
            fresh = await self.records.get(rec.id)
            if fresh is None:
                break
            rec = fresh
            if not rec.done and not await self.leases.alive(rec.owner):
                if rec.kind == "export" and rec.render_id:
                    break  # the owner died mid-render; the next get_job resumes it by its id
                raise await self._died(rec)
        if upstream and not rec.done:
            rec.progress = upstream.get("progress", rec.progress)
            rec.message = upstream.get("message") or rec.message
        return rec

    def _view(self, rec: JobRecord) -> JobView:
        return JobView(
            job_id=rec.id,
            kind=rec.kind,
            status=rec.status,
            session_id=rec.session_id,
            description=rec.description,
            elapsed_seconds=round(max(0.0, time.time() - rec.started_at), 1),
            progress_percent=rec.progress,
            message=rec.message,
            next_step="" if rec.done else f"Call get_job(job_id='{rec.id}') to keep waiting.",
        )

    def _result(self, rec: JobRecord) -> JobResult:
        res = JobResult(job=self._view(rec), notes=[ELSEWHERE])
        if rec.status == "failed":
            raise _failure(rec.failure)
        if rec.status != "succeeded" or rec.result is None:
            return res  # running, or cancelled (the view says which)
        if rec.kind == "edit":
            res.edit = EditResult.model_validate(rec.result)
        elif rec.kind == "export":
            res.export = ExportResult.model_validate(rec.result)
        else:
            res.upload = UploadResult.model_validate(rec.result)
        return res

    async def _died(self, rec: JobRecord) -> ToolFailure:
        if rec.kind == "edit":
            said = f"{rec.instruction or rec.description!r}"[:160]
            failure = ToolFailure(
                "job_interrupted",
                f"The server worker running the instruction {said} stopped (its lease in the shared store "
                "ran out) while the NemoVideo agent worked on it. It was NOT re-sent (that could charge "
                "twice). Call get_timeline to see whether it was applied, and send it again only if not.",
            )
        elif rec.kind == "upload":
            failure = ToolFailure(
                "job_interrupted",
                "The server worker running this upload stopped (its lease in the shared store ran out); "
                "files not fully sent were discarded. Call upload_media again with the same files.",
            )
        else:
            failure = ToolFailure(
                "job_interrupted",
                "The server worker running this export stopped before NemoVideo gave the render an id, so "
                "there is nothing to follow. Call export_video again (an export costs no credits).",
            )
        rec.status, rec.failure, rec.updated_at = "failed", failure.text, time.time()
        await self.records.put(rec)
        return failure

    # -- cancel_job -------------------------------------------------------------------------------------

    async def cancel(self, rec: JobRecord) -> CancelResult | None:
        state = await self._elsewhere(rec)
        if state is not True:
            return None  # done, ours, or its worker died: the base handles answer (restored.py)
        if rec.kind == "edit":
            return CancelResult(
                job_id=rec.id,
                kind="edit",
                status="running",
                backend_cancelled=False,
                message="The NemoVideo agent cannot be interrupted: it keeps working on this instruction "
                "(on another worker of this server) and the credits are charged. Its changes will show in "
                f"get_timeline. (get_job(job_id='{rec.id}') reports the outcome.)",
            )
        backend = False
        if rec.kind == "export" and rec.render_id:
            try:
                await self.api.cancel_render(rec.render_id)
                backend = True
            except NemoError as exc:
                log.info("render cancel failed: %s", as_failure(exc).text)
        await self.leases.ask_cancel(rec.id)
        with anyio.move_on_after(5):  # the owner sees the request within a publish interval
            while not rec.done:
                await anyio.sleep(0.2)
                rec = await self.records.get(rec.id) or rec
        what = "the render was cancelled on the backend" if backend else "its worker was asked to stop it"
        return CancelResult(
            job_id=rec.id,
            kind=rec.kind,
            status=rec.status,
            backend_cancelled=backend,
            message=f"{'Cancelled' if rec.done else 'Cancelling'}: {what} (it ran on another worker).",
        )


class SharedHandles(Handles):
    """The base handles, asking :class:`RemoteJobs` first about a handle this worker holds no live job for."""

    def __init__(self, base: Handles, remote: RemoteJobs) -> None:
        super().__init__(base.api, base.jobs, base.settings, base.restored)
        self.remote = remote

    async def _other(self, job_id: str) -> JobRecord | None:
        if self._live(job_id) is not None:
            return None
        return await self.remote.records.get(job_id.strip())

    async def get_job(self, job_id: str, wait_seconds: float | None, progress: ProgressFn) -> JobResult:
        rec = await self._other(job_id)
        if rec is not None and rec.server == self.jobs.server:
            answer = await self.remote.answer(rec, self.settings.wait_for(wait_seconds), progress)
            if answer is not None:
                return answer
        return await super().get_job(job_id, wait_seconds, progress)

    async def cancel_job(self, job_id: str) -> CancelResult:
        rec = await self._other(job_id)
        if rec is not None and rec.server == self.jobs.server:
            answer = await self.remote.cancel(rec)
            if answer is not None:
                return answer
        return await super().cancel_job(job_id)
