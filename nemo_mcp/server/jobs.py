"""Job handles: long work runs in a server-owned task group; a tool call only waits for a bounded time.

Hosts abandon a tool call after about 60 s (Claude Desktop), while an agent turn can take minutes and a
render 30-90 s. So every long operation becomes a `Job`:

- the work runs in the task group the server lifespan owns, not in the MCP request, so a cancelled or
  timed-out request stops the *waiting* only; the paid backend work goes on;
- a call waits at most `wait_seconds` (default 40, never more than 50), sending progress notifications
  at least every `HEARTBEAT_SECONDS` so hosts that reset their timer on progress keep the call alive,
  and otherwise only on a 1-point change or after half a second (see `job_progress.Reporter`);
- then it returns `running` with the handle, the elapsed time and what to call next (`get_job`).

Handles are random (`job_<22 url-safe chars>`). A job is typed by its kind (`EditJob`, `ExportJob`,
`UploadJob`): its result model, and the facts each kind keeps (the instruction, stages and the snapshot
of the project it started from, the render id and download folder); a failed job keeps its `ToolFailure`.
Live jobs stay in memory for `KEEP_SECONDS` after they finish. With a store (`records`), each job's
record is written when it starts, when the work calls `job.checkpoint()` (a fact a restart needs became
known) and when it ends, and kept for the retention period (a day by default), so a handle outlives the
process: `workflows/restored.py` answers for it. A job cancelled because the server is stopping keeps its
record "running", for the next process to resume or re-derive.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel

from nemo_mcp.language.routing import Intent
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.job_progress import ProgressFn, Reporter
from nemo_mcp.server.models import EditResult, ExportResult, JobView, UploadResult
from nemo_mcp.store import JobRecord, JobRecords

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 40.0
MAX_WAIT_SECONDS = 50.0
HEARTBEAT_SECONDS = 10.0  # a "still working" beat at least this often (hosts reset their timer on it)
KEEP_SECONDS = 3600.0  # a finished job in memory (its record stays in the store longer)
MAX_JOBS = 500
RETENTION_SECONDS = 86400.0  # job records in the store (NEMO_JOB_RETENTION_HOURS)
PRUNE_EVERY = 3600.0

JobKindName = Literal["edit", "export", "upload"]


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


__all__ = ["AnyJob", "EditJob", "ExportJob", "Job", "JobManager", "JobStatus", "ProgressFn", "UploadJob"]

R = TypeVar("R", covariant=True)


@dataclass(eq=False, kw_only=True)
class Job(Generic[R]):
    """One long operation; `R` is what it returns. The kinds below add what each kind needs to know."""

    kind: ClassVar[JobKindName]
    session_id: str | None
    description: str
    id: str = field(default_factory=lambda: "job_" + secrets.token_urlsafe(16))
    started: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    status: JobStatus = JobStatus.RUNNING
    progress: float | None = None  # 0..100 when known
    message: str = "starting"
    phase: str = ""  # "1/2 the edit", "2/2 the render": prefixed to every message of a two-stage job
    result: R | None = None
    failure: ToolFailure | None = None
    finished: float | None = None
    cancel_requested: bool = False  # cancel_job (not a server shutdown) stopped it
    note: str | None = None  # said with every answer about it ("started by an earlier server process")
    _saver: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)
    _done: anyio.Event = field(default_factory=anyio.Event, repr=False)
    _changed: anyio.Event = field(default_factory=anyio.Event, repr=False)
    _scope: anyio.CancelScope | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.status is not JobStatus.RUNNING

    @property
    def elapsed(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return max(0.0, end - self.started)

    def update(self, progress: float | None = None, message: str | None = None) -> None:
        """Called by the work to publish progress (0..100) and/or a short status message."""
        if progress is not None:
            self.progress = max(0.0, min(100.0, float(progress)))
        if message is not None:
            self.message = f"{self.phase}: {message}" if self.phase else message
        self._notify()

    def _notify(self) -> None:
        ev = self._changed
        self._changed = anyio.Event()
        ev.set()

    async def wait_done(self) -> None:
        await self._done.wait()

    async def checkpoint(self) -> None:
        """Write the job's record now (the work calls it once a fact a restart needs is known)."""
        if self._saver is not None:
            await self._saver()

    def record(self, server: str, owner: str) -> JobRecord:
        """What a later process needs to answer for this handle (see `nemo_mcp.store.JobRecord`)."""
        result = self.result.model_dump(mode="json") if isinstance(self.result, BaseModel) else None
        return JobRecord(
            id=self.id,
            kind=self.kind,
            server=server,
            session_id=self.session_id,
            description=self.description,
            started_at=self.started_wall,
            updated_at=time.time(),
            status=self.status.value,
            owner=owner,
            progress=self.progress,
            message=self.message,
            result=result,
            failure=self.failure.text if self.failure else None,
            **self._facts(),
        )

    def _facts(self) -> dict[str, Any]:
        """The kind's own fields of its record."""
        return {}

    # What to call to keep waiting for this kind of job (the kinds below say it their way).
    waiting_hint: ClassVar[str] = "Call get_job(job_id='{id}') to keep waiting."

    def view(self) -> JobView:
        return JobView(
            job_id=self.id,
            kind=self.kind,
            status=self.status.value,
            session_id=self.session_id,
            description=self.description,
            elapsed_seconds=round(self.elapsed, 1),
            progress_percent=round(self.progress, 1) if self.progress is not None else None,
            message=self.message,
            next_step="" if self.done else self.waiting_hint.format(id=self.id),
        )

    def outcome(self) -> R:
        """The result of a finished job; its failure (or the cancellation) is raised as a ToolFailure."""
        if self.status is JobStatus.SUCCEEDED and self.result is not None:
            return self.result
        if self.status is JobStatus.CANCELLED:
            raise ToolFailure("cancelled", f"Job {self.id} ({self.description}) was cancelled.")
        raise self.failure or ToolFailure("internal", "the job failed.")

    async def _execute(self, work: Awaitable[R]) -> None:
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self.cancel_requested:  # cancelled before it began
                scope.cancel()
            try:
                self.result = await work
                self.status = JobStatus.SUCCEEDED
                if self.progress is not None:
                    self.progress = 100.0
            except Exception as exc:
                self.failure = as_failure(exc)
                self.status = JobStatus.FAILED
                log.info("job %s (%s) failed: %s", self.id, self.kind, self.failure.text)
        if self.status is JobStatus.RUNNING:  # cancelled (from outside, or while finishing)
            self.status = JobStatus.CANCELLED
            self.message = "cancelled"
        self.finished = time.monotonic()
        self._done.set()
        self._notify()


@dataclass(eq=False, kw_only=True)
class EditJob(Job[EditResult]):
    """An agent turn (/run_sse): sent once, never re-sent."""

    kind: ClassVar[JobKindName] = "edit"
    waiting_hint: ClassVar[str] = (
        "Call get_job(job_id='{id}') to keep waiting; do not resend the instruction."
    )
    instruction: str
    stages: list[str] = field(default_factory=list)  # what landed while the turn ran
    plan: list[Intent] = field(default_factory=list)  # the steps the instruction asked for (agent, export...)
    snapshot: dict[str, Any] | None = None  # the project when the turn started (restored.snapshot_of)

    def _facts(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "snapshot": self.snapshot,
            "details": {"plan": [p.value for p in self.plan], "stages": list(self.stages)},
        }


@dataclass(eq=False, kw_only=True)
class ExportJob(Job[ExportResult]):
    """A render, plus the download when one was asked for."""

    kind: ClassVar[JobKindName] = "export"
    waiting_hint: ClassVar[str] = (
        "Call get_job(job_id='{id}') (or export_video again) to keep waiting for the render."
    )
    render_id: str | None = None
    download_dir: Path | None = None
    file_name: str | None = None  # the name the user asked for ("save it as final.mp4")
    overwrite: bool = False

    def _facts(self) -> dict[str, Any]:
        folder = str(self.download_dir) if self.download_dir is not None else None
        details = {"download_dir": folder, "file_name": self.file_name, "overwrite": self.overwrite}
        return {"render_id": self.render_id, "details": details}


@dataclass(eq=False, kw_only=True)
class UploadJob(Job[UploadResult]):
    kind: ClassVar[JobKindName] = "upload"
    waiting_hint: ClassVar[str] = "Call get_job(job_id='{id}') to keep waiting for the upload."


# A registered job of any kind (results are covariant, so every `Job[X]` is a `Job[object]`).
AnyJob = Job[object]
J = TypeVar("J", bound=AnyJob)
T = TypeVar("T")


class JobManager:
    """The live jobs of this process, and (with `records`) their records in the store, written under this
    backend's `server` key and kept `retention` seconds after their last write."""

    def __init__(
        self,
        task_group: TaskGroup,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        keep_seconds: float = KEEP_SECONDS,
        records: JobRecords | None = None,
        server: str = "",
        retention: float = RETENTION_SECONDS,
    ) -> None:
        self._tg = task_group
        self.heartbeat = heartbeat
        self.keep_seconds = keep_seconds
        self._jobs: dict[str, AnyJob] = {}
        self.records = records
        self.server = server
        self.retention = retention
        #: this process, as job records name their owner
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}:{secrets.token_hex(4)}"
        self._pruned_at = 0.0

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self, job: Job[T], work: Awaitable[T]) -> None:
        """Register the handle and run `work` in the server's task group (not in the MCP request)."""
        self._prune()
        self._jobs[job.id] = job
        job._saver = lambda: self._save(job)
        self._tg.start_soon(self._run, job, work, name=f"nemo-job-{job.id}")

    async def _run(self, job: Job[T], work: Awaitable[T]) -> None:
        if self.records is not None and time.time() - self._pruned_at > PRUNE_EVERY:
            await self.prune_records()
        await self._save(job)  # from here on the handle outlives this process
        try:
            await job._execute(work)
        finally:
            # A job stopped by the server's shutdown keeps its "running" record for the next process.
            if job.status is not JobStatus.CANCELLED or job.cancel_requested:
                with anyio.CancelScope(shield=True):
                    await self._save(job)

    async def _save(self, job: AnyJob) -> None:
        if self.records is None:
            return
        try:
            await self.records.put(job.record(self.server, self.owner))
        except Exception as exc:  # a handle that cannot be kept must not break the work
            log.warning("could not save job %s in the state store: %s", job.id, exc)

    async def prune_records(self) -> None:
        """Forget job records older than the retention period."""
        if self.records is None:
            return
        self._pruned_at = time.time()
        try:
            gone = await self.records.prune(time.time() - self.retention)
        except Exception as exc:
            log.warning("could not prune old job records: %s", exc)
            return
        if gone:
            log.info("forgot %d job handle(s) older than %.0f h", gone, self.retention / 3600)

    def adopt(self, job: Job[T], work: Awaitable[T], *, age: float) -> None:
        """Run a job a previous process started (same handle), its clock `age` seconds old."""
        job.started = time.monotonic() - max(0.0, age)
        self.start(job, work)

    def cancel(self, job: AnyJob) -> bool:
        """Stop the job's task (the caller is responsible for telling the backend, e.g. render cancel)."""
        if job.done:
            return False
        job.cancel_requested = True
        if job._scope is not None:
            job._scope.cancel()
        return True

    def _prune(self) -> None:
        now = time.monotonic()
        for jid, job in list(self._jobs.items()):
            if job.finished is not None and now - job.finished > self.keep_seconds:
                del self._jobs[jid]
        if len(self._jobs) > MAX_JOBS:
            finished = sorted((j for j in self._jobs.values() if j.done), key=lambda j: j.finished or 0.0)
            for job in finished[: len(self._jobs) - MAX_JOBS]:
                del self._jobs[job.id]

    # -- lookup ---------------------------------------------------------------------------------------

    def get(self, job_id: str) -> AnyJob | None:
        return self._jobs.get(job_id.strip())

    def running(self, session_id: str | None, kind: type[J]) -> J | None:
        for job in reversed(list(self._jobs.values())):
            if isinstance(job, kind) and not job.done and job.session_id == session_id:
                return job
        return None

    def render(self, render_id: str) -> ExportJob | None:
        """The latest export job of this render id."""
        for job in reversed(list(self._jobs.values())):
            if isinstance(job, ExportJob) and job.render_id == render_id:
                return job
        return None

    def all(self) -> list[AnyJob]:
        return list(self._jobs.values())

    # -- waiting --------------------------------------------------------------------------------------

    async def follow(self, job: J, on_change: Callable[[J], None]) -> None:
        """Call `on_change` each time `job` publishes progress, until it is done (a job that mirrors
        another one's progress)."""
        while not job.done:
            changed = job._changed
            await changed.wait()
            on_change(job)

    async def wait(self, job: AnyJob, wait_seconds: float, progress: ProgressFn | None = None) -> bool:
        """Wait until the job is done or `wait_seconds` passed; True when done.

        Sends a progress notification whenever the job publishes progress and at least every
        `heartbeat` seconds. If the MCP request is cancelled, the cancellation ends this wait only.
        """
        wait_seconds = clamp_wait(wait_seconds)
        deadline = time.monotonic() + wait_seconds
        reporter = Reporter(progress)
        await reporter.send(job, force=True)  # the first one always goes out
        while not job.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            timeout = min(remaining, self.heartbeat)
            due = reporter.due_in(job)  # a held-back update goes out once the interval has passed
            if due is not None:
                timeout = min(timeout, due)
            changed = job._changed
            with anyio.move_on_after(timeout) as scope:
                await changed.wait()
            # A timeout is a beat (or a held-back update falling due); the final state always goes out.
            await reporter.send(job, force=scope.cancelled_caught or job.done)
        return job.done


def clamp_wait(wait_seconds: float | None) -> float:
    if wait_seconds is None:
        return DEFAULT_WAIT_SECONDS
    return max(0.0, min(MAX_WAIT_SECONDS, float(wait_seconds)))
