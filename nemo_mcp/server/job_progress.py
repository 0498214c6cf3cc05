"""Progress notifications of a job wait: one rate-limited reporter for uploads, renders and turns."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

__all__ = ["PROGRESS_MIN_INTERVAL", "PROGRESS_MIN_STEP", "ProgressFn", "Reporter"]

log = logging.getLogger("nemo_mcp.server.jobs")

# Progress notifications are rate-limited (see Reporter): a new one needs this much change or time.
PROGRESS_MIN_STEP = 1.0  # percentage points
PROGRESS_MIN_INTERVAL = 0.5  # seconds

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


class Progressing(Protocol):
    """What the reporter reads of a job."""

    @property
    def progress(self) -> float | None: ...

    @property
    def message(self) -> str: ...

    @property
    def elapsed(self) -> float: ...


class Reporter:
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

    def _pending(self, job: Progressing) -> bool:
        return job.progress != self.last_pct or job.message != self.last_message

    def due_in(self, job: Progressing) -> float | None:
        """Seconds until a held-back update is due; None when nothing is held back."""
        if self.fn is None or self.last_sent is None or not self._pending(job):
            return None
        return max(0.0, self.last_sent + self.min_interval - time.monotonic())

    def _worth_sending(self, job: Progressing, now: float) -> bool:
        if self.last_sent is None:
            return True
        pct = job.progress
        if pct is not None:
            if pct >= 100.0 and (self.last_pct is None or self.last_pct < 100.0):
                return True
            if self.last_pct is None or pct - self.last_pct >= self.min_step:
                return True
        return self._pending(job) and now - self.last_sent >= self.min_interval

    async def send(self, job: Progressing, *, force: bool = False) -> None:
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
