"""Exports: submit (a fresh ``render_<uuid>``, retried once with a NEW id), poll, wait, cancel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

from nemo_mcp.api.client._transport import Transport, notify, path_segment
from nemo_mcp.api.errors import (
    AuthError,
    BackendError,
    MalformedResponseError,
    NemoError,
    NemoTimeoutError,
    NoCreditsError,
    NotExportableError,
    NotFoundError,
    PlanRequiredError,
    RenderFailedError,
    SessionLostError,
    TransientError,
    format_duration,
    short_reason,
)
from nemo_mcp.api.models import RenderJob, RenderStatus
from nemo_mcp.api.parsing import parse_render_status
from nemo_mcp.api.timeline import export_ready

__all__ = ["Renders", "next_poll_delay"]

log = logging.getLogger("nemo_mcp.api")

#: poll errors tolerated on the same render id (up to ``render_poll_error_budget`` in a row, docs/nemo-api.md
#: §4): the transient ones, and answers that a later poll of the same id may not repeat
_TOLERATED_POLL_ERRORS = (TransientError, BackendError, MalformedResponseError, NotFoundError)


class Renders:
    """Exports: submit, status, polling, waiting, cancelling, over one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._auth = transport.auth

    async def submit(
        self, session_id: str, draft: dict[str, Any], *, output: dict[str, Any] | None = None
    ) -> RenderJob:
        """Submit ``draft`` for rendering with a fresh ``render_<uuid>``. On failure, retry once with a NEW id
        (never the same id). Plan (402), credits, session and invalid-draft errors are not retried."""
        if not export_ready(draft):
            raise NotExportableError()
        attempted: list[str] = []
        lost: list[str] = []  # submits that may have started although their answer was lost
        for attempt in range(2):
            render_id = f"render_{uuid.uuid4().hex}"
            attempted.append(render_id)
            try:
                data = await self._transport.request(
                    "POST",
                    "/api/render/proxy/lambda",
                    endpoint="render",
                    reauth=False,
                    json_body={
                        "id": render_id,
                        "sessionId": session_id,
                        "draft": draft,
                        "output": output or {"format": "mp4", "quality": "high"},
                    },
                    session_id=session_id,
                    if_unanswered=_check_exports([*lost, render_id]),
                )
            except AuthError as exc:
                if attempt == 0 and self._auth.can_remint():
                    await self._auth.remint(self._auth.token)
                    continue
                raise self._auth.final_error(exc, attempt > 0) from None
            except (PlanRequiredError, NoCreditsError, SessionLostError, NotExportableError):
                raise
            except NemoError as exc:
                if exc.outcome_unknown:
                    lost.append(render_id)
                if attempt == 0:
                    log.info("render submit %s failed (%s); retrying once with a new id", render_id, exc.tag)
                    continue
                raise
            status = parse_render_status(data, render_id) if isinstance(data, Mapping) and data else None
            accepted_id = render_id
            if status is not None and status.id and status.id != render_id and isinstance(data, Mapping):
                accepted_id = status.id  # C2: prefer the backend's id when it names one
            log.info("render %s submitted for session %s", accepted_id, session_id)
            return RenderJob(
                id=accepted_id,
                session_id=session_id,
                status=status.status if status is not None and status.status != "unknown" else "pending",
                progress=status.progress if status is not None else None,
                attempted_ids=attempted,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, render_id: str) -> RenderStatus:
        data = await self._transport.request(
            "GET",
            f"/api/render/proxy/lambda/{path_segment(render_id, 'render id')}",
            endpoint="poll",
            idempotent=True,
        )
        return parse_render_status(data, render_id)

    async def poll(
        self, render_id: str, *, max_wait: float | None = None
    ) -> AsyncGenerator[RenderStatus, None]:
        """Yield each status until a terminal one (completed / failed / cancelled), with adaptive backoff
        (``render_poll_initial`` x ``render_poll_factor`` up to ``render_poll_max``), shortened near the
        completion predicted from a rising ``progress`` (see :func:`next_poll_delay`). Transient poll
        errors are tolerated on the same id (up to ``render_poll_error_budget`` in a row).
        ``completed`` without an output URL keeps polling for ``render_url_grace`` s, then is yielded
        as is (download falls back to the proxy).
        Raises :class:`NemoTimeoutError` after ``max_wait`` (default ``render_timeout``)."""
        cfg = self._transport.config
        budget = cfg.render_timeout if max_wait is None else max_wait
        start = self._transport.clock()
        delay = cfg.render_poll_initial
        errors = 0
        no_url_since: float | None = None
        progress: list[tuple[float, float]] = []  # (time, percent) of the unfinished statuses seen
        while True:
            try:
                status = await self.get(render_id)
                errors = 0
            except _TOLERATED_POLL_ERRORS as exc:
                errors += 1
                if errors > cfg.render_poll_error_budget:
                    raise
                log.info("render %s poll failed (%s); polling the same id again", render_id, exc.tag)
                status = None
            now = self._transport.clock()
            estimate = False
            if status is not None:
                if status.status == "completed" and not status.output_url:
                    no_url_since = now if no_url_since is None else no_url_since
                    if now - no_url_since >= cfg.render_url_grace:
                        yield status
                        return
                else:
                    yield status
                    if status.terminal:
                        return
                    if status.progress is not None:
                        progress.append((now, status.progress))
                        estimate = True
            elapsed = self._transport.clock() - start
            if elapsed >= budget:
                raise NemoTimeoutError(
                    f"The export {render_id} is still rendering after {format_duration(budget)}. "
                    "It may still finish: check it again later."
                )
            wait = next_poll_delay(delay, progress, now, floor=cfg.render_poll_min) if estimate else delay
            await self._transport.sleep(min(wait, max(0.0, budget - elapsed)))
            delay = min(delay * cfg.render_poll_factor, cfg.render_poll_max)

    async def wait(
        self,
        render_id: str,
        *,
        max_wait: float | None = None,
        on_status: Callable[[RenderStatus], Any] | None = None,
    ) -> RenderStatus:
        """Poll until terminal; return the completed status or raise :class:`RenderFailedError`."""
        last: RenderStatus | None = None
        async for status in self.poll(render_id, max_wait=max_wait):
            last = status
            await notify(on_status, status)
        assert last is not None
        if last.status == "failed":
            reason = f": {short_reason(last.error)}" if last.error else ""
            raise RenderFailedError(
                f"The export failed on the NemoVideo render service{reason}. Try exporting again.",
                render_id=render_id,
            )
        if last.status == "cancelled":
            raise RenderFailedError("The export was cancelled.", render_id=render_id)
        return last

    async def cancel(self, render_id: str) -> RenderStatus | None:
        """``POST /api/render/proxy/lambda/<id>/cancel`` (pending renders); the status if reported."""
        data = await self._transport.request(
            "POST",
            f"/api/render/proxy/lambda/{path_segment(render_id, 'render id')}/cancel",
            endpoint="other",
            idempotent=True,
        )
        if isinstance(data, Mapping) and (data.get("status") or isinstance(data.get("data"), Mapping)):
            return parse_render_status(data, render_id)
        return None


def next_poll_delay(
    backoff: float, progress: Sequence[tuple[float, float]], now: float, *, floor: float = 1.0
) -> float:
    """Seconds to wait before the next status request of a render (a pure function of what was seen).

    ``backoff`` is the documented interval for this poll (``render_poll_initial`` x ``render_poll_factor``^n
    up to ``render_poll_max``); ``progress`` the ``(time, percent)`` of the unfinished statuses seen so far,
    oldest first; ``now`` the time of the latest poll.

    Without usable progress (fewer than two samples, no rise since the first one, or already at 100) the
    answer is ``backoff``. When progress rises, the completion is predicted from its rate (first sample ->
    the poll that first showed the latest value) and the next poll goes halfway there:
    ``clamp(remaining / 2, floor, backoff)``, so a render is seen within about ``floor`` of its completion.
    Once the predicted time has passed, the wait grows with the time overdue, ``clamp(overdue, floor,
    backoff)``: a progress that stalls (or jumps ahead of the real work) falls back to the backoff in a
    few polls. A progress that goes down starts the estimate again from that sample.
    """
    if len(progress) < 2:
        return backoff
    first = 0
    for i in range(1, len(progress)):
        if progress[i][1] < progress[i - 1][1]:
            first = i  # progress restarted (a new phase): estimate from here
    t0, p0 = progress[first]
    last = progress[-1][1]
    if last <= p0 or last >= 100.0:
        return backoff
    rise = len(progress) - 1
    while rise > first and progress[rise - 1][1] >= last:
        rise -= 1  # the poll that first showed the latest value
    t_rise = progress[rise][0]
    if t_rise <= t0:
        return backoff
    rate = (last - p0) / (t_rise - t0)  # percent per second
    remaining = t_rise + (100.0 - last) / rate - now
    wait = remaining / 2 if remaining > 0 else -remaining
    return min(backoff, max(floor, wait))


def _check_exports(render_ids: list[str]) -> str:
    what = f"exports {' and '.join(render_ids)}" if len(render_ids) > 1 else f"export {render_ids[0]}"
    return f"Check the status of {what} before exporting again, so the export is not charged twice."
