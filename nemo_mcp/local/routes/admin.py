"""The `/_local/` admin routes: invented, not part of the NemoVideo API, loopback clients only.

`GET/PATCH /_local/knobs`, `GET /_local/stats`, `PATCH /_local/credits`, `POST /_local/reset`,
`GET /_local/ledger[?user=<user id>][&session=<session id>]` (every credit movement, ledger.py).
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nemo_mcp.local import controls, ledger
from nemo_mcp.local.envelope import ApiError, bad_request
from nemo_mcp.local.guard import admin_refusal
from nemo_mcp.local.routes.context import read_json, state_of
from nemo_mcp.local.state import BackendState


def _admin(request: Request) -> BackendState:
    """The Guard refuses first; this repeats the check for an app built without it."""
    refusal = admin_refusal(request.scope.get("client"), request.headers)
    if refusal:
        raise ApiError(403, refusal)
    return state_of(request)


async def knobs(request: Request) -> Response:
    state = _admin(request)
    if request.method == "PATCH":
        try:
            state.knobs.update(await read_json(request))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    return JSONResponse({"code": 0, "data": state.knobs.as_dict()})


async def stats(request: Request) -> Response:
    state = _admin(request)
    data = state.stats.as_dict()
    data["credits"] = {u.user_id: u.credits() for u in state.users.values()}
    data["renders_status"] = {rid: job.status for rid, job in state.renders.items()}
    data["time"] = time.time()
    return JSONResponse({"code": 0, "data": data})


async def credits(request: Request) -> Response:
    """Set available credits. `{"user_id": "<id>" | "*", "available": N}` or
    `{"token": "<API token>", "available": N}`; answers the changed users' balances by user id."""
    state = _admin(request)
    body = await read_json(request)
    available = body.get("available")
    if isinstance(available, bool) or not isinstance(available, int) or available < 0:
        raise bad_request('"available" must be a non-negative integer')
    who = [key for key in ("user_id", "token") if key in body]
    if len(who) != 1 or not isinstance(body[who[0]], str) or not body[who[0]]:
        raise bad_request('Name the user with exactly one of "user_id" (an id, or "*" for all) or "token"')
    if who[0] == "token":
        token = state.tokens.get(body["token"])
        if token is None:
            raise ApiError(404, "Unknown token")
        user_id = token.user.user_id
    else:
        user_id = body["user_id"]
    try:
        users = controls.set_credits(state, available, user_id)
    except KeyError:
        raise ApiError(404, f"Unknown user: {user_id}") from None
    return JSONResponse({"code": 0, "data": {u.user_id: u.credits() for u in users}})


async def ledger_entries(request: Request) -> Response:
    """Every credit movement in order, optionally for one user and/or one session; `charged` is what
    those entries spent (charges minus refunds), `frozen` what they still hold."""
    state = _admin(request)
    user = request.query_params.get("user") or None
    session = request.query_params.get("session") or None
    found = ledger.entries(state, user, session)
    spent = sum(e.amount for e in found if e.action == "charge") - sum(
        e.amount for e in found if e.action == "refund"
    )
    held = sum(e.amount for e in found if e.action == "freeze") - sum(
        e.amount for e in found if e.action in ("charge", "release")
    )
    data = {"entries": [e.as_dict() for e in found], "charged": spent, "frozen": held}
    return JSONResponse({"code": 0, "data": data})


async def reset(request: Request) -> Response:
    controls.reset(_admin(request))
    return JSONResponse({"code": 0, "data": {"reset": True}})


def routes() -> list[Route]:
    return [
        Route("/_local/knobs", knobs, methods=["GET", "PATCH"]),
        Route("/_local/stats", stats, methods=["GET"]),
        Route("/_local/credits", credits, methods=["PATCH"]),
        Route("/_local/reset", reset, methods=["POST"]),
        Route("/_local/ledger", ledger_entries, methods=["GET"]),
    ]
