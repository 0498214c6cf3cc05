"""Test media that can be checked by looking: clips whose every second is one solid colour, and JPEGs decoded
to RGB pixels (FFmpeg from the imageio-ffmpeg wheel; no image library needed)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.media import FFMPEG

PALETTE: list[tuple[int, int, int]] = [
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
    (128, 128, 128),
    (128, 0, 255),
    (0, 128, 64),
]


def colour_clip(
    path: Path,
    seconds: int = 8,
    size: str = "320x180",
    *,
    fps: int = 10,
    keyint: int = 25,
    audio: bool = False,
) -> Path:
    """Second `i` is PALETTE[i % len]. Keyframes every `keyint` frames and nowhere else (no scene-cut
    keyframes at the colour changes), B-frames on: seeking has to decode, as in a real export."""
    inputs: list[str] = []
    for i in range(seconds):
        r, g, b = PALETTE[i % len(PALETTE)]
        inputs += ["-f", "lavfi", "-i", f"color=c=0x{r:02x}{g:02x}{b:02x}:s={size}:r={fps}:d=1"]
    graph = "".join(f"[{i}:v]" for i in range(seconds)) + f"concat=n={seconds}:v=1:a=0[v]"
    args = [*inputs]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-filter_complex", graph, "-map", "[v]"]
    if audio:
        args += ["-map", f"{seconds}:a", "-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(keyint)]
    args += ["-keyint_min", str(keyint), "-sc_threshold", "0", "-bf", "2", "-movflags", "+faststart"]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args, str(path)],
        check=True,
        timeout=120,
    )
    return path


def colour_at(t: float) -> tuple[int, int, int]:
    return PALETTE[int(t) % len(PALETTE)]


def nearest(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The palette colour closest to a (JPEG-shifted) pixel."""
    return min(PALETTE, key=lambda c: sum((a - b) ** 2 for a, b in zip(c, rgb, strict=True)))


@dataclass
class Image:
    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]

    def region(self, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int, int]]:
        return [self.pixel(x, y) for y in range(y0, y1) for x in range(x0, x1)]

    def mean(self, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int]:
        px = self.region(x0, y0, x1, y1)
        n = max(1, len(px))
        r, g, b = (sum(p[c] for p in px) // n for c in range(3))
        return r, g, b


def decode(data: bytes) -> Image:
    """A JPEG (or PNG) to RGB pixels."""
    run = subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-nostdin",
            "-f",
            "image2pipe",
            "-i",
            "-",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    size = re.search(r"Stream #.*?Video: .*?(\d{2,5})x(\d{2,5})", run.stderr.decode("utf-8", "replace"))
    assert size, run.stderr[-500:]
    width, height = int(size.group(1)), int(size.group(2))
    assert len(run.stdout) == width * height * 3
    return Image(width, height, run.stdout)


def white(p: tuple[int, int, int]) -> bool:
    return min(p) > 200


def dark(p: tuple[int, int, int]) -> bool:
    return max(p) < 90
