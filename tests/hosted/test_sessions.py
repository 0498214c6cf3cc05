"""With a shared store, 2025-era clients are served without server-side sessions (so any worker, or any
machine behind a balancer, answers each request): the opening request gets no Mcp-Session-Id, and a
long call still reports its progress on its own response, in both protocol eras."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from nemo_mcp.local import LocalBackend
from tests.hosted.conftest import serve_hosted
from tests.hosted.issuer import Issuer
from tests.hosted.test_auth import HEADERS, LIST
from tests.media import make_video

pytestmark = pytest.mark.anyio


async def test_no_session_to_pin_and_progress_still_arrives(
    tmp_path: Path, local_backend: LocalBackend, issuer: Issuer, shared_store_url: str
) -> None:
    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=2)
    local_backend.knobs.agent_delay = 1.5
    async with serve_hosted(tmp_path, str(local_backend.url), issuer, store_url=shared_store_url) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            opened = await http.post(
                f"{server.url}/mcp",
                json=LIST,
                headers={**HEADERS, "Authorization": f"Bearer {issuer.token('a')}"},
            )
        assert opened.status_code == 200
        assert "mcp-session-id" not in opened.headers
        for mode in ("legacy", "auto"):
            seen: list[float] = []

            async def progress(
                value: float, total: float | None, message: str | None, seen: list[float] = seen
            ) -> None:
                seen.append(value)

            with anyio.fail_after(30):
                async with server.client(f"user-{mode}", mode=mode) as client:
                    assert not (await client.call_tool("upload_media", {"sources": [str(clip)]})).is_error
                    r = await client.call_tool(
                        "edit_video", {"instruction": "add the title 'A'"}, progress_callback=progress
                    )
            assert not r.is_error
            assert len(seen) >= 2, mode
