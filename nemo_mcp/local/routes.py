"""REST routes of backend A (docs/nemo-api.md §1, §9.1), the static `/cdn/` route, the `/_local/` admin
routes, and (web.py) the invented `/workspace/claim` and `/register` pages."""

from __future__ import annotations

import mimetypes
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.envelope import ApiError, bad_request, ok
from nemo_mcp.local.guard import admin_refusal
from nemo_mcp.local.render_routes import render_routes
from nemo_mcp.local.store import Media, User
from nemo_mcp.local.turns import run_sse
from nemo_mcp.local.upload import classify, discard, fetch_urls, receive_multipart, too_large
from nemo_mcp.local.web import web_routes
from nemo_mcp.local.wire import auth, backend_of, base_url, read_json

if TYPE_CHECKING:
    from nemo_mcp.local.backend import LocalBackend


async def anonymous_token(request: Request) -> Response:
    b = backend_of(request)
    client_id = (request.headers.get("x-client-id") or "").strip()
    if not client_id:
        raise ApiError(400, "Missing X-Client-Id header: send a stable client id (a UUID)")
    if len(client_id) > 64:
        raise ApiError(400, "X-Client-Id must be at most 64 characters")
    k = b.knobs
    ip = request.client.host if request.client else "unknown"
    token = b.store.issue_token(client_id, ip, k.initial_credits, k.token_ttl_seconds, k.ip_token_cap)
    return ok(
        {
            "token": token.value,
            "user_id": token.user.user_id,
            "credits": token.user.available,
            "expires_at": b.store.iso(token.expires_at),
        }
    )


async def create_session(request: Request) -> Response:
    b = backend_of(request)
    user = auth(request)
    _check_user(user, request.path_params["user"])
    if request.path_params["app"] != "nemo_agent":
        raise bad_request("Unknown app: use nemo_agent")
    body = await read_json(request)
    task_name = body.get("task_name", "project")
    language = body.get("language")
    if not isinstance(task_name, str) or not (language is None or isinstance(language, str)):
        raise bad_request("task_name and language must be strings")
    session = b.store.create_session(user, task_name[:200] or "project", language)
    return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": user.user_id})


def _check_user(user: User, segment: str) -> None:
    if segment not in ("me", user.user_id):
        raise ApiError(1001, f"User '{segment}' does not match the token; use 'me'")


async def claim_token(request: Request) -> Response:
    b = backend_of(request)
    user = auth(request)
    body = await read_json(request)
    if not body.get("task_id") or not body.get("session_id"):
        raise bad_request("Body must include task_id and session_id")
    session = b.store.session(user, None, body["session_id"])
    if session.task_id != body["task_id"]:
        raise ApiError(1002, f"Task {body['task_id']} has no session {body['session_id']}")
    ttl = b.knobs.claim_ttl_seconds
    return ok({"claim_token": b.store.issue_claim(session, ttl), "expires_in": round(ttl)})


async def credits(request: Request) -> Response:
    return ok(auth(request).credits())


async def state(request: Request) -> Response:
    b = backend_of(request)
    user = auth(request)
    session = b.store.session(user, request.path_params["user"], request.path_params["sid"])
    data = {
        "session_id": session.session_id,
        "task_id": session.task_id,
        "task_name": session.task_name,
        "user_id": user.user_id,
        "state": session.state,
    }
    return ok(data)


async def upload(request: Request) -> Response:
    b = backend_of(request)
    user = auth(request)
    session = b.store.session(user, request.path_params["user"], request.path_params["sid"])
    cap = b.knobs.max_upload_bytes
    folder = b.data_dir / "uploads" / session.session_id
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
        files = await fetch_urls(urls, folder, cap)
    else:
        raise bad_request(
            'Send multipart/form-data with parts named "files", or JSON {"urls": [...], "source_type": "url"}'
        )
    entries = []
    try:
        probed = [(item, *await classify(item)) for item in files]
    except ApiError:
        discard(files)
        raise
    for item, kind, info in probed:
        url = f"{base_url(request)}/cdn/uploads/{session.session_id}/{quote(item.path.name)}"
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


def _place(state: dict[str, Any], entry: dict[str, Any]) -> None:
    """Ours: uploaded videos/images go to the end of the main video track (images as 5 s stills)."""
    draft = state["draft"]
    if not drafts.segments(draft, drafts.VIDEO) and entry["width"] and entry["height"]:
        width, height = drafts.set_canvas(
            draft, entry["width"], entry["height"]
        )  # the first clip sets the canvas
        state["canvas_config"] = {
            "width": width,
            "height": height,
            "aspect_ratio": drafts.aspect_label(width, height),
        }
    ms = round(entry["duration"] * 1000) if entry["file_type"] == "video" else 5000
    drafts.append_clip(
        draft, src=entry["cdn_url"], name=entry["filename"], kind=entry["file_type"], duration_ms=ms
    )


async def cdn(request: Request) -> Response:
    """Unauthenticated static files (uploads, generated media, render outputs), like a public CDN."""
    b = backend_of(request)
    rel = request.path_params["path"]
    if b.knobs.output_url_gone and rel.startswith("renders/"):
        raise ApiError(404, "Not found")
    path = b.public_file(rel)
    if path is None:
        raise ApiError(404, "Not found")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


# Admin routes: invented, loopback only, not part of the NemoVideo API.
def _admin(request: Request) -> LocalBackend:
    """The Guard refuses first; this repeats the check for anyone serving `backend.app` without it."""
    refusal = admin_refusal(request.scope.get("client"), request.headers)
    if refusal:
        raise ApiError(403, refusal)
    return backend_of(request)


async def admin_knobs(request: Request) -> Response:
    b = _admin(request)
    if request.method == "PATCH":
        try:
            b.knobs.update(await read_json(request))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    return JSONResponse({"code": 0, "data": b.knobs.as_dict()})


async def admin_stats(request: Request) -> Response:
    b = _admin(request)
    data = b.stats.as_dict()
    data["credits"] = {u.user_id: u.credits() for u in b.store.users.values()}
    data["renders_status"] = {rid: job.status for rid, job in b.renders.items()}
    data["time"] = time.time()
    return JSONResponse({"code": 0, "data": data})


async def admin_credits(request: Request) -> Response:
    """Invented: set available credits. `{"user_id": "<id>" | "*", "available": N}` or
    `{"token": "<API token>", "available": N}`; answers the changed users' balances by user id."""
    b = _admin(request)
    body = await read_json(request)
    available = body.get("available")
    if isinstance(available, bool) or not isinstance(available, int) or available < 0:
        raise bad_request('"available" must be a non-negative integer')
    who = [key for key in ("user_id", "token") if key in body]
    if len(who) != 1 or not isinstance(body[who[0]], str) or not body[who[0]]:
        raise bad_request('Name the user with exactly one of "user_id" (an id, or "*" for all) or "token"')
    if who[0] == "token":
        token = b.store.tokens.get(body["token"])
        if token is None:
            raise ApiError(404, "Unknown token")
        user_id = token.user.user_id
    else:
        user_id = body["user_id"]
    try:
        users = b.set_credits(available, user_id)
    except KeyError:
        raise ApiError(404, f"Unknown user: {user_id}") from None
    return JSONResponse({"code": 0, "data": {u.user_id: u.credits() for u in users}})


async def admin_reset(request: Request) -> Response:
    _admin(request).reset()
    return JSONResponse({"code": 0, "data": {"reset": True}})


def routes() -> list[Route]:
    return [
        Route("/api/auth/anonymous-token", anonymous_token, methods=["POST"]),
        Route("/api/tasks/{user}/with-session/{app}", create_session, methods=["POST"]),
        Route("/api/auth/claim-token", claim_token, methods=["POST"]),
        Route("/api/credits/balance/simple", credits, methods=["GET"]),
        Route("/api/state/nemo_agent/{user}/{sid}/latest", state, methods=["GET"]),
        Route("/api/upload-video/nemo_agent/{user}/{sid}", upload, methods=["POST"]),
        Route("/run_sse", run_sse, methods=["POST"]),
        *render_routes(),
        Route("/cdn/{path:path}", cdn, methods=["GET", "HEAD"]),
        *web_routes(),  # invented stand-ins for NemoVideo's website
        Route("/_local/knobs", admin_knobs, methods=["GET", "PATCH"]),
        Route("/_local/stats", admin_stats, methods=["GET"]),
        Route("/_local/credits", admin_credits, methods=["PATCH"]),
        Route("/_local/reset", admin_reset, methods=["POST"]),
    ]
