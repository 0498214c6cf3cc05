"""Test clips made with FFmpeg's lavfi sources (no network, no input files): the one clip maker shared by
`nemo-mcp demo` and the benchmarks (bench/).

    await make_clip(path)        # 10 s, 640x360, 30 fps: a moving pattern and a 440 Hz tone
    await make_clip(path, 2, "320x240", fps=25, preset="ultrafast")
    await make_clip(path, 2, "1280x720", audio=False, noise=True, lossless=True,
                    preset="ultrafast", target_bytes=500_000_000)   # a ~500 MB H.264 MP4 for upload tests

The picture is `testsrc2` (a moving pattern with a frame counter), the sound a `sine` tone; H.264
(yuv420p) and AAC in MP4, so every player and the local backend's probe read it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nemo_mcp.local.media import run_ffmpeg

__all__ = ["make_clip"]


async def make_clip(
    path: Path,
    seconds: float = 10.0,
    size: str = "640x360",
    *,
    fps: float = 30,
    audio: bool = True,
    noise: bool = False,
    lossless: bool = False,
    bitrate: str | None = None,
    preset: str = "veryfast",
    target_bytes: int | None = None,
    limit: float = 120.0,
) -> Path:
    """Write a test clip to `path` (overwritten) and return `path`.

    - `seconds`, `size` ("WxH"), `fps`: the picture; `audio`: a 440 Hz tone of the same length, or none.
    - `noise`: temporal grain on every frame, so the video barely compresses (big files from short clips).
    - `lossless` (x264 `-qp 0`) or `bitrate` (e.g. "8M"): the video rate; neither means x264's default CRF.
    - `target_bytes`: the clip of `seconds` is made first, then stream-copied in a loop into `path` until
      the file has about that many bytes (FFmpeg `-fs`; a valid MP4 that ends on a whole packet).
    - `limit`: seconds each FFmpeg run may take. Raises RuntimeError when FFmpeg fails.
    """
    video = f"testsrc2=size={size}:rate={fps:g}:duration={seconds:g}"
    if noise:
        video += ",noise=alls=100:allf=t+u"
    args = ["-loglevel", "error", "-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds:g}"]
    args += ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
    if lossless:
        args += ["-qp", "0"]
    elif bitrate:
        args += ["-b:v", bitrate]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    first = path if target_bytes is None else path.with_name(path.stem + ".seed" + path.suffix)
    await _ffmpeg(args, first, limit)
    if target_bytes is None:
        return path
    try:
        loop = ["-loglevel", "error", "-stream_loop", "-1", "-i", str(first), "-c", "copy"]
        await _ffmpeg([*loop, "-fs", str(int(target_bytes))], path, limit)
    finally:
        await asyncio.to_thread(first.unlink, missing_ok=True)
    return path


async def _ffmpeg(args: list[str], out: Path, limit: float) -> None:
    code, err = await run_ffmpeg([*args, str(out)], limit=limit)
    if code != 0 or not await asyncio.to_thread(out.is_file):
        raise RuntimeError(f"FFmpeg could not make the clip {out.name}: {err[-300:]}")
