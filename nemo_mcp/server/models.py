"""Result models of the MCP tools (their `outputSchema`).

Every tool returns both: `structuredContent` (one of these models) for applications, and ONE text block,
rendered from the same fields by the tool's module, that a model reads. Each thing is said once: the
models carry data and the few sentences nothing else says (a reply, advice, notes, the next step), never
a `message` that repeats them. Fields are plain JSON types; times are seconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

JobStatusName = Literal["running", "succeeded", "failed", "cancelled"]


class JobView(BaseModel):
    """A long-running operation still in progress (or just finished)."""

    job_id: str = Field(
        description="Handle for get_job / cancel_job; it outlives a server restart and is kept a day."
    )
    kind: Literal["edit", "export", "upload"]
    status: JobStatusName
    session_id: str | None = None
    description: str = ""
    elapsed_seconds: float = 0.0
    progress_percent: float | None = None
    message: str = ""
    next_step: str = ""


class MediaInfo(BaseModel):
    name: str
    type: str | None = Field(default=None, description="video | image | audio")
    duration_seconds: float | None = None
    resolution: str | None = Field(default=None, description="WIDTHxHEIGHT")
    source: str = Field(default="", description="the local path or URL that was given")
    url: str | None = Field(default=None, description="where the backend stores it (CDN URL)")


class UploadResult(BaseModel):
    session_id: str
    status: Literal["done", "running"] = "done"
    files: list[MediaInfo] = Field(default_factory=list)
    job: JobView | None = None
    notes: list[str] = Field(default_factory=list)
    next_step: str = ""


class SegmentView(BaseModel):
    name: str
    start_seconds: float | None = None
    end_seconds: float | None = None
    text: str | None = None
    volume_percent: float | None = None


class TrackView(BaseModel):
    index: int
    type: str = Field(description="video | audio | text | image | other")
    label: str
    segments: list[SegmentView] = Field(default_factory=list)


class TimelineResult(BaseModel):
    session_id: str
    title: str | None = None
    summary: str = Field(description="one line, e.g. 'Timeline (2 tracks): 1. Video: clip.mp4 (0-10s) ...'")
    tracks: list[TrackView] = Field(default_factory=list)
    duration_seconds: float | None = None
    resolution: str | None = None
    media_count: int = 0
    export_ready: bool = False
    readiness: str = Field(default="", description="why the project can or cannot be exported yet")
    running: list[JobView] = Field(default_factory=list, description="turns or renders still running")


# A balance the backend did not answer is "unknown", never 0: a budget loop must not read it as free.
Amount = float | Literal["unknown"]


class CreditsResult(BaseModel):
    """The balance; after a paid action also what it cost (`before`, `after`, `charged`)."""

    available: Amount
    frozen: Amount = Field(description="reserved by operations still running")
    total: Amount
    before: Amount | None = Field(
        default=None, description="paid actions: credits available just before the instruction was sent"
    )
    after: Amount | None = Field(default=None, description="paid actions: credits available when it ended")
    charged: Amount | None = Field(
        default=None,
        description="paid actions: what it cost (the total before minus the total after); the balance is "
        "account-wide, so work running elsewhere at the same time counts too",
    )
    low: bool = False
    anonymous: bool | None = Field(default=None, description="True for a free anonymous token")
    register_url: str | None = None
    advice: str = ""


class ExportResult(BaseModel):
    session_id: str
    status: Literal["completed", "running"]
    render_id: str | None = None
    progress_percent: float | None = None
    url: str | None = Field(default=None, description="the MP4 download URL")
    browser_link: str | None = Field(
        default=None, description="opens the project in the NemoVideo web editor"
    )
    link_label: str = Field(default="", description="how to introduce browser_link")
    downloaded_to: str | None = Field(default=None, description="local path of the downloaded MP4")
    size_bytes: int | None = None
    job: JobView | None = None
    next_step: str = ""


class GoAheadView(BaseModel):
    """The agent waits for the user's go-ahead before a paid action."""

    cost: float | None = Field(default=None, description="credits the agent quoted, when it did")
    hint: str = ""


class SpendEstimate(BaseModel):
    """What an instruction is expected to cost, before anything is sent."""

    kinds: list[Literal["generation", "edit", "analysis"]] = Field(
        description="the paid work the instruction asks for"
    )
    credits: float = Field(description="the expected cost: the quote the confirmation is about")
    basis: str = Field(description="where the prices come from")
    uncertainty: str = Field(description="how far the real charge may differ, and why")


class ConfirmationView(BaseModel):
    """How the spending policy (NEMO_CONFIRM_SPEND) treated this instruction."""

    policy: str = Field(description="never | always | above:<credits>")
    outcome: Literal["not_needed", "accepted", "declined", "cancelled", "needed", "token"] = Field(
        description="not_needed: under the policy; accepted/declined/cancelled: the user's answer to the "
        "question; needed: the user must confirm (see confirmation_token); token: a confirmation_token "
        "was accepted"
    )
    expires_in_seconds: float | None = Field(default=None, description="how long confirmation_token lasts")


class EditResult(BaseModel):
    session_id: str
    routed_to: Literal["agent", "export", "credits", "state", "upload"] = Field(
        description="what the instruction was routed to (export/credits/state/upload never reach the agent)"
    )
    plan: list[str] = Field(
        default_factory=list, description="the steps the instruction asked for, in order (e.g. agent, export)"
    )
    deferred: bool = Field(default=False, description="the user said not to export yet")
    status: Literal["done", "running", "needs_confirmation", "not_sent", "stopped"] = Field(
        default="done",
        description="needs_confirmation: nothing sent until the user confirms the cost; not_sent: the "
        "user declined; stopped: the agent stopped part-way (credits ran out)",
    )
    reply: str = Field(default="", description="the agent's reply, GUI instructions translated")
    changes: list[str] = Field(default_factory=list, description="concrete timeline changes found by diffing")
    stages: list[str] = Field(default_factory=list, description="what landed while the turn ran (2-stage)")
    timeline_summary: str | None = None
    notes: list[str] = Field(default_factory=list)
    gui_steps: list[str] = Field(
        default_factory=list, description="GUI steps the agent suggested, done or replaced by the server"
    )
    awaiting_go_ahead: GoAheadView | None = None
    estimate: SpendEstimate | None = None
    confirmation: ConfirmationView | None = None
    confirmation_token: str | None = Field(
        default=None,
        description="when the user must confirm and cannot be asked here: ask them, then pass this back as "
        "edit_video's `confirmation` with the same instruction (single use, short-lived)",
    )
    job: JobView | None = None
    upload: UploadResult | None = None
    export: ExportResult | None = None
    credits: CreditsResult | None = Field(
        default=None, description="the balance; for an instruction the agent ran, what it cost"
    )
    timeline: TimelineResult | None = None
    next_step: str = ""


class JobResult(BaseModel):
    job: JobView
    edit: EditResult | None = None
    export: ExportResult | None = None
    upload: UploadResult | None = None
    notes: list[str] = Field(
        default_factory=list, description="about the handle itself, e.g. started by an earlier server process"
    )


class CancelResult(BaseModel):
    job_id: str
    kind: Literal["edit", "export", "upload"]
    status: JobStatusName
    backend_cancelled: bool = Field(description="True when the backend work itself was stopped")
    message: str = ""


class ProjectView(BaseModel):
    session_id: str
    title: str
    current: bool = False
    created_at: str
    updated_at: str
    summary: str | None = None
    lost: bool = False


class ProjectListResult(BaseModel):
    current_session_id: str | None = None
    projects: list[ProjectView] = Field(default_factory=list)


class NewProjectResult(BaseModel):
    session_id: str
    title: str
    browser_link: str | None = None
    link_label: str = Field(default="", description="how to introduce browser_link")
    notes: list[str] = Field(default_factory=list)
