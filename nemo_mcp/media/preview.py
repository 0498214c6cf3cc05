"""A small preview MP4 of an export, for a player that gets its bytes through the host (an MCP App in a
sandboxed iframe cannot load the embedded backend's loopback URL).

The preview is H.264/AAC with `faststart`, scaled down and encoded at the bitrate that makes the whole file
fit its byte bound (the bytes travel as base64 in one `resources/read` answer); FFmpeg's `-fs` stops the
file at the bound whatever the encoder does.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from nemo_mcp.media.ffmpeg import run_ffmpeg
from nemo_mcp.media.frames import Source, input_args

PREVIEW_MAX_BYTES = 720_000  # as base64 about 960 KB: under the 1 MiB some hosts allow per message
AUDIO_BITS = 32_000
MIN_VIDEO_BITS = 48_000


class PreviewError(RuntimeError):
    """FFmpeg could not make the preview."""


def preview_height(duration: float) -> int:
    """Shorter videos can afford more lines within the same bytes."""
    if duration <= 20:
        return 480
    if duration <= 90:
        return 360
    return 240


async def make_preview(
    source: Source, duration: float, dest: Path, *, max_bytes: int = PREVIEW_MAX_BYTES, limit: float = 180.0
) -> Path:
    """Write the preview of `source` (`duration` seconds long) to `dest`; returns `dest`."""
    seconds = max(1.0, duration)
    budget = max_bytes * 8 * 0.85 / seconds  # bits per second, with room for the container
    video = int(max(MIN_VIDEO_BITS, budget - AUDIO_BITS))
    height = preview_height(seconds)
    args = [
        "-loglevel",
        "error",
        *input_args(source),
        "-i",
        source.location,
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        f"scale=-2:'min({height},ih)',fps='min(source_fps,24)'",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-b:v",
        str(video),
        "-maxrate",
        str(int(video * 1.3)),
        "-bufsize",
        str(video * 2),
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        str(AUDIO_BITS),
        "-ac",
        "1",
        "-movflags",
        "+faststart",
        "-fs",
        str(max_bytes),
        str(dest),
    ]
    code, err = await run_ffmpeg(args, limit=limit)
    out = anyio.Path(dest)
    if code != 0 or not await out.is_file() or (await out.stat()).st_size == 0:
        raise PreviewError(f"FFmpeg could not make the preview: {err.strip()[-300:]}")
    return dest
