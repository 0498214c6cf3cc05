"""export_video: readiness check, one render job per project (resumed, never duplicated), polling, and the
download into the confined folder (opened again from the root without following links, the file name
reserved before the first byte). A render URL the server does not open is a backend fault, never a result;
a download that fails after the render says the render is done and how to fetch it again."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from nemo_mcp.api import (
    BadRenderUrlError,
    DiskFullError,
    DownloadError,
    DownloadIncompleteError,
    DownloadTooLargeError,
    NemoClient,
    NemoError,
    RenderFailedError,
    RenderStatus,
    SessionLostError,
)
from nemo_mcp.api.download_hosts import refusal
from nemo_mcp.api.saving import Reserved, SaveFolder
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import EditJob, ExportJob, JobManager, JobStatus, ProgressFn
from nemo_mcp.server.media_policy import open_download_folder, resolve_download_dir, safe_filename
from nemo_mcp.server.models import ExportResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.projects import Projects

log = logging.getLogger(__name__)

NEXT_AFTER_EXPORT = (
    "Open the URL to download the MP4, or call export_video(render_id=..., download_dir=...) to save it "
    "locally."
)
NEXT_AFTER_DOWNLOAD = "Done. Refine with edit_video and export again if needed."


class Exports:
    def __init__(
        self, api: NemoClient, projects: Projects, jobs: JobManager, settings: ServerSettings
    ) -> None:
        self.api = api
        self.projects = projects
        self.jobs = jobs
        self.settings = settings

    async def export_video(
        self,
        session_id: str | None,
        render_id: str | None,
        wait_seconds: float | None,
        download_dir: str | None,
        download: bool,
        progress: ProgressFn,
        *,
        overwrite: bool = False,
        file_name: str | None = None,
    ) -> ExportResult:
        target_dir: Path | None = None
        if download or download_dir is not None:
            target_dir = resolve_download_dir(download_dir, self.settings.download_root)
        job = await self._job_for(session_id, render_id.strip() if render_id else None, target_dir)
        if target_dir is not None and job.download_dir is None:
            job.download_dir = target_dir
        job.file_name = job.file_name or file_name
        job.overwrite = job.overwrite or overwrite

        if await self.jobs.wait(job, self.settings.wait_for(wait_seconds), progress):
            result = job.outcome()
            if target_dir is not None and result.downloaded_to is None and result.url:
                result = await self._download(job, result, target_dir)
            return result
        view = job.view()
        return ExportResult(
            session_id=job.session_id or "",
            status="running",
            render_id=job.render_id,
            progress_percent=view.progress_percent,
            job=view,
            next_step=view.next_step,
        )

    async def start(
        self, session_id: str, folder: Path | None, file_name: str | None, *, after: EditJob | None = None
    ) -> ExportJob:
        """The render of a project's timeline (the one running, or a new one), saved to `folder` if given;
        `after` is the edit job asking for it as its second stage (its own turn is not in the way)."""
        job = await self._job_for(session_id, None, folder, after=after)
        if folder is not None and job.download_dir is None:
            job.download_dir = folder
        job.file_name = job.file_name or file_name
        return job

    async def _job_for(
        self, session_id: str | None, render_id: str | None, target: Path | None, after: EditJob | None = None
    ) -> ExportJob:
        """The render job to wait on: the one of `render_id`, the one running on the project, or a new one."""
        if render_id:
            job = self.jobs.render(render_id)
            if job is None or job.status is JobStatus.FAILED:
                rec = await self.projects.resolve(session_id, create=False)
                job = self._start(rec, render_id, None, target)
            return job
        rec = await self.projects.resolve(session_id, create=False)
        running = self.jobs.running(rec.session_id, ExportJob)
        if running is not None:
            return running
        editing = self.jobs.running(rec.session_id, EditJob)
        if editing is not None and editing is not after:
            raise ToolFailure(
                "turn_running",
                f"An edit is still running on project {rec.session_id} (job {editing.id}); exporting now "
                f"would miss it. Wait with get_job(job_id='{editing.id}'), then call export_video.",
            )
        st = await self.projects.state(rec)
        if not st.export_ready:
            what = (
                "the uploaded media is not on the timeline yet: ask edit_video to use it"
                if st.has_media
                else "upload media (upload_media) or generate a video (edit_video)"
            )
            raise ToolFailure(
                "not_exportable",
                f"The timeline of project {rec.session_id} is empty, so there is nothing to export. "
                f"First {what}, then call export_video again.",
            )
        return self._start(rec, None, st.draft, target)

    def _start(
        self, rec: ProjectRecord, render_id: str | None, draft: dict[str, Any] | None, target: Path | None
    ) -> ExportJob:
        job = ExportJob(
            session_id=rec.session_id, description="export (render)", render_id=render_id, download_dir=target
        )
        self.jobs.start(job, self._render(job, rec, draft))
        return job

    def resume(self, job: ExportJob, rec: ProjectRecord, *, age: float) -> None:
        """Follow a render an earlier server process started (`job.render_id`), under the same handle."""
        self.jobs.adopt(job, self._render(job, rec, None), age=age)

    async def _render(self, job: ExportJob, rec: ProjectRecord, draft: dict[str, Any] | None) -> ExportResult:
        job.update(0.0, "submitting the render")
        rid = job.render_id
        if rid is None:
            if draft is None:
                raise ToolFailure("not_exportable", "There is no timeline to render.")
            try:
                rj = await self.api.submit_render(rec.session_id, draft)
            except SessionLostError:
                await self.projects.raise_lost(rec)
            rid = job.render_id = rj.id
            await job.checkpoint()  # the render id is what a restarted server resumes it by
            job.update(rj.progress or 0.0, f"render {rid} {rj.status}")
        final: RenderStatus | None = None
        async for st in self.api.poll_render(rid):
            final = st
            job.update(st.progress if st.progress is not None else job.progress, f"rendering ({st.status})")
        if final is None or not final.succeeded:
            reason = final.error if final and final.error else (final.status if final else "no status")
            raise RenderFailedError(
                f"The render {rid} ended without a video ({reason}). Call export_video again to retry.",
                render_id=rid,
            )
        if final.output_url:
            cfg = self.api.config
            refused = refusal(final.output_url, cfg.base_url, cfg.download_hosts)
            if refused is not None:
                raise _bad_render_url(rid, final.output_url, refused)
        result = ExportResult(
            session_id=rec.session_id,
            status="completed",
            render_id=rid,
            progress_percent=100.0,
            url=final.output_url,
            browser_link=await self.projects.browser_link(rec),
            link_label=self.settings.link_label,
            size_bytes=final.size,
            next_step=NEXT_AFTER_EXPORT,
        )
        if job.download_dir is not None:
            result = await self._download(job, result, job.download_dir)
        return result

    async def _download(self, job: ExportJob, result: ExportResult, folder: Path) -> ExportResult:
        rec = await self.projects.store.get(result.session_id)
        stem = (rec.title if rec and rec.title != "project" else f"nemo_{result.session_id}") or "video"
        name = job.file_name or safe_filename(stem)
        rid = result.render_id
        if rid is None:
            raise ToolFailure("download_failed", "The render has no id to download it by.")

        def on_bytes(got: int, total: int) -> None:
            if total:
                job.update(message=f"downloading {got / 1048576:.1f} of {total / 1048576:.1f} MB")

        def reserve() -> tuple[SaveFolder, Reserved]:
            opened = open_download_folder(folder, self.settings.download_root)
            try:
                opened.sweep()  # leftovers of a download killed here earlier
                return opened, opened.reserve(name, overwrite=job.overwrite)
            except BaseException:
                opened.close()
                raise

        try:
            opened, reserved = await anyio.to_thread.run_sync(reserve)
        except OSError as exc:
            raise after_render_failure(_unsaved(folder, exc), result, folder) from None
        except ToolFailure as refused:  # the folder changed since the call (a link or a file in its place)
            raise refused.amended(_still_there(result)) from None
        with opened:
            try:
                path = await self.api.download_render(
                    rid, reserved, output_url=result.url, expected_size=result.size_bytes, progress=on_bytes
                )
            except NemoError as exc:
                raise after_render_failure(exc, result, folder) from None
        done = result.model_copy(update={"downloaded_to": str(path), "next_step": NEXT_AFTER_DOWNLOAD})
        with contextlib.suppress(OSError):
            done.size_bytes = (await anyio.Path(path).stat()).st_size
        job.result = done  # get_job reports the saved file too
        return done


def _bad_render_url(render_id: str, url: str, refused: str) -> ToolFailure:
    host = urlsplit(url).hostname or ""
    named = bool(host) and not _is_address(host)
    fix = (
        f"If {host} is NemoVideo's own, add it to NEMO_DOWNLOAD_HOSTS and export again"
        if named
        else "Export again later"
    )
    return ToolFailure(
        BadRenderUrlError.tag,
        f"The render {render_id} finished, but NemoVideo named its video at {refused}; this server neither "
        f"opens such a link nor passes it on (a fault on the backend's side). {fix}; if it keeps happening, "
        "open the project with get_timeline's browser link and export it there.",
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _unsaved(folder: Path, exc: OSError) -> NemoError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return DiskFullError()
    return DownloadError(
        f"The MP4 could not be created in {folder} ({exc.strerror or 'no access'}). Check the folder's "
        "permissions, or choose another download_dir."
    )


def _still_there(result: ExportResult) -> str:
    where = f"its video is still at {result.url}" if result.url else "NemoVideo still has its video"
    return f"The render {result.render_id} is done; {where}."


def after_render_failure(exc: NemoError, result: ExportResult, folder: Path) -> ToolFailure:
    """A download that failed after the render succeeded: say so, where the video still is, and the retry."""
    rid = result.render_id
    retry = f"export_video(render_id='{rid}', download=true)"
    still = f"its video is still at {result.url}" if result.url else "NemoVideo still has its video"
    if isinstance(exc, DiskFullError):
        return ToolFailure(
            exc.tag,
            f"The render {rid} is done and {still}, but the disk holding {folder} is full, so it was not "
            f"saved (nothing was left behind). Free some space, then call {retry} to download it again.",
        )
    if isinstance(exc, DownloadIncompleteError):
        got = exc.amount or "the connection ended"
        return ToolFailure(
            exc.tag,
            f"The render {rid} is done and {still}, but its download stopped early ({got}), so nothing was "
            f"saved. Call {retry} to download it again.",
        )
    if isinstance(exc, DownloadTooLargeError):
        return ToolFailure(
            exc.tag,
            f"The render {rid} is done and {still}, but its download went on {exc.why}, so it was stopped "
            f"and nothing was saved. Call {retry} to try again later.",
        )
    return as_failure(exc).amended(f"{_still_there(result)} {retry} fetches it again.")
