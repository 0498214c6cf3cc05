"""One agent turn (/run_sse): stream, stage reports, drop recovery without re-sending, the reply."""

from __future__ import annotations

import logging
from typing import NoReturn

import anyio

from nemo_mcp.api import (
    HeartbeatEvent,
    MalformedResponseError,
    NemoClient,
    NemoError,
    ProjectState,
    SessionLostError,
    StreamErrorEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    TurnEnded,
    diff,
)
from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import EditJob
from nemo_mcp.server.models import EditResult
from nemo_mcp.server.projects import ProjectRecord
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.accounting import Meter, fell_sentence
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.replies import reply_of
from nemo_mcp.server.workflows.snapshots import snapshot_of

log = logging.getLogger(__name__)

CREDITS_CODE = "2001"  # insufficient credits (docs/nemo-api.md §1.12), also as an error inside the stream


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


class Turns:
    def __init__(self, api: NemoClient, projects: Projects, settings: ServerSettings) -> None:
        self.api = api
        self.projects = projects
        self.settings = settings

    async def run(
        self, job: EditJob, rec: ProjectRecord, text: str, *, asked_export: bool = False
    ) -> EditResult:
        """Send `text` once and follow the stream to the end; the reply says what changed.

        `asked_export`: the user's instruction also asked for the export, so the agent's "click Export"
        is done by the caller rather than suggested."""
        sid = rec.session_id
        job.update(message="sending the instruction to the NemoVideo agent")
        before = await self.projects.state(rec)
        job.snapshot = snapshot_of(before)  # what a restarted server diffs the project against
        await job.checkpoint()
        meter = Meter(self.api, self.settings, job)
        await meter.start()
        last = before
        stages: list[str] = []
        end: TurnEnded | None = None
        pending: list[str] = []  # tool calls still waiting for their result
        ran_out = False  # the agent stopped part-way: credits ran out (code 2001 in the stream)
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
                reserved = await meter.sample()  # a paid step holds its price while it runs
                if reserved:
                    job.update(message=f"{_tool_label(ev.name)}; {reserved:g} credits reserved")
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
                    job.stages.append(stage)
                    job.update(message=("landed: " + "; ".join(c.sentence for c in landed))[:200])
                    last = now
            elif isinstance(ev, HeartbeatEvent):
                job.update(
                    message=job.message if "still working" in job.message else f"{job.message}; still working"
                )
            elif isinstance(ev, StreamErrorEvent):
                ran_out = ran_out or ev.code == CREDITS_CODE
                job.update(message="the agent reported a problem")
        if end is None:  # the iterator ended without its final event: treat as a drop
            end = TurnEnded(reason="interrupted", accepted=True)

        if end.reason == "error":
            err = end.error
            if isinstance(err, SessionLostError):
                await self.projects.raise_lost(rec)
            if ran_out and end.accepted:
                await self._ran_out(rec, before, stages, meter)
            if err is not None:
                if end.accepted:
                    # Say what landed before the failure (the message was not re-sent), and what it cost.
                    try:
                        applied = [c.sentence for c in diff(before, await self.api.get_state(sid))]
                    except NemoError:
                        applied = []
                    spent = EditResult(
                        session_id=sid,
                        routed_to="agent",
                        status="stopped",
                        changes=applied,
                        credits=await meter.finish(),
                    )
                    failure = as_failure(err)
                    failure.result = spent
                    if applied:
                        raise failure.amended(f"Applied before the error: {'; '.join(applied)}.")
                    raise failure
                raise err
            raise ToolFailure("server_error", end.message or "The NemoVideo agent failed. Try again.")

        notes: list[str] = []
        # ADK has no done event, so a dropped connection can look like a clean close. A close while a tool
        # call still waits for its result, with no text after it, is treated as a drop
        # (docs/nemo-api.md §2.6).
        dangling = end.reason == "closed" and bool(pending) and not end.texts
        if end.reason in ("interrupted", "idle_timeout") or dangling:
            after, recovered = await self._recover(
                job, rec, last, landed=bool(stages) or bool(diff(before, last))
            )
            if not recovered:
                spent = EditResult(
                    session_id=sid, routed_to="agent", status="stopped", credits=await meter.finish()
                )
                tag, cause = "stream_interrupted", "The connection to the NemoVideo agent dropped"
                if isinstance(end.error, MalformedResponseError):
                    tag = end.error.tag
                    cause = "The NemoVideo backend answered with a gateway page instead of the agent's stream"
                elif end.reason == "idle_timeout":
                    cause = "The NemoVideo agent sent nothing but keep-alives for too long"
                raise ToolFailure(
                    tag,
                    f"{cause}, and the project did not change while we checked for a few minutes. "
                    "The instruction was NOT re-sent (that could charge twice). Check get_timeline later, "
                    "or send the instruction again if nothing happened.",
                    spent,
                )
            notes.append(
                "The connection dropped before the reply finished; the instruction was not re-sent. "
                "The project state shows the edit was applied."
            )
        else:
            after = await self.projects.state(rec)
            if end.silent and not diff(before, after):
                after = await self._settle(rec, before, after)

        changes = [c.sentence for c in diff(before, after)]
        summary = after.summary_line()
        texts = [x for x in end.texts if x.strip()]
        reply = reply_of(texts, changes, asked_export=asked_export, export_ready=after.export_ready)
        notes += reply.notes
        if end.stream_errors and not changes:
            notes.append("The agent reported a problem: " + "; ".join(e[:160] for e in end.stream_errors[:2]))
        await self.projects.store.touch_async(sid, summary=summary)
        return EditResult(
            session_id=sid,
            routed_to="agent",
            status="done",
            credits=await meter.finish(),
            reply=reply.text,
            changes=changes,
            stages=stages if len(stages) > 1 else [],
            timeline_summary=summary,
            notes=notes,
            gui_steps=[s.value for s in reply.steps],
            awaiting_go_ahead=reply.waiting,
            next_step=reply.next_step
            or (
                "Refine with another edit_video instruction, or call export_video to render the MP4."
                if after.export_ready
                else "Continue with edit_video (e.g. generate or add media) before exporting."
            ),
        )

    async def _ran_out(
        self, rec: ProjectRecord, before: ProjectState, stages: list[str], meter: Meter
    ) -> NoReturn:
        """Credits ran out part-way: say what was done and charged, retry nothing, give the way to more."""
        sid = rec.session_id
        try:
            after: ProjectState | None = await self.api.get_state(sid)
        except NemoError:
            after = None
        changes = [c.sentence for c in diff(before, after)] if after is not None else []
        summary = after.summary_line() if after is not None else None
        credits = await meter.finish()
        if self.api.anonymous:
            step = (
                f"Register at {self.api.register_url()} to keep this project and get more credits, then send "
                "what is left of the instruction again."
            )
        else:
            step = "Top up credits in your nemovideo.com account, then send what is left of the instruction."
        done = f"Done before that: {'; '.join(changes)}." if changes else "The project did not change."
        now = f"The project now: {summary}." if summary else "Call get_timeline for the project."
        raise ToolFailure(
            "no_credits",
            "The credits ran out while the NemoVideo agent worked on the instruction: it stopped part-way. "
            f"{done} {fell_sentence(credits)} Nothing was retried. "
            f"{now} {step}",
            EditResult(
                session_id=sid,
                routed_to="agent",
                status="stopped",
                changes=changes,
                stages=stages if len(stages) > 1 else [],
                timeline_summary=summary,
                credits=credits,
                next_step=step,
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

    async def _recover(
        self, job: EditJob, rec: ProjectRecord, last: ProjectState, *, landed: bool = False
    ) -> tuple[ProjectState, bool]:
        """Skill §3.6: never re-send; check the state until it changes, bounded.

        `landed`: the edit already showed in the state while the stream ran (a tool result was followed by
        a change), so one more look is enough: the drop lost only the rest of the reply."""
        intervals = self.settings.recovery_intervals
        current = last
        for i, delay in enumerate(intervals, start=1):
            job.update(message=f"connection dropped; checking the project state ({i}/{len(intervals)})")
            await anyio.sleep(delay)
            try:
                current = await self.api.get_state(rec.session_id)
            except SessionLostError:
                await self.projects.raise_lost(rec)
            except NemoError:
                continue
            if diff(last, current) or landed:
                return current, True
        return current, False
