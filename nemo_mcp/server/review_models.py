"""Result models of the review tools: `get_frames` (a contact sheet, its frames), and the review player's
app-only tools (`review_state`, `flag_moment`). Plain JSON types; times are seconds on the timeline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nemo_mcp.server.models import TrackView


class FrameView(BaseModel):
    index: int = Field(description="position on the contact sheet, row by row from 0")
    time_seconds: float = Field(
        description="where on the timeline the picture is (what its tile's label says)"
    )
    uri: str | None = Field(
        default=None, description="the full-size JPEG as a resource (resources/read); None for an empty tile"
    )
    clip: str | None = Field(default=None, description="timeline frames: the clip the picture comes from")
    source_seconds: float | None = Field(
        default=None, description="timeline frames: where in that clip's media the picture is"
    )
    note: str = Field(default="", description="why a tile is empty")


class SheetView(BaseModel):
    width: int
    height: int
    columns: int
    rows: int
    bytes: int
    labelled: bool = Field(description="False when no font was found to draw the time labels")


class FlagView(BaseModel):
    at_seconds: float
    note: str
    render_id: str | None = None


class FramesResult(BaseModel):
    session_id: str
    source: Literal["export", "timeline"] = Field(
        description="export: frames of the latest render; timeline: the clips' own media with trims applied"
    )
    approximate: bool = Field(
        description="True for timeline frames: titles, effects, transitions and generated layers are not "
        "applied, so the render can look different"
    )
    render_id: str | None = Field(default=None, description="the export the frames come from")
    duration_seconds: float | None = None
    frames: list[FrameView] = Field(default_factory=list)
    sheet: SheetView
    flags: list[FlagView] = Field(
        default_factory=list, description="moments the user flagged in the review player"
    )
    notes: list[str] = Field(default_factory=list)
    next_step: str = ""


class ReviewExport(BaseModel):
    render_id: str
    url: str | None = Field(
        default=None, description="the MP4 (download link; played directly in cloud mode)"
    )
    preview_uri: str | None = Field(
        default=None,
        description="a small preview MP4 to read through the host (resources/read), for a backend whose URL "
        "the player cannot load (the embedded backend on loopback)",
    )
    size_bytes: int | None = None
    current: bool = Field(description="False when the timeline was edited after this export")


class StripFrame(BaseModel):
    time_seconds: float
    x: int = Field(description="left edge of this frame in the strip image, pixels")
    width: int


class ReviewState(BaseModel):
    """Everything the review player draws: the latest export, the tracks, a keyframe strip, the flags."""

    session_id: str
    title: str | None = None
    duration_seconds: float | None = None
    tracks: list[TrackView] = Field(default_factory=list)
    export: ReviewExport | None = None
    strip_jpeg_base64: str | None = Field(default=None, description="the keyframe strip, one JPEG")
    strip_height: int = 0
    strip_frames: list[StripFrame] = Field(default_factory=list)
    strip_source: Literal["export", "timeline", "none"] = "none"
    flags: list[FlagView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class FlagResult(BaseModel):
    session_id: str
    flag: FlagView
    message: str = Field(description="the sentence the player posts to the chat for the model")
