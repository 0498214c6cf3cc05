"""One agent turn over ``POST /run_sse``: sent once, streamed, always ended by exactly one ``TurnEnded``.

The message is never re-sent, with one exception: the backend refused it on auth (1001 / 401) before any
stream byte; the anonymous token is then re-minted and the message sent once more (a refused request did
no work, so this cannot charge twice). A stream that stops while a tool call has no result yet ends
``interrupted``; one that carries only heartbeats for ``sse_idle_timeout`` ends ``idle_timeout``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio
import httpx

from nemo_mcp.api.client._transport import APP, Transport
from nemo_mcp.api.envelope import parse_envelope
from nemo_mcp.api.errors import (
    AgentError,
    AuthError,
    BackendUnreachableError,
    BadRequestError,
    MalformedResponseError,
    NemoError,
    NemoTimeoutError,
    StreamInterruptedError,
    format_duration,
    short_reason,
)
from nemo_mcp.api.models import TurnEnded, TurnEndReason, TurnEvent
from nemo_mcp.api.sse import TurnParser

__all__ = ["Turns"]

log = logging.getLogger("nemo_mcp.api")


class Turns:
    """Agent turns over ``/run_sse`` (see the module docstring for the send-once rule), over one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._auth = transport.auth

    async def stream(self, session_id: str, text: str) -> AsyncGenerator[TurnEvent, None]:
        """Send one message to the agent and yield its events, then exactly one :class:`TurnEnded`.

        Never raises for backend or transport failures (they end the turn with ``reason="error"`` or
        ``"interrupted"``). The message is sent once; see the module docstring for the auth exception.
        """
        started = time.time()
        parser = TurnParser()
        state: dict[str, Any] = {"accepted": False, "reauthed": False}
        finished = False
        try:
            async with contextlib.aclosing(self._turn(session_id, text, started, parser, state)) as events:
                async for ev in events:
                    finished = isinstance(ev, TurnEnded)
                    yield ev
        except Exception:
            if finished:
                raise
            # a defect, not a backend condition: still end the turn exactly once, and say what to do
            log.exception("unexpected error while streaming an agent turn")
            err = MalformedResponseError(
                "The agent reply could not be processed. The message was not re-sent; check the timeline "
                "to see whether the edit was applied."
            )
            yield TurnEnded(
                reason="interrupted" if state["accepted"] else "error",
                accepted=state["accepted"],
                error=err,
                error_tag=err.tag,
                message=err.message,
                texts=list(parser.texts),
                tools_used=list(parser.tools_used),
                started_at=started,
            )

    async def _turn(
        self, session_id: str, text: str, started: float, parser: TurnParser, state: dict[str, Any]
    ) -> AsyncGenerator[TurnEvent, None]:

        def end(reason: TurnEndReason, error: NemoError | None = None) -> TurnEnded:
            if error is not None:
                error = self._auth.enrich(error)
            ended = TurnEnded(
                reason=reason,
                accepted=state["accepted"],
                error=error,
                error_tag=error.tag if error else None,
                message=error.message if error else None,
                texts=list(parser.texts),
                tools_used=list(parser.tools_used),
                stream_errors=list(parser.stream_errors),
                state_delta_keys=list(parser.state_delta_keys),
                event_count=parser.event_count,
                heartbeat_count=parser.heartbeat_count,
                started_at=started,
                reauthenticated=state["reauthed"],
            )
            log.info(
                "turn on session %s ended: %s (%d events, %d heartbeats, %d texts, %.1f s)",
                session_id,
                reason + (f"/{error.tag}" if error else ""),
                parser.event_count,
                parser.heartbeat_count,
                len(parser.texts),
                ended.elapsed,
            )
            return ended

        if not isinstance(text, str) or not text.strip():
            yield end("error", BadRequestError("The message to the agent is empty."))
            return
        if not isinstance(session_id, str) or not session_id.strip():
            yield end("error", BadRequestError("A session id is required."))
            return
        body = {
            "app_name": APP,
            "user_id": "me",
            "session_id": session_id,
            "new_message": {"parts": [{"text": text}]},
        }
        timeout = self._transport.timeout(self._transport.config.sse_read_timeout)
        while True:
            try:
                token = await self._auth.ensure_token()
                http = await self._transport.client()
            except NemoError as exc:
                yield end("error", exc)
                return
            request = http.build_request(
                "POST",
                "/run_sse",
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-store",
                },
                timeout=timeout,
            )
            try:
                resp = await http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                yield end("error", BackendUnreachableError())
                return
            except httpx.HTTPError as exc:
                # the request may have reached the backend: do not re-send, let the caller check the state
                log.info("run_sse failed before the response: %s", type(exc).__name__)
                yield end("interrupted", StreamInterruptedError())
                return
            retry = False
            try:
                ctype = resp.headers.get("content-type", "").lower()
                if resp.status_code >= 300 or "json" in ctype:
                    raw = await self._transport.read_capped(resp)
                    await resp.aclose()  # release the connection before anything is yielded
                    try:
                        payload = parse_envelope(
                            resp.status_code, raw, headers=resp.headers, endpoint="run", session_id=session_id
                        )
                    except AuthError as exc:
                        if not state["reauthed"] and self._auth.can_remint():
                            state["reauthed"] = True
                            retry = True
                        else:
                            yield end("error", self._auth.final_error(exc, state["reauthed"]))
                            return
                    except NemoError as exc:
                        yield end("error", exc)
                        return
                    else:
                        # a 2xx JSON document instead of a stream: interpret it as one event
                        state["accepted"] = True
                        if isinstance(payload, (dict, list)):
                            # one data line: a raw CR or LF in a JSON text is only whitespace between tokens
                            line = raw.replace(b"\r", b" ").replace(b"\n", b" ")
                            for ev in parser.feed(b"data: " + line + b"\n\n"):
                                yield ev
                        for ev in parser.close():
                            yield ev
                        yield end("closed" if parser.event_count else "interrupted")
                        return
                elif ctype.startswith("text/html"):
                    # A gateway or proxy page, not the agent: whether the message got through is unknown,
                    # so it is not re-sent and the caller checks the state (as for a drop).
                    await self._transport.read_capped(resp)
                    yield end(
                        "interrupted",
                        MalformedResponseError(
                            "The NemoVideo backend answered the instruction with a web page instead of "
                            "the agent's event stream (a gateway or proxy error). The instruction was not "
                            "re-sent; check the timeline to see whether it reached the agent."
                        ),
                    )
                    return
                else:
                    state["accepted"] = True
                    async with contextlib.aclosing(self._consume_stream(resp, parser, end)) as events:
                        async for item in events:
                            yield item
                    return
            finally:
                await resp.aclose()
            if retry:
                try:
                    await self._auth.remint(token)
                except NemoError as exc:
                    yield end("error", exc)
                    return
                continue

    def _deadline_end(self, idle: bool) -> tuple[TurnEndReason, NemoError]:
        cfg = self._transport.config
        if idle:
            return "idle_timeout", NemoTimeoutError(
                f"The agent sent only keep-alives for {format_duration(cfg.sse_idle_timeout)}, so the turn "
                "was ended. The message was not re-sent; check the timeline to see whether the work finished."
            )
        return "interrupted", NemoTimeoutError(
            f"The agent turn exceeded {format_duration(cfg.sse_read_timeout)} and was ended. The message was "
            "not re-sent; check the timeline to see whether the work finished."
        )

    async def _consume_stream(
        self,
        resp: httpx.Response,
        parser: TurnParser,
        end: Callable[..., TurnEnded],
    ) -> AsyncGenerator[TurnEvent, None]:
        cfg = self._transport.config
        now = anyio.current_time()
        hard_deadline = now + cfg.sse_read_timeout
        idle_deadline = now + cfg.sse_idle_timeout
        # read here, not with httpx-sse's aiter_sse(): the reads need the deadlines below, and the parser
        # (httpx-sse's decoders, fed chunk by chunk) must see comment keep-alives (see nemo_mcp/api/sse.py)
        chunks = resp.aiter_bytes().__aiter__()
        counted = parser.event_count  # non-heartbeat events seen when the idle deadline was last moved
        reason: TurnEndReason | None = None
        error: NemoError | None = None
        while True:
            now = anyio.current_time()
            if now >= min(idle_deadline, hard_deadline):
                reason, error = self._deadline_end(idle_deadline <= hard_deadline)
                break
            try:
                with anyio.move_on_after(min(idle_deadline, hard_deadline) - now) as scope:
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except httpx.HTTPError as exc:
                log.info("run_sse stream dropped: %s", type(exc).__name__)
                reason, error = "interrupted", StreamInterruptedError()
                break
            if scope.cancelled_caught:
                # the read was abandoned at a deadline: the chunk iterator is unusable now, end here
                reason, error = self._deadline_end(idle_deadline <= hard_deadline)
                break
            try:
                events = parser.feed(chunk)
            except MalformedResponseError as exc:
                reason, error = "error", exc
                break
            for ev in events:
                yield ev
            if parser.event_count != counted:  # not only heartbeats: the watchdog starts again from now
                counted = parser.event_count
                idle_deadline = anyio.current_time() + cfg.sse_idle_timeout
        # release the connection now: a caller that stops at TurnEnded never resumes this generator
        await resp.aclose()
        try:
            tail = parser.close()
        except MalformedResponseError as exc:
            tail = []
            reason, error = reason or "error", error or exc
        for ev in tail:
            yield ev
        if reason is None:
            if parser.stream_errors:
                reason = "error"
                error = AgentError(
                    f"The NemoVideo agent reported an error: {short_reason(parser.stream_errors[-1])}. "
                    "Check the timeline to see what was applied, then try again."
                )
            elif parser.event_count == 0:
                reason, error = "interrupted", StreamInterruptedError()
            elif parser.pending_tools:
                reason = "interrupted"
                error = StreamInterruptedError(
                    f"The connection to the NemoVideo agent closed while {parser.pending_tools[-1]} was "
                    "still running. The request was not re-sent (that could charge twice); check the "
                    "timeline to see whether the edit was applied."
                )
            else:
                reason = "closed"
        yield end(reason, error)
