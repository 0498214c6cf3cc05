"""Jobs that other workers can report on: the worker running a job publishes it to the shared store.

The base :class:`~nemo_mcp.server.jobs.JobManager` writes a job's record when it starts, at checkpoints
and when it ends. Here the owner also writes it while it runs, whenever its progress or message changed
(at most every ``PUBLISH_SECONDS``), so ``get_job`` on any worker sees an agent turn's progress as the
worker streaming it sees it; and it watches for a cancel request another worker left
(:meth:`~nemo_mcp.server.hosted.leases.Leases.ask_cancel`) and stops the job as ``cancel_job`` here would.
Every job of this worker's tenants names the worker's lease owner, so another worker can tell a job that
is still followed from one whose worker died.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from nemo_mcp.server.hosted.leases import Leases
from nemo_mcp.server.jobs import AnyJob, Job, JobManager

__all__ = ["PUBLISH_SECONDS", "SharedJobManager"]

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 0.5
T = TypeVar("T")


class SharedJobManager(JobManager):
    def __init__(self, task_group: TaskGroup, leases: Leases, **options: Any) -> None:
        super().__init__(task_group, **options)
        self.leases = leases
        self.owner = leases.owner
        self._tasks = task_group

    def start(self, job: Job[T], work: Any) -> None:
        super().start(job, work)
        if self.records is not None and self.leases.knows_liveness:
            self._tasks.start_soon(self._publish, job, name=f"nemo-publish-{job.id}")

    async def _publish(self, job: AnyJob) -> None:
        seen = (job.progress, job.message)
        while True:
            with anyio.move_on_after(PUBLISH_SECONDS):
                await job.wait_done()
            if job.done:
                return  # the manager writes the final record itself
            if await self.leases.cancel_asked(job.id):
                log.info("job %s: cancel asked by another worker", job.id)
                self.cancel(job)
                return
            now = (job.progress, job.message)
            if now != seen:
                seen = now
                await job.checkpoint()
