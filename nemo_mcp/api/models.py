"""Pydantic models returned by :class:`nemo_mcp.api.NemoClient`.

All response models are lenient (``extra="ignore"`` unless a raw copy is kept) and are built by
tolerant parsers in this package, never straight from untrusted JSON with ``model_validate``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nemo_mcp.api.errors import NemoError
from nemo_mcp.api.timeline import Timeline, export_ready

__all__ = [
    "Credits",
    "HeartbeatEvent",
    "ProjectState",
    "RenderJob",
    "RenderStatus",
    "Session",
    "StreamErrorEvent",
    "StreamEvent",
    "StreamItem",
    "TextEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "TurnEndReason",
    "TurnEnded",
    "TurnEvent",
    "UploadedFile",
]


class Session(BaseModel):
    """A NemoVideo project (task) with its editing session."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    session_id: str
    user_id: str | None = None
    language: str = "en"


class Credits(BaseModel):
    """``GET /api/credits/balance/simple``. ``total`` is ``available + frozen`` when the backend omits it."""

    model_config = ConfigDict(frozen=True)

    available: float
    frozen: float = 0
    total: float


class UploadedFile(BaseModel):
    """One entry of the upload response's ``data.files``."""

    model_config = ConfigDict(frozen=True)

    filename: str
    file_type: str | None = None  # video | image | audio (inferred)
    cdn_url: str | None = None
    duration: float | None = None  # seconds
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    hash: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class ProjectState(BaseModel):
    """``GET /api/state/nemo_agent/me/<sid>/latest`` decoded.

    ``draft`` is the raw draft dict (what a render is submitted with); ``timeline`` is its decoded view.
    """

    model_config = ConfigDict(frozen=True)

    session_id: str
    task_id: str | None = None
    task_name: str | None = None
    user_id: str | None = None
    draft: dict[str, Any] = Field(default_factory=dict, repr=False)
    timeline: Timeline = Field(default_factory=Timeline)
    video_infos: list[Any] = Field(default_factory=list, repr=False)
    canvas_config: dict[str, Any] = Field(default_factory=dict, repr=False)
    video_analyses: Any = Field(default=None, repr=False)
    generated_media: Any = Field(default=None, repr=False)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    fetched_at: float = Field(default_factory=time.time)

    @property
    def export_ready(self) -> bool:
        """``draft.t`` exists and one track has a non-empty ``sg`` (docs/nemo-api.md §3.2, §8 C21)."""
        return export_ready(self.draft)

    @property
    def has_media(self) -> bool:
        """Assets uploaded or generated (``video_infos`` non-empty)."""
        return bool(self.video_infos)

    def summary_line(self) -> str:
        return self.timeline.summary_line()


RenderStatusName = Literal["pending", "processing", "completed", "failed", "cancelled", "unknown"]


class RenderStatus(BaseModel):
    """One poll of ``GET /api/render/proxy/lambda/<id>``, either documented shape (docs/nemo-api.md §8 C1)."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: RenderStatusName
    progress: float | None = None  # 0..100
    output_url: str | None = None
    error: str | None = None
    size: int | None = None  # bytes, when the flat shape's output.size is present
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def succeeded(self) -> bool:
        return self.status == "completed"


class RenderJob(BaseModel):
    """A submitted render. ``id`` is the accepted id; ``attempted_ids`` lists every id sent (max 2)."""

    model_config = ConfigDict(frozen=True)

    id: str
    session_id: str
    status: RenderStatusName = "pending"
    progress: float | None = None
    attempted_ids: list[str] = Field(default_factory=list)
    submitted_at: float = Field(default_factory=time.time)


# ----------------------------------------------------------------------------------------------------
# /run_sse events


class StreamEvent(BaseModel):
    """Base of the events yielded by :meth:`NemoClient.stream_turn`. ``ts``: local receive time (epoch s)."""

    model_config = ConfigDict(frozen=True)

    ts: float = Field(default_factory=time.time)


class TextEvent(StreamEvent):
    """Agent text.

    ``partial=True``: a streaming chunk; ``text`` is the chunk, ``accumulated`` the text so far.
    ``partial=False``: a complete text (it replaces any accumulated partial text).
    ``noise=True``: backend noise (the trailing "I encountered a temporary issue" after real output);
    don't show it.
    """

    kind: Literal["text"] = "text"
    text: str
    partial: bool = False
    accumulated: str | None = None
    author: str | None = None
    noise: bool = False


class ToolCallEvent(StreamEvent):
    kind: Literal["tool_call"] = "tool_call"
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str | None = None


class ToolResultEvent(StreamEvent):
    kind: Literal["tool_result"] = "tool_result"
    name: str
    result: Any = None
    call_id: str | None = None


class HeartbeatEvent(StreamEvent):
    """A keep-alive. ``style``: comment | empty | typed | event | noise (non-JSON data)."""

    kind: Literal["heartbeat"] = "heartbeat"
    style: str = "typed"


class StreamErrorEvent(StreamEvent):
    """An error inside the stream (``{"error": ...}``, ``type: error``, ``errorCode``/``errorMessage``)."""

    kind: Literal["error"] = "error"
    message: str
    code: str | None = None


TurnEndReason = Literal["closed", "interrupted", "error", "idle_timeout"]


class TurnEnded(StreamEvent):
    """Always the last event of a turn, exactly once.

    - ``closed``: the backend closed the stream normally after at least one non-heartbeat event.
    - ``interrupted``: the stream dropped (or closed before any event, or hit the overall budget).
      The message was NOT re-sent; the caller must check the state (docs/nemo-api.md §2.6).
    - ``error``: the request was refused before streaming (``error`` says why: session lost, no
      credits, auth, ...) or the stream reported an error event and ended.
    - ``idle_timeout``: only heartbeats (or nothing) for ``sse_idle_timeout`` seconds; the watchdog
      ended the turn.

    ``accepted`` tells whether the backend accepted the message (a 2xx stream started), i.e. whether
    work may have happened and credits may have been charged.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Literal["end"] = "end"
    reason: TurnEndReason
    accepted: bool = False
    error: NemoError | None = Field(default=None, exclude=True, repr=False)
    error_tag: str | None = None
    message: str | None = None
    texts: list[str] = Field(default_factory=list)
    tools_used: list[str] = Field(default_factory=list)
    stream_errors: list[str] = Field(default_factory=list)
    state_delta_keys: list[str] = Field(default_factory=list)
    event_count: int = 0
    heartbeat_count: int = 0
    started_at: float = 0.0
    reauthenticated: bool = False

    @property
    def had_text(self) -> bool:
        return bool(self.texts)

    @property
    def final_text(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def silent(self) -> bool:
        """Closed normally without any text (~30 % of edits): diff the state to report what changed."""
        return self.reason == "closed" and not self.texts

    @property
    def elapsed(self) -> float:
        return max(0.0, self.ts - self.started_at) if self.started_at else 0.0


StreamItem = TextEvent | ToolCallEvent | ToolResultEvent | HeartbeatEvent | StreamErrorEvent
TurnEvent = StreamItem | TurnEnded
