"""Remote media are read with range requests (a few frames never download the file); FFmpeg stays on the
protocol a source needs; the bounded cache, the full-size frames behind resource links, the preview MP4."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from nemo_mcp.media.cache import STALE_TEMP_SECONDS, FileCache
from nemo_mcp.media.frame_files import FrameFiles, FrameGone
from nemo_mcp.media.frames import FrameError, Source, grab, probe
from nemo_mcp.media.preview import make_preview
from tests.frames.colours import colour_at, colour_clip, decode, nearest
from tests.media import FFMPEG

pytestmark = pytest.mark.anyio


class RangeServer:
    """A loopback file server (an ASGI app) that honours `Range: bytes=N-[M]` and streams in small chunks,
    briefly pausing between them, so that what it sent is close to what the client read (loopback socket
    buffers would otherwise swallow megabytes a client never reads). Counts bytes and range starts."""

    CHUNK = 16_384

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sent = 0
        self.starts: list[int] = []
        self.paths: set[str] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.paths.add(scope["path"])
        path = self.folder / scope["path"].lstrip("/")
        if not path.is_file():
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        size = path.stat().st_size
        first, last = 0, size - 1
        ranged = dict(scope["headers"]).get(b"range", b"").decode()
        if ranged.startswith("bytes="):
            a, _, b = ranged[6:].partition("-")
            first, last = int(a or 0), min(size - 1, int(b) if b else size - 1)
            self.starts.append(first)
        headers = [(b"accept-ranges", b"bytes"), (b"content-length", str(last - first + 1).encode())]
        headers.append((b"content-type", b"video/mp4"))
        if ranged:
            headers.append((b"content-range", f"bytes {first}-{last}/{size}".encode()))
        await send({"type": "http.response.start", "status": 206 if ranged else 200, "headers": headers})
        gone = anyio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            with path.open("rb") as f:
                f.seek(first)
                left = last - first + 1
                while left > 0 and not gone.is_set():
                    chunk = f.read(min(self.CHUNK, left))
                    left -= len(chunk)
                    self.sent += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
                    await anyio.sleep(0.002)
            tg.cancel_scope.cancel()


@asynccontextmanager
async def serve(folder: Path) -> AsyncIterator[tuple[str, RangeServer]]:
    app = RangeServer(folder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}", app
        finally:
            server.should_exit = True


async def test_a_frame_of_a_remote_video_reads_only_part_of_it(tmp_path: Path) -> None:
    # 20 s of grain at 2 Mbit/s (about 5 MB): a frame near the end needs a small part of the bytes.
    clip = tmp_path / "long.mp4"
    video = "testsrc2=s=320x240:r=10:d=20,noise=alls=60:allf=t"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-g", "25", "-movflags", "+faststart"]
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", video, *encode, str(clip)],
        check=True,
        timeout=60,
    )
    size = clip.stat().st_size
    async with serve(tmp_path) as (url, counter):
        source = Source(f"{url}/long.mp4")
        info = await probe(source)
        assert round(info.duration) == 20
        frame = await grab(source, 16.3, tmp_path / "f.jpg", box=(160, 120))
        assert 16.3 <= frame.time < 16.7
    assert any(start > size // 2 for start in counter.starts), ("no seek past the middle", counter.starts)
    assert counter.sent < size * 0.4, (counter.sent, size, counter.starts)


async def test_a_playlist_cannot_make_ffmpeg_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"\x47" * 188 * 10)
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://" + str(secret) + "\n#EXT-X-ENDLIST\n"
    (tmp_path / "evil.m3u8").write_text(playlist)
    async with serve(tmp_path) as (url, counter):
        with pytest.raises(FrameError):
            await grab(Source(f"{url}/evil.m3u8"), 0.0, tmp_path / "x.jpg")
    assert counter.paths == {"/evil.m3u8"}


def test_the_cache_keeps_the_most_recently_used_files_within_its_bound(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "c", max_bytes=3000)
    for name in ("a.bin", "b.bin", "c.bin"):
        cache.put_bytes(name, b"x" * 1000)
        os.utime(cache.path(name), (time.time() - 100, time.time() - 100))  # distinct, older mtimes
    assert cache.get("a.bin") is not None  # used: now the newest
    cache.put_bytes("d.bin", b"x" * 1000)
    assert cache.get("b.bin") is None, "the least recently used file goes first"
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"a.bin", "c.bin", "d.bin"}
    assert cache.total() <= 3000
    assert cache.fits(1500)
    assert not cache.fits(1501)
    stale = cache.temp("e.bin")
    stale.write_bytes(b"half")
    old = time.time() - STALE_TEMP_SECONDS - 10
    os.utime(stale, (old, old))
    fresh = cache.temp("f.bin")
    fresh.write_bytes(b"writing")
    cache.trim()
    assert not stale.exists()
    assert fresh.exists(), "a file still being written is left alone"
    for bad in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            cache.path(bad)


async def test_a_full_size_frame_is_taken_again_at_its_recorded_time(tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "c.mp4", seconds=6, size="640x360")
    files = FrameFiles(FileCache(tmp_path / "frames", 10_000_000))
    small = await grab(Source(str(clip)), 3.2, tmp_path / "small.jpg", box=(160, 90))
    frame_id = files.new_id()
    files.record(frame_id, Source(str(clip)), small.time)
    full = decode(await files.full_size(frame_id))
    assert (full.width, full.height) == (640, 360)
    assert nearest(full.mean(300, 160, 340, 200)) == colour_at(small.time)
    assert await files.full_size(frame_id) == (tmp_path / "frames" / f"{frame_id}.jpg").read_bytes()
    with pytest.raises(FrameGone):
        await files.full_size("fr_0000000000000000")
    with pytest.raises(FrameGone):
        await files.full_size("../../etc/passwd")


async def test_a_preview_fits_its_byte_bound_and_plays(tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "c.mp4", seconds=8, size="1280x720", audio=True)
    out = await make_preview(Source(str(clip)), 8.0, tmp_path / "p.mp4", max_bytes=200_000)
    assert 0 < out.stat().st_size <= 200_000
    info = await probe(Source(str(out)))
    assert info.height <= 480
    assert abs(info.duration - 8.0) < 0.6
