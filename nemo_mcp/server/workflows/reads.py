"""The read-only views: the timeline of a project, and the credit balance."""

from __future__ import annotations

from nemo_mcp.api import Credits, NemoClient, ProjectState
from nemo_mcp.server.jobs import JobManager
from nemo_mcp.server.models import CreditsResult, SegmentView, TimelineResult, TrackView
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.projects import Projects

NOTHING_TO_EXPORT = "Nothing to export yet: upload media (upload_media) or generate a video (edit_video)."


class Reads:
    def __init__(
        self, api: NemoClient, projects: Projects, jobs: JobManager, settings: ServerSettings
    ) -> None:
        self.api = api
        self.projects = projects
        self.jobs = jobs
        self.settings = settings

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
        if st.export_ready:
            readiness = "Ready to export: call export_video."
        elif st.has_media:
            readiness = (
                "Media is uploaded but the timeline has no clips yet: ask edit_video to put it on the "
                "timeline (e.g. 'use the uploaded clip'), then export."
            )
        else:
            readiness = NOTHING_TO_EXPORT
        return TimelineResult(
            session_id=session_id,
            title=tl.title,
            summary=st.summary_line(),
            tracks=tracks,
            duration_seconds=round(tl.duration_ms / 1000, 3) if tl.duration_ms is not None else None,
            resolution=tl.resolution,
            media_count=len(st.video_infos),
            export_ready=st.export_ready,
            readiness=readiness,
            running=[j.view() for j in self.jobs.all() if j.session_id == session_id and not j.done],
        )

    async def get_timeline(self, session_id: str | None) -> TimelineResult:
        if not session_id and await self.projects.store.current() is None:
            # Not an error: there is simply nothing yet (and hosts/CI probing the tool get a clean answer).
            return TimelineResult(session_id="", summary="No project yet.", readiness=NOTHING_TO_EXPORT)
        rec = await self.projects.resolve(session_id, create=False)
        st = await self.projects.state(rec)
        view = self.timeline_view(st, session_id=rec.session_id)
        await self.projects.store.touch_async(rec.session_id, summary=view.summary, read=True)
        return view

    async def check_credits(self) -> CreditsResult:
        return balance_view(await self.api.get_credits(), self.api, self.settings)


def balance_view(credits: Credits, api: NemoClient, settings: ServerSettings) -> CreditsResult:
    """The balance, with what to do when it runs low (a registration link for anonymous users)."""
    anonymous = api.anonymous
    low = credits.available <= settings.low_credits
    register_url = api.register_url() if anonymous else None
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
            "more credits."
        )
    else:
        advice = ""
    return CreditsResult(
        available=credits.available,
        frozen=credits.frozen,
        total=credits.total,
        low=low,
        anonymous=anonymous,
        register_url=register_url,
        advice=advice,
    )
