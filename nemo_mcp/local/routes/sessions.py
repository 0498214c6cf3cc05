"""Session routes (docs/nemo-api.md §1.5, §1.10): create a project with its session, read its state."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nemo_mcp.local.envelope import AUTH, ApiError, bad_request, ok
from nemo_mcp.local.routes.context import caller, read_json, state_of
from nemo_mcp.local.sessions import create_session, find_session


async def create(request: Request) -> Response:
    state = state_of(request)
    user = caller(request)
    segment = request.path_params["user"]
    if segment not in ("me", user.user_id):
        raise ApiError(AUTH, f"User '{segment}' does not match the token; use 'me'")
    if request.path_params["app"] != "nemo_agent":
        raise bad_request("Unknown app: use nemo_agent")
    body = await read_json(request)
    task_name = body.get("task_name", "project")
    language = body.get("language")
    if not isinstance(task_name, str) or not (language is None or isinstance(language, str)):
        raise bad_request("task_name and language must be strings")
    session = create_session(state, user, task_name[:200] or "project", language)
    return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": user.user_id})


async def latest_state(request: Request) -> Response:
    user = caller(request)
    session = find_session(state_of(request), user, request.path_params["user"], request.path_params["sid"])
    data = {
        "session_id": session.session_id,
        "task_id": session.task_id,
        "task_name": session.task_name,
        "user_id": user.user_id,
        "state": session.state,
    }
    return ok(data)


def routes() -> list[Route]:
    return [
        Route("/api/tasks/{user}/with-session/{app}", create, methods=["POST"]),
        Route("/api/state/nemo_agent/{user}/{sid}/latest", latest_state, methods=["GET"]),
    ]
