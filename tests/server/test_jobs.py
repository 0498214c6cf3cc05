"""Job handles (jobs.py) on their own: bounded waits, progress, failures and cancellation."""

from __future__ import annotations

import anyio
import pytest

from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.jobs import (
    MAX_WAIT_SECONDS,
    EditJob,
    ExportJob,
    JobManager,
    JobStatus,
    UploadJob,
    clamp_wait,
)
from nemo_mcp.server.models import EditResult, ExportResult, UploadResult

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- jobs ---------------------------------------------------------------------------------------------


def test_clamp_wait() -> None:
    assert clamp_wait(None) == 40
    assert clamp_wait(500) == MAX_WAIT_SECONDS
    assert clamp_wait(-3) == 0


async def test_job_finishes_within_wait() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg)

        job = EditJob(session_id="s1", description="test", instruction="x")

        async def work() -> EditResult:
            job.update(50, "half")
            await anyio.sleep(0.05)
            return EditResult(session_id="s1", routed_to="agent", reply="ok")

        jm.start(job, work())
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert await jm.wait(job, 5, progress)
        assert job.status is JobStatus.SUCCEEDED
        assert job.outcome().reply == "ok"
        assert job.view().status == "succeeded"
        assert job.view().next_step == ""
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)


async def test_progress_notifications_are_rate_limited() -> None:
    """A job publishing thousands of small steps (an upload's chunks) yields a bounded number of
    notifications: the first, intermediate ones, and the final 100%, strictly increasing."""
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg)

        job = UploadJob(session_id="s1", description="fast upload")

        async def work() -> UploadResult:
            for i in range(2000):
                job.update(min(99.0, i / 20), f"uploading {i}")
                await anyio.sleep(0)
            return UploadResult(session_id="s1")

        jm.start(job, work())
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert await jm.wait(job, 20, progress)
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)
        assert values[0] < 1.0  # the first one went out at once
        assert values[-1] == 100.0  # and the final one
        assert len(values) >= 10  # some intermediate ones
        # one per percentage point at most, plus a couple per second of elapsed time
        assert len(values) <= 100 + 2 + 2 * (job.elapsed + 1), len(values)


async def test_held_back_progress_is_flushed_and_beats_continue() -> None:
    """An update held back by the interval goes out once it has passed; beats keep flowing."""
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, heartbeat=0.3)
        release = anyio.Event()

        job = ExportJob(session_id="s1", description="render")

        async def work() -> ExportResult:
            job.update(10.0, "first")
            await anyio.sleep(0.05)
            job.update(10.2, "small step")  # < 1 point, right after: held back, then flushed
            await release.wait()
            return ExportResult(session_id="s1", status="completed")

        jm.start(job, work())
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert not await jm.wait(job, 1.0, progress)
        assert any(m.startswith("small step") for _, _, m in beats), beats
        assert len(beats) >= 3  # first, the flushed update, and beats
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)
        release.set()
        beats.clear()
        assert await jm.wait(job, 5, progress)  # a new request: its own first and final
        assert beats
        assert beats[-1][0] == 100.0


async def test_job_outlives_wait_and_cancelled_request() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, heartbeat=0.05)
        release = anyio.Event()

        job = EditJob(session_id="s1", description="slow", instruction="x")

        async def work() -> EditResult:
            await release.wait()
            return EditResult(session_id="s1", routed_to="agent", reply="late")

        jm.start(job, work())
        beats: list[float] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append(p)

        assert not await jm.wait(job, 0.3, progress)
        assert len(beats) >= 3  # heartbeats while waiting
        assert jm.running("s1", EditJob) is job
        assert jm.running("s1", ExportJob) is None
        assert "do not resend" in job.view().next_step
        # a cancelled MCP request stops the waiting, not the work
        with anyio.move_on_after(0.05):
            await jm.wait(job, 5)
        assert not job.done
        release.set()
        assert await jm.wait(job, 5)
        assert job.outcome().reply == "late"
        assert jm.get(job.id) is job


async def test_job_failure_and_cancel() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg)

        async def boom() -> ExportResult:
            raise ToolFailure("render_failed", "kaput. Try again.")

        async def crash() -> ExportResult:
            raise RuntimeError("secret detail")

        async def forever() -> ExportResult:
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        j1 = ExportJob(session_id=None, description="boom")
        jm.start(j1, boom())
        await jm.wait(j1, 5)
        assert j1.status is JobStatus.FAILED
        assert j1.failure is not None
        assert j1.failure.text == "[render_failed] kaput. Try again."  # the job keeps the failure object
        with pytest.raises(ToolFailure) as raised:
            j1.outcome()
        assert raised.value is j1.failure
        j3 = ExportJob(session_id=None, description="crash")
        jm.start(j3, crash())
        await jm.wait(j3, 5)
        assert j3.failure is not None
        assert j3.failure.tag == "internal"
        assert "secret" not in j3.failure.text
        j2 = ExportJob(session_id=None, description="forever")
        jm.start(j2, forever())
        await anyio.sleep(0.01)
        assert jm.cancel(j2)
        await jm.wait(j2, 5)
        assert j2.status is JobStatus.CANCELLED
        with pytest.raises(ToolFailure) as raised:
            j2.outcome()
        assert raised.value.tag == "cancelled"
        assert jm.get("job_nope") is None
