"""FFmpeg access for the local backend: the binary, probing, fonts, and async subprocess runs.

FFmpeg comes from the `imageio-ffmpeg` wheel, found by `nemo_mcp.media.ffmpeg`. That wheel has no ffprobe,
so `probe()` parses the stderr of `ffmpeg -hide_banner -i FILE` (Duration and Stream lines). Nothing is
downloaded at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The binary, the font search and filtergraph quoting are shared with get_frames (nemo_mcp.media, a leaf).
from nemo_mcp.media.ffmpeg import FFmpegMissing, ffmpeg_exe, filter_quote, find_font

__all__ = [
    "AUDIO_EXTS",
    "IMAGE_EXTS",
    "IMAGE_STILL_MS",
    "VIDEO_EXTS",
    "FFmpegMissing",
    "Probe",
    "ffmpeg_exe",
    "filter_quote",
    "font_file",
    "parse_probe",
    "probe",
    "run_ffmpeg",
    "scene_changes",
    "spawn_ffmpeg",
]

log = logging.getLogger("nemo_mcp.local")

VIDEO_EXTS = frozenset({"mp4", "mov", "avi", "webm", "mkv"})
IMAGE_EXTS = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
AUDIO_EXTS = frozenset({"mp3", "wav", "m4a", "aac"})
IMAGE_STILL_MS = 5000  # ours: an uploaded image becomes a 5 s still on the timeline


@lru_cache(maxsize=1)
def font_file() -> str | None:
    """A TrueType font for drawtext, or None (titles are then skipped with a warning)."""
    font = find_font()
    if font is None:
        log.warning("no TrueType font found; titles will not be drawn into renders")
    return font


@dataclass
class Probe:
    """Facts about one media file, as read from FFmpeg's banner."""

    duration: float  # seconds; 0.0 for still images
    width: int
    height: int
    fps: float
    has_video: bool
    has_audio: bool
    video_codec: str
    audio_codec: str

    @property
    def kind(self) -> str:
        if self.has_video and self.duration > 0.05:
            return "video"
        if self.has_video:
            return "image"
        return "audio" if self.has_audio else "unknown"


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)$", re.MULTILINE)
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+) fps")
_TBR = re.compile(r"([\d.]+)k? tbr")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


def parse_probe(stderr: str) -> Probe | None:
    """Parse `ffmpeg -i` stderr; None when FFmpeg found no audio or video stream."""
    duration = 0.0
    if m := _DURATION.search(stderr):
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    width = height = 0
    fps = 0.0
    has_video = has_audio = False
    vcodec = acodec = ""
    for kind, codec, rest in _STREAM.findall(stderr):
        if kind == "Video" and not has_video and "attached pic" not in rest:
            has_video, vcodec = True, codec
            if size := _SIZE.search(rest):
                width, height = int(size.group(1)), int(size.group(2))
            if rate := _FPS.search(rest) or _TBR.search(rest):
                fps = float(rate.group(1))
        elif kind == "Audio" and not has_audio:
            has_audio, acodec = True, codec
    if not (has_video or has_audio):
        return None
    if (rot := _ROTATION.search(stderr)) and abs(float(rot.group(1))) % 180 == 90:
        width, height = height, width  # phone clips: the display size is what matters
    if vcodec in {"png", "mjpeg", "webp", "bmp"} or (vcodec == "gif" and duration < 0.05):
        duration = 0.0  # single-frame images report a fake 0.04 s duration
    return Probe(round(duration, 3), width, height, round(fps, 3), has_video, has_audio, vcodec, acodec)


async def spawn_ffmpeg(*args: str, stdout: int = asyncio.subprocess.DEVNULL) -> asyncio.subprocess.Process:
    """Start FFmpeg without blocking the loop: no banner, never reading stdin, overwriting outputs;
    stderr is piped (it carries the probe facts and the failure reasons)."""
    return await asyncio.create_subprocess_exec(
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        *args,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
    )


async def probe(path: Path) -> Probe | None:
    proc = await spawn_ffmpeg("-i", str(path))
    try:
        _, err = await proc.communicate()
    except asyncio.CancelledError:
        _kill(proc)  # a backend shutting down leaves no FFmpeg behind
        raise
    return parse_probe(err.decode("utf-8", "replace"))


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


async def run_ffmpeg(args: list[str], limit: float = 300.0) -> tuple[int, str]:
    """Run FFmpeg without blocking the loop; returns (exit code, stderr tail)."""
    proc = await spawn_ffmpeg(*args)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), limit)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, err.decode("utf-8", "replace")[-2000:]


_SCENE = re.compile(r"pts_time:([\d.]+)")


async def scene_changes(path: Path, limit_seconds: float = 120.0) -> list[float]:
    """Scene cuts (seconds) via FFmpeg's scene score on a downscaled copy; cheap for short clips."""
    proc = await spawn_ffmpeg(
        "-t",
        str(limit_seconds),
        "-i",
        str(path),
        "-an",
        "-vf",
        "scale=160:-2,select='gt(scene,0.4)',showinfo",
        "-f",
        "null",
        "-",
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return []
    except asyncio.CancelledError:
        _kill(proc)
        raise
    return [round(float(t), 2) for t in _SCENE.findall(err.decode("utf-8", "replace"))]
