"""Projects: which project a call addresses, creating one on demand, lost sessions, browser links.

A "project" is a backend session (task id + session id) recorded in the local registry, since backend A
has no project-listing endpoint. Each server keeps a current project; a lost session (1002) is marked
lost and replaced by a new current project.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import NoReturn

import anyio

from nemo_mcp.api import NemoClient, ProjectState, SessionLostError
from nemo_mcp.server.failures import ToolFailure, as_failure, invalid_argument
from nemo_mcp.server.jobs import EditJob, JobManager
from nemo_mcp.server.media_policy import has_control_chars
from nemo_mcp.server.models import NewProjectResult, ProjectListResult, ProjectView
from nemo_mcp.server.projects import ProjectRecord, ProjectStore
from nemo_mcp.server.settings import ServerSettings

log = logging.getLogger(__name__)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


class Projects:
    def __init__(
        self, api: NemoClient, store: ProjectStore, jobs: JobManager, settings: ServerSettings
    ) -> None:
        self.api = api
        self.store = store
        self.jobs = jobs
        self.settings = settings
        self._session_lock = anyio.Lock()

    async def create(self, title: str | None = None, hint: str | None = None) -> ProjectRecord:
        session = await self.api.create_session(text_hint=hint)
        rec = ProjectRecord(
            session_id=session.session_id,
            task_id=session.task_id,
            server=self.settings.server_key,
            title=(title or "project").strip()[:100] or "project",
            user_id=session.user_id,
        )
        await self.store.add(rec, make_current=True)
        return rec

    async def resolve(
        self, session_id: str | None, *, create: bool, hint: str | None = None, title: str | None = None
    ) -> ProjectRecord:
        """The project a call addresses: `session_id`, else the current one (created on demand)."""
        if session_id:
            return await self._named(session_id.strip())
        async with self._session_lock:
            cur = await self.store.current()
            if cur is not None:
                return cur
            if not create:
                raise ToolFailure(
                    "no_project",
                    "There is no project yet. Upload media with upload_media or describe the video to make "
                    "with edit_video; a project is created automatically.",
                )
            return await self.create(title=title, hint=hint)

    async def _named(self, sid: str) -> ProjectRecord:
        if has_control_chars(sid) or any(c in sid for c in "/\\?#% "):
            raise invalid_argument(
                "session_id has characters a project id never has; pass a session_id from list_projects "
                "or omit it to use the current project."
            )
        rec = await self.store.get(sid)
        if rec is not None:
            if rec.lost:
                raise ToolFailure(
                    "session_lost",
                    f"Project {sid} no longer exists on NemoVideo, so its timeline is gone. "
                    "Use the current project (omit session_id) or call new_project.",
                )
            return rec
        # A session this server has not seen (another client, an older registry): adopt it if the backend
        # knows it.
        try:
            state = await self.api.get_state(sid)
        except SessionLostError:
            raise ToolFailure(
                "no_project",
                f"NemoVideo does not know a project {sid}. Call list_projects to see the known ones, "
                "or omit session_id to use the current project.",
            ) from None
        rec = ProjectRecord(
            session_id=sid,
            task_id=state.task_id or "",
            server=self.settings.server_key,
            user_id=state.user_id,
        )
        await self.store.add(rec, make_current=False)
        return rec

    async def replace_lost(self, rec: ProjectRecord) -> ProjectRecord:
        """1002: mark the old project lost, create a new one and make it current."""
        await self.store.mark_lost(rec.session_id)
        async with self._session_lock:
            cur = await self.store.current()
            if cur is not None and cur.session_id != rec.session_id:
                return cur
            return await self.create(title=rec.title)

    async def raise_lost(self, rec: ProjectRecord) -> NoReturn:
        """Replace a lost project and say so: its timeline is gone, the new one is current."""
        new = await self.replace_lost(rec)
        raise ToolFailure(
            "session_lost",
            f"Project {rec.session_id} no longer exists on NemoVideo, so its timeline is gone. "
            f"A new empty project {new.session_id} was created and is now current: upload or generate the "
            "media again, then repeat the instruction.",
        )

    async def state(self, rec: ProjectRecord) -> ProjectState:
        try:
            st = await self.api.get_state(rec.session_id)
        except SessionLostError:
            await self.raise_lost(rec)
        if st.user_id and not rec.user_id:
            rec.user_id = st.user_id
            await self.store.touch_async(rec.session_id, user_id=st.user_id, read=True)
        return st

    async def browser_link(self, rec: ProjectRecord) -> str | None:
        if not rec.task_id:
            return None
        try:
            return await self.api.browser_link(rec.task_id, rec.session_id)
        except Exception as exc:  # a missing link must not fail the call
            log.info("browser link unavailable: %s", as_failure(exc).text)
            return None

    async def new_project(self, title: str | None) -> NewProjectResult:
        running = [j for j in self.jobs.all() if isinstance(j, EditJob) and not j.done]
        rec = await self.create(title=title)
        notes = ["Edits still running on other projects continue there."] if running else []
        return NewProjectResult(
            session_id=rec.session_id,
            title=rec.title,
            browser_link=await self.browser_link(rec),
            link_label=self.settings.link_label,
            notes=notes,
        )

    async def list_projects(self) -> ProjectListResult:
        cur = await self.store.current_id()
        views = [
            ProjectView(
                session_id=r.session_id,
                title=r.title,
                current=r.session_id == cur and not r.lost,
                created_at=_iso(r.created_at),
                updated_at=_iso(r.updated_at),
                summary=r.summary,
                lost=r.lost,
            )
            for r in await self.store.list()
        ]
        return ProjectListResult(current_session_id=cur, projects=views)
