"""The project as an edit found it, kept in the edit's job record: a restarted server diffs the project's
state against it to say what the edit changed (workflows/restored.py). Only the draft and the media list
are kept (what `nemo_mcp.api.diff` compares), never the backend's raw answer."""

from __future__ import annotations

from typing import Any

from nemo_mcp.api import ProjectState, Timeline

__all__ = ["snapshot_of", "state_of"]


def snapshot_of(state: ProjectState) -> dict[str, Any]:
    return {"draft": state.draft, "video_infos": state.video_infos}


def state_of(session_id: str, snapshot: dict[str, Any]) -> ProjectState:
    draft = snapshot.get("draft") if isinstance(snapshot.get("draft"), dict) else None
    infos = snapshot.get("video_infos") if isinstance(snapshot.get("video_infos"), list) else None
    return ProjectState(
        session_id=session_id,
        draft=draft or {},
        timeline=Timeline.from_draft(draft or {}),
        video_infos=infos or [],
    )
