"""A before/after pair of frames around an edit (edit_video's opt-in `before_after_frames`).

The "before" picture is taken before the instruction is sent, the "after" one at the same time once the
edit is done; both from the timeline's media (an edit leaves no export behind), side by side in one small
JPEG. Taking frames never fails the edit: a picture that cannot be taken is left out and the text says so.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.media.sheet import Layout, Tile, build_sheet
from nemo_mcp.server.frame_plan import Moment, timeline_shots
from nemo_mcp.server.models import EditResult
from nemo_mcp.server.workflows.frames import Frames, Picture, label, require_ffmpeg, timeline_seconds

log = logging.getLogger(__name__)

PAIR_TILE_WIDTH = 600  # two tiles side by side: about 1200x340 px, some 550 tokens


@dataclass
class PairImage:
    jpeg: bytes | None
    text: str


class Pair:
    def __init__(self, frames: Frames, work: Path) -> None:
        self.frames = frames
        self.work = work
        self.before: Picture | None = None
        self.layout: Layout | None = None

    async def take(self, session_id: str | None, at: float | None, name: str) -> Picture | None:
        """The timeline's picture at `at` (default: the middle), or None when there is none."""
        try:
            require_ffmpeg()
            rec = await self.frames.projects.resolve(session_id, create=False)
            state = await self.frames.projects.state(rec)
            timeline = state.timeline
            duration = timeline_seconds(timeline)
            if duration <= 0:
                return None
            t = duration / 2 if at is None else min(at, max(0.0, duration - 0.05))
            if self.layout is None:
                width, height = timeline.width or 1920, timeline.height or 1080
                tile_w = min(PAIR_TILE_WIDTH, width) // 2 * 2
                self.layout = Layout(2, 1, tile_w, max(2, round(tile_w * height / width) // 2 * 2))
            shot = timeline_shots(timeline, [Moment(round(t, 3))])[0]
            folder = self.work / name
            folder.mkdir(exist_ok=True)
            return (await self.frames.pictures([shot], self.layout, folder))[0]
        except Exception as exc:  # frames are an extra: the edit's answer must not depend on them
            log.info("%s frame not taken: %s", name, exc)
            return None

    async def finish(self, result: EditResult) -> PairImage:
        if result.status != "done":
            return PairImage(
                None,
                f"No 'after' frame: the edit is {result.status.replace('_', ' ')}. Call get_frames once it "
                "is done to see it.",
            )
        when = self.before.shot.moment.at if self.before is not None else None
        after = await self.take(result.session_id or None, when, "after")
        if after is None or after.path is None or self.layout is None:
            return PairImage(None, "No before/after frames: the timeline has no picture to show there.")
        before = self.before if self.before is not None and self.before.path is not None else None
        tiles = [Tile(before.path, f"before {label(before.time)}") if before else Tile(None, "before")]
        tiles.append(Tile(after.path, f"after {label(after.time)}"))
        try:
            sheet = await build_sheet(tiles, self.layout, self.work)
        except Exception as exc:
            log.info("before/after sheet not made: %s", exc)
            return PairImage(None, "No before/after frames: they could not be put together.")
        missing = "" if before else " (nothing was on the timeline there before)"
        return PairImage(
            sheet.jpeg,
            f"Before/after at {after.time:.1f} s attached as one image, left before{missing}, right after. "
            "Approximate: from the clips' media, titles and effects are not drawn.",
        )


@asynccontextmanager
async def around_edit(frames: Frames, session_id: str | None) -> AsyncIterator[Pair]:
    """Take the "before" picture now; `pair.finish(result)` takes the "after" one."""
    with tempfile.TemporaryDirectory(prefix="nemo-pair-") as tmp:
        pair = Pair(frames, Path(tmp))
        pair.before = await pair.take(session_id, None, "before")
        yield pair
