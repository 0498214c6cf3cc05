"""`nemo-mcp local-backend` as a real process: SIGTERM, SIGHUP and SIGINT stop it promptly while a turn and
a render are running, with exit code 0, no traceback, no FFmpeg left behind, and its temporary data folder
removed (a `--data-dir` is kept). Loopback only; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import anyio
import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests.local.helpers import start, state, upload

pytestmark = pytest.mark.anyio

CODE = "import sys; from nemo_mcp.cli import main; main(['local-backend', *sys.argv[1:]])"


async def _launch(tmp: Path, *flags: str) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("NEMO_LOCAL_AGENT_DELAY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CODE,
        "--port",
        "0",
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    with anyio.fail_after(30):
        url = (await proc.stdout.readline()).decode().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


async def _busy(client: httpx.AsyncClient, clip: Path) -> asyncio.Task[str]:
    """A render holding "processing" and a turn waiting inside its tool call; returns the turn's reader."""
    headers, sid = await start(client)
    assert (await upload(client, headers, sid, clip))["code"] == 0
    draft = (await state(client, headers, sid))["draft"]
    rid = f"render_{uuid.uuid4().hex}"
    body = {"id": rid, "sessionId": sid, "draft": draft, "output": {"format": "mp4", "quality": "high"}}
    assert (await client.post("/api/render/proxy/lambda", headers=headers, json=body)).json()["success"]
    with anyio.fail_after(20):
        while (await client.get(f"/api/render/proxy/lambda/{rid}", headers=headers)).json()["data"][
            "status"
        ] != "processing":
            await asyncio.sleep(0.05)
    first = asyncio.Event()

    async def read_turn() -> str:
        message = {"parts": [{"text": "square"}]}
        payload = {"app_name": "nemo_agent", "session_id": sid, "new_message": message}
        try:
            async with client.stream("POST", "/run_sse", headers=headers, json=payload) as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        first.set()
            return "closed"
        except httpx.HTTPError:
            return "dropped"
        finally:
            first.set()

    task = asyncio.create_task(read_turn())
    with anyio.fail_after(20):
        await first.wait()  # the tool call is out; the tool now "works" for 30 s
    return task


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
async def test_a_signal_stops_everything_and_cleans_up(
    sig: signal.Signals, tmp_path: Path, media: dict[str, Path]
) -> None:
    proc, url = await _launch(
        tmp_path, "--agent-delay", "30", "--render-min-seconds", "60", "--silent-fraction", "0"
    )
    try:
        [data_dir] = list(tmp_path.glob("nemo-local-*"))
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            turn = await _busy(client, media["clip"])
            children = _children(proc.pid) if Path("/proc").is_dir() else set()
            began = time.monotonic()
            proc.send_signal(sig)
            with anyio.fail_after(20):
                code = await proc.wait()
                assert await turn in ("closed", "dropped")  # the stream ended, it did not hang
        assert code == 0
        assert time.monotonic() - began < 10, "the stop was not prompt"
        assert proc.stderr is not None
        err = (await proc.stderr.read()).decode()
        assert "Traceback" not in err, err
        assert "KeyboardInterrupt" not in err, err
        assert not data_dir.exists()
        assert not list(tmp_path.glob("nemo-local-*"))
        with anyio.fail_after(5):
            while any(_alive(pid) for pid in children):
                await asyncio.sleep(0.05)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_given_data_dir_is_kept(tmp_path: Path, media: dict[str, Path]) -> None:
    data = tmp_path / "keep"
    proc, url = await _launch(tmp_path, "--data-dir", str(data))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            headers, sid = await start(client)
            assert (await upload(client, headers, sid, media["clip2"]))["code"] == 0
        proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            assert await proc.wait() == 0
        assert [p for p in (data / "uploads").rglob("*") if p.is_file()]
        assert not list(tmp_path.glob("nemo-local-*"))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_run_local_backend_cleans_up_when_its_task_is_cancelled(media: dict[str, Path]) -> None:
    """How an embedding program's Ctrl-C reaches the backend: its task is cancelled."""
    ready = asyncio.Event()
    found: list[LocalBackend] = []

    async def host() -> None:
        knobs = Knobs(agent_delay=30, render_min_seconds=60, silent_fraction=0)
        async with run_local_backend(knobs) as backend:
            found.append(backend)
            ready.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(host())
    with anyio.fail_after(20):
        await ready.wait()
    [backend] = found
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        turn = await _busy(client, media["clip"])
        task.cancel()
        with anyio.fail_after(15):
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await turn in ("closed", "dropped")
    assert not backend.data_dir.exists()
    assert not backend.state.tasks
    assert {job.status for job in backend.renders.values()} == {"cancelled"}
