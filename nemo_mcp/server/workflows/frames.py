"""get_frames: a contact sheet of the project, from its latest export or from the timeline's own media.

Where the pictures come from (`source`):
- `export`: the latest render of this project that this server made (a local copy when there is one: the
  export cache or the user's download; else the URL, read with range requests);
- `timeline`: each moment's clip on the top visual track, trims and speed applied. Approximate: titles,
  effects, transitions and generated layers are not drawn;
- `auto`: the export when it is newer than the last edit, else the timeline.

Each tile is grabbed at its size (frames.py), the sheet composed and labelled (sheet.py), and every frame
recorded for its full-size resource link (frame_files.py). FFmpeg runs a few at a time (`workers`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import anyio

from nemo_mcp.api import NemoClient
from nemo_mcp.api.timeline import Timeline
from nemo_mcp.media.cache import FileCache
from nemo_mcp.media.ffmpeg import FFmpegMissing, ffmpeg_exe
from nemo_mcp.media.frame_files import FrameFiles
from nemo_mcp.media.frames import Frame, FrameError, Source, grab, probe
from nemo_mcp.media.sheet import Layout, SheetError, Tile, build_sheet, plan_layout
from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.frame_plan import Shot, export_shots, moments, timeline_shots
from nemo_mcp.server.jobs import EditJob, ExportJob, JobManager, JobStatus
from nemo_mcp.server.models import ExportResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.review_models import FlagView, FramesResult, FrameView, SheetView
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.projects import Projects

log = logging.getLogger(__name__)

T = TypeVar("T")
SourceChoice = Literal["auto", "export", "timeline"]
FRAME_URI = "nemo://frames/{frame_id}"
EXPORT_CACHE_BYTES = 1 << 30  # downloaded exports (a few renders)
FRAME_CACHE_BYTES = 128 << 20  # full-size frames and their records
APPROXIMATE_NOTE = (
    "Approximate: these frames come from the clips' own media with trims applied; titles, effects, "
    "transitions and generated layers are not drawn. Export the video for exact frames."
)


def cache_root(settings: ServerSettings) -> Path:
    """`NEMO_CACHE_DIR`, else `cache/` in the config folder (beside the project registry)."""
    env = settings.env if settings.env is not None else os.environ
    override = (env.get("NEMO_CACHE_DIR") or "").strip()
    return Path(override).expanduser() if override else settings.config_dir / "cache"


def label(seconds: float) -> str:
    return f"{seconds:.1f} s"


@dataclass
class LatestExport:
    result: ExportResult
    current: bool  # no edit finished (or is running) since the render was submitted


@dataclass
class Contact:
    """A composed sheet: the result model and the JPEG (which goes to the model as image content)."""

    result: FramesResult
    jpeg: bytes


@dataclass
class Picture:
    """One grabbed tile."""

    shot: Shot
    path: Path | None
    time: float  # on the timeline
    source_time: float | None = None
    frame_id: str | None = None
    note: str = ""


class Frames:
    def __init__(
        self,
        api: NemoClient,
        projects: Projects,
        jobs: JobManager,
        settings: ServerSettings,
        *,
        workers: int | None = None,
    ) -> None:
        self.api = api
        self.projects = projects
        self.jobs = jobs
        self.settings = settings
        self.flags: dict[str, list[FlagView]] = {}  # per project; the review player records them
        root = cache_root(settings)
        self.export_cache = FileCache(root / "exports", EXPORT_CACHE_BYTES)
        self.frame_files = FrameFiles(FileCache(root / "frames", FRAME_CACHE_BYTES))
        # FFmpeg decoding is CPU-bound; a picture found at a keyframe is mostly waiting, so a few more
        # than the cores keep them busy.
        self.limiter = anyio.CapacityLimiter(workers or min(6, (os.cpu_count() or 1) + 2))

    # -- sources ----------------------------------------------------------------------------------------

    def latest_export(self, session_id: str) -> LatestExport | None:
        """The newest finished export of this project that this server made (renders are not listed by
        the backend), and whether an edit came after it."""
        done = [
            j
            for j in self.jobs.all()
            if isinstance(j, ExportJob)
            and j.session_id == session_id
            and j.status is JobStatus.SUCCEEDED
            and j.result is not None
            and j.result.url
        ]
        if not done:
            return None
        latest = max(done, key=lambda j: j.finished or 0.0)
        assert latest.result is not None
        edits = [j for j in self.jobs.all() if isinstance(j, EditJob) and j.session_id == session_id]
        stale = any(not j.done or (j.finished or 0.0) > latest.started for j in edits)
        return LatestExport(latest.result, current=not stale)

    def export_source(self, export: ExportResult) -> Source:
        """A local copy of the export when there is one (no network), else its URL."""
        if export.render_id:
            cached = self.export_cache.get(f"{export.render_id}.mp4")
            if cached is not None:
                return Source(str(cached))
        if export.downloaded_to and Path(export.downloaded_to).is_file():
            size = Path(export.downloaded_to).stat().st_size
            if export.size_bytes is None or size == export.size_bytes:
                return Source(export.downloaded_to)
        assert export.url is not None
        return Source(export.url)

    # -- get_frames -------------------------------------------------------------------------------------

    async def get_frames(
        self, session_id: str | None, at: list[float] | None, count: int | None, source: SourceChoice
    ) -> Contact:
        require_ffmpeg()
        rec = await self.projects.resolve(session_id, create=False)
        notes: list[str] = []
        latest = self.latest_export(rec.session_id)
        use_export = latest is not None and (source == "export" or (source == "auto" and latest.current))
        if source == "export" and latest is None:
            raise ToolFailure(
                "no_export",
                f"Project {rec.session_id} has no export from this server yet, so there are no rendered "
                "frames. Call export_video first, or get_frames(source='timeline') for approximate frames.",
            )
        if latest is not None and not latest.current:
            rid = latest.result.render_id
            notes.append(
                f"The latest export ({rid}) was made before the last edit"
                + (
                    "; these frames are from it anyway."
                    if use_export
                    else ", so these frames are not from it."
                )
            )
        if use_export:
            assert latest is not None
            return await self._from_export(rec, latest.result, at, count, notes)
        return await self._from_timeline(rec, at, count, notes)

    async def _from_export(
        self,
        rec: ProjectRecord,
        export: ExportResult,
        at: list[float] | None,
        count: int | None,
        notes: list[str],
    ) -> Contact:
        src = self.export_source(export)
        info = await self._guard(probe(src))
        shots = export_shots(src, moments(info.duration, at, count))
        layout = plan_layout(len(shots), info.width / max(1, info.height), max_tile_width=info.width)
        return await self._compose(
            rec, shots, layout, "export", export.render_id, info.duration or None, notes, approximate=False
        )

    async def _from_timeline(
        self, rec: ProjectRecord, at: list[float] | None, count: int | None, notes: list[str]
    ) -> Contact:
        state = await self.projects.state(rec)
        timeline = state.timeline
        duration = timeline_seconds(timeline)
        if duration <= 0:
            raise ToolFailure(
                "no_frames",
                f"The timeline of project {rec.session_id} is empty, so there is nothing to show. Upload or "
                "generate media first (upload_media, edit_video).",
            )
        shots = timeline_shots(timeline, moments(duration, at, count))
        width, height = timeline.width or 1920, timeline.height or 1080
        layout = plan_layout(len(shots), width / max(1, height), max_tile_width=width)
        notes.append(APPROXIMATE_NOTE)
        return await self._compose(rec, shots, layout, "timeline", None, duration, notes, approximate=True)

    async def _compose(
        self,
        rec: ProjectRecord,
        shots: list[Shot],
        layout: Layout,
        kind: Literal["export", "timeline"],
        render_id: str | None,
        duration: float | None,
        notes: list[str],
        *,
        approximate: bool,
    ) -> Contact:
        with tempfile.TemporaryDirectory(prefix="nemo-frames-") as tmp:
            work = Path(tmp)
            pictures = await self.pictures(shots, layout, work)
            if all(p.path is None for p in pictures):
                reasons = sorted({p.note for p in pictures if p.note})
                raise ToolFailure(
                    "no_frames",
                    "No picture could be read for any of the requested times ("
                    + "; ".join(reasons[:3])
                    + "). Check the project with get_timeline; export_video makes a render to take "
                    "frames from.",
                )
            tiles = [Tile(p.path, label(p.time)) for p in pictures]
            sheet = await self._guard(build_sheet(tiles, layout, work))
        frames = [
            FrameView(
                index=i,
                time_seconds=p.time,
                uri=FRAME_URI.format(frame_id=p.frame_id) if p.frame_id else None,
                clip=p.shot.clip if kind == "timeline" else None,
                source_seconds=p.source_time if kind == "timeline" else None,
                note=p.note,
            )
            for i, p in enumerate(pictures)
        ]
        if not sheet.labelled:
            notes.append("No font was found to draw the time labels; the times are listed here.")
        result = FramesResult(
            session_id=rec.session_id,
            source=kind,
            approximate=approximate,
            render_id=render_id,
            duration_seconds=round(duration, 3) if duration else None,
            frames=frames,
            sheet=SheetView(
                width=layout.width,
                height=layout.height,
                columns=layout.columns,
                rows=layout.rows,
                bytes=len(sheet.jpeg),
                labelled=sheet.labelled,
            ),
            flags=list(self.flags.get(rec.session_id, [])),
            notes=notes,
            next_step="For a closer look call get_frames(at=[seconds, ...]) with the times you want; "
            "each frame's uri is its full-size JPEG.",
        )
        return Contact(result, sheet.jpeg)

    async def pictures(self, shots: list[Shot], layout: Layout, work: Path) -> list[Picture]:
        """Grab every shot's picture at tile size, a few at a time; unreadable ones become empty tiles."""
        out: list[Picture | None] = [None] * len(shots)
        box = (layout.tile_width, layout.tile_height)

        async def one(i: int, shot: Shot) -> None:
            if shot.source is None:
                out[i] = Picture(shot, None, shot.moment.at, note=shot.note)
                return
            frame: Frame | None = None
            problem = "no picture there"
            async with self.limiter:
                for n, at in enumerate(shot.targets()):
                    try:
                        window = shot.window if n == 0 else None
                        found = await grab(shot.source, at, work / f"{i}.jpg", box=box, window=window)
                    except FrameError as exc:
                        problem = str(exc)
                        continue
                    if shot.accepts(found.time):
                        frame = found
                        break
            if frame is None:
                log.info("frame %s: %s", i, problem)
                out[i] = Picture(shot, None, shot.moment.at, note=f"unreadable: {problem}")
                return
            frame_id = self.frame_files.new_id()
            self.frame_files.record(frame_id, shot.source, frame.time)
            out[i] = Picture(shot, frame.path, shot.timeline_time(frame.time), frame.time, frame_id)

        async with anyio.create_task_group() as tg:
            for i, shot in enumerate(shots):
                tg.start_soon(one, i, shot)
        return [p for p in out if p is not None]

    @staticmethod
    async def _guard(work: Awaitable[T]) -> T:
        """FFmpeg's failures as tagged ToolFailures."""
        try:
            return await work
        except (FFmpegMissing, FrameError, SheetError) as exc:
            raise media_failure(exc) from None


def timeline_seconds(timeline: Timeline) -> float:
    """The timeline's length: its own duration, else the end of its last segment."""
    if timeline.duration_ms:
        return timeline.duration_ms / 1000
    ends = [s.end_ms for t in timeline.tracks for s in t.segments if s.end_ms is not None]
    return max(ends, default=0.0) / 1000


def media_failure(exc: Exception) -> ToolFailure:
    """FFmpeg problems as tagged failures the model can act on."""
    if isinstance(exc, FFmpegMissing):
        return ToolFailure("ffmpeg_missing", str(exc))
    if isinstance(exc, FrameError):
        return ToolFailure(
            "no_frames",
            f"The video could not be read ({exc}). If the export's link expired, call export_video again.",
        )
    return ToolFailure("no_frames", "The frames could not be put together into a sheet. Try fewer frames.")


def require_ffmpeg() -> None:
    """Fail early, in plain words, when there is no FFmpeg (not from inside a task group)."""
    try:
        ffmpeg_exe()
    except FFmpegMissing as exc:
        raise media_failure(exc) from None
