"""The local backend instance: shared state, the Starlette app, and the request guard (faults, limits)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp.local.envelope import ApiError, error_response
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.render import RenderJob
from nemo_mcp.local.store import Store
from nemo_mcp.local.upload import is_loopback_url

log = logging.getLogger("nemo_mcp.local")

MAX_HEADER_BYTES = 32 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
PUBLIC_DIRS = ("uploads", "generated", "renders")


class LocalBackend:
    """One embedded NemoVideo-compatible backend. `url`, `knobs` and `stats` are the test-facing surface."""

    def __init__(self, knobs: Knobs | None = None, data_dir: Path | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.data_dir = Path(data_dir or ".").resolve()
        self.url = ""
        self.store = Store()
        self.renders: dict[str, RenderJob] = {}
        self.render_submit_failed = False
        self.tasks: set[asyncio.Task[Any]] = set()
        from nemo_mcp.local.routes import routes

        self.app = Starlette(
            routes=routes(),
            exception_handlers={ApiError: self._api_error, HTTPException: self._http_error},
        )
        self.app.state.backend = self
        self.asgi: ASGIApp = Guard(self.app, self)

    @property
    def stats(self) -> Any:
        return self.store.stats

    # faults usable directly from tests
    def expire_tokens(self) -> None:
        self.store.expire_all_tokens()

    def lose_session(self, session_id: str = "*") -> None:
        if session_id == "*":
            self.store.sessions.clear()
        else:
            self.store.sessions.pop(session_id, None)

    def exhaust_credits(self) -> None:
        for user in self.store.users.values():
            user.available = 0

    def apply_one_shot_faults(self) -> None:
        k = self.knobs
        if k.expire_tokens:
            k.expire_tokens = False
            self.expire_tokens()
        if k.lose_session:
            self.lose_session(k.lose_session)
            k.lose_session = ""
        if k.exhaust_credits:
            k.exhaust_credits = False
            self.exhaust_credits()

    def reset(self) -> None:
        for job in self.renders.values():
            if job.task and not job.task.done():
                job.task.cancel()
        self.store = Store()
        self.renders.clear()
        self.render_submit_failed = False

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Background work that outlives its request (turns continue after a dropped stream)."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)

    def resolve_media(self, url: str) -> Path | None:
        """Our own `/cdn/...` URLs map to files in the data dir; anything else is unavailable offline."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not is_loopback_url(url):
            return None
        return (
            self.public_file(unquote(parts.path).removeprefix("/cdn/"))
            if parts.path.startswith("/cdn/")
            else None
        )

    def public_file(self, rel: str) -> Path | None:
        first = rel.split("/", 1)[0]
        if first not in PUBLIC_DIRS or any(p.startswith(".") for p in rel.split("/")):
            return None
        path = (self.data_dir / rel).resolve()
        if not path.is_relative_to(self.data_dir) or not path.is_file():
            return None
        return path

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc, self.knobs.error_transport, render=is_render(request.url.path))

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        err = ApiError(exc.status_code, str(exc.detail) if exc.detail else "error")
        return error_response(err, self.knobs.error_transport, render=is_render(request.url.path))


def is_render(path: str) -> bool:
    return path.startswith("/api/render/")


def _json_error(code: int, message: str, path: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "data": None}
    if is_render(path):
        body = {"success": False, "error": message, **body}
    return JSONResponse(body, status_code=code, headers=headers)


class Guard:
    """Outermost ASGI layer: stats, injected latency/5xx/429, header limits, last-resort JSON 500."""

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
