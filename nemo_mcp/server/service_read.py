"""Read-only tools: the timeline view and credits."""

from __future__ import annotations

import logging

from nemo_mcp.api import (
    Credits,
    ProjectState,
)
from nemo_mcp.server.models import (
    CreditsResult,
    SegmentView,
    TimelineResult,
    TrackView,
)
from nemo_mcp.server.service_core import ServiceCore

log = logging.getLogger(__name__)


class ReadMixin(ServiceCore):
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
        await self.projects.touch_async(rec.session_id, summary=view.summary, read=True)
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
