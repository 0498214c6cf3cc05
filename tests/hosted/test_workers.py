"""Scale-out on a shared Valkey store, with real `nemo-mcp` server processes (the console script) against the
embedded backend of this process: any server answers get_job for any job (an agent turn followed through
the record its owner publishes, a render polled upstream), a server killed mid-turn leaves its job failed
with a clear message once its lease runs out, a multi-round-trip confirmation and 2025-era clients work
through a round-robin balancer with no sticky sessions, the rate limit is one per user across servers, and
`--workers N` pre-forks N workers that are replaced when they die and stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from cryptography.fernet import Fernet
from mcp import MCPError
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from nemo_mcp.local import LocalBackend
from tests.hosted.cluster import SCRIPT, ServerProcess, nemo_http, nemo_servers, wait_healthy
from tests.hosted.conftest import mcp_client
from tests.hosted.issuer import Issuer, run_issuer
from tests.hosted.recording_proxy import run_recording_proxy
from tests.media import make_video
from tests.server.conftest import free_port

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not SCRIPT.exists(), reason="the console script is not installed: pip install -e '.[dev]'"
    ),
]
AUDIENCE = "nemo-mcp-team"


def text(r: CallToolResult) -> str:
    return "\n".join(getattr(b, "text", "") for b in r.content)


@contextmanager
def two_servers(
    tmp_path: Path, backend: LocalBackend, store_url: str, issuer: Issuer, public: str, *args: str, **env: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    shared = {
        "NEMO_API_URL": str(backend.url),
        "NEMO_STORE_URL": store_url,
        "NEMO_AUTH_ISSUER": issuer.url,
        "NEMO_AUTH_AUDIENCE": AUDIENCE,
        "NEMO_PUBLIC_URL": public,
        "NEMO_SECRET_KEY": Fernet.generate_key().decode(),
        "NEMO_WORKER_LEASE_SECONDS": "1",
        **env,
    }
    with nemo_servers([free_port(), free_port()], shared, tmp_path, *args) as (a, b):
        yield a, b


async def test_any_server_answers_for_any_job(
    tmp_path: Path, local_backend: LocalBackend, shared_store_url: str
) -> None:
    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=2)
    local_backend.knobs.agent_delay = 1.5
    async with run_issuer() as issuer:
        issuer.audience = AUDIENCE
        lb_port = free_port()
        with two_servers(
            tmp_path,
            local_backend,
            shared_store_url,
            issuer,
            f"http://127.0.0.1:{lb_port}",
            "--rate-limit",
            "8/min",
            NEMO_CONFIRM_SPEND="always",
        ) as (a, b):
            async with run_recording_proxy([a.url, b.url]) as balancer:
                balancer_url = balancer.url
                asked: list[str] = []

                async def accept(context: Any, params: ElicitRequestParams) -> ElicitResult:
                    asked.append(params.message)
                    return ElicitResult(action="accept", content={"spend": True})

                with anyio.fail_after(90):
                    frank = issuer.token("frank")
                    async with (
                        mcp_client(a.url, frank, elicitation_callback=accept) as on_a,
                        mcp_client(b.url, frank) as on_b,
                    ):
                        up = await on_a.call_tool("upload_media", {"sources": [str(clip)]})
                        assert not up.is_error, text(up)
                        # an agent turn started on A, followed from B through the record A publishes
                        started = await on_a.call_tool(
                            "edit_video", {"instruction": "add the title 'Hi' at the top", "wait_seconds": 0}
                        )
                        assert not started.is_error, text(started)
                        job = started.structured_content["job"]["job_id"]  # type: ignore[index]
                        seen: list[float] = []

                        async def progress(value: float, total: float | None, message: str | None) -> None:
                            seen.append(value)

                        done = await on_b.call_tool(
                            "get_job", {"job_id": job, "wait_seconds": 30}, progress_callback=progress
                        )
                        assert not done.is_error, text(done)
                        assert done.structured_content["edit"]["status"] == "done"  # type: ignore[index]
                        assert "another worker" in text(done)
                        assert seen  # B sent progress while following it
                        # a render started on A, polled upstream by B
                        export = await on_a.call_tool("export_video", {"wait_seconds": 0})
                        ejob = export.structured_content["job"]["job_id"]  # type: ignore[index]
                        got = await on_b.call_tool("get_job", {"job_id": ejob, "wait_seconds": 40})
                        assert not got.is_error, text(got)
                        assert got.structured_content["export"]["url"]  # type: ignore[index]
                    # a multi-round-trip confirmation whose second round lands on the other server
                    asked.clear()
                    alice = issuer.token("alice")
                    async with mcp_client(balancer_url, alice, elicitation_callback=accept) as lb:
                        up = await lb.call_tool("upload_media", {"sources": [str(clip)]})
                        assert not up.is_error, text(up)
                        edit = await lb.call_tool(
                            "edit_video", {"instruction": "add the title 'Yo' at the top"}
                        )
                        assert not edit.is_error, text(edit)
                        assert edit.structured_content["confirmation"]["outcome"] == "accepted"  # type: ignore[index]
                    assert len(asked) == 1
                    # a 2025-era client through the balancer: no sticky session needed
                    async with mcp_client(balancer_url, issuer.token("erin"), mode="legacy") as legacy:
                        for _ in range(3):
                            r = await legacy.call_tool("list_projects", {})
                            assert not r.is_error, text(r)
                    # one rate limit per user, whichever server is asked
                    dave = issuer.token("dave")
                    async with mcp_client(a.url, dave) as da, mcp_client(b.url, dave) as db:
                        answers = [
                            await (da if i % 2 else db).call_tool("check_credits", {}) for i in range(8)
                        ]
                        assert [r.is_error for r in answers] == [False] * 8
                        with pytest.raises(MCPError, match=r"^\[rate_limited\]"):  # HTTP 429
                            await da.call_tool("check_credits", {})
                    async with mcp_client(b.url, issuer.token("grace")) as other:
                        assert not (await other.call_tool("check_credits", {})).is_error  # not dave's budget
            assert balancer.requests >= 6


async def test_a_killed_server_leaves_its_turn_failed(
    tmp_path: Path, local_backend: LocalBackend, shared_store_url: str
) -> None:
    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=2)
    async with run_issuer() as issuer:
        issuer.audience = AUDIENCE
        with two_servers(tmp_path, local_backend, shared_store_url, issuer, "http://127.0.0.1:1") as (a, b):
            token = issuer.token("gina")
            with anyio.fail_after(60):
                async with mcp_client(a.url, token) as on_a:
                    assert not (await on_a.call_tool("upload_media", {"sources": [str(clip)]})).is_error
                    local_backend.knobs.agent_delay = 20.0
                    started = await on_a.call_tool(
                        "edit_video", {"instruction": "add the title 'X'", "wait_seconds": 0}
                    )
                    job = started.structured_content["job"]["job_id"]  # type: ignore[index]
                    os.killpg(a.proc.pid, signal.SIGKILL)
                    a.proc.wait(10)
                t0 = time.monotonic()
                async with mcp_client(b.url, token) as on_b:
                    r = await on_b.call_tool("get_job", {"job_id": job, "wait_seconds": 20})
                    assert r.is_error
                    assert text(r).startswith("[job_interrupted]")
                    assert "NOT re-sent" in text(r)
                    assert time.monotonic() - t0 < 10  # the lease (1 s), not the turn's budget
                    again = await on_b.call_tool("get_job", {"job_id": job, "wait_seconds": 0})
                    assert text(again).startswith("[job_interrupted]")  # marked failed in the store
            local_backend.knobs.agent_delay = 0.0


async def test_workers_are_forked_replaced_and_stopped(
    tmp_path: Path, local_backend: LocalBackend, shared_store_url: str
) -> None:
    env = {"NEMO_API_URL": str(local_backend.url), "NEMO_STORE_URL": shared_store_url}
    with nemo_http(free_port(), env, tmp_path, "--workers", "2", "--rate-limit", "off") as server:
        parent = psutil.Process(server.proc.pid)
        deadline = time.monotonic() + 20
        while len(parent.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        first = {p.pid for p in parent.children()}
        assert len(first) == 2

        async def calls(n: int) -> list[bool]:
            async def one(out: list[bool]) -> None:
                async with mcp_client(server.url, None) as c:
                    for _ in range(n):
                        out.append(not (await c.call_tool("check_credits", {})).is_error)

            out: list[bool] = []
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(one, out)
            return out

        with anyio.fail_after(60):
            assert all(await calls(3))
            os.kill(next(iter(first)), signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                now = {p.pid for p in parent.children()}
                if len(now) == 2 and now != first:
                    break
                await anyio.sleep(0.1)
            assert len(now) == 2
            assert now != first  # the dead one was replaced
            wait_healthy(server.url, server.proc, server.log)
            assert all(await calls(2))
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(20) == 0
        assert not any(
            psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in now
        )
