"""Single frames out of a video (a local file or an http(s) URL), with seeking.

FFmpeg opens the source with `-ss` before `-i`, so it seeks through the container's index and, for a URL,
reads with HTTP range requests only the bytes around that point: never the whole file. Each frame is one
FFmpeg process, and several run at once (one per core): FFmpeg's scheduler would serialise the inputs of
a single process.

Decoding is the cost (a frame far from the keyframe before it means decoding everything in between), so:

- every grab skips the non-reference frames on the way (`-skip_frame noref`): the picture is the first
  reference frame at or after the requested time, a frame or two later at most, and its own timestamp is
  what `Frame.time` reports (labels show where the picture really is);
- an overview slot (`window`) first looks for a keyframe inside the slot, decoding keyframes only; a
  slot without one shows its first reference frame (the point of the slot nearest the keyframe before it).

Pictures are made at the size they are shown (`box`): a contact sheet's tiles are small, and a full-size
frame is taken again, at the recorded time, only when someone asks for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import anyio

from nemo_mcp.media.ffmpeg import run_ffmpeg

MAX_FRAME_EDGE = 1920  # full-size frames are capped at this long edge (a 4K frame as JPEG is megabytes)
JPEG_QUALITY = 3  # FFmpeg's mjpeg -q:v (2 best .. 31 worst)
READ_TIMEOUT_US = 15_000_000  # a stalled HTTP read gives up after 15 s

_SHOWINFO = re.compile(r"\bn:\s*0\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+).*?\bs:(\d+)x(\d+)")
_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: .*?\b(\d{2,5})x(\d{2,5})\b")


class FrameError(RuntimeError):
    """No picture could be read (unreachable source, not a video, a time past its end)."""


@dataclass(frozen=True)
class Source:
    """Where pictures come from: a local path or an http(s) URL; `still` for an image file."""

    location: str
    still: bool = False

    @property
    def remote(self) -> bool:
        return self.location.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Frame:
    path: Path
    time: float  # seconds into the source where the picture really is
    width: int
    height: int


@dataclass(frozen=True)
class MediaInfo:
    duration: float  # seconds; 0.0 when unknown or a still
    width: int
    height: int


def input_args(source: Source) -> list[str]:
    """Input options that keep FFmpeg on the one protocol the source needs: a crafted playlist or
    container must not make it read local files (or other hosts) on the server's behalf."""
    if source.remote:
        return ["-protocol_whitelist", "http,https,tcp,tls", "-rw_timeout", str(READ_TIMEOUT_US)]
    return ["-protocol_whitelist", "file"]


async def probe(source: Source, *, limit: float = 20.0) -> MediaInfo:
    """Duration and picture size (for a URL: only the header is read)."""
    _, err = await run_ffmpeg([*input_args(source), "-i", source.location], limit=limit)
    duration = 0.0
    if m := _DURATION.search(err):
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    size = _VIDEO.search(err)
    if size is None:
        raise FrameError("the source has no picture FFmpeg can read")
    return MediaInfo(round(duration, 3), int(size.group(1)), int(size.group(2)))


async def grab(
    source: Source,
    at: float,
    dest: Path,
    *,
    box: tuple[int, int] = (MAX_FRAME_EDGE, MAX_FRAME_EDGE),
    window: tuple[float, float] | None = None,
    limit: float = 30.0,
) -> Frame:
    """The picture at `at` seconds of `source` as a JPEG at `dest`, scaled down to fit `box` (never up).

    With `window` (an overview slot, in source seconds), the slot's first keyframe is taken when it has
    one, else its first reference frame: the cheapest pictures to decode that still belong to the slot.
    Raises FrameError when no picture can be read there."""
    if source.still:
        frame = await _run(source, None, dest, box, [], limit)
        if frame is None:
            raise FrameError("the image could not be read")
        return Frame(frame.path, 0.0, frame.width, frame.height)
    if window is not None and window[1] > window[0]:
        start, end = max(0.0, window[0]), window[1]
        keyed = await _run(
            source, start, dest, box, ["-skip_frame", "nokey", "-t", f"{end - start:.3f}"], limit
        )
        if keyed is not None and start <= keyed.time < end:
            return keyed
        at = start
    at = max(0.0, at)
    for decode in (["-skip_frame", "noref"], []):  # plain decoding if a codec marks no frame as reference
        frame = await _run(source, at, dest, box, decode, limit)
        if frame is not None:
            return frame
    raise FrameError(f"no picture at {at:.2f} s (past the end, or the source cannot be decoded)")


async def _run(
    source: Source, at: float | None, dest: Path, box: tuple[int, int], decode: list[str], limit: float
) -> Frame | None:
    seek = ["-ss", f"{at:.3f}"] if at is not None else []
    scale = f"scale='min(iw,{box[0]})':'min(ih,{box[1]})':force_original_aspect_ratio=decrease"
    await anyio.Path(dest).unlink(missing_ok=True)
    args = [
        "-loglevel",
        "info",
        *input_args(source),
        *decode,
        *seek,
        "-an",
        "-sn",
        "-dn",
        "-i",
        source.location,
        "-map",
        "0:v:0",
        "-vf",
        f"{scale},showinfo",
        "-frames:v",
        "1",
        "-q:v",
        str(JPEG_QUALITY),
        "-f",
        "image2",
        "-update",
        "1",
        str(dest),
    ]
    code, err = await run_ffmpeg(args, limit=limit)
    found = _SHOWINFO.search(err)
    if code != 0 or found is None or not await anyio.Path(dest).is_file():
        return None
    # Floored to the millisecond: seeking to that time again finds this very frame (full-size reads).
    when = math.floor(((at or 0.0) + float(found.group(1))) * 1000 + 1e-6) / 1000
    return Frame(dest, when, int(found.group(2)), int(found.group(3)))
