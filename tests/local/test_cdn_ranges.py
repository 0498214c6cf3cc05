"""`/cdn/` answers byte ranges like a real CDN: FFmpeg seeks into exports and uploads with them instead of
downloading the whole file (get_frames)."""

from __future__ import annotations

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from tests.media import make_video

pytestmark = pytest.mark.anyio


async def test_cdn_serves_byte_ranges(local_backend: LocalBackend) -> None:
    folder = local_backend.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    clip = make_video(folder / "ranged.mp4", seconds=2)
    whole = clip.read_bytes()
    async with httpx.AsyncClient(base_url=str(local_backend.url)) as client:
        head = await client.head("/cdn/uploads/ranged.mp4")
        assert head.headers["accept-ranges"] == "bytes"
        part = await client.get("/cdn/uploads/ranged.mp4", headers={"Range": "bytes=100-1123"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-1123/{len(whole)}"
        assert part.content == whole[100:1124]
        tail = await client.get("/cdn/uploads/ranged.mp4", headers={"Range": "bytes=-500"})
        assert tail.status_code == 206
        assert tail.content == whole[-500:]
        beyond = await client.get("/cdn/uploads/ranged.mp4", headers={"Range": f"bytes={len(whole) + 10}-"})
        assert beyond.status_code == 416
