"""Real transports: the installed `nemo-mcp` console script over stdio, and Streamable HTTP on uvicorn."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from nemo_mcp.local import LocalBackend
from tests.server.conftest import make_settings, serve_http

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "nemo-mcp"


def _text(res: object) -> str:
    return "\n".join(getattr(b, "text", "") for b in getattr(res, "content", []))


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
async def test_stdio_console_script_with_local_backend(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NEMO_DOWNLOAD_DIR": str(tmp_path / "dl"),
        "NEMO_LOG_LEVEL": "INFO",  # logs go to stderr; stdout must carry MCP only
    }
    params = StdioServerParameters(command=str(SCRIPT), args=["--backend", "local"], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
            assert "edit_video" in {t.name for t in tools}
            credits = await client.call_tool("check_credits", {})
            assert not credits.is_error, _text(credits)
            assert isinstance(credits.structured_content, dict)
            assert credits.structured_content["available"] > 0
            timeline = await client.call_tool("get_timeline", {})
            assert not timeline.is_error, _text(timeline)
            assert "No project yet" in _text(timeline)


@pytest.fixture
async def http_url(tmp_path: Path, local_backend: LocalBackend) -> AsyncIterator[str]:
    async with serve_http(make_settings(tmp_path, local_backend.url)) as url:
        yield url


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_both_eras(http_url: str, mode: str) -> None:
    with anyio.fail_after(30):
        async with Client(f"{http_url}/mcp", mode=mode) as client:  # type: ignore[arg-type]
            tools = (await client.list_tools()).tools
            assert len(tools) == 10  # the review player's own two tools are listed to MCP Apps hosts only
            res = await client.call_tool("check_credits", {})
            assert not res.is_error, _text(res)
            res = await client.call_tool("edit_video", {"instruction": "余额"})
            assert not res.is_error, _text(res)
            assert isinstance(res.structured_content, dict)
            assert res.structured_content["routed_to"] == "credits"


async def test_http_health_and_dns_rebinding_protection(http_url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        health = await http.get(f"{http_url}/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        bad_host = await http.post(f"{http_url}/mcp", json=body, headers={**headers, "Host": "evil.example"})
        assert bad_host.status_code == 421
        bad_origin = await http.post(
            f"{http_url}/mcp", json=body, headers={**headers, "Origin": "http://evil.example"}
        )
        assert bad_origin.status_code == 403


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
async def test_stdio_stdout_carries_only_mcp_messages(tmp_path: Path) -> None:
    """NEMO_API_URL=local selects the embedded backend; every stdout line is a JSON-RPC message."""
    import json
    import subprocess

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NEMO_API_URL": "local",
        "NEMO_LOG_LEVEL": "DEBUG",
    }
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"},
        },
    }
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    params = {"name": "check_credits", "arguments": {}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    payload = "".join(json.dumps(m) + "\n" for m in (init, initialized, call))

    def run() -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(
            [str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(payload)
        proc.stdin.flush()
        lines: list[str] = []
        while len([ln for ln in lines if '"id":2' in ln.replace(" ", "")]) == 0:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines) + out, err)

    with anyio.fail_after(60):
        done = await anyio.to_thread.run_sync(run)
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    assert lines, done.stderr[-2000:]
    for line in lines:
        msg = json.loads(line)
        assert msg.get("jsonrpc") == "2.0"
    result = next(json.loads(ln) for ln in lines if json.loads(ln).get("id") == 2)
    assert result["result"]["structuredContent"]["available"] > 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_progress_notifications_reach_the_client(
    http_url: str, mode: str, tmp_path: Path, local_backend: LocalBackend
) -> None:
    from tests.media import make_video

    clip = make_video(tmp_path / "media" / "http.mp4", seconds=2)
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    local_backend.knobs.agent_delay = 0.5
    with anyio.fail_after(60):
        async with Client(f"{http_url}/mcp", mode=mode) as client:  # type: ignore[arg-type]
            up = await client.call_tool(
                "upload_media", {"sources": [str(clip)]}, progress_callback=on_progress
            )
            assert not up.is_error, _text(up)
            res = await client.call_tool(
                "edit_video",
                {"instruction": "add a title 'Over HTTP' at the top"},
                progress_callback=on_progress,
            )
            assert not res.is_error, _text(res)
    assert seen, "no progress notifications over Streamable HTTP"
