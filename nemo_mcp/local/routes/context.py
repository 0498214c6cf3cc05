"""What every handler takes from its request: the backend state, the caller, the base URL, a JSON body.

`state_of(request)` is the one way a handler reaches the backend's data: `create_app` puts the
`BackendState` on `app.state`, and this returns it, typed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from nemo_mcp.local import accounts
from nemo_mcp.local.envelope import ApiError
from nemo_mcp.local.state import BackendState, User

APP_STATE_KEY = "backend_state"
MAX_JSON_BYTES = 16 * 1024 * 1024


def state_of(request: Request) -> BackendState:
    state = getattr(request.app.state, APP_STATE_KEY)
    if not isinstance(state, BackendState):
        raise TypeError("this app was not built by nemo_mcp.local.app.create_app")
    return state


def caller(request: Request) -> User:
    """The user the request's bearer token belongs to (1001 otherwise)."""
    return accounts.authenticate(state_of(request), request.headers.get("authorization"))


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def read_json(request: Request, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object body, read with a size cap; clear 400/413 errors otherwise."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body too large (limit {limit // (1024 * 1024)} MB)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"Request body too large (limit {limit // (1024 * 1024)} MB)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The JSON body must be an object")
    return body
