"""The review player: the MCP App `ui://nemo/review` and what it calls.

- The page (`review.html`, package data, no build step, no script from a CDN) shows the latest export in
  a player, the timeline's tracks drawn to scale, a keyframe strip, a "flag this moment" box that tells
  the model the time and the user's note, a download button, and asks for a fresh URL when the video's
  link expired.
- `export_video`, `get_timeline` and `get_frames` name it (`ui=REVIEW_URI`); their text stays complete
  for hosts without Apps.
- The app-only tools (`visibility=["app"]`, hidden from the model): `review_state` (everything the page
  draws; `refresh` asks the backend for a fresh output URL) and `flag_moment`.
- `nemo://exports/{render_id}/preview`: a small MP4 of a render, for the embedded backend, whose loopback
  URL a sandboxed page cannot load; the page reads it through the host.
- CSP: media may come from the backend's CDN (`resourceDomains`); nothing else is fetched.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import urlsplit

from mcp.server import MCPServer
from mcp.server.apps import Apps, ResourceCsp
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import Field

from nemo_mcp.api.config import DEFAULT_API_URL
from nemo_mcp.server.failures import as_failure
from nemo_mcp.server.review_models import FlagResult, ReviewState
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.toolkit import LOCAL_READ, SessionId, lines, nemo_tool, service_of, writes

REVIEW_URI = "ui://nemo/review"
# NemoVideo serves renders and uploads from its CDN (static1.nemovideo.ai, docs/nemo-api.md §4).
CLOUD_MEDIA_DOMAINS = ("https://*.nemovideo.ai", "https://*.nemovideo.com")
LOOPBACK_MEDIA_DOMAINS = ("http://127.0.0.1:*", "http://localhost:*")


def review_html() -> str:
    return files("nemo_mcp.server.apps").joinpath("review.html").read_text(encoding="utf-8")


def media_domains(settings: ServerSettings) -> list[str]:
    """Where the player may load video and images from: the backend's CDN (and its API host, which serves
    the download fallback); for the embedded backend, loopback (its port is only known at start-up)."""
    if settings.backend == "local":
        return list(LOOPBACK_MEDIA_DOMAINS)
    domains = list(CLOUD_MEDIA_DOMAINS)
    api = urlsplit(settings.api_url or DEFAULT_API_URL)
    if api.scheme in ("http", "https") and api.hostname:
        host = api.hostname.lower()
        covered = any(host.endswith(d.split("*.", 1)[-1]) for d in CLOUD_MEDIA_DOMAINS)
        origin = f"{api.scheme}://{api.netloc.lower()}"
        if not covered and origin not in domains:
            domains.append(origin)
    return domains


def review_text(r: ReviewState) -> str:
    exp = r.export
    return lines(
        f"Review of project {r.session_id}: {len(r.tracks)} track(s), "
        f"{len(r.strip_frames)} keyframe(s) in the strip.",
        f"Export {exp.render_id}: {exp.url or exp.preview_uri}" if exp else None,
        *r.notes,
    )


def flag_text(r: FlagResult) -> str:
    return r.message


def build_apps(settings: ServerSettings) -> Apps:
    """The Apps extension with the review page and its app-only tools (passed to the server's constructor)."""
    apps = Apps()
    apps.add_html_resource(
        REVIEW_URI,
        review_html(),
        name="review",
        title="NemoVideo review player",
        description="Plays the latest export, draws the timeline, lets the user flag a moment for the model.",
        csp=ResourceCsp(resource_domains=media_domains(settings)),
        prefers_border=True,
    )

    @nemo_tool(
        apps,
        render=review_text,
        title="Review player data",
        annotations=LOCAL_READ,
        ui=REVIEW_URI,
        visibility=["app"],
    )
    async def review_state(
        ctx: Context,
        session_id: SessionId = None,
        refresh: Annotated[
            bool, Field(description="Ask the backend for a fresh URL of the export (the old one expired).")
        ] = False,
    ) -> ReviewState:
        """For the review player (an MCP App): the project's latest export, tracks, keyframe strip and flags.
        Models should call get_timeline or get_frames instead."""
        return await service_of(ctx).review.state(session_id, refresh)

    @nemo_tool(
        apps,
        render=flag_text,
        title="Flag a moment",
        annotations=writes(idempotent=False, open_world=False),
        ui=REVIEW_URI,
        visibility=["app"],
    )
    async def flag_moment(
        ctx: Context,
        at_seconds: Annotated[float, Field(ge=0, le=86_400, description="The moment, in seconds.")],
        note: Annotated[str, Field(min_length=1, max_length=500, description="What the user says about it.")],
        session_id: SessionId = None,
    ) -> FlagResult:
        """For the review player (an MCP App): record a moment the user flagged, with their note; the player
        then tells the model. Models do not call this."""
        return await service_of(ctx).review.flag(session_id, at_seconds, note)

    return apps


def register(mcp: MCPServer[Any]) -> None:
    @mcp.resource(
        "nemo://exports/{render_id}/preview",
        name="export_preview",
        title="Export preview",
        description="A small preview MP4 of a render made by this server (for the review player).",
        mime_type="video/mp4",
    )
    async def preview_resource(render_id: str, ctx: Context) -> bytes:
        try:
            return await service_of(ctx).review.preview(render_id)
        except LookupError:
            raise ResourceNotFoundError(
                f"[unknown_render] This server made no render {render_id[:60]!r}. Call export_video."
            ) from None
        except Exception as exc:
            raise ResourceError(as_failure(exc).text) from None
