"""get_frames: look at the video. One JPEG contact sheet as image content (models cannot fetch image URLs),
each tile labelled with its time, plus a resource link per frame to its full-size JPEG; and the
`nemo://frames/{frame_id}` resource behind those links. Also the before/after pair edit_video attaches on
request (`with_frames_around`)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import ImageContent, ResourceLink
from pydantic import Field

from nemo_mcp.media.frame_files import FrameGone
from nemo_mcp.media.frames import FrameError
from nemo_mcp.server.apps.review import REVIEW_URI
from nemo_mcp.server.frame_plan import DEFAULT_COUNT, MAX_FRAMES
from nemo_mcp.server.models import EditResult
from nemo_mcp.server.review_models import FramesResult
from nemo_mcp.server.toolkit import LOCAL_READ, SessionId, attach, lines, nemo_tool, service_of
from nemo_mcp.server.workflows.before_after import around_edit

JPEG = "image/jpeg"


def frames_text(r: FramesResult) -> str:
    origin = (
        f"the export {r.render_id}"
        if r.source == "export"
        else "the timeline's media (approximate: no titles or effects)"
    )
    clips = {f.clip for f in r.frames if f.clip}
    times = ", ".join(
        f"{f.time_seconds:.1f}" + (f" ({f.clip})" if len(clips) > 1 and f.clip else "") for f in r.frames
    )
    empty = [f for f in r.frames if f.uri is None]
    sheet = r.sheet
    return lines(
        f"Contact sheet of {origin}: {len(r.frames)} frame(s), attached as one image, each tile labelled "
        f"with its time. Times (s, row by row): {times}.",
        f"Sheet: {sheet.columns}x{sheet.rows} tiles, {sheet.width}x{sheet.height} px, "
        f"{sheet.bytes // 1024} KB; full-size frames: the resource links.",
        *(f"Tile {f.index + 1} ({f.time_seconds:.1f} s) is empty: {f.note}." for f in empty),
        *(f'The user flagged {fl.at_seconds:.1f} s in the player: "{fl.note}".' for fl in r.flags),
        *r.notes,
        f"Next: {r.next_step}" if r.next_step else None,
    )


def attach_sheet(r: FramesResult, jpeg: bytes) -> None:
    links = [
        ResourceLink(
            type="resource_link",
            uri=f.uri,
            name=f"frame_{f.index + 1}_{f.time_seconds:.1f}s",
            title=f"Frame at {f.time_seconds:.1f} s (full size)",
            mime_type=JPEG,
        )
        for f in r.frames
        if f.uri
    ]
    image = ImageContent(type="image", data=base64.b64encode(jpeg).decode(), mime_type=JPEG)
    attach(image, *links)


async def with_frames_around(ctx: Context, session_id: str | None, edit: Awaitable[EditResult]) -> EditResult:
    """Run `edit` (not started yet) between a before and an after picture; attach the pair."""
    async with around_edit(service_of(ctx).frames, session_id) as pair:
        result = await edit
        image = await pair.finish(result)
    if image.jpeg is not None:
        attach(ImageContent(type="image", data=base64.b64encode(image.jpeg).decode(), mime_type=JPEG))
    attach(text=image.text)
    return result


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=frames_text, title="Show frames", annotations=LOCAL_READ, ui=REVIEW_URI)
    async def get_frames(
        ctx: Context,
        session_id: SessionId = None,
        at: Annotated[
            list[Annotated[float, Field(ge=0, le=86_400)]] | None,
            Field(
                max_length=MAX_FRAMES,
                description="Times to show, in seconds on the timeline (e.g. [2, 7.5]); at most "
                f"{MAX_FRAMES}. Omit for an even overview.",
            ),
        ] = None,
        count: Annotated[
            int | None,
            Field(
                ge=1,
                le=MAX_FRAMES,
                description="How many frames the overview has when `at` is not given "
                f"(default {DEFAULT_COUNT}).",
            ),
        ] = None,
        source: Annotated[
            Literal["auto", "export", "timeline"],
            Field(
                description="auto: the latest export if nothing was edited since, else the timeline; export: "
                "the latest export; timeline: the clips' own media with trims applied (approximate: no "
                "titles, effects or generated layers)."
            ),
        ] = "auto",
    ) -> FramesResult:
        """Look at the video: one JPEG contact sheet of frames (each tile labelled with its time) as an image,
        with the times and a link to each full-size frame.

        Use it to check an edit before telling the user it is done, or to find the moment something
        happens. Frames come from the latest export when it is up to date, else from the timeline's media
        (approximate). An overview picks keyframes near evenly spaced times; pass `at` for exact times.
        Free: nothing is charged.
        """
        contact = await service_of(ctx).frames.get_frames(session_id, at, count, source)
        attach_sheet(contact.result, contact.jpeg)
        return contact.result

    @mcp.resource(
        "nemo://frames/{frame_id}",
        name="frame",
        title="Full-size frame",
        description="One frame of a get_frames contact sheet, full size (JPEG, long edge at most 1920 px).",
        mime_type=JPEG,
    )
    async def frame_resource(frame_id: str, ctx: Context) -> bytes:
        try:
            return await service_of(ctx).frames.frame_files.full_size(frame_id)
        except FrameGone:
            raise ResourceNotFoundError(
                f"[frame_expired] The frame {frame_id[:40]} is no longer kept. Call get_frames again."
            ) from None
        except FrameError as exc:
            raise ResourceError(f"[no_frames] The frame could not be taken again: {exc}.") from None
