"""The local backend instance: shared state, the Starlette app, and direct fault helpers for tests."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from nemo_mcp.local.envelope import ApiError, error_response
from nemo_mcp.local.guard import Guard, is_render
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.render import RenderJob
from nemo_mcp.local.routes import routes
from nemo_mcp.local.store import Store, User
from nemo_mcp.local.upload import is_loopback_url

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

    def set_credits(self, available: int, user_id: str = "*") -> list[User]:
        """Set a user's available credits (`*` = every user); the users changed. KeyError if unknown."""
        if available < 0:
            raise ValueError("available must be a non-negative integer")
        users = list(self.store.users.values()) if user_id == "*" else [self.store.users[user_id]]
        for user in users:
            user.available = available
        return users

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
