"""Outermost ASGI layer: request stats, injected latency/5xx/429, header limits, a last-resort JSON 500."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from nemo_mcp.local.backend import LocalBackend

log = logging.getLogger("nemo_mcp.local")

MAX_HEADER_BYTES = 32 * 1024


def is_render(path: str) -> bool:
    return path.startswith("/api/render/")


def _json_error(code: int, message: str, path: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "data": None}
    if is_render(path):
        body = {"success": False, "error": message, **body}
    return JSONResponse(body, status_code=code, headers=headers)


class Guard:
    """Wraps the Starlette app; faults apply to the NemoVideo routes, never to the `/_local/` admin routes."""

    def __init__(self, app: ASGIApp, backend: LocalBackend) -> None:
        self.app, self.backend = app, backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        b, k, path = self.backend, self.backend.knobs, str(scope["path"])
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        b.stats.requests[path] += 1
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ***"
        if not path.startswith("/_local/"):
            b.stats.last_headers = headers
        if sum(len(n) + len(v) for n, v in raw_headers) > MAX_HEADER_BYTES:
            await _json_error(431, "Request headers too large", path)(scope, receive, send)
            return
        if not path.startswith("/_local/"):
            b.apply_one_shot_faults()
            if k.latency > 0:
                await asyncio.sleep(k.latency)
            if k.fail_5xx > 0 and path.startswith(k.fail_5xx_path):
                k.fail_5xx -= 1
                await _json_error(503, "Service temporarily unavailable (injected fault)", path)(
                    scope, receive, send
                )
                return
            if k.rate_limit > 0 and path.startswith(k.rate_limit_path):
                k.rate_limit -= 1
                retry = {"Retry-After": str(k.retry_after)}
                await _json_error(429, "Too many requests (injected rate limit)", path, retry)(
                    scope, receive, send
                )
                return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s", path)
            if not started:
                await _json_error(500, "Internal error in the local backend", path)(scope, receive, send)
