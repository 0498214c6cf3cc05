"""Small test media made with FFmpeg (the imageio-ffmpeg binary); shared by every layer's tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _run(*args: str) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args], check=True, timeout=120
    )


def make_video(
    path: Path, seconds: float = 3, width: int = 320, height: int = 180, audio: bool = True, fps: int = 30
) -> Path:
    """A test-pattern clip (H.264, yuv420p) with an optional sine tone, encoded with `-preset ultrafast`."""
    path = Path(path)
    args = ["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    if path.suffix.lower() in (".mp4", ".mov"):
        args += ["-movflags", "+faststart"]
    _run(*args, "-shortest" if audio else "-an", str(path))
    return path


def make_audio(path: Path, seconds: float = 3) -> Path:
    """A sine tone; the codec follows the extension (.mp3, .wav, .m4a/.aac)."""
    path = Path(path)
    codec = {".mp3": "libmp3lame", ".wav": "pcm_s16le"}.get(path.suffix.lower(), "aac")
    _run(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=330:sample_rate=44100:duration={seconds}",
        "-c:a",
        codec,
        str(path),
    )
    return path


def make_image(path: Path, width: int = 320, height: int = 180) -> Path:
    """One test-pattern frame as PNG/JPEG (by extension)."""
    path = Path(path)
    _run("-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=1", "-frames:v", "1", str(path))
    return path
