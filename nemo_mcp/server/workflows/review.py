"""What the review player (the MCP App `ui://nemo/review`) needs: the latest export (a fresh URL on request,
or a small preview MP4 for a backend the player cannot reach), the tracks, a keyframe strip, and the
moments the user flagged."""

from __future__ import annotations

import base64
import logging
import tempfile
import time
import unicodedata
from pathlib import Path

from nemo_mcp.api import NemoClient, ProjectState
from nemo_mcp.media.cache import FileCache
from nemo_mcp.media.frames import Source, probe
from nemo_mcp.media.preview import make_preview
from nemo_mcp.media.sheet import Layout, Tile, build_sheet
from nemo_mcp.server.failures import ToolFailure, invalid_argument
from nemo_mcp.server.frame_plan import export_shots, moments, timeline_shots
from nemo_mcp.server.jobs import JobManager
from nemo_mcp.server.models import ExportResult
from nemo_mcp.server.review_models import FlagResult, FlagView, ReviewExport, ReviewState, StripFrame
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.frames import Frames, cache_root, label, media_failure, timeline_seconds
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.reads import Reads

log = logging.getLogger(__name__)

PREVIEW_URI = "nemo://exports/{render_id}/preview"
PREVIEW_CACHE_BYTES = 256 << 20
STRIP_FRAMES = 8
STRIP_TILE = (160, 90)
MAX_FLAGS = 50
MAX_NOTE_CHARS = 500


def clean_note(note: str) -> str:
    """The user's note as one line of plain text (no control characters), bounded."""
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in note)
    return " ".join(text.split())[:MAX_NOTE_CHARS]


class Review:
    def __init__(
        self,
        api: NemoClient,
        projects: Projects,
        reads: Reads,
        frames: Frames,
        jobs: JobManager,
        settings: ServerSettings,
    ) -> None:
        self.api = api
        self.projects = projects
        self.reads = reads
        self.frames = frames
        self.jobs = jobs
        self.settings = settings
        self.previews = FileCache(cache_root(settings) / "previews", PREVIEW_CACHE_BYTES)

    async def state(self, session_id: str | None, refresh: bool = False) -> ReviewState:
        rec = await self.projects.resolve(session_id, create=False)
        st = await self.projects.state(rec)
        view = self.reads.timeline_view(st, session_id=rec.session_id)
        notes: list[str] = []
        latest = self.frames.latest_export(rec.session_id)
        export: ReviewExport | None = None
        if latest is not None:
            result = latest.result
            if refresh:
                await self._refresh_url(result, notes)
            rid = result.render_id or ""
            export = ReviewExport(
                render_id=rid,
                url=result.url,
                # The embedded backend serves on loopback: a player in the host's sandbox reads a preview
                # through the host instead.
                preview_uri=PREVIEW_URI.format(render_id=rid) if self.settings.backend == "local" else None,
                size_bytes=result.size_bytes,
                current=latest.current,
            )
            if not latest.current:
                notes.append("The timeline was edited after this export: export again to see the changes.")
        else:
            notes.append("No export yet: call export_video to render the timeline.")
        state = ReviewState(
            session_id=rec.session_id,
            title=rec.title if rec.title and rec.title != "project" else view.title,
            duration_seconds=view.duration_seconds,
            tracks=view.tracks,
            export=export,
            flags=list(self.frames.flags.get(rec.session_id, [])),
            notes=notes,
        )
        try:
            await self._strip(state, latest.result if latest is not None and latest.current else None, st)
        except Exception as exc:  # the strip is an extra: the player works without it
            log.info("keyframe strip not made: %s", exc)
            state.notes.append("The keyframe strip could not be made.")
        return state

    async def _refresh_url(self, result: ExportResult, notes: list[str]) -> None:
        """Ask the backend again for the render's output URL (signed URLs expire)."""
        if not result.render_id:
            return
        try:
            status = await self.api.get_render(result.render_id)
        except Exception as exc:
            log.info("render %s not refreshed: %s", result.render_id, exc)
            notes.append("The export's URL could not be refreshed; try again later.")
            return
        if status.output_url:
            result.url = status.output_url

    async def _strip(self, state: ReviewState, export: ExportResult | None, st: ProjectState) -> None:
        """A row of small labelled frames (keyframes near evenly spaced times) the player seeks with."""
        if export is not None:
            src = self.frames.export_source(export)
            info = await probe(src)
            shots = export_shots(src, moments(info.duration, None, STRIP_FRAMES))
            state.strip_source = "export"
        else:
            duration = timeline_seconds(st.timeline)
            if duration <= 0:
                return
            shots = timeline_shots(st.timeline, moments(duration, None, STRIP_FRAMES))
            state.strip_source = "timeline"
        layout = Layout(len(shots), 1, STRIP_TILE[0], STRIP_TILE[1], gap=2)
        with tempfile.TemporaryDirectory(prefix="nemo-strip-") as tmp:
            pictures = await self.frames.pictures(shots, layout, Path(tmp))
            tiles = [Tile(p.path, label(p.time)) for p in pictures]
            sheet = await build_sheet(tiles, layout, Path(tmp), target_bytes=120_000)
        state.strip_jpeg_base64 = base64.b64encode(sheet.jpeg).decode()
        state.strip_height = layout.height
        state.strip_frames = [
            StripFrame(time_seconds=p.time, x=layout.origin(i)[0], width=layout.tile_width)
            for i, p in enumerate(pictures)
        ]

    async def flag(self, session_id: str | None, at: float, note: str) -> FlagResult:
        rec = await self.projects.resolve(session_id, create=False)
        text = clean_note(note)
        if not text:
            raise invalid_argument("note is empty: say what is wrong at that moment. Nothing was recorded.")
        latest = self.frames.latest_export(rec.session_id)
        flag = FlagView(
            at_seconds=round(at, 2), note=text, render_id=latest.result.render_id if latest else None
        )
        book = self.frames.flags.setdefault(rec.session_id, [])
        book.append(flag)
        del book[:-MAX_FLAGS]
        where = f" of the export {flag.render_id}" if flag.render_id else ""
        message = (
            f"In the review player the user flagged {flag.at_seconds:.1f} s{where} "
            f'(project {rec.session_id}): "{text}". Look at that moment with '
            f"get_frames(at=[{flag.at_seconds:g}]) before changing it."
        )
        return FlagResult(session_id=rec.session_id, flag=flag, message=message)

    async def preview(self, render_id: str) -> bytes:
        """A small MP4 of the render (made once, then cached). Raises LookupError for an unknown render."""
        job = self.jobs.render(render_id)
        if job is None or job.result is None or not job.result.url:
            raise LookupError(render_id)
        name = f"{render_id}.preview.mp4"
        cached = self.previews.get(name)
        if cached is not None:
            return cached.read_bytes()
        source = await self._local_copy(job.result)
        try:
            info = await probe(source)
            with tempfile.TemporaryDirectory(prefix="nemo-preview-") as tmp:
                out = await make_preview(source, info.duration, Path(tmp) / "preview.mp4")
                return self.previews.put_bytes(name, out.read_bytes()).read_bytes()
        except ToolFailure:
            raise
        except Exception as exc:
            raise media_failure(exc) from None

    async def _local_copy(self, export: ExportResult) -> Source:
        """The export as a local file in the export cache (downloaded once), or its URL when it is too big
        to keep or cannot be downloaded."""
        source = self.frames.export_source(export)
        cache = self.frames.export_cache
        if not source.remote or not export.render_id or not cache.fits(export.size_bytes or 0):
            return source
        name = f"{export.render_id}.mp4"
        temp = cache.temp(name)
        started = time.monotonic()
        try:
            await self.api.download_render(
                export.render_id, temp, output_url=export.url, expected_size=export.size_bytes
            )
            path = cache.commit(temp, name)
        except Exception as exc:
            log.info("export %s not cached: %s", export.render_id, exc)
            temp.unlink(missing_ok=True)
            return source
        log.info("export %s cached in %.1f s", export.render_id, time.monotonic() - started)
        return Source(str(path))
