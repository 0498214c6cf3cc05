"""Render proxy routes (docs/nemo-api.md §4): submit, poll (wrapped or flat shape), cancel, download."""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from nemo_mcp.local import render as renderer
from nemo_mcp.local.background import spawn
from nemo_mcp.local.draft import export_ready
from nemo_mcp.local.envelope import ApiError, bad_request, render_ok
from nemo_mcp.local.files import resolve_media
from nemo_mcp.local.routes.context import base_url, caller, read_json, state_of
from nemo_mcp.local.sessions import find_session
from nemo_mcp.local.state import RenderJob

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")
PLAN_REQUIRED = "Free plan export blocked: register or upgrade your plan to unlock export."  # §1.13


async def submit(request: Request) -> Response:
    state = state_of(request)
    state.stats.render_submits += 1
    user = caller(request)
    body = await read_json(request)
    k = state.knobs
    if k.fail_first_render_submit and not state.render_submit_failed:
        state.render_submit_failed = True
        raise ApiError(503, "Render service temporarily unavailable (injected fault); retry with a new id")
    rid = body.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise bad_request("id is required: a unique client-chosen string of 1-128 letters, digits, _ . : -")
    session_id = body.get("sessionId") or body.get("session_id")
    if not session_id:
        raise bad_request("sessionId is required")
    session = find_session(state, user, None, session_id)
    draft = body.get("draft")
    if not isinstance(draft, dict) or not export_ready(draft):
        raise bad_request("The draft has no track with segments: generate or edit a video before exporting")
    if rid in state.renders:
        raise ApiError(409, f"Render id {rid} already exists: submit again with a new id")
    missing = [h for h in ATTRIBUTION if not request.headers.get(h)]
    if missing and (k.strict_attribution or (user.anonymous and user.available <= 0)):
        raise ApiError(402, PLAN_REQUIRED)
    if k.plan_required > 0:  # injected: the plan refuses export whatever the headers say
        k.plan_required -= 1
        raise ApiError(402, PLAN_REQUIRED)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", rid)
    if safe != rid:
        safe = f"{safe}-{hashlib.sha1(rid.encode()).hexdigest()[:8]}"  # noqa: S324 (a file name, not security)
    folder = state.data_dir / "renders"
    folder.mkdir(parents=True, exist_ok=True)
    job = RenderJob(rid, session.session_id, user.user_id, folder / f"{safe}.mp4")
    state.renders[rid] = job
    state.stats.renders[rid] = {
        "session_id": session.session_id,
        "draft_duration": draft.get("d"),
        "headers": {h: request.headers.get(h) for h in ATTRIBUTION},
        "output": body.get("output"),
    }
    resolve = functools.partial(resolve_media, state.data_dir)
    job.task = spawn(
        state, renderer.run(job, copy.deepcopy(draft), resolve, k.render_min_seconds, k.render_fail)
    )
    return render_ok({"id": rid, "status": "pending", "progress": 5})


def _job(request: Request) -> RenderJob:
    state = state_of(request)
    user = caller(request)
    job = state.renders.get(request.path_params["rid"])
    if job is None or job.user_id != user.user_id:
        raise ApiError(404, f"Render not found: {request.path_params['rid']}")
    return job


async def status(request: Request) -> Response:
    job = _job(request)
    url = f"{base_url(request)}/cdn/renders/{job.out.name}" if job.status == "completed" else None
    if state_of(request).knobs.render_shape == "flat":
        flat: dict[str, Any] = {"taskId": job.id, "status": job.status, "progress": job.progress}
        if url:
            flat["output"] = {"url": url, "duration": job.duration, "size": job.size}
        if job.error:
            flat["error"] = job.error
        return JSONResponse(flat)
    data: dict[str, Any] = {"id": job.id, "status": job.status, "progress": job.progress}
    if url:
        data["outputUrl"] = url
    data["createdAt"] = int(job.created_at * 1000)
    if job.completed_at:
        data["completedAt"] = int(job.completed_at * 1000)
    if job.error:
        data["error"] = job.error
    return render_ok(data)


async def cancel(request: Request) -> Response:
    job = _job(request)
    if job.status in ("completed", "failed"):
        raise ApiError(409, f"Render {job.id} already {job.status}; nothing to cancel")
    if job.status != "cancelled":
        renderer.kill(job)
        job.status = "cancelled"
        if job.task:
            job.task.cancel()
    return render_ok({"id": job.id, "status": "cancelled"})


async def download(request: Request) -> Response:
    job = _job(request)
    if job.status != "completed" or not job.out.is_file():
        raise ApiError(409, f"Render {job.id} is {job.status}, not completed")
    return FileResponse(job.out, media_type="video/mp4", filename=job.out.name)


def routes() -> list[Route]:
    return [
        Route("/api/render/proxy/lambda", submit, methods=["POST"]),
        Route("/api/render/proxy/lambda/{rid}", status, methods=["GET"]),
        Route("/api/render/proxy/lambda/{rid}/cancel", cancel, methods=["POST"]),
        Route("/api/render/proxy/{rid}/download", download, methods=["GET"]),
    ]
