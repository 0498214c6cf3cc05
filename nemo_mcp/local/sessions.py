"""Sessions (NemoVideo's projects): creating one with an empty project state, and finding the caller's."""

from __future__ import annotations

from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local import ids
from nemo_mcp.local.envelope import AUTH, SESSION, ApiError
from nemo_mcp.local.state import BackendState, Session, User


def create_session(state: BackendState, user: User, task_name: str, language: str | None) -> Session:
    project = {
        "draft": drafts.empty_draft(task_name),
        "video_infos": [],
        "canvas_config": {"width": 1920, "height": 1080, "aspect_ratio": "16:9"},
        "generated_media": [],
        "video_analyses": {},
    }
    session = Session(ids.session_id(), ids.task_id(), task_name, language, user, project)
    state.sessions[session.session_id] = session
    return session


def find_session(state: BackendState, user: User, user_segment: str | None, session_id: Any) -> Session:
    """The caller's session; the user segment may be `me`, the real user id, or absent."""
    if user_segment not in (None, "me", user.user_id):
        raise ApiError(AUTH, f"User '{user_segment}' does not match the token; use 'me'")
    session = state.sessions.get(str(session_id)) if session_id is not None else None
    if session is None or session.user is not user:
        raise ApiError(SESSION, f"Session not found: {session_id}")
    return session
