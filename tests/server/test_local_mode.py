"""`--backend local`: the server runs the embedded backend in-process, and the links it hands out work."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from nemo_mcp.local import Knobs
from nemo_mcp.server.app import build_server
from tests.server.conftest import Session, make_settings

pytestmark = pytest.mark.anyio


async def test_links_point_at_the_embedded_backend_and_open(tmp_path: Path, clip: Path) -> None:
    settings = make_settings(tmp_path, "", backend="local", local_knobs=Knobs(initial_credits=10))
    async with Client(build_server(settings)) as client:
        nemo = Session(client)
        await nemo.ok("upload_media", {"sources": [str(clip)]})
        with anyio.fail_after(60):
            done = await nemo.ok("export_video", {"wait_seconds": 40})
        link = done.data["browser_link"]
        assert done.data["status"] == "completed"
        assert link.startswith("http://127.0.0.1:"), link  # not nemovideo.com: it would not know this token
        assert f"Open the project page (embedded backend): {link}" in done.text
        credits = await nemo.ok("check_credits")
        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(link)
            assert page.status_code == 200
            assert "clip.mp4" in page.text
            assert "<video" in page.text  # the finished render plays on the project page
            register = credits.data["register_url"]  # 10 credits is low: the way to more is offered
            assert register.startswith("http://127.0.0.1:"), register
            assert (await http.get(register)).status_code == 200


async def test_a_restart_in_local_mode_does_not_resume_a_gone_project(tmp_path: Path) -> None:
    """The embedded backend's sessions die with the process: the next start must not point at them."""
    settings = make_settings(tmp_path, "", backend="local")
    async with Client(build_server(settings)) as client:
        await Session(client).ok("new_project", {"title": "first run"})
    async with Client(build_server(settings)) as client:
        again = await Session(client).ok("get_timeline")
        assert "No project yet" in again.text
        assert not (tmp_path / "config" / "projects.json").exists()  # nothing written to the user's config
