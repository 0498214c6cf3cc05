"""`create_app(state)`: the local backend's Starlette app, its routes and middleware, over one state."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from nemo_mcp.local.envelope import ApiError, error_response
from nemo_mcp.local.guard import Guard, is_render
from nemo_mcp.local.routes import admin, auth, cdn, render, run_sse, sessions, upload, web
from nemo_mcp.local.routes.context import APP_STATE_KEY
from nemo_mcp.local.state import BackendState


def create_app(state: BackendState, *, guard: bool = True) -> Starlette:
    """The app that serves `state`. `guard=False` leaves out the Guard middleware (no stats, faults or
    admin refusal at the door), for tests of what the routes check on their own."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc, state.knobs.error_transport, render=is_render(request.url.path))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # Starlette's own, e.g. 404 for an unknown path
        err = ApiError(exc.status_code, str(exc.detail) if exc.detail else "error")
        return error_response(err, state.knobs.error_transport, render=is_render(request.url.path))

    app = Starlette(
        routes=[
            *auth.routes(),
            *sessions.routes(),
            *upload.routes(),
            *run_sse.routes(),
            *render.routes(),
            *cdn.routes(),
            *web.routes(),  # invented stand-ins for NemoVideo's website
            *admin.routes(),  # invented, loopback only
        ],
        middleware=[Middleware(Guard, state=state)] if guard else [],
        exception_handlers={ApiError: api_error, HTTPException: http_error},
    )
    setattr(app.state, APP_STATE_KEY, state)
    return app
