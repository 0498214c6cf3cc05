"""upload_media: preflight every source, then upload into the project (moving on a lost session)."""

from __future__ import annotations

import logging
from pathlib import Path

from nemo_mcp.api import (
    BackendUnreachableError,
    MalformedResponseError,
    NemoTimeoutError,
    SessionLostError,
    UploadedFile,
)
from nemo_mcp.server.errors import TaggedError, refuse
from nemo_mcp.server.jobs import Job, JobKind
from nemo_mcp.server.models import (
    MediaInfo,
    UploadResult,
)
from nemo_mcp.server.paths import (
    PathRuleError,
    Source,
    check_source,
    is_url,
)
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.service_core import Progress, ServiceCore

log = logging.getLogger(__name__)


class UploadMixin(ServiceCore):
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
            except (MalformedResponseError, NemoTimeoutError, BackendUnreachableError) as exc:
                if not exc.outcome_unknown:
                    raise  # e.g. no connection at all: nothing arrived
                # The client's message already says the files may have arrived and to check before
                # uploading again; name the project they would be in.
                tag, message = self.describe(exc)
                raise TaggedError(tag, f"{message} (project {rec.session_id})") from None
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
        await self.projects.touch_async(rec.session_id)
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
