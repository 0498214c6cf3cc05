"""The shared core of the service: errors, projects, job views, waiting rules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.api import (
    NemoClient,
    NoCreditsError,
    ProjectState,
    SessionLostError,
)
from nemo_mcp.server.errors import describe, refuse
from nemo_mcp.server.jobs import Job, JobKind, JobManager, JobStatus, clamp_wait
from nemo_mcp.server.models import (
    EditResult,
    JobView,
    NewProjectResult,
    ProjectListResult,
    ProjectView,
)
from nemo_mcp.server.paths import has_control_chars
from nemo_mcp.server.projects import ProjectRecord, ProjectStore
from nemo_mcp.server.settings import ServerSettings

log = logging.getLogger(__name__)

Progress = Callable[[float, float | None, str], Awaitable[None]]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


class ServiceCore:
    def __init__(
        self,
        api: NemoClient,
        jobs: JobManager,
        projects: ProjectStore,
        settings: ServerSettings,
        web_url: str,
    ) -> None:
        self.api = api
        self.jobs = jobs
        self.projects = projects
        self.settings = settings
        self.web_url = web_url
        self._session_lock = anyio.Lock()

    @property
    def link_label(self) -> str:
        """How a browser link is introduced: the embedded backend serves a project page, not the editor."""
        if self.settings.backend == "local":
            return "Open the project page (embedded backend)"
        return "Open in the NemoVideo editor"

    def error(self, exc: BaseException) -> ToolError:
        tag, message = self.describe(exc)
        return ToolError(f"[{tag}] {message}")

    def describe(self, exc: BaseException) -> tuple[str, str]:
        if isinstance(exc, NoCreditsError) and not exc.register_url:
            anonymous = self._anonymous()
            user_id = exc.user_id or self._user_id()
            exc = exc.with_user(user_id, self.web_url, anonymous)
        return describe(exc, web_url=self.web_url, anonymous=self._anonymous())

    def _anonymous(self) -> bool:
        try:
            return bool(self.api.anonymous)
        except Exception:
            return True

    def _user_id(self) -> str | None:
        try:
            uid = self.api.user_id
        except Exception:
            uid = None
        if uid:
            return uid
        cur = self.projects.current()
        return cur.user_id if cur else None

    async def _create_project(self, title: str | None = None, hint: str | None = None) -> ProjectRecord:
        session = await self.api.create_session(text_hint=hint)
        rec = ProjectRecord(
            session_id=session.session_id,
            task_id=session.task_id,
            server=self.settings.server_key,
            title=(title or "project").strip()[:100] or "project",
            user_id=session.user_id,
        )
        self.projects.add(rec, make_current=True)
        return rec

    async def project(
        self, session_id: str | None, *, create: bool, hint: str | None = None, title: str | None = None
    ) -> ProjectRecord:
        """The project a call addresses: `session_id`, else the current one (created on demand)."""
        if session_id:
            sid = session_id.strip()
            if has_control_chars(sid) or any(c in sid for c in "/\\?#% "):
                raise refuse(
                    "invalid_argument",
                    "session_id has characters a project id never has; pass a session_id from list_projects "
                    "or omit it to use the current project.",
                )
            rec = self.projects.get(sid)
            if rec is not None:
                if rec.lost:
                    raise refuse(
                        "session_lost",
                        f"Project {sid} no longer exists on NemoVideo, so its timeline is gone. "
                        "Use the current project (omit session_id) or call new_project.",
                    )
                return rec
            # A session this server has not seen (another client, an older registry): adopt it if the
            # backend knows it.
            try:
                state = await self.api.get_state(sid)
            except SessionLostError:
                raise refuse(
                    "no_project",
                    f"NemoVideo does not know a project {sid}. Call list_projects to see the known ones, "
                    "or omit session_id to use the current project.",
                ) from None
            except Exception as exc:
                raise self.error(exc) from exc
            rec = ProjectRecord(
                session_id=sid,
                task_id=state.task_id or "",
                server=self.settings.server_key,
                user_id=state.user_id,
            )
            self.projects.add(rec, make_current=False)
            return rec
        async with self._session_lock:
            cur = self.projects.current()
            if cur is not None:
                return cur
            if not create:
                raise refuse(
                    "no_project",
                    "There is no project yet. Upload media with upload_media or describe the video to make "
                    "with edit_video; a project is created automatically.",
                )
            try:
                return await self._create_project(title=title, hint=hint)
            except Exception as exc:
                raise self.error(exc) from exc

    async def _session_lost(self, rec: ProjectRecord) -> ProjectRecord:
        """1002: mark the old project lost, create a new one and make it current."""
        self.projects.mark_lost(rec.session_id)
        async with self._session_lock:
            cur = self.projects.current()
            if cur is not None and cur.session_id != rec.session_id:
                return cur
            return await self._create_project(title=rec.title)

    def _lost_message(self, old: ProjectRecord, new: ProjectRecord) -> str:
        return (
            f"Project {old.session_id} no longer exists on NemoVideo, so its timeline is gone. "
            f"A new empty project {new.session_id} was created and is now current: upload or generate the "
            "media again, then repeat the instruction."
        )

    async def _raise_lost(self, rec: ProjectRecord) -> None:
        try:
            new = await self._session_lost(rec)
        except Exception as exc:
            raise self.error(exc) from exc
        raise refuse("session_lost", self._lost_message(rec, new))

    async def state(self, rec: ProjectRecord) -> ProjectState:
        try:
            st = await self.api.get_state(rec.session_id)
        except SessionLostError:
            await self._raise_lost(rec)
            raise AssertionError("unreachable") from None
        except Exception as exc:
            raise self.error(exc) from exc
        if st.user_id and not rec.user_id:
            rec.user_id = st.user_id
            await self.projects.touch_async(rec.session_id, user_id=st.user_id, read=True)
        return st

    async def new_project(self, title: str | None) -> NewProjectResult:
        running = [j for j in self.jobs.all() if not j.done and j.kind is JobKind.EDIT]
        try:
            rec = await self._create_project(title=title)
        except Exception as exc:
            raise self.error(exc) from exc
        link = await self._browser_link(rec)
        msg = f"New project {rec.session_id} ({rec.title}) is now current."
        if running:
            msg += " Edits still running on other projects continue there."
        return NewProjectResult(session_id=rec.session_id, title=rec.title, browser_link=link, message=msg)

    def list_projects(self) -> ProjectListResult:
        cur = self.projects.current_id()
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
            for r in self.projects.list()
        ]
        live = [v for v in views if not v.lost]
        msg = (
            f"{len(live)} project(s); current: {cur}."
            if cur
            else f"{len(live)} project(s); none is current (the next upload or edit creates one)."
        )
        return ProjectListResult(current_session_id=cur, projects=views, message=msg)

    async def _browser_link(self, rec: ProjectRecord) -> str | None:
        if not rec.task_id:
            return None
        try:
            return await self.api.browser_link(rec.task_id, rec.session_id)
        except Exception as exc:  # a missing link must not fail the call
            log.info("browser link unavailable: %s", describe(exc)[1])
            return None

    def job_view(self, job: Job) -> JobView:
        if job.done:
            nxt = ""
        elif job.kind is JobKind.EDIT:
            nxt = f"Call get_job(job_id='{job.id}') to keep waiting; do not resend the instruction."
        elif job.kind is JobKind.EXPORT:
            nxt = f"Call get_job(job_id='{job.id}') (or export_video again) to keep waiting for the render."
        else:
            nxt = f"Call get_job(job_id='{job.id}') to keep waiting for the upload."
        return JobView(
            job_id=job.id,
            kind=job.kind.value,
            status=job.status.value,
            session_id=job.session_id,
            description=job.description,
            elapsed_seconds=round(job.elapsed, 1),
            progress_percent=round(job.progress, 1) if job.progress is not None else None,
            message=job.message,
            next_step=nxt,
        )

    def _edit_running(self, job: Job) -> EditResult:
        view = self.job_view(job)
        stages = list(job.info.get("stages", []))
        return EditResult(
            session_id=job.session_id or "",
            routed_to="agent",
            status="running",
            stages=stages,
            job=view,
            message=(
                f"The NemoVideo agent is still working ({view.elapsed_seconds:.0f} s so far: {job.message}). "
                "Generation usually takes 2-5 minutes, edits 10-30 s. "
                "The instruction is being processed once; "
                "it must not be sent again."
            ),
            next_step=view.next_step,
        )

    def _wait(self, wait_seconds: float | None) -> float:
        return clamp_wait(self.settings.default_wait if wait_seconds is None else wait_seconds)

    def _job_outcome(self, job: Job) -> Any:
        if job.status is JobStatus.SUCCEEDED:
            return job.result
        if job.status is JobStatus.CANCELLED:
            raise refuse("cancelled", f"Job {job.id} ({job.description}) was cancelled.")
        raise ToolError(f"[{job.error_tag or 'internal'}] {job.error_message or 'the job failed.'}")
