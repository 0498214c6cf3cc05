"""Account routes (docs/nemo-api.md §1.4, §1.6, §1.9): anonymous token, claim token, credit balance."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nemo_mcp.local import accounts
from nemo_mcp.local.envelope import SESSION, ApiError, bad_request, ok
from nemo_mcp.local.routes.context import caller, read_json, state_of
from nemo_mcp.local.sessions import find_session


async def anonymous_token(request: Request) -> Response:
    state = state_of(request)
    client_id = (request.headers.get("x-client-id") or "").strip()
    if not client_id:
        raise ApiError(400, "Missing X-Client-Id header: send a stable client id (a UUID)")
    if len(client_id) > 64:
        raise ApiError(400, "X-Client-Id must be at most 64 characters")
    k = state.knobs
    ip = request.client.host if request.client else "unknown"
    token = accounts.issue_token(state, client_id, ip, k.initial_credits, k.token_ttl_seconds, k.ip_token_cap)
    return ok(
        {
            "token": token.value,
            "user_id": token.user.user_id,
            "credits": token.user.available,
            "expires_at": _iso(token.expires_at),
        }
    )


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def claim_token(request: Request) -> Response:
    state = state_of(request)
    user = caller(request)
    body = await read_json(request)
    if not body.get("task_id") or not body.get("session_id"):
        raise bad_request("Body must include task_id and session_id")
    session = find_session(state, user, None, body["session_id"])
    if session.task_id != body["task_id"]:
        raise ApiError(SESSION, f"Task {body['task_id']} has no session {body['session_id']}")
    ttl = state.knobs.claim_ttl_seconds
    return ok({"claim_token": accounts.issue_claim(state, session, ttl), "expires_in": round(ttl)})


async def credits(request: Request) -> Response:
    return ok(caller(request).credits())


def routes() -> list[Route]:
    return [
        Route("/api/auth/anonymous-token", anonymous_token, methods=["POST"]),
        Route("/api/auth/claim-token", claim_token, methods=["POST"]),
        Route("/api/credits/balance/simple", credits, methods=["GET"]),
    ]
