"""The app's middleware (`create_app` installs it around the routes): request stats, admin access,
injected faults, header limits, and a JSON 500 for any unhandled error.

Faults (see knobs.py) apply to the NemoVideo API routes only: never to the `/_local/` admin routes nor to
the invented web pages (`/workspace/claim`, `/register`), which stand in for NemoVideo's website.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp.local.addresses import is_loopback_host
from nemo_mcp.local.controls import apply_one_shot_faults
from nemo_mcp.local.sse import StreamDropped
from nemo_mcp.local.state import BackendState

log = logging.getLogger("nemo_mcp.local")

MAX_HEADER_BYTES = 32 * 1024


GATEWAY_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx (injected fault)</center>\n"
    "</body></html>\n"
)


def is_render(path: str) -> bool:
    return path.startswith("/api/render/")


def is_admin(path: str) -> bool:
    return path.startswith("/_local/")


def is_web(path: str) -> bool:
    """The invented stand-ins for NemoVideo's website (web.py)."""
    return path.startswith("/workspace/") or path == "/register"


def admin_refusal(client: Any, headers: Mapping[str, str]) -> str | None:
    """Why an admin request is refused, or None. Loopback peers only; a non-loopback Host (DNS rebinding)
    or a non-loopback Origin (a cross-site form post from a web page) is refused as well."""
    peer = client[0] if client else ""
    if not is_loopback_host(str(peer)):
        return "The /_local/ admin routes answer loopback clients only"
    host = headers.get("host", "")
    if host and not is_loopback_host(urlsplit(f"//{host}").hostname or ""):
        return "The /_local/ admin routes answer only requests addressed to a loopback host"
    origin = headers.get("origin", "")
    if origin and origin != "null" and not is_loopback_host(urlsplit(origin).hostname or ""):
        return "The /_local/ admin routes refuse requests from web pages of other origins"
    return None


def _json_error(code: int, message: str, path: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "data": None}
    if is_render(path):
        body = {"success": False, "error": message, **body}
    return JSONResponse(body, status_code=code, headers=headers)


class Guard:
    """Middleware around the routes. Faults apply to the NemoVideo API routes only (not `/_local/`, not the
    web pages); `/_local/` is refused here unless `admin_refusal` passes (the routes check again)."""

    def __init__(self, app: ASGIApp, state: BackendState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, k, path = self.state, self.state.knobs, str(scope["path"])
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        state.stats.requests[path] += 1
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ***"
        api = not is_admin(path) and not is_web(path)
        if api:
            state.stats.last_headers = headers
        if sum(len(n) + len(v) for n, v in raw_headers) > MAX_HEADER_BYTES:
            await _json_error(431, "Request headers too large", path)(scope, receive, send)
            return
        if is_admin(path):
            refusal = admin_refusal(scope.get("client"), headers)
            if refusal:
                await _json_error(403, refusal, path)(scope, receive, send)
                return
        if api:
            apply_one_shot_faults(state)
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
            if k.wrong_content_type > 0 and path.startswith(k.wrong_content_type_path):
                k.wrong_content_type -= 1  # HTTP 200 on purpose: a captive portal / proxy page
                if k.wrong_content_type_forward:  # a proxy that forwarded the request, then lost the answer
                    await self._discard_answer(scope, receive)
                await HTMLResponse(GATEWAY_PAGE, status_code=200)(scope, receive, send)
                return
        started = False
        held: Message | None = None  # a JSON response start held back to truncate its body
        cut_at: int | None = None  # bytes of a download still to send before the connection breaks
        chunks: list[bytes] = []

        async def tracking_send(message: Message) -> None:
            nonlocal started, held, cut_at
            if message["type"] == "http.response.start":
                started = True
                mangle = k.malformed_json > 0 and path.startswith(k.malformed_json_path)
                if api and mangle and _is_json(message):
                    k.malformed_json -= 1
                    held = message
                    return
                if api and k.truncate_download > 0 and is_download(path, scope["method"], message):
                    k.truncate_download -= 1
                    cut_at = _content_length(message) // 2
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = _mangle(b"".join(chunks), k.malformed_json_style)
                kept = [(n, v) for n, v in held["headers"] if n.lower() != b"content-length"]
                await send({**held, "headers": [*kept, (b"content-length", str(len(body)).encode())]})
                held = None
                await send({"type": "http.response.body", "body": body})
                return
            elif message["type"] == "http.response.body" and cut_at is not None:
                body = message.get("body", b"")
                if len(body) < cut_at:
                    cut_at -= len(body)
                else:  # the first half is on the wire; break the connection (no clean end)
                    await send({"type": "http.response.body", "body": body[:cut_at], "more_body": True})
                    raise StreamDropped("injected fault: download cut short")
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except StreamDropped:
            raise  # an injected fault: let uvicorn break the connection
        except Exception:
            log.exception("unhandled error on %s", path)
            if not started:
                await _json_error(500, "Internal error in the local backend", path)(scope, receive, send)

    async def _discard_answer(self, scope: Scope, receive: Receive) -> None:
        """Handle the request normally (its effects happen; a stream runs to its end) and drop the answer."""

        async def discard(message: Message) -> None:
            return None

        try:
            await self.app(scope, receive, discard)
        except StreamDropped:
            pass  # another fault broke the (discarded) answer: the client gets the page all the same
        except Exception:
            log.exception("unhandled error on %s (answer discarded)", scope["path"])


def is_download(path: str, method: str, start: Message) -> bool:
    """A file answer on one of the two download routes (a static CDN file or a render's /download)."""
    on_route = path.startswith("/cdn/") or (is_render(path) and path.endswith("/download"))
    return on_route and method == "GET" and start["status"] == 200 and _content_length(start) > 1


def _content_length(start: Message) -> int:
    for name, value in start.get("headers", []):
        if name.lower() == b"content-length" and bytes(value).strip().isdigit():
            return int(value)
    return 0


def _mangle(body: bytes, style: str) -> bytes:
    """Invalid JSON from a JSON body: its first half (a strict prefix of a JSON object is never valid
    JSON) or, for `garble`, all of it with `,]` before the closing bracket (`{"code":0,...,]}`)."""
    if style == "garble":
        text = body.rstrip()
        if text[-1:] in (b"}", b"]"):
            return text[:-1] + b",]" + text[-1:]
    return body[: len(body) // 2]


def _is_json(start: Message) -> bool:
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False
