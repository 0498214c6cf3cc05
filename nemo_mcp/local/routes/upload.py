"""`POST /api/upload-video/nemo_agent/<user>/<sid>` (docs/nemo-api.md §1.8): multipart files or JSON URLs,
probed, added to the session's media and (videos, images) to the end of the main video track."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.envelope import ApiError, bad_request, ok
from nemo_mcp.local.files import own_cdn_file
from nemo_mcp.local.routes.context import base_url, caller, read_json, state_of
from nemo_mcp.local.sessions import find_session
from nemo_mcp.local.state import BackendState, Media
from nemo_mcp.local.upload import classify, discard, receive_multipart, too_large
from nemo_mcp.local.urlfetch import fetch_urls, import_failed


async def upload(request: Request) -> Response:
    state = state_of(request)
    user = caller(request)
    session = find_session(state, user, request.path_params["user"], request.path_params["sid"])
    cap = state.knobs.max_upload_bytes
    folder = state.data_dir / "uploads" / session.session_id
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap + 1024 * 1024:
            raise too_large("the upload", cap)  # refuse early, before reading gigabytes
        files = await receive_multipart(ctype, request.stream(), folder, cap)
    elif ctype.startswith("application/json"):
        body = await read_json(request)
        urls = body.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise bad_request('JSON uploads need {"urls": ["<url>", ...], "source_type": "url"}')
        origins = _origins(request)
        files = await fetch_urls(
            urls,
            folder,
            cap,
            own_file=lambda url: _own(state, url, origins),
            allow_private=state.knobs.allow_private_url_import,
            limit=state.knobs.url_import_timeout,
        )
    else:
        raise bad_request(
            'Send multipart/form-data with parts named "files", or JSON {"urls": [...], "source_type": "url"}'
        )
    entries = []
    try:
        probed = [(item, *await classify(item)) for item in files]
    except ApiError:
        discard(files)
        if not ctype.startswith("multipart/form-data"):
            raise import_failed() from None  # not media: the one URL-import answer
        raise
    for item, kind, info in probed:
        # the disk name (random hex + extension), never the user's name; quoted all the same
        url = f"{base_url(request)}/cdn/uploads/{quote(session.session_id)}/{quote(item.path.name)}"
        duration = info.duration if kind != "image" else 0.0
        entry: dict[str, Any] = {
            "filename": item.name,
            "file_type": kind,
            "cdn_url": url,
            "duration": round(duration, 3),
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "has_audio": info.has_audio,
            "size": item.size,
            "hash": item.sha.hexdigest(),
        }
        entries.append(entry)
        session.state["video_infos"].append(entry)
        session.media[url] = Media(entry, item.path, info)
        if kind in ("video", "image"):
            _place(session.state, entry)
    return ok({"files": entries, "session_state_applied": True})


def _own(state: BackendState, url: str, origins: set[tuple[str, int]]) -> tuple[Path, str | None] | None:
    """One of our own /cdn/ URLs: its file, and the name it was uploaded or generated under."""
    path = own_cdn_file(state.data_dir, url, origins)
    if path is None:
        return None
    for session in state.sessions.values():
        for item in session.media.values():
            if item.path == path:
                return path, str(item.info["filename"])
    return path, None


def _origins(request: Request) -> set[tuple[str, int]]:
    """Where this backend answers: the request's own base URL and the listening socket's port."""
    base = urlsplit(base_url(request))
    default = 443 if base.scheme == "https" else 80
    found = {((base.hostname or "").lower(), base.port or default)}
    server = request.scope.get("server")
    if server and server[1]:
        found.add(((str(server[0]) or "").lower(), int(server[1])))
    return found


def _place(project: dict[str, Any], entry: dict[str, Any]) -> None:
    """Ours: uploaded videos/images go to the end of the main video track (images as 5 s stills)."""
    draft = project["draft"]
    if not drafts.segments(draft, drafts.VIDEO) and entry["width"] and entry["height"]:
        # the first clip sets the canvas
        width, height = drafts.set_canvas(draft, entry["width"], entry["height"])
        project["canvas_config"] = {
            "width": width,
            "height": height,
            "aspect_ratio": drafts.aspect_label(width, height),
        }
    ms = round(entry["duration"] * 1000) if entry["file_type"] == "video" else 5000
    drafts.append_clip(
        draft, src=entry["cdn_url"], name=entry["filename"], kind=entry["file_type"], duration_ms=ms
    )


def routes() -> list[Route]:
    return [Route("/api/upload-video/nemo_agent/{user}/{sid}", upload, methods=["POST"])]
