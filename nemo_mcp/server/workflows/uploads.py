"""Uploads: check every source first (nothing is uploaded if one fails), then upload them as one job,
moving to a new project when the backend lost the session."""

from __future__ import annotations

from pathlib import Path

from nemo_mcp.api import NemoClient, NemoError, SessionLostError, UploadedFile
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import AnyJob, JobManager, ProgressFn, UploadJob
from nemo_mcp.server.media_policy import Source, check_source, is_url
from nemo_mcp.server.models import MediaInfo, UploadResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.projects import Projects

NEXT_AFTER_UPLOAD = "Describe the edit with edit_video (e.g. 'trim to 10 s and add a title')."


def _media_line(m: MediaInfo) -> str:
    bits = [
        b for b in (m.type, f"{m.duration_seconds:g} s" if m.duration_seconds else None, m.resolution) if b
    ]
    return f"{m.name} ({', '.join(bits)})" if bits else m.name


def uploaded_line(result: UploadResult) -> str:
    """One sentence naming what landed where."""
    files = ", ".join(_media_line(m) for m in result.files) or "nothing"
    return f"Uploaded to project {result.session_id}: {files}."


class Uploads:
    def __init__(
        self, api: NemoClient, projects: Projects, jobs: JobManager, settings: ServerSettings
    ) -> None:
        self.api = api
        self.projects = projects
        self.jobs = jobs
        self.settings = settings

    def check(self, sources: list[str]) -> list[Source]:
        """Every source against the rules; all problems are reported together and nothing is uploaded."""
        if not sources:
            raise ToolFailure("no_media", "No files given. Pass local file paths or http(s) URLs in sources.")
        checked: list[Source] = []
        problems: list[ToolFailure] = []
        for raw in sources:
            if not self.settings.allow_local_paths and not is_url(raw.strip()):
                problems.append(
                    ToolFailure(
                        "path_not_allowed",
                        f"{Path(raw).name or raw}: local paths are disabled on this network-facing server. "
                        "Give a public http(s) URL, or restart it with NEMO_MEDIA_DIRS set to the folders "
                        "it may read.",
                    )
                )
                continue
            try:
                checked.append(
                    check_source(
                        raw,
                        media_dirs=self.settings.media_dirs or None,
                        max_bytes=self.settings.max_upload_bytes,
                    )
                )
            except ToolFailure as failure:
                problems.append(failure)
        if problems:
            text = " ".join(p.message for p in problems)
            raise ToolFailure(problems[0].tag, f"{text} Nothing was uploaded.")
        return checked

    async def upload_media(
        self, sources: list[str], session_id: str | None, wait_seconds: float | None, progress: ProgressFn
    ) -> UploadResult:
        checked = self.check(sources)
        rec = await self.projects.resolve(
            session_id, create=True, hint="upload", title=Path(checked[0].name).stem
        )
        return await self.wait(self.start(rec, checked), wait_seconds, progress)

    def start(self, rec: ProjectRecord, checked: list[Source]) -> UploadJob:
        names = ", ".join(s.name for s in checked)
        job = UploadJob(session_id=rec.session_id, description=f"upload {names}")
        self.jobs.start(job, self._work(job, rec, checked))
        return job

    async def _work(self, job: UploadJob, rec: ProjectRecord, checked: list[Source]) -> UploadResult:
        new_rec, infos, notes = await self.upload(rec, checked, job)
        return UploadResult(
            session_id=new_rec.session_id, files=infos, notes=notes, next_step=NEXT_AFTER_UPLOAD
        )

    async def wait(self, job: UploadJob, wait_seconds: float | None, progress: ProgressFn) -> UploadResult:
        if await self.jobs.wait(job, self.settings.wait_for(wait_seconds), progress):
            return job.outcome()
        return UploadResult(
            session_id=job.session_id or "", status="running", job=job.view(), next_step=job.view().next_step
        )

    async def upload(
        self, rec: ProjectRecord, checked: list[Source], job: AnyJob | None
    ) -> tuple[ProjectRecord, list[MediaInfo], list[str]]:
        """Upload to `rec`; on a lost session, move to a new project and upload there."""
        notes: list[str] = []
        try:
            return rec, await self._upload_once(rec, checked, job), notes
        except SessionLostError:
            new = await self.projects.replace_lost(rec)
        except NemoError as exc:
            if not exc.outcome_unknown:
                raise  # e.g. no connection at all: nothing arrived
            # The client's message already says the files may have arrived and to check before uploading
            # again; name the project they would be in.
            raise as_failure(exc).amended(f"(project {rec.session_id})") from None
        notes.append(
            f"Project {rec.session_id} no longer existed on NemoVideo (its timeline is gone); the files "
            f"went to a new project {new.session_id}, which is now current."
        )
        return new, await self._upload_once(new, checked, job), notes

    async def _upload_once(
        self, rec: ProjectRecord, checked: list[Source], job: AnyJob | None
    ) -> list[MediaInfo]:
        files = [s for s in checked if s.file is not None]
        urls = [s for s in checked if s.file is None]
        total = sum(s.size or 0 for s in files)

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
                rec.session_id, [s.file for s in files if s.file is not None], progress=on_bytes
            )
        if urls:
            if job is not None:
                job.update(message=f"importing {len(urls)} URL(s)")
            uploaded += await self.api.import_urls(rec.session_id, [s.value for s in urls])
        given = files + urls
        out = [
            MediaInfo(
                name=uf.filename,
                type=uf.file_type or (given[i].media_type if i < len(given) else None),
                duration_seconds=round(uf.duration, 3) if uf.duration is not None else None,
                resolution=f"{uf.width}x{uf.height}" if uf.width and uf.height else None,
                source=given[i].value if i < len(given) else "",
                url=uf.cdn_url,
            )
            for i, uf in enumerate(uploaded)
        ]
        await self.projects.store.touch_async(rec.session_id)
        return out
