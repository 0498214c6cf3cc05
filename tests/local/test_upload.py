"""Uploads: multipart streamed to disk, probing, placement, refusals, importing our own CDN URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.local.names import display_name
from tests.local.helpers import start, state, upload

pytestmark = pytest.mark.anyio


async def test_multipart_files_are_probed_and_placed(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        body = await upload(client, headers, sid, media["clip"], media["image"], media["audio"])
        assert body["code"] == 0
        assert body["data"]["session_state_applied"] is True
        video, image, audio = body["data"]["files"]
        assert video["file_type"] == "video"
        assert video["duration"] == pytest.approx(4.0, abs=0.1)
        assert (video["width"], video["height"], video["fps"], video["has_audio"]) == (320, 180, 30, True)
        assert video["size"] == media["clip"].stat().st_size
        assert len(video["hash"]) == 64
        assert image["file_type"] == "image"
        assert (image["width"], image["height"]) == (320, 180)
        assert audio["file_type"] == "audio"
        assert audio["duration"] == pytest.approx(3.0, abs=0.1)
        st = await state(client, headers, sid)
        assert [i["filename"] for i in st["video_infos"]] == ["clip.mp4", "still.png", "music.m4a"]
        main = next(tr for tr in st["draft"]["t"] if tr["tt"] == 0)["sg"]
        assert [(s["n"], s["s"], s["d"]) for s in main] == [("clip.mp4", 0, 4000), ("still.png", 4000, 5000)]
        assert all(tr["tt"] == 0 for tr in st["draft"]["t"])  # audio is not placed
        assert st["canvas_config"] == {"width": 320, "height": 180, "aspect_ratio": "16:9"}
        # the cdn_url is public and serves the same bytes
        r = await client.get(video["cdn_url"])
        assert r.status_code == 200
        assert r.content == media["clip"].read_bytes()


async def test_path_tricks_stay_inside_the_data_dir(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        for trick in ("../../../evil.mp4", "/etc/evil.mp4", "..\\..\\evil.mp4", ".hidden.mp4"):
            files = [("files", (trick, media["clip2"].read_bytes(), "video/mp4"))]
            r = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, files=files)
            assert r.json()["code"] == 0, r.text
            name = r.json()["data"]["files"][0]["filename"]
            assert "/" not in name
            assert "\\" not in name
            assert not name.startswith(".")
        data_dir = local_backend.data_dir
        written = [p for p in data_dir.rglob("*") if p.is_file()]
        assert written
        assert all(p.resolve().is_relative_to(data_dir) for p in written)
        assert not (data_dir.parent / "evil.mp4").exists()
        # the static route refuses traversal too
        assert (await client.get("/cdn/../../etc/passwd")).status_code == 404
        assert (await client.get("/cdn/uploads/%2e%2e/%2e%2e/etc/passwd")).status_code == 404
    assert display_name("a/b/../c\x00d.mp4") == "cd.mp4"
    assert display_name("...") == "upload"


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], sid: str, name: str, data: bytes
) -> httpx.Response:
    files = [("files", (name, data, "application/octet-stream"))]
    return await client.post(f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, files=files)


async def test_unsupported_and_too_large(media: dict[str, Path]) -> None:
    async with (
        run_local_backend(Knobs(max_upload_bytes=50_000)) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        r = await _post(client, headers, sid, "notes.txt", b"hello")
        assert (r.status_code, r.json()["code"]) == (200, 4001)
        assert "mp4" in r.json()["message"]
        # the content is checked, not only the name
        assert (await _post(client, headers, sid, "fake.mp4", b"\x00" * 1000)).json()["code"] == 4001
        assert (await _post(client, headers, sid, "tone.mp4", media["audio"].read_bytes())).json()[
            "code"
        ] == 4001
        r = await _post(client, headers, sid, "clip.mp4", media["clip"].read_bytes())
        assert r.json()["code"] == 4002
        assert "limit" in r.json()["message"]
        r = await client.post(
            f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, json={"nothing": True}
        )
        assert r.status_code == 400
        st = await state(client, headers, sid)
        assert (st["video_infos"], st["draft"]["t"]) == ([], [])
        assert not [
            p for p in (backend.data_dir / "uploads").rglob("*") if p.is_file()
        ]  # partial files removed


async def test_unsupported_and_too_large_status_transport(media: dict[str, Path]) -> None:
    async with (
        run_local_backend(Knobs(error_transport="status", max_upload_bytes=50_000)) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        r = await _post(client, headers, sid, "notes.txt", b"hello")
        assert (r.status_code, r.json()["code"]) == (415, 4001)
        r = await _post(client, headers, sid, "clip.mp4", media["clip"].read_bytes())
        assert (r.status_code, r.json()["code"]) == (413, 4002)


async def test_multipart_is_written_to_disk_while_it_streams(local_backend: LocalBackend) -> None:
    """The body is never held whole: the file grows on disk before the client has finished sending."""
    chunk = b"\x00" * (256 * 1024)
    boundary = "nemo-test-boundary"
    seen_on_disk: list[int] = []
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        folder = local_backend.data_dir / "uploads" / sid

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n'
                "Content-Type: video/mp4\r\n\r\n"
            ).encode()
            for i in range(64):  # 16 MB
                yield chunk
                if i == 40:
                    await asyncio.sleep(0.3)
                    seen_on_disk.extend(p.stat().st_size for p in folder.glob("*.mp4"))
            yield f"\r\n--{boundary}--\r\n".encode()

        r = await client.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            content=body(),
        )
        assert r.json()["code"] == 4001  # zeros are not a video
        assert seen_on_disk
        assert seen_on_disk[0] >= 4 * 1024 * 1024
        assert not list(folder.glob("*.mp4"))  # and cleaned up after the refusal


async def test_url_import_of_our_own_cdn_url(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    """Our own /cdn/ URLs are read from the data dir (no connection, so no knob needed); a loopback URL
    that is not ours is refused (test_url_import.py has the rules)."""
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        first = (await upload(client, headers, sid, media["clip2"]))["data"]["files"][0]
        url = f"/api/upload-video/nemo_agent/me/{sid}"
        r = await client.post(url, headers=headers, json={"urls": [first["cdn_url"]], "source_type": "url"})
        assert r.json()["code"] == 0, r.text
        imported = r.json()["data"]["files"][0]
        assert imported["hash"] == first["hash"]
        assert imported["duration"] == first["duration"]
        assert imported["filename"] == first["filename"] == "second.mp4"
        assert imported["cdn_url"] != first["cdn_url"]
        assert local_backend.stats.requests[urlsplit(first["cdn_url"]).path] == 0  # never fetched
        r = await client.post(
            url, headers=headers, json={"urls": ["http://127.0.0.1:9/a.mp4"], "source_type": "url"}
        )
        assert r.status_code == 400
        r = await client.post(url, headers=headers, json={"urls": [], "source_type": "url"})
        assert r.status_code == 400
        assert len((await state(client, headers, sid))["video_infos"]) == 2


async def test_large_upload_does_not_grow_memory(local_backend: LocalBackend) -> None:
    """128 MB through multipart: the server process (this process) grows by far less than the body."""
    psutil = pytest.importorskip("psutil")
    chunk = b"\x00" * 65536
    count = 2048  # 128 MB
    boundary = "rss-boundary"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=60) as client:
        headers, sid = await start(client)
        local_backend.knobs.max_upload_bytes = 1024**3

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="huge.mp4"\r\n\r\n'
            ).encode()
            for _ in range(count):
                yield chunk
            yield f"\r\n--{boundary}--\r\n".encode()

        before = psutil.Process().memory_info().rss
        r = await client.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            content=body(),
        )
        grown = psutil.Process().memory_info().rss - before
    assert r.json()["code"] == 4001  # zeros are received in full, then refused by the probe
    assert grown < 48 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"
