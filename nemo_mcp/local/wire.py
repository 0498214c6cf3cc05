"""Request helpers shared by the route modules: the backend, the caller, the base URL, a capped JSON body."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from nemo_mcp.local.envelope import ApiError
from nemo_mcp.local.store import User

if TYPE_CHECKING:
    from nemo_mcp.local.backend import LocalBackend

MAX_JSON_BYTES = 16 * 1024 * 1024


def backend_of(request: Request) -> LocalBackend:
    return request.app.state.backend  # type: ignore[no-any-return]


def auth(request: Request) -> User:
    return backend_of(request).store.authenticate(request.headers.get("authorization"))


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
