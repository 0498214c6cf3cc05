"""Render a draft to an H.264/AAC MP4 with FFmpeg (yuv420p, faststart), as a cancellable asyncio job.

The main video track becomes one concatenated stream (trims via -ss/-t, speed via setpts/atempo, volume,
stills for images, black for gaps); text segments are drawn with drawtext between their times; the BGM
track is looped, delayed and mixed at its volume. The canvas comes from `draft.m` and is capped at 1080x1920.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.media import Probe, filter_quote, font_file, probe, spawn_ffmpeg
from nemo_mcp.local.state import RenderJob

log = logging.getLogger("nemo_mcp.local")

Resolve = Callable[[str], Path | None]  # media URL -> local file, or None when not available offline
_POS_Y = {"top-center": "h*0.08", "center": "(h-text_h)/2", "bottom-center": "h*0.88-text_h"}
_AFMT = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"


class RenderError(Exception):
    pass


def _atempo(speed: float) -> str:
    steps = []
    while speed > 2.0:
        steps.append("atempo=2.0")
        speed /= 2.0
    while speed < 0.5:
        steps.append("atempo=0.5")
        speed /= 0.5
    steps.append(f"atempo={speed:.6f}")
    return ",".join(steps)


class _Graph:
    """Accumulates FFmpeg inputs and filter chains for one render."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.inputs: list[str] = []
        self.chains: list[str] = []
        self.pieces: list[str] = []  # "[vK][aK]" pairs for the final concat
        self.probes: dict[Path, Probe | None] = {}
        self.fit = (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},format=yuv420p"
        )

    def add_input(self, *args: str) -> int:
        index = self.inputs.count("-i")
        self.inputs.extend(args)
        return index

    def silence(self, k: int, seconds: float) -> None:
        self.chains.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={seconds:.3f}[a{k}]")

    def blank(self, seconds: float) -> None:
        k = len(self.pieces)
        size = f"{self.width}x{self.height}"
        self.chains.append(f"color=c=black:s={size}:r={self.fps}:d={seconds:.3f},format=yuv420p[v{k}]")
        self.silence(k, seconds)
        self.pieces.append(f"[v{k}][a{k}]")

    async def clip(self, seg: dict[str, Any], path: Path) -> None:
        """One main-track segment: a still for images, else a trimmed, re-timed, re-scaled video."""
        if path not in self.probes:
            self.probes[path] = await probe(path)
        info = self.probes[path]
        if info is None or not info.has_video:
            raise RenderError(f"{seg.get('n') or path.name} has no video stream")
        k, seconds = len(self.pieces), int(seg.get("d", 0)) / 1000
        exact = f"trim=duration={seconds:.3f},setpts=PTS-STARTPTS"
        if seg.get("m", {}).get("kind") == "image" or info.duration == 0.0:
            i = self.add_input(
                "-loop", "1", "-framerate", str(self.fps), "-t", f"{seconds:.3f}", "-i", str(path)
            )
            self.chains.append(f"[{i}:v]{self.fit},{exact}[v{k}]")
            self.silence(k, seconds)
        else:
            speed = max(0.25, min(4.0, float(seg.get("sp", 1.0) or 1.0)))
            start = f"{int(seg.get('ss', 0)) / 1000:.3f}"
            i = self.add_input("-ss", start, "-t", f"{seconds * speed:.3f}", "-i", str(path))
            # tpad clones the last frame if the source runs short, so every piece is exactly `seconds` long
            pad = f"tpad=stop_mode=clone:stop_duration={seconds:.3f}"
            self.chains.append(f"[{i}:v]setpts=(PTS-STARTPTS)/{speed:.6f},{self.fit},{pad},{exact}[v{k}]")
            volume = _volume(seg)
            if info.has_audio and volume > 0:
                self.chains.append(
                    f"[{i}:a]asetpts=PTS-STARTPTS,{_atempo(speed)},volume={volume / 100:.3f},{_AFMT},"
                    f"apad,atrim=duration={seconds:.3f}[a{k}]"
                )
            else:
                self.silence(k, seconds)
        self.pieces.append(f"[v{k}][a{k}]")

    def titles(self, texts: list[dict[str, Any]], work: Path) -> list[str]:
        font = font_file()
        if texts and font is None:
            log.warning("skipping %d title(s): no font file for drawtext", len(texts))
            return []
        draws = []
        for n, seg in enumerate(texts):
            text = str(seg.get("txt") or seg.get("text") or "")
            if not text or font is None:
                continue
            textfile = work / f"title_{n}.txt"
            textfile.write_text(text, encoding="utf-8")  # a file: no escaping of the user's text needed
            meta = seg.get("m", {}) or {}
            size = max(8, round(float(meta.get("size", 64)) * self.height / 1080))
            y = _POS_Y.get(str(meta.get("pos", "center")), _POS_Y["center"])
            a, b = int(seg.get("s", 0)) / 1000, (int(seg.get("s", 0)) + int(seg.get("d", 0))) / 1000
            color = re.sub(r"[^A-Za-z0-9#@.]", "", str(meta.get("color", "white"))) or "white"
            draws.append(
                f"drawtext=fontfile={filter_quote(font)}:textfile={filter_quote(textfile)}:expansion=none:"
                f"fontsize={size}:fontcolor={color}:borderw=2:bordercolor=black:x=(w-text_w)/2:y={y}:"
                f"enable='between(t,{a:.3f},{b:.3f})'"
            )
        return draws

    def music(self, seg: dict[str, Any], path: Path, label: str) -> None:
        """A BGM segment, looped from its in-point, delayed to its start, at its volume."""
        i = self.add_input(
            "-stream_loop", "-1", "-ss", f"{int(seg.get('ss', 0)) / 1000:.3f}", "-i", str(path)
        )
        delay = int(seg.get("s", 0))
        self.chains.append(
            f"[{i}:a]atrim=duration={int(seg['d']) / 1000:.3f},asetpts=PTS-STARTPTS,"
            f"volume={_volume(seg) / 100:.3f},{_AFMT},adelay={delay}|{delay}[{label}]"
        )


def _volume(seg: dict[str, Any]) -> int:
    return max(0, int(seg["v"] if seg.get("v") is not None else 100))


def _segments(draft: dict[str, Any], tt: int) -> list[dict[str, Any]]:
    return [s for t in draft["t"] if t.get("tt") == tt for s in t.get("sg", [])]


async def build_command(
    draft: dict[str, Any], resolve: Resolve, work: Path, out: Path
) -> tuple[list[str], float]:
    """FFmpeg arguments that render `draft` to `out`, and the output duration in seconds."""
    width, height = _canvas(draft)
    graph = _Graph(width, height, max(1, min(60, int(draft.get("m", {}).get("fps") or 30))))
    main = sorted(drafts.segments(draft, drafts.VIDEO), key=lambda s: int(s.get("s", 0)))
    everything = main or [s for t in draft["t"] for s in t.get("sg", [])]  # the main track sets the length
    total_ms = max([int(s.get("s", 0)) + int(s.get("d", 0)) for s in everything] or [0])
    if total_ms <= 0:
        raise RenderError("the draft has no duration")
    cursor = 0
    for seg in main:
        start, dur = int(seg.get("s", 0)), int(seg.get("d", 0))
        if dur <= 0:
            continue
        if start > cursor:
            graph.blank((start - cursor) / 1000)  # gaps render black and silent
        cursor = start + dur
        await graph.clip(seg, _source(seg, resolve))
    if not graph.pieces or cursor < total_ms:
        graph.blank((total_ms - cursor) / 1000)
    graph.chains.append(f"{''.join(graph.pieces)}concat=n={len(graph.pieces)}:v=1:a=1[vcat][acat]")
    video, audio = "vcat", "acat"
    if draws := graph.titles(_segments(draft, drafts.TEXT), work):
        graph.chains.append(f"[vcat]{','.join(draws)}[vtxt]")
        video = "vtxt"
    mixed: list[str] = []
    for seg in _segments(draft, drafts.AUDIO):
        if _volume(seg) > 0 and int(seg.get("d", 0)) > 0:
            graph.music(seg, _source(seg, resolve), f"bgm{len(mixed)}")
            mixed.append(f"[bgm{len(mixed)}]")
    if mixed:
        graph.chains.append(
            f"[acat]{''.join(mixed)}amix=inputs={1 + len(mixed)}:duration=first:normalize=0[amix]"
        )
        audio = "amix"
    seconds = total_ms / 1000
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    encode += [
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ar",
        "48000",
        "-t",
        f"{seconds:.3f}",
        "-movflags",
        "+faststart",
    ]
    args = [
        *graph.inputs,
        "-filter_complex",
        ";".join(graph.chains),
        "-map",
        f"[{video}]",
        "-map",
        f"[{audio}]",
    ]
    return [*args, *encode, "-progress", "pipe:1", "-nostats", str(out)], seconds


def _canvas(draft: dict[str, Any]) -> tuple[int, int]:
    m = draft.get("m") or {}
    try:
        return drafts.fit_canvas(int(m.get("width") or 1920), int(m.get("height") or 1080))
    except (TypeError, ValueError):
        return 1920, 1080


def _source(seg: dict[str, Any], resolve: Resolve) -> Path:
    src = str(seg.get("src") or seg.get("url") or "")
    path = resolve(src) if src else None
    if path is None:
        raise RenderError(f"media not available offline: {src or seg.get('n') or 'segment without src'}")
    return path


_OUT_TIME = re.compile(r"out_time_(?:us|ms)=(\d+)")


async def run(
    job: RenderJob, draft: dict[str, Any], resolve: Resolve, min_seconds: float, fail: bool
) -> None:
    """Drive one job to a terminal status; never raises (the status says what happened)."""
    started = time.monotonic()
    work = job.out.parent / f".{job.out.stem}.work"
    try:
        work.mkdir(parents=True, exist_ok=True)
        args, seconds = await build_command(draft, resolve, work, job.out)
        job.status = "processing"
        if fail:
            await asyncio.sleep(0.2)
            raise RenderError("render worker crashed (injected fault)")
        proc = await spawn_ffmpeg(*args, stdout=asyncio.subprocess.PIPE)
        job.proc = proc
        assert proc.stdout is not None
        assert proc.stderr is not None
        err_task = asyncio.create_task(proc.stderr.read())

        def report(encoded: float) -> None:
            # Progress moves steadily, as a cloud render's does, so clients can predict completion: with
            # the minimum-time knob the slower of the encode and the clock sets it.
            clock = 1.0 if min_seconds <= 0 else (time.monotonic() - started) / min_seconds
            job.progress = max(job.progress, min(99, 5 + int(94 * min(encoded, clock, 1.0))))

        async for line in proc.stdout:
            if m := _OUT_TIME.search(line.decode("ascii", "replace")):
                report(int(m.group(1)) / 1_000_000 / max(seconds, 0.001))
        code = await proc.wait()
        stderr = (await err_task).decode("utf-8", "replace")
        if code != 0 or not job.out.exists():
            raise RenderError(f"FFmpeg failed ({code}): {_reason(stderr)}")
        remaining = min_seconds - (time.monotonic() - started)
        while remaining > 0:  # realism knob: hold "processing" for a minimum time
            step = min(0.2, remaining)
            await asyncio.sleep(step)
            remaining -= step
            report(1.0)
        job.duration, job.size = round(seconds, 3), job.out.stat().st_size
        job.status, job.progress = "completed", 100
    except asyncio.CancelledError:
        kill(job)
        job.status = "cancelled"
        job.out.unlink(missing_ok=True)
        raise
    except Exception as exc:
        log.info("render %s failed: %s", job.id, exc)
        kill(job)
        job.status, job.error = "failed", str(exc)
        job.out.unlink(missing_ok=True)
    finally:
        job.completed_at = time.time()
        with contextlib.suppress(OSError):
            for leftover in work.glob("*"):
                leftover.unlink()
            work.rmdir()


def _reason(stderr: str) -> str:
    """The most telling FFmpeg error line (the last one is usually just "Conversion failed!")."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    telling = [ln for ln in lines if re.search(r"error|invalid|no such|cannot|failed|unable", ln, re.I)]
    useful = [ln for ln in telling if ln != "Conversion failed!"]
    return (useful or telling or lines or ["no output"])[0][:300]


def kill(job: RenderJob) -> None:
    if job.proc and job.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            job.proc.kill()


async def reap(job: RenderJob, limit: float = 2.0) -> None:
    """Wait (bounded) for a killed FFmpeg process to exit."""
    if job.proc is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(job.proc.wait(), limit)
