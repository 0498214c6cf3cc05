"""The FFmpeg binary, a font for labels, and one bounded, cancellable way to run FFmpeg.

FFmpeg comes from the `imageio-ffmpeg` wheel, a core dependency (a static build: HTTP(S) with range
requests, libx264, drawtext with FreeType); nothing is downloaded at run time. Without the wheel an
`ffmpeg` on PATH is used; without either, `FFmpegMissing` names the install command. The embedded
backend (`nemo_mcp.local.media`) uses this binary and font search for its renders.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import anyio
from anyio.abc import Process

log = logging.getLogger(__name__)

INSTALL_COMMAND = 'pip install "imageio-ffmpeg>=0.5"'
_LOG_KEEP = 64_000  # bytes of FFmpeg's stderr kept from its start, and as many from its end

# Fonts for the time labels, in order of preference (drawtext needs a file; the static build's fontconfig
# has no configuration of its own to find one).
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Helvetica.ttc",
    "C:/Windows/Fonts/arialbd.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


class FFmpegMissing(RuntimeError):
    """No FFmpeg binary: the message says how to install one."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The FFmpeg binary: the imageio-ffmpeg wheel's, else one on PATH."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # the wheel is missing or has no binary for this platform
        found = shutil.which("ffmpeg")
        if found:
            return found
        raise FFmpegMissing(
            f"FFmpeg is not available, so frames cannot be taken. Install it with `{INSTALL_COMMAND}` "
            "in the environment nemo-mcp runs in (or put ffmpeg on PATH), then restart the server."
        ) from exc


@lru_cache(maxsize=1)
def find_font() -> str | None:
    """A TrueType font file for drawtext (frame labels here, titles in the embedded backend's renders),
    or None."""
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        if root.is_dir():
            for found in sorted(root.rglob("*.ttf")):
                return str(found)
    return None


@lru_cache(maxsize=1)
def label_font() -> str | None:
    """The font for frame labels, or None (labels are then left out, and the caller says so)."""
    font = find_font()
    if font is None:
        log.warning("no TrueType font found; frame labels are left out")
    return font


def filter_quote(value: str | Path) -> str:
    """Quote a value for a filtergraph option (font paths, label text)."""
    text = str(value).replace("\\", "/")
    return "'" + text.replace("'", r"'\''").replace(":", r"\:") + "'"


async def run_ffmpeg(args: list[str], *, limit: float = 60.0) -> tuple[int, str]:
    """Run FFmpeg (no banner, no stdin, overwriting outputs) for at most `limit` seconds; returns its exit
    code and the tail of its stderr. A timeout or a cancellation kills the process (and waits for it),
    so no FFmpeg outlives the call."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]
    # Never the server's own stdin/stdout: over stdio they carry the MCP messages.
    process = await anyio.open_process(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    head = bytearray()
    tail = bytearray()
    try:
        with anyio.fail_after(limit):
            assert process.stderr is not None
            async for chunk in process.stderr:
                # The banner (durations, streams) is at the start and the reason of a failure at the end;
                # the middle of a long decode's log is dropped to keep the memory bounded.
                if len(head) < _LOG_KEEP:
                    head += chunk
                else:
                    tail += chunk
                    del tail[: max(0, len(tail) - _LOG_KEEP)]
            code = await process.wait()
    except BaseException:
        await _kill(process)
        raise
    return code, (bytes(head) + bytes(tail)).decode("utf-8", "replace")


async def _kill(process: Process) -> None:
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        with anyio.move_on_after(5):
            await process.wait()
