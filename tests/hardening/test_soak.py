"""Soak: many mixed tool calls over stdio against the installed console script with the embedded backend.

`nemo-mcp --backend local` is launched by `mcp.Client(StdioServerParameters(...))`. After a warm-up, the
server process's RSS and open file descriptors are sampled (psutil); then N mixed calls run (credits,
timeline, projects, routed and agent edits, get_job, ...). Zero failures, RSS growth < 10 MB, no
file-descriptor growth. N is 150 by default (CI); `NEMO_SOAK=full` runs 1,000; `NEMO_SOAK_CALLS=N` any
count. The figures are printed in the terminal summary.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters

from tests.hardening.conftest import record_figures
from tests.media import make_video

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "nemo-mcp"
MB = 1024 * 1024
WARMUP = 40


def soak_calls() -> int:
    if os.environ.get("NEMO_SOAK_CALLS"):
        return int(os.environ["NEMO_SOAK_CALLS"])
    return 1000 if os.environ.get("NEMO_SOAK", "").lower() in ("full", "1", "yes") else 150


def server_process() -> psutil.Process:
    me = psutil.Process()
    for child in me.children(recursive=True):
        try:
            if any("nemo-mcp" in part for part in child.cmdline()):
                return child
        except psutil.Error:
            continue
    raise AssertionError("the nemo-mcp server process was not found")


def sample(proc: psutil.Process) -> tuple[int, int]:
    return proc.memory_info().rss, proc.num_fds()


def plan(i: int, job_id: str) -> tuple[str, dict[str, Any]]:
    mix: list[tuple[str, dict[str, Any]]] = [
        ("check_credits", {}),
        ("get_timeline", {}),
        ("list_projects", {}),
        ("edit_video", {"instruction": "status"}),  # routed, never reaches the agent
        ("edit_video", {"instruction": "how many credits do I have left?"}),
        ("edit_video", {"instruction": "trim it to the first 1 second"}),  # an agent turn (free no-op trim)
        ("get_job", {"job_id": job_id, "wait_seconds": 0}),
        ("edit_video", {"instruction": "what is in the video? describe it briefly"}),
    ]
    return mix[i % len(mix)]


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
async def test_soak_over_stdio(tmp_path: Path) -> None:
    n = soak_calls()
    clip = make_video(tmp_path / "media" / "soak.mp4", seconds=2)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NEMO_DOWNLOAD_DIR": str(tmp_path / "dl"),
        "NEMO_LOG_LEVEL": "WARNING",
        "NEMO_LOCAL_INITIAL_CREDITS": "1000000",
        "NEMO_LOCAL_SILENT_FRACTION": "0",
    }
    params = StdioServerParameters(command=str(SCRIPT), args=["--backend", "local"], env=env)
    failures: list[str] = []
    calls = 0
    with anyio.fail_after(60 + n * 1.0):
        async with Client(params) as client:
            up = await client.call_tool("upload_media", {"sources": [str(clip)], "wait_seconds": 0})
            assert not up.is_error
            sc: Any = up.structured_content or {}
            job_id = (sc.get("job") or {}).get("job_id")
            if not job_id:  # finished within the call: start one more that returns a handle
                up = await client.call_tool("upload_media", {"sources": [str(clip)], "wait_seconds": 0})
                sc = up.structured_content or {}
                job_id = (sc.get("job") or {}).get("job_id") or "job_unknown"
            first = await client.call_tool(
                "edit_video", {"instruction": "use the clip and trim it to 1 second"}
            )
            assert not first.is_error
            credits = await client.call_tool("check_credits", {})
            assert (credits.structured_content or {}).get("available", 0) > 100_000  # NEMO_LOCAL_* reached it

            async def run(i: int) -> None:
                nonlocal calls
                tool, args = plan(i, job_id)
                res = await client.call_tool(tool, args)
                calls += 1
                if res.is_error and not (tool == "get_job" and job_id == "job_unknown"):
                    text = " ".join(getattr(b, "text", "") for b in res.content)
                    failures.append(f"#{i} {tool}({args}): {text[:200]}")

            for i in range(WARMUP):
                await run(i)
            proc = server_process()
            gc.collect()
            rss0, fds0 = sample(proc)
            started = time.monotonic()
            for i in range(WARMUP, WARMUP + n):
                await run(i)
            elapsed = time.monotonic() - started
            await anyio.sleep(0.2)
            rss1, fds1 = sample(proc)
    figures = {
        "calls (after warm-up)": n,
        "failures": len(failures),
        "seconds": f"{elapsed:.1f} ({n / elapsed:.0f} calls/s)",
        "RSS start -> end": f"{rss0 / MB:.1f} MB -> {rss1 / MB:.1f} MB ({(rss1 - rss0) / MB:+.1f} MB)",
        "fds start -> end": f"{fds0} -> {fds1} ({fds1 - fds0:+d})",
    }
    record_figures("soak (stdio, embedded backend)", figures)
    print(figures)
    assert not failures, "\n".join(failures[:10])
    assert calls == WARMUP + n
    assert rss1 - rss0 < 10 * MB, figures
    assert fds1 <= fds0, figures
