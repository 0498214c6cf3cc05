"""What the tools do, independent of MCP plumbing: projects, routing, turns, renders, uploads, credits.

One `NemoService` per server lifespan. It owns the `NemoClient`, the `JobManager` and the `ProjectStore`.
Tools call it with a `progress` callback (the request's `ctx.report_progress`) and get result models back;
every failure leaves as a `ToolError` built in `errors.py`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.api import (
    ApiConfig,
    Credits,
    HeartbeatEvent,
    NemoClient,
    NemoError,
    NoCreditsError,
    ProjectState,
    RenderFailedError,
    RenderStatus,
    SessionLostError,
    StreamErrorEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    TurnEnded,
    UploadedFile,
    diff,
)
from nemo_mcp.api.timeline import Timeline, format_seconds
from nemo_mcp.server.errors import TaggedError, describe, refuse
from nemo_mcp.server.jobs import Job, JobKind, JobManager, JobStatus, clamp_wait
from nemo_mcp.server.models import (
    CancelResult,
    CreditsResult,
    EditResult,
    ExportResult,
    JobResult,
    JobView,
    MediaInfo,
    NewProjectResult,
    ProjectListResult,
    ProjectView,
    SegmentView,
    TimelineResult,
    TrackView,
    UploadResult,
)
from nemo_mcp.server.paths import (
    PathRuleError,
    Source,
    check_source,
    is_url,
    resolve_download_dir,
    safe_filename,
    unique_path,
)
from nemo_mcp.server.projects import ProjectRecord, ProjectStore
from nemo_mcp.server.routing import Intent, route
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.translate import ACTION_NOTES, GuiAction, translate

log = logging.getLogger(__name__)

Progress = Callable[[float, float | None, str], Awaitable[None]]


async def _no_progress(progress: float, total: float | None, message: str) -> None:
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _tool_label(name: str) -> str:
    """Tool-aware progress labels (never the tool call itself)."""
    n = name.lower()
    if "generate_video" in n or "seedance" in n:
        return "generating video (usually 2-5 min)"
    if any(k in n for k in ("music", "audio", "voice", "suno")):
        return "generating audio (usually 1-2 min)"
    if any(k in n for k in ("understand", "analy", "metadata", "summary")):
        return "analysing media"
    if any(k in n for k in ("edit", "draft", "multitrack", "trim", "title")):
        return "editing the timeline"
    return "working"


class NemoService:
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

    # ------------------------------------------------------------------------------------------------
    # errors

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

    # ------------------------------------------------------------------------------------------------
    # projects

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
            self.projects.touch(rec.session_id, user_id=st.user_id)
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

    # ------------------------------------------------------------------------------------------------
    # views

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

    def timeline_view(self, st: ProjectState, *, session_id: str) -> TimelineResult:
        tl = st.timeline
        tracks = [
            TrackView(
                index=tr.index,
                type=tr.kind,
                label=tr.label,
                segments=[
                    SegmentView(
                        name=seg.display_name(tr.kind),
                        start_seconds=round(seg.start_ms / 1000, 3) if seg.start_ms is not None else None,
                        end_seconds=round(seg.end_ms / 1000, 3) if seg.end_ms is not None else None,
                        text=seg.text,
                        volume_percent=seg.volume,
                    )
                    for seg in tr.segments
                ],
            )
            for tr in tl.tracks
        ]
        ready = st.export_ready
        if ready:
            readiness = "Ready to export: call export_video."
        elif st.has_media:
            readiness = (
                "Media is uploaded but the timeline has no clips yet: ask edit_video to put it on the "
                "timeline (e.g. 'use the uploaded clip'), then export."
            )
        else:
            readiness = "Nothing to export yet: upload media (upload_media) or generate a video (edit_video)."
        running = [self.job_view(j) for j in self.jobs.all() if j.session_id == session_id and not j.done]
        summary = st.summary_line()
        msg = summary + "\n" + readiness
        for j in running:
            msg += f"\nStill running: {j.kind} job {j.job_id} ({j.elapsed_seconds:.0f} s, {j.message})."
        return TimelineResult(
            session_id=session_id,
            title=tl.title,
            summary=summary,
            tracks=tracks,
            duration_seconds=round(tl.duration_ms / 1000, 3) if tl.duration_ms is not None else None,
            resolution=tl.resolution,
            media_count=len(st.video_infos),
            export_ready=ready,
            readiness=readiness,
            running=running,
            message=msg,
        )

    # ------------------------------------------------------------------------------------------------
    # timeline / credits

    async def get_timeline(self, session_id: str | None) -> TimelineResult:
        if not session_id and self.projects.current() is None:
            # Not an error: there is simply nothing yet (and hosts/CI probing the tool get a clean answer).
            readiness = "Nothing to export yet: upload media (upload_media) or generate a video (edit_video)."
            return TimelineResult(
                session_id="",
                summary="No project yet.",
                readiness=readiness,
                message="No project yet: upload_media or edit_video creates one. " + readiness,
            )
        rec = await self.project(session_id, create=False)
        st = await self.state(rec)
        view = self.timeline_view(st, session_id=rec.session_id)
        self.projects.touch(rec.session_id, summary=view.summary)
        return view

    async def check_credits(self) -> CreditsResult:
        try:
            credits: Credits = await self.api.get_credits()
        except Exception as exc:
            raise self.error(exc) from exc
        anonymous = self._anonymous()
        low = credits.available <= self.settings.low_credits
        register_url: str | None = None
        if anonymous:
            try:
                register_url = self.api.register_url()
            except Exception:
                uid = self._user_id()
                register_url = f"{self.web_url.rstrip('/')}/register" + (f"?bind={uid}" if uid else "")
        if low and anonymous:
            advice = (
                f"Free anonymous credits are low. An edit costs about 50 and a generation about 100; export "
                f"is free. Register at {register_url} to keep this work and get more credits."
            )
        elif low:
            advice = "Credits are low. Top up credits in your nemovideo.com account."
        elif anonymous:
            advice = (
                f"Using a free anonymous token. Register at {register_url} to keep your projects and get "
                "more "
                "credits."
            )
        else:
            advice = ""
        msg = (
            f"Credits: {credits.available:g} available, {credits.frozen:g} frozen (in use), "
            f"{credits.total:g} total."
        )
        if advice:
            msg += " " + advice
        return CreditsResult(
            available=credits.available,
            frozen=credits.frozen,
            total=credits.total,
            low=low,
            anonymous=anonymous,
            register_url=register_url if anonymous else None,
            advice=advice,
            message=msg,
        )

    # ------------------------------------------------------------------------------------------------
    # uploads

    def preflight(self, sources: list[str]) -> list[Source]:
        if not sources:
            raise refuse("no_media", "No files given. Pass local file paths or http(s) URLs in sources.")
        checked: list[Source] = []
        errors: list[str] = []
        tags: list[str] = []
        for raw in sources:
            if not self.settings.allow_local_paths and not is_url(raw.strip()):
                errors.append(
                    f"{Path(raw).name or raw}: local paths are disabled on this network-facing server. "
                    "Give a public http(s) URL, or restart it with NEMO_MEDIA_DIRS set to the folders "
                    "it may read."
                )
                tags.append("path_not_allowed")
                continue
            try:
                checked.append(
                    check_source(
                        raw,
                        media_dirs=self.settings.media_dirs or None,
                        max_bytes=self.settings.max_upload_bytes,
                    )
                )
            except PathRuleError as exc:
                errors.append(exc.message)
                tags.append(exc.tag)
        if errors:
            raise refuse(tags[0], " ".join(errors) + " Nothing was uploaded.")
        return checked

    async def _do_upload(
        self, rec: ProjectRecord, checked: list[Source], job: Job | None
    ) -> tuple[ProjectRecord, list[MediaInfo], list[str]]:
        """Upload to `rec`; on a lost session, move to a new project and upload there."""
        notes: list[str] = []
        for attempt in range(2):
            try:
                infos = await self._upload_once(rec, checked, job)
                return rec, infos, notes
            except SessionLostError:
                if attempt:
                    raise
                new = await self._session_lost(rec)
                notes.append(
                    f"Project {rec.session_id} no longer existed on NemoVideo (its timeline is gone); "
                    "the files "
                    f"went to a new project {new.session_id}, which is now current."
                )
                rec = new
        raise AssertionError("unreachable")

    async def _upload_once(
        self, rec: ProjectRecord, checked: list[Source], job: Job | None
    ) -> list[MediaInfo]:
        files = [s for s in checked if s.kind == "file"]
        urls = [s for s in checked if s.kind == "url"]
        total = sum(s.size or 0 for s in files)
        out: list[MediaInfo] = []

        def on_bytes(sent: int, total_bytes: int) -> None:
            if job is not None:
                t = total_bytes or total or 1
                job.update(
                    min(99.0, 100.0 * sent / t), f"uploading {sent / 1048576:.1f} of {t / 1048576:.1f} MB"
                )

        uploaded: list[UploadedFile] = []
        if files:
            if job is not None:
                job.update(0.0, f"uploading {len(files)} file(s)")
            uploaded += await self.api.upload_files(
                rec.session_id, [s.value for s in files], progress=on_bytes
            )
        if urls:
            if job is not None:
                job.update(message=f"importing {len(urls)} URL(s)")
            uploaded += await self.api.import_urls(rec.session_id, [s.value for s in urls])
        given = files + urls
        for i, uf in enumerate(uploaded):
            src = given[i].value if i < len(given) else ""
            out.append(
                MediaInfo(
                    name=uf.filename,
                    type=uf.file_type or (given[i].media_type if i < len(given) else None),
                    duration_seconds=round(uf.duration, 3) if uf.duration is not None else None,
                    resolution=f"{uf.width}x{uf.height}" if uf.width and uf.height else None,
                    source=src,
                    url=uf.cdn_url,
                )
            )
        self.projects.touch(rec.session_id)
        return out

    @staticmethod
    def _media_line(m: MediaInfo) -> str:
        bits = [
            b
            for b in (m.type, f"{m.duration_seconds:g} s" if m.duration_seconds else None, m.resolution)
            if b
        ]
        return f"{m.name} ({', '.join(bits)})" if bits else m.name

    def _upload_result(self, rec: ProjectRecord, infos: list[MediaInfo], notes: list[str]) -> UploadResult:
        lines = ", ".join(self._media_line(m) for m in infos) or "nothing"
        msg = f"Uploaded to project {rec.session_id}: {lines}."
        if notes:
            msg += " " + " ".join(notes)
        return UploadResult(
            session_id=rec.session_id,
            status="done",
            files=infos,
            message=msg,
            next_step="Describe the edit with edit_video (e.g. 'trim to 10 s and add a title').",
        )

    async def upload_media(
        self, sources: list[str], session_id: str | None, wait_seconds: float | None, progress: Progress
    ) -> UploadResult:
        checked = self.preflight(sources)
        rec = await self.project(session_id, create=True, hint="upload", title=Path(checked[0].name).stem)

        async def work(job: Job) -> UploadResult:
            new_rec, infos, notes = await self._do_upload(rec, checked, job)
            return self._upload_result(new_rec, infos, notes)

        names = ", ".join(s.name for s in checked)
        job = self.jobs.start(JobKind.UPLOAD, rec.session_id, f"upload {names}", work)
        return await self._await_upload(job, wait_seconds, progress)

    async def _await_upload(self, job: Job, wait_seconds: float | None, progress: Progress) -> UploadResult:
        done = await self.jobs.wait(job, self._wait(wait_seconds), progress)
        if done:
            result = self._job_outcome(job)
            assert isinstance(result, UploadResult)
            return result
        view = self.job_view(job)
        return UploadResult(
            session_id=job.session_id or "",
            status="running",
            job=view,
            message=f"Upload still running after {view.elapsed_seconds:.0f} s ({job.message}).",
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

    # ------------------------------------------------------------------------------------------------
    # agent turns

    async def _turn(self, job: Job, rec: ProjectRecord, text: str) -> EditResult:
        sid = rec.session_id
        job.update(message="sending the instruction to the NemoVideo agent")
        before = await self.state(rec)
        last = before
        stages: list[str] = []
        end: TurnEnded | None = None
        pending: list[str] = []  # tool calls still waiting for their result
        async for ev in self.api.stream_turn(sid, text):
            if isinstance(ev, TurnEnded):
                end = ev
                break
            if isinstance(ev, TextEvent):
                if not ev.noise:
                    job.update(message="the agent is replying")
            elif isinstance(ev, ToolCallEvent):
                pending.append(ev.call_id or ev.name)
                job.update(message=_tool_label(ev.name))
            elif isinstance(ev, ToolResultEvent):
                key = ev.call_id or ev.name
                if key in pending:
                    pending.remove(key)
                elif ev.name in pending:
                    pending.remove(ev.name)
                # Two-stage generation: report what landed as each stage finishes.
                try:
                    now = await self.api.get_state(sid)
                except NemoError as exc:
                    log.info("state check after a tool result failed: %s", exc.tag)
                    continue
                landed = diff(last, now)
                if landed:
                    stage = f"Stage {len(stages) + 1}: " + "; ".join(c.sentence for c in landed)
                    stages.append(stage)
                    job.info.setdefault("stages", []).append(stage)
                    job.update(message=("landed: " + "; ".join(c.sentence for c in landed))[:200])
                    last = now
            elif isinstance(ev, HeartbeatEvent):
                job.update(
                    message=job.message if "still working" in job.message else f"{job.message}; still working"
                )
            elif isinstance(ev, StreamErrorEvent):
                job.update(message="the agent reported a problem")
        if end is None:  # the iterator ended without its final event: treat as a drop
            end = TurnEnded(reason="interrupted", accepted=True)

        if end.reason == "error":
            err = end.error
            if isinstance(err, SessionLostError):
                await self._raise_lost(rec)
            if err is not None:
                if end.accepted:
                    # Say what landed before the failure (the message was not re-sent).
                    try:
                        applied = [c.sentence for c in diff(before, await self.api.get_state(sid))]
                    except NemoError:
                        applied = []
                    if applied:
                        tag, message = self.describe(err)
                        raise TaggedError(tag, f"{message} Applied before the error: {'; '.join(applied)}.")
                raise err
            raise TaggedError("server_error", end.message or "The NemoVideo agent failed. Try again.")

        notes: list[str] = []
        # ADK has no done event, so a dropped connection can look like a clean close. A close while a tool
        # call still waits for its result, with no text after it, is treated as a drop (skill §3.6).
        dangling = end.reason == "closed" and bool(pending) and not end.texts
        if end.reason in ("interrupted", "idle_timeout") or dangling:
            after, recovered = await self._recover(job, rec, last)
            if not recovered:
                raise TaggedError(
                    "stream_interrupted",
                    "The connection to the NemoVideo agent dropped and the project did not change while we "
                    "checked for a few minutes. The instruction was NOT re-sent (that could charge twice). "
                    "Check get_timeline later, or send the instruction again if nothing happened.",
                )
            notes.append(
                "The connection dropped before the reply finished; the instruction was not re-sent. "
                "The project state shows the edit was applied."
            )
        else:
            after = await self.state(rec)
            if end.silent and not diff(before, after):
                after = await self._settle(rec, before, after)

        changes = [c.sentence for c in diff(before, after)]
        texts = [t for t in end.texts if t.strip()]
        tr = translate("\n\n".join(texts)) if texts else None
        reply = tr.text if tr else ""
        if tr:
            for action in tr.actions:
                notes.append(ACTION_NOTES[action])
        summary = after.summary_line()
        if not reply and not changes:
            # Never silence.
            reply = (
                "The agent finished without a reply and the timeline did not change. "
                "Rephrase the instruction more concretely "
                "(e.g. 'add the title \"Hello\" at the top for 3 s')."
            )
        elif not reply:
            reply = "Done. " + "; ".join(changes) + "."
        if end.stream_errors and not changes:
            notes.append("The agent reported a problem: " + "; ".join(e[:160] for e in end.stream_errors[:2]))
        self.projects.touch(sid, summary=summary)
        return EditResult(
            session_id=sid,
            routed_to="agent",
            status="done",
            reply=reply,
            changes=changes,
            stages=stages if len(stages) > 1 else [],
            timeline_summary=summary,
            notes=notes,
            message="",
            next_step=(
                "Refine with another edit_video instruction, or call export_video to render the MP4."
                if after.export_ready
                else "Continue with edit_video (e.g. generate or add media) before exporting."
            ),
        )

    async def _settle(self, rec: ProjectRecord, before: ProjectState, after: ProjectState) -> ProjectState:
        """A silent turn whose state did not change yet: re-check briefly (the state may lag the stream)."""
        for delay in (0.5, 1.0, 2.0):
            await anyio.sleep(delay)
            try:
                now = await self.api.get_state(rec.session_id)
            except Exception:
                break
            if diff(before, now):
                return now
        return after

    async def _recover(self, job: Job, rec: ProjectRecord, last: ProjectState) -> tuple[ProjectState, bool]:
        """Skill §3.6: never re-send; check the state until it changes, bounded."""
        intervals = self.settings.recovery_intervals
        current = last
        for i, delay in enumerate(intervals, start=1):
            job.update(message=f"connection dropped; checking the project state ({i}/{len(intervals)})")
            await anyio.sleep(delay)
            try:
                current = await self.api.get_state(rec.session_id)
            except SessionLostError:
                await self._raise_lost(rec)
            except NemoError:
                continue
            if diff(last, current):
                # Give a two-stage generation a moment to finish its second stage.
                return current, True
        return current, False

    # ------------------------------------------------------------------------------------------------
    # edit_video

    async def edit_video(
        self, instruction: str, session_id: str | None, wait_seconds: float | None, progress: Progress
    ) -> EditResult:
        r = route(instruction)
        wait = self._wait(wait_seconds)
        started = time.monotonic()

        if r.intent is Intent.CREDITS:
            credits = await self.check_credits()
            rec = self.projects.current()
            return EditResult(
                session_id=rec.session_id if rec else "",
                routed_to="credits",
                credits=credits,
                message=credits.message,
            )
        if r.intent is Intent.STATE:
            tl = await self.get_timeline(session_id)
            return EditResult(
                session_id=tl.session_id,
                routed_to="state",
                timeline=tl,
                timeline_summary=tl.summary,
                message=tl.message,
            )
        if r.intent is Intent.EXPORT:
            ex = await self.export_video(session_id, None, wait, None, False, progress)
            return self._edit_from_export(ex)
        if r.intent is Intent.UPLOAD and not r.sources:
            raise refuse(
                "no_media",
                "No file path or URL found in the instruction. Call upload_media with sources=[...] "
                "(local paths or http(s) URLs), or put the path in the instruction.",
            )

        # Preflight before anything is created or sent: errors name the file and the rule.
        checked_up = self.preflight(r.sources) if r.intent is Intent.UPLOAD else []
        first = Path(r.sources[0]).stem if r.sources else None
        rec = await self.project(session_id, create=True, hint=instruction[:200], title=first)
        self._refuse_if_turn_running(rec)

        if r.intent is Intent.UPLOAD and r.then is not Intent.AGENT:
            checked = checked_up

            async def upload_work(job: Job) -> UploadResult:
                new_rec, infos, notes = await self._do_upload(rec, checked, job)
                return self._upload_result(new_rec, infos, notes)

            names = ", ".join(s.name for s in checked)
            ujob = self.jobs.start(JobKind.UPLOAD, rec.session_id, f"upload {names}", upload_work)
            up = await self._await_upload(ujob, wait, progress)
            result = EditResult(
                session_id=up.session_id, routed_to="upload", upload=up, status=up.status, message=up.message
            )
            if up.status == "running":
                result.job = up.job
                result.next_step = up.next_step
                if r.then is not None:
                    result.notes.append(f"After the upload finishes, ask again: {r.rest!r}.")
                return result
            remaining = max(0.0, wait - (time.monotonic() - started))
            if r.then is Intent.EXPORT:
                result.export = await self.export_video(up.session_id, None, remaining, None, False, progress)
                result.message += " " + result.export.message
                result.status = "running" if result.export.status == "running" else "done"
                result.next_step = result.export.next_step
            elif r.then is Intent.CREDITS:
                result.credits = await self.check_credits()
            elif r.then is Intent.STATE:
                result.timeline = await self.get_timeline(up.session_id)
            else:
                result.next_step = up.next_step
            return result

        # AGENT (possibly after an upload in the same job).
        text = r.rest or instruction.strip()

        async def work(job: Job) -> EditResult:
            upload: UploadResult | None = None
            target = rec
            if checked_up:
                new_rec, infos, notes = await self._do_upload(rec, checked_up, job)
                upload = self._upload_result(new_rec, infos, notes)
                target = new_rec
                job.session_id = target.session_id
            try:
                res = await self._turn(job, target, text)
            except SessionLostError:
                await self._raise_lost(target)
                raise
            res.upload = upload
            if r.then_export:
                res.notes.append(
                    "You also asked for an export: call export_video to render and download the MP4."
                )
                if res.next_step.startswith("Refine"):
                    res.next_step = "Call export_video to render the MP4 (you asked for an export)."
            return res

        desc = f"edit: {text[:120]}"
        job = self.jobs.start(JobKind.EDIT, rec.session_id, desc, work, info={"instruction": text})
        job.update(message="starting")
        done = await self.jobs.wait(job, max(0.0, wait - (time.monotonic() - started)), progress)
        if done:
            result = self._job_outcome(job)
            assert isinstance(result, EditResult)
            result.job = None
            return result
        return self._edit_running(job)

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

    def _refuse_if_turn_running(self, rec: ProjectRecord) -> None:
        running = self.jobs.running(rec.session_id, JobKind.EDIT)
        if running is not None:
            instr = str(running.info.get("instruction", running.description))[:120]
            raise refuse(
                "turn_running",
                f"An edit is still running on project {rec.session_id} (job {running.id}, "
                f"{running.elapsed:.0f} s so far): {instr!r}. It is never re-sent. Wait for it with "
                f"get_job(job_id='{running.id}') before sending another instruction to this project.",
            )

    def _edit_from_export(self, ex: ExportResult) -> EditResult:
        return EditResult(
            session_id=ex.session_id,
            routed_to="export",
            status="running" if ex.status == "running" else "done",
            export=ex,
            job=ex.job,
            message=ex.message,
            next_step=ex.next_step,
        )

    # ------------------------------------------------------------------------------------------------
    # export

    async def export_video(
        self,
        session_id: str | None,
        render_id: str | None,
        wait_seconds: float | None,
        download_dir: str | None,
        download: bool,
        progress: Progress,
    ) -> ExportResult:
        want_download = download or download_dir is not None
        target_dir: Path | None = None
        if want_download:
            try:
                target_dir = resolve_download_dir(download_dir, self.settings.download_root)
            except PathRuleError as exc:
                raise refuse(exc.tag, exc.message) from None

        job: Job | None = None
        if render_id:
            rid = render_id.strip()
            job = next(
                (
                    j
                    for j in reversed(self.jobs.all())
                    if j.kind is JobKind.EXPORT and j.info.get("render_id") == rid
                ),
                None,
            )
            if job is None or job.status is JobStatus.FAILED:
                rec = await self.project(session_id, create=False)
                job = self._start_render_job(rec, rid, None, target_dir)
        else:
            rec = await self.project(session_id, create=False)
            job = self.jobs.running(rec.session_id, JobKind.EXPORT)
            if job is None:
                self._refuse_export_while_editing(rec)
                st = await self.state(rec)
                if not st.export_ready:
                    what = (
                        "the uploaded media is not on the timeline yet: ask edit_video to use it"
                        if st.has_media
                        else "upload media (upload_media) or generate a video (edit_video)"
                    )
                    raise refuse(
                        "not_exportable",
                        f"The timeline of project {rec.session_id} is empty, so there is nothing to export. "
                        f"First {what}, then call export_video again.",
                    )
                job = self._start_render_job(rec, None, st.draft, target_dir)
        if target_dir is not None and job.info.get("download_dir") is None:
            job.info["download_dir"] = str(target_dir)

        done = await self.jobs.wait(job, self._wait(wait_seconds), progress)
        if done:
            result = self._job_outcome(job)
            assert isinstance(result, ExportResult)
            if target_dir is not None and result.downloaded_to is None and result.url:
                result = await self._download(job, result, target_dir, progress)
            return result
        view = self.job_view(job)
        rid_now = job.info.get("render_id")
        pct = f"{job.progress:.0f}%" if job.progress is not None else "queued"
        return ExportResult(
            session_id=job.session_id or "",
            status="running",
            render_id=rid_now,
            progress_percent=view.progress_percent,
            job=view,
            message=f"Rendering: {pct} after {view.elapsed_seconds:.0f} s (renders take about 30-90 s).",
            next_step=view.next_step,
        )

    def _refuse_export_while_editing(self, rec: ProjectRecord) -> None:
        running = self.jobs.running(rec.session_id, JobKind.EDIT)
        if running is not None:
            raise refuse(
                "turn_running",
                f"An edit is still running on project {rec.session_id} (job {running.id}); "
                "exporting now would "
                f"miss it. Wait with get_job(job_id='{running.id}'), then call export_video.",
            )

    def _start_render_job(
        self, rec: ProjectRecord, render_id: str | None, draft: dict[str, Any] | None, target_dir: Path | None
    ) -> Job:
        info: dict[str, Any] = {}
        if render_id:
            info["render_id"] = render_id
        if target_dir is not None:
            info["download_dir"] = str(target_dir)

        async def work(job: Job) -> ExportResult:
            job.update(0.0, "submitting the render")
            rid = render_id
            if rid is None:
                assert draft is not None
                try:
                    rj = await self.api.submit_render(rec.session_id, draft)
                except SessionLostError:
                    await self._raise_lost(rec)
                    raise
                rid = rj.id
                job.info["render_id"] = rid
                job.update(rj.progress or 0.0, f"render {rid} {rj.status}")
            final: RenderStatus | None = None
            async for st in self.api.poll_render(rid):
                final = st
                job.update(
                    st.progress if st.progress is not None else job.progress, f"rendering ({st.status})"
                )
            if final is None or not final.succeeded:
                reason = final.error if final and final.error else (final.status if final else "no status")
                raise RenderFailedError(
                    f"The render {rid} ended without a video ({reason}). Call export_video again to retry.",
                    render_id=rid,
                )
            link = await self._browser_link(rec)
            result = ExportResult(
                session_id=rec.session_id,
                status="completed",
                render_id=rid,
                progress_percent=100.0,
                url=final.output_url,
                browser_link=link,
                size_bytes=final.size,
                message=f"Export finished: {final.output_url}",
                next_step="Open the URL to download the MP4, or call "
                "export_video(render_id=..., download_dir=...) "
                "to save it locally.",
            )
            dl = job.info.get("download_dir")
            if dl:
                result = await self._download(job, result, Path(dl), None)
            if link:
                result.message += f"\nOpen in the NemoVideo editor: {link}"
            return result

        return self.jobs.start(JobKind.EXPORT, rec.session_id, "export (render)", work, info=info)

    async def _download(
        self, job: Job, result: ExportResult, folder: Path, progress: Progress | None
    ) -> ExportResult:
        rec = self.projects.get(result.session_id)
        stem = (rec.title if rec and rec.title != "project" else f"nemo_{result.session_id}") or "video"
        dest = unique_path(folder, safe_filename(stem))

        def on_bytes(got: int, total: int) -> None:
            if total:
                job.update(message=f"downloading {got / 1048576:.1f} of {total / 1048576:.1f} MB")

        assert result.render_id is not None
        try:
            path = await self.api.download_render(
                result.render_id,
                dest,
                output_url=result.url,
                expected_size=result.size_bytes,
                progress=on_bytes,
            )
        except Exception as exc:
            raise self.error(exc) from exc
        result.downloaded_to = str(path)
        with contextlib.suppress(OSError):
            result.size_bytes = (await anyio.Path(path).stat()).st_size
        result.message += f"\nSaved to {path}"
        result.next_step = "Done. Refine with edit_video and export again if needed."
        return result

    # ------------------------------------------------------------------------------------------------
    # jobs

    async def get_job(self, job_id: str, wait_seconds: float | None, progress: Progress) -> JobResult:
        try:
            job = self.jobs.get(job_id)
        except KeyError:
            raise refuse(
                "unknown_job",
                f"No job {job_id!r} on this server (handles last one hour and do not survive a restart). "
                "Call get_timeline to see the project's current state.",
            ) from None
        done = await self.jobs.wait(job, self._wait(wait_seconds), progress)
        view = self.job_view(job)
        if not done:
            res = JobResult(
                job=view, message=f"Still running after {view.elapsed_seconds:.0f} s: {job.message}."
            )
            if job.kind is JobKind.EDIT:
                res.edit = self._edit_running(job)
            return res
        outcome = self._job_outcome(job)
        res = JobResult(job=view, message=getattr(outcome, "message", "") or f"Job {job.id} finished.")
        if isinstance(outcome, EditResult):
            res.edit = outcome
            res.message = outcome.reply or outcome.message
        elif isinstance(outcome, ExportResult):
            res.export = outcome
        elif isinstance(outcome, UploadResult):
            res.upload = outcome
        return res

    async def cancel_job(self, job_id: str) -> CancelResult:
        try:
            job = self.jobs.get(job_id)
        except KeyError:
            raise refuse("unknown_job", f"No job {job_id!r} on this server.") from None
        kind: Any = job.kind.value
        if job.done:
            return CancelResult(
                job_id=job.id,
                kind=kind,
                status=job.status.value,
                backend_cancelled=False,
                message=f"Job {job.id} already ended ({job.status.value}); nothing to cancel.",
            )
        if job.kind is JobKind.EDIT:
            return CancelResult(
                job_id=job.id,
                kind=kind,
                status=job.status.value,
                backend_cancelled=False,
                message=(
                    "Stopped waiting. The NemoVideo agent cannot be interrupted: it keeps working on this "
                    "instruction and the credits are charged. Its changes will show in get_timeline; the "
                    f"instruction is not re-sent. (get_job(job_id='{job.id}') still reports the outcome.)"
                ),
            )
        backend = False
        if job.kind is JobKind.EXPORT:
            rid = job.info.get("render_id")
            if rid:
                try:
                    await self.api.cancel_render(rid)
                    backend = True
                except Exception as exc:
                    log.info("render cancel failed: %s", describe(exc)[1])
        self.jobs.cancel(job)
        with anyio.move_on_after(5):
            await job.wait_done()
        what = "The render was cancelled on the backend." if backend else "Stopped."
        if job.kind is JobKind.UPLOAD:
            what = "The upload was stopped; files not fully sent are discarded."
        return CancelResult(
            job_id=job.id,
            kind=kind,
            status=job.status.value,
            backend_cancelled=backend,
            message=what,
        )


def describe_timeline(tl: Timeline) -> str:
    dur = f", {format_seconds(tl.duration_ms)} s" if tl.duration_ms else ""
    return tl.summary_line() + dur


def build_api_config(settings: ServerSettings, base_url: str | None) -> ApiConfig:
    overrides: dict[str, Any] = dict(settings.api_overrides)
    if base_url:
        overrides["base_url"] = base_url
    overrides.setdefault("config_dir", settings.config_dir)
    if settings.backend == "local":
        overrides.setdefault("persist_token", False)
    env = dict(settings.env) if settings.env is not None else None
    if env is not None and env.get("NEMO_API_URL", "").strip().lower() == "local":
        env.pop("NEMO_API_URL")
    return ApiConfig.from_env(env, **overrides)


__all__ = ["GuiAction", "NemoService", "build_api_config"]
