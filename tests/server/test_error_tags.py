"""Error tags produced end to end by backend faults (the local backend's knobs), through `mcp.Client`."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from mcp import Client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.demo import run_demo
from tests.server.conftest import Session, make_settings

pytestmark = pytest.mark.anyio


async def test_backend_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with Client(build_server(make_settings(tmp_path, f"http://127.0.0.1:{port}"))) as client:
        await Session(client).fail("check_credits", {}, "backend_unreachable")


async def test_rate_limited(nemo: Session, local_backend: LocalBackend) -> None:
    local_backend.knobs.update({"rate_limit": 20, "rate_limit_path": "/api/credits", "retry_after": 1})
    await nemo.fail("check_credits", {}, "rate_limited")


async def test_server_error(nemo: Session, local_backend: LocalBackend) -> None:
    local_backend.knobs.update({"fail_5xx": 20, "fail_5xx_path": "/api/credits"})
    await nemo.fail("check_credits", {}, "server_error")


async def test_bad_token_is_an_auth_error(tmp_path: Path, local_backend: LocalBackend) -> None:
    settings = make_settings(tmp_path, local_backend.url, env={"NEMO_TOKEN": "nmv_usr_notarealtoken123"})
    async with Client(build_server(settings)) as client:
        text = await Session(client).fail("check_credits", {}, "auth")
        assert "notarealtoken" not in text


async def test_render_failed(nemo: Session, clip: Path, local_backend: LocalBackend) -> None:
    await nemo.ok("upload_media", {"sources": [str(clip)]})
    local_backend.knobs.render_fail = True
    await nemo.fail("export_video", {"wait_seconds": 30}, "render_failed")


async def test_backend_size_limit(nemo: Session, clip: Path, local_backend: LocalBackend) -> None:
    local_backend.knobs.max_upload_bytes = 1000
    text = await nemo.fail("upload_media", {"sources": [str(clip)]}, "file_too_large")
    assert "compress" in text.lower() or "trim" in text.lower()


async def test_unknown_project_and_resource(nemo: Session) -> None:
    await nemo.fail("get_timeline", {"session_id": "123456"}, "no_project")
    with pytest.raises(Exception) as exc:
        await nemo.client.read_resource("nemo://projects/123456/timeline")
    assert "no_project" in str(exc.value)


async def test_demo_quick_edit_workflow(tmp_path: Path) -> None:
    """The skill's example prompt through edit_video alone: one call edits, then renders (two stages),
    and the MP4 at the URL it returns plays."""
    out = io.StringIO()
    mp4 = await run_demo(tmp_path / "out", out=out, seconds=3)
    assert mp4.is_file()
    assert mp4.parent == (tmp_path / "out")
    assert mp4.stat().st_size > 1000
    log = out.getvalue()
    calls = [line.split("→ ", 1)[1].split("(", 1)[0] for line in log.splitlines() if "assistant: → " in line]
    assert calls == ["upload_media", "edit_video"], calls  # the export came from edit_video itself
    assert "and export a trimmed clip via API" in log
    progress = [line for line in log.splitlines() if "progress: " in line]
    assert any("1/2" in line for line in progress), progress
    assert any("2/2" in line for line in progress), progress
    assert "Export finished: http" in log
    assert "the MP4 edit_video returned" in log
    assert "probed: " in log
    assert "h264 + aac" in log  # the file plays, with sound
