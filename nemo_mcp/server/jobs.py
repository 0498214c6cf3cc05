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
are scoped to one server process.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio
from anyio.abc import TaskGroup

log = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 40.0
MAX_WAIT_SECONDS = 50.0
HEARTBEAT_SECONDS = 10.0  # a "still working" beat at least this often (hosts reset their timer on it)
# Progress notifications are rate-limited (see _Reporter): a new one needs this much change or time.
PROGRESS_MIN_STEP = 1.0  # percentage points
PROGRESS_MIN_INTERVAL = 0.5  # seconds
KEEP_SECONDS = 3600.0
MAX_JOBS = 500


class JobKind(StrEnum):
    EDIT = "edit"  # an agent turn (/run_sse)
    EXPORT = "export"  # a render (+ optional download)
    UPLOAD = "upload"


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
ErrorMapper = Callable[[BaseException], tuple[str, str]]


@dataclass(eq=False)
class Job:
    id: str
    kind: JobKind
    session_id: str | None
    description: str
    started: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    status: JobStatus = JobStatus.RUNNING
    progress: float | None = None  # 0..100 when known
    message: str = "starting"
    result: Any = None
    error_tag: str | None = None
    error_message: str | None = None
    finished: float | None = None
    # Free-form facts the tools show (render id, stage notes...).
    info: dict[str, Any] = field(default_factory=dict)
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
            self.message = message
        self._notify()

    def _notify(self) -> None:
        ev = self._changed
        self._changed = anyio.Event()
        ev.set()

    async def wait_done(self) -> None:
        await self._done.wait()


class UnknownJobError(KeyError):
    pass


class JobManager:
    def __init__(
        self,
        task_group: TaskGroup,
        error_mapper: ErrorMapper,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._tg = task_group
        self._map_error = error_mapper
        self.heartbeat = heartbeat
        self.keep_seconds = keep_seconds
        self._jobs: dict[str, Job] = {}

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(
        self,
        kind: JobKind,
        session_id: str | None,
        description: str,
        work: Callable[[Job], Awaitable[Any]],
        *,
        info: dict[str, Any] | None = None,
    ) -> Job:
        self._prune()
        job = Job(
            id="job_" + secrets.token_urlsafe(16),
            kind=kind,
            session_id=session_id,
            description=description,
            info=dict(info or {}),
        )
        self._jobs[job.id] = job
        self._tg.start_soon(self._run, job, work, name=f"nemo-job-{job.id}")
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[Any]]) -> None:
        with anyio.CancelScope() as scope:
            job._scope = scope
            try:
                job.result = await work(job)
                job.status = JobStatus.SUCCEEDED
                if job.progress is not None:
                    job.progress = 100.0
            except Exception as exc:
                tag, message = self._map_error(exc)
                job.status = JobStatus.FAILED
                job.error_tag, job.error_message = tag, message
                log.info("job %s (%s) failed: [%s] %s", job.id, job.kind, tag, message)
        if scope.cancelled_caught and job.status is JobStatus.RUNNING:
            job.status = JobStatus.CANCELLED
            job.message = "cancelled"
        if job.status is JobStatus.RUNNING:  # cancelled from outside while finishing
            job.status = JobStatus.CANCELLED
        job.finished = time.monotonic()
        job._done.set()
        job._notify()

    def cancel(self, job: Job) -> bool:
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

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id.strip())
        if job is None:
            raise UnknownJobError(job_id)
        return job

    def running(self, session_id: str | None, kind: JobKind | None = None) -> Job | None:
        for job in reversed(list(self._jobs.values())):
            if job.done or job.session_id != session_id:
                continue
            if kind is None or job.kind is kind:
                return job
        return None

    def all(self) -> list[Job]:
        return list(self._jobs.values())

    # -- waiting --------------------------------------------------------------------------------------

    async def wait(self, job: Job, wait_seconds: float, progress: ProgressFn | None = None) -> bool:
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

    def _pending(self, job: Job) -> bool:
        return job.progress != self.last_pct or job.message != self.last_message

    def due_in(self, job: Job) -> float | None:
        """Seconds until a held-back update is due; None when nothing is held back."""
        if self.fn is None or self.last_sent is None or not self._pending(job):
            return None
        return max(0.0, self.last_sent + self.min_interval - time.monotonic())

    def _worth_sending(self, job: Job, now: float) -> bool:
        if self.last_sent is None:
            return True
        pct = job.progress
        if pct is not None:
            if pct >= 100.0 and (self.last_pct is None or self.last_pct < 100.0):
                return True
            if self.last_pct is None or pct - self.last_pct >= self.min_step:
                return True
        return self._pending(job) and now - self.last_sent >= self.min_interval

    async def send(self, job: Job, *, force: bool = False) -> None:
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
