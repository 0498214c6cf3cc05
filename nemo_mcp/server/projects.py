"""Projects: the current project per server, persisted so a restart resumes it, plus a registry.

Backend A has no project-listing endpoint, so the registry is ours: the projects part of the state store
(`nemo_mcp.store`, `state.db` in the config folder: `$NEMO_CONFIG_DIR`, else `$XDG_CONFIG_HOME/nemovideo/`
or `~/.config/nemovideo/`), shared by every server process of the user; each change is one transaction,
so two servers creating projects at once lose none. Records are kept per server key (the API base URL, or
"local" for the embedded backend), and so is "current", so a cloud project and a local-test project never
mix. Older versions kept `projects.json`; the store imports it once.

Nothing secret is stored here (no token): session ids, task ids, titles, timestamps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from nemo_mcp.store import ProjectRecord, ProjectRecords

__all__ = ["MAX_PROJECTS", "TOUCH_DEBOUNCE_SECONDS", "ProjectRecord", "ProjectStore", "default_config_dir"]

MAX_PROJECTS = 200
# A read (get_timeline) records activity at most this often unless the summary changed.
TOUCH_DEBOUNCE_SECONDS = 60.0


def default_config_dir(env: dict[str, str] | None = None) -> Path:
    e = env if env is not None else os.environ
    override = e.get("NEMO_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    xdg = e.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "nemovideo"


class ProjectStore:
    """One server's view of the registry: its server key applied to every call.

    Records handed out are copies (changing one changes nothing stored). A read-only look at a project
    (`touch(..., read=True)`, e.g. get_timeline) writes only when something a user sees changed (the
    summary or user id) or the activity time is older than `TOUCH_DEBOUNCE_SECONDS`."""

    def __init__(self, records: ProjectRecords, server: str) -> None:
        self.records = records
        self.server = server

    async def current(self) -> ProjectRecord | None:
        """The current project, unless it was lost."""
        sid = await self.records.current(self.server)
        if not sid:
            return None
        rec = await self.records.get(self.server, sid)
        return rec if rec is not None and not rec.lost else None

    async def current_id(self) -> str | None:
        return await self.records.current(self.server)

    async def get(self, session_id: str) -> ProjectRecord | None:
        return await self.records.get(self.server, session_id)

    async def list(self) -> list[ProjectRecord]:
        """This server's projects, newest activity first."""
        return await self.records.recent(self.server)

    async def add(self, record: ProjectRecord, *, make_current: bool = True) -> None:
        await self.records.add(record, make_current=make_current, keep=MAX_PROJECTS)

    async def set_current(self, session_id: str) -> None:
        await self.records.set_current(self.server, session_id)

    async def touch(
        self, session_id: str, *, summary: str | None = None, user_id: str | None = None, read: bool = False
    ) -> None:
        """Record activity on a project (and its summary / user id). With `read=True` (the project was only
        looked at), write only when the summary or user id changed or the last write is older than
        `TOUCH_DEBOUNCE_SECONDS`."""
        if read:
            rec = await self.records.get(self.server, session_id)
            if rec is None:
                return
            changed = (summary is not None and rec.summary != summary) or (user_id and rec.user_id != user_id)
            if not changed and time.time() - rec.updated_at < TOUCH_DEBOUNCE_SECONDS:
                return
        await self.records.touch(self.server, session_id, summary=summary, user_id=user_id or None)

    # The name the workflows have used since touching was a file write done off the event loop.
    touch_async = touch

    async def mark_lost(self, session_id: str) -> None:
        await self.records.mark_lost(self.server, session_id)
