"""Job handles: long work runs in a server-owned task group; a tool call only waits for a bounded time.

Hosts abandon a tool call after about 60 s (Claude Desktop), while an agent turn can take minutes and a
render 30-90 s. So every long operation becomes a `Job`:

- the work runs in the task group the server lifespan owns, not in the MCP request, so a cancelled or
  timed-out request stops the *waiting* only; the paid backend work goes on;
- a call waits at most `wait_seconds` (default 40, never more than 50), sending progress notifications
  at least every `HEARTBEAT_SECONDS` so hosts that reset their timer on progress keep the call alive,
  and otherwise only on a 1-point change or after half a second (see `_Reporter`);
- then it returns `running` with the handle, the elapsed time and what to call next (`get_job`).

Handles are random (`job_<22 url-safe chars>`), live in memory for `KEEP_SECONDS` after they finish, and
are scoped to one server process. A job is typed by its kind (`EditJob`, `ExportJob`, `UploadJob`): its
result model, and the facts each kind keeps (the instruction and stages, the render id and download
folder); a failed job keeps its `ToolFailure`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Generic, Literal, TypeVar

import anyio
from anyio.abc import TaskGroup

from nemo_mcp.language.routing import Intent
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.models import EditResult, ExportResult, JobView, UploadResult

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 40.0
MAX_WAIT_SECONDS = 50.0
HEARTBEAT_SECONDS = 10.0  # a "still working" beat at least this often (hosts reset their timer on it)
# Progress notifications are rate-limited (see _Reporter): a new one needs this much change or time.
PROGRESS_MIN_STEP = 1.0  # percentage points
PROGRESS_MIN_INTERVAL = 0.5  # seconds
KEEP_SECONDS = 3600.0
MAX_JOBS = 500

JobKindName = Literal["edit", "export", "upload"]


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
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


@dataclass(eq=False, kw_only=True)
class UploadJob(Job[UploadResult]):
    kind: ClassVar[JobKindName] = "upload"
    waiting_hint: ClassVar[str] = "Call get_job(job_id='{id}') to keep waiting for the upload."


# A registered job of any kind (results are covariant, so every `Job[X]` is a `Job[object]`).
AnyJob = Job[object]
J = TypeVar("J", bound=AnyJob)
T = TypeVar("T")


class JobManager:
    def __init__(
        self,
        task_group: TaskGroup,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._tg = task_group
        self.heartbeat = heartbeat
        self.keep_seconds = keep_seconds
        self._jobs: dict[str, AnyJob] = {}

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self, job: Job[T], work: Awaitable[T]) -> None:
        """Register the handle and run `work` in the server's task group (not in the MCP request)."""
        self._prune()
        self._jobs[job.id] = job
        self._tg.start_soon(job._execute, work, name=f"nemo-job-{job.id}")

    def cancel(self, job: AnyJob) -> bool:
        """Stop the job's task (the caller is responsible for telling the backend, e.g. render cancel)."""
        if job.done or job._scope is None:
            return False
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
        reporter = _Reporter(progress)
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


class _Reporter:
    """Turns job state into MCP progress notifications whose `progress` value always increases.

    Rate-limited in this one place (uploads, renders and turns all report through it): an update goes
    out when the percentage moved by at least `PROGRESS_MIN_STEP` points or `PROGRESS_MIN_INTERVAL`
    seconds passed since the last one; the first, the final (done, or 100%) and the heartbeat beats
    always go out. An update held back by the interval is sent once the interval has passed (the wait
    loop asks `due_in`), so the client never sits on a stale message. One notification per upload chunk
    (~430 for 500 MB) cost ~30% of the upload throughput; this bounds it to ~100 plus two a second.
    """

    def __init__(
        self,
        fn: ProgressFn | None,
        *,
        min_step: float = PROGRESS_MIN_STEP,
        min_interval: float = PROGRESS_MIN_INTERVAL,
    ) -> None:
        self.fn = fn
        self.min_step = min_step
        self.min_interval = min_interval
        self.last = -1.0  # the last `progress` value sent
        self.last_pct: float | None = None  # job.progress when it was sent
        self.last_message: str | None = None
        self.last_sent: float | None = None  # monotonic time of the last notification
        self.sent = 0

    def _pending(self, job: AnyJob) -> bool:
        return job.progress != self.last_pct or job.message != self.last_message

    def due_in(self, job: AnyJob) -> float | None:
        """Seconds until a held-back update is due; None when nothing is held back."""
        if self.fn is None or self.last_sent is None or not self._pending(job):
            return None
        return max(0.0, self.last_sent + self.min_interval - time.monotonic())

    def _worth_sending(self, job: AnyJob, now: float) -> bool:
        if self.last_sent is None:
            return True
        pct = job.progress
        if pct is not None:
            if pct >= 100.0 and (self.last_pct is None or self.last_pct < 100.0):
                return True
            if self.last_pct is None or pct - self.last_pct >= self.min_step:
                return True
        return self._pending(job) and now - self.last_sent >= self.min_interval

    async def send(self, job: AnyJob, *, force: bool = False) -> None:
        if self.fn is None:
            return
        now = time.monotonic()
        if not force and not self._worth_sending(job, now):
            return
        elapsed = job.elapsed
        if job.progress is not None:
            value, total = job.progress, 100.0
            if value <= self.last:
                value = min(self.last + 0.01, 100.0)
                if value <= self.last:  # already at 100: nothing new to say
                    return
            message = f"{job.message} ({job.progress:.0f}%, {elapsed:.0f} s)"
        else:
            value, total = round(elapsed, 2), None
            if value <= self.last:
                value = self.last + 0.01
            message = f"{job.message} ({elapsed:.0f} s)"
        self.last = value
        self.last_pct = job.progress
        self.last_message = job.message
        self.last_sent = now
        self.sent += 1
        try:
            await self.fn(value, total, message)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:  # a vanished client must not break the wait
            log.debug("progress notification failed", exc_info=True)
