"""export_video: readiness check, render job, polling, confined download."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import anyio

from nemo_mcp.api import (
    RenderFailedError,
    RenderStatus,
    SessionLostError,
)
from nemo_mcp.server.errors import refuse
from nemo_mcp.server.jobs import Job, JobKind, JobStatus
from nemo_mcp.server.models import (
    ExportResult,
)
from nemo_mcp.server.paths import (
    PathRuleError,
    resolve_download_dir,
    safe_filename,
    unique_path,
)
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.service_core import Progress, ServiceCore

log = logging.getLogger(__name__)


class ExportMixin(ServiceCore):
    async def export_video(
        self,
        session_id: str | None,
        render_id: str | None,
        wait_seconds: float | None,
        download_dir: str | None,
        download: bool,
        progress: Progress,
        *,
        overwrite: bool = False,
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
        if overwrite:
            job.info["overwrite"] = True

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
                result.message += f"\n{self.link_label}: {link}"
            return result

        return self.jobs.start(JobKind.EXPORT, rec.session_id, "export (render)", work, info=info)

    async def _download(
        self, job: Job, result: ExportResult, folder: Path, progress: Progress | None
    ) -> ExportResult:
        rec = self.projects.get(result.session_id)
        stem = (rec.title if rec and rec.title != "project" else f"nemo_{result.session_id}") or "video"
        dest = unique_path(folder, safe_filename(stem), overwrite=bool(job.info.get("overwrite")))

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
